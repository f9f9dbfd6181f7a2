"""The picture storage on a local folder and on a real S3-compatible server behaves the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.storage import LocalStorage, MissingFile, S3Storage, Storage, StorageUnavailable, open_storage
from tests.support.backends import Backend


@pytest.fixture
def storage(backend: Backend, tmp_path: Path) -> Storage:
    return open_storage(backend.storage_url or str(tmp_path / "files"))


def test_put_get_replace_delete(storage: Storage) -> None:
    storage.put("users/1/jobs/2/result.png", b"first")
    storage.put("users/1/jobs/2/result.png", b"second")  # a re-run overwrites its fixed key
    assert storage.get("users/1/jobs/2/result.png") == b"second"
    assert storage.exists("users/1/jobs/2/result.png") and not storage.exists("users/1/jobs/2/preview.jpg")
    storage.delete(["users/1/jobs/2/result.png", "users/1/never-stored.png"])
    with pytest.raises(MissingFile):
        storage.get("users/1/jobs/2/result.png")


def test_delete_prefix_removes_one_user_only(storage: Storage) -> None:
    for key in ("users/1/uploads/a.jpg", "users/1/jobs/3/result.png", "users/12/uploads/b.jpg", "presets/x.png"):
        storage.put(key, b"x")
    assert storage.delete_prefix("users/1/") == 2
    assert not storage.exists("users/1/uploads/a.jpg") and not storage.exists("users/1/jobs/3/result.png")
    assert storage.exists("users/12/uploads/b.jpg") and storage.exists("presets/x.png")
    assert storage.delete_prefix("users/1/") == 0


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside.png", "users/../../x", "users\\1\\a.png"])
def test_keys_cannot_leave_the_storage(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        storage.put(key, b"x")


def test_urls_choose_the_storage(tmp_path: Path) -> None:
    assert isinstance(open_storage(str(tmp_path)), LocalStorage)
    with pytest.raises(ValueError, match="names no bucket"):
        open_storage("s3:///prefix")
    with pytest.raises(ValueError, match="only s3://"):
        open_storage("gs://bucket/prefix")


def test_a_missing_bucket_is_created_and_wrong_keys_are_named(
    s3_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_server.env().items():  # type: ignore[attr-defined]
        monkeypatch.setenv(name, value)
    storage = open_storage("s3://fresh-bucket-for-stylebot/p")  # a new store has no bucket yet
    storage.put("users/1/a.jpg", b"a")
    assert storage.get("users/1/a.jpg") == b"a"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(StorageUnavailable, match=r"fresh-bucket-for-stylebot.*AWS_"):
        open_storage("s3://fresh-bucket-for-stylebot/p")


def test_s3_keys_live_under_the_prefix(s3_server: object, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env().items():  # type: ignore[attr-defined]
        monkeypatch.setenv(name, value)
    storage = open_storage(f"s3://{s3_bucket}/bot-a")
    assert isinstance(storage, S3Storage)
    storage.put("users/1/a.jpg", b"a")
    other = open_storage(f"s3://{s3_bucket}/bot-b")
    assert not other.exists("users/1/a.jpg")
    names = [item["Key"] for item in storage.client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert names == ["bot-a/users/1/a.jpg"]
