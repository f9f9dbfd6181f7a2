"""The real servers of `tests.support.servers` work for real: PostgreSQL through psycopg, S3 through boto3."""

from __future__ import annotations

from pathlib import Path

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.support.servers import PostgresServer, S3Server


def test_postgres_round_trip(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE styles (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO styles (name) VALUES (%s), (%s)", ("starry night", "the scream"))
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT name FROM styles ORDER BY id").fetchall()
        server = conn.execute("SELECT current_setting('listen_addresses'), current_setting('fsync')").fetchone()
    assert rows == [("starry night",), ("the scream",)]
    assert server == ("127.0.0.1", "off")


def test_each_test_gets_its_own_database(postgres_server: PostgresServer, postgres_url: str) -> None:
    assert postgres_url.startswith(f"postgresql://postgres@127.0.0.1:{postgres_server.port}/test_")
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_postgres_restart_keeps_url_and_data(tmp_path: Path) -> None:
    # A server of its own: restarting the session's server would cut other tests' connections.
    with PostgresServer(tmp_path / "pg") as server:
        url = server.create_database("restart_me")
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE t (v int)")
            conn.execute("INSERT INTO t VALUES (42)")
        old_port = server.port
        held = psycopg.connect(url)

        server.restart()

        assert server.port == old_port
        with pytest.raises(psycopg.OperationalError):  # the fast shutdown closed it
            held.execute("SELECT 1")
        held.close()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT v FROM t").fetchall() == [(42,)]

        server.kill()  # a crash: the next start must recover
        assert not server.running
        server.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT v FROM t").fetchall() == [(42,)]
    assert not server.running


def test_s3_round_trip_with_env_credentials(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")  # endpoint, keys and region all from the environment

    body = bytes(range(256)) * 1000
    s3.put_object(Bucket=s3_bucket, Key="results/job-1/out.jpg", Body=body, ContentType="image/jpeg")
    s3.put_object(Bucket=s3_bucket, Key="results/job-2/out.jpg", Body=b"other")
    s3.put_object(Bucket=s3_bucket, Key="uploads/job-1/in.jpg", Body=b"input")

    got = s3.get_object(Bucket=s3_bucket, Key="results/job-1/out.jpg")
    assert got["Body"].read() == body
    assert got["ContentType"] == "image/jpeg"

    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="results/")
    assert sorted(item["Key"] for item in listed["Contents"]) == ["results/job-1/out.jpg", "results/job-2/out.jpg"]

    s3.delete_object(Bucket=s3_bucket, Key="results/job-1/out.jpg")
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=s3_bucket, Key="results/job-1/out.jpg")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="results/")
    assert [item["Key"] for item in listed["Contents"]] == ["results/job-2/out.jpg"]


def test_s3_refuses_wrong_credentials(s3_server: S3Server, s3_bucket: str) -> None:
    s3_server.client().put_object(Bucket=s3_bucket, Key="secret.txt", Body=b"x")

    wrong_secret = s3_server.client(aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as refused:
        wrong_secret.get_object(Bucket=s3_bucket, Key="secret.txt")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError):
        wrong_secret.put_object(Bucket=s3_bucket, Key="intruder.txt", Body=b"x")

    unknown_key = s3_server.client(aws_access_key_id="nobody", aws_secret_access_key="nothing")
    with pytest.raises(ClientError) as refused:
        unknown_key.list_buckets()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    keys = s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [item["Key"] for item in keys] == ["secret.txt"]
