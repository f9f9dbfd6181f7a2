"""Where pictures live: a local folder (the embedded default) or an S3-compatible bucket.

Everything is addressed by a key such as `users/42/jobs/7/result.png` (see `jobs.keys`); the database stores
keys, never paths, so the bot and workers on other machines need nothing but the storage URL. The calls
block: the bot runs them in a thread.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import urlparse

from imaging.files import write_atomically

S3_SCHEME = "s3"
S3_DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys


class MissingFile(FileNotFoundError):
    """No picture is stored under that key (never stored, or deleted since)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: float  # seconds since the epoch
    size: int  # bytes


class StorageUnavailable(RuntimeError):
    """The storage named by STYLEBOT_STORAGE_URL can't be reached or used; the message says why."""


class DeleteFailed(OSError):
    """Some keys could not be deleted (the storage refused or could not be reached); the message says which."""


class Storage(Protocol):
    """Bytes by key; writes are atomic (a reader sees the old file or the new one, never half of one)."""

    def put(self, key: str, data: bytes) -> None:
        """Store (or replace) the bytes under `key`."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under `key`; MissingFile when there are none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, keys: Iterable[str]) -> None:
        """Delete these keys (missing ones are fine); DeleteFailed when any could not be deleted."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under `prefix` (e.g. `users/42/`); returns how many; DeleteFailed when any could not
        be deleted."""
        ...

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every key under `prefix`, with when it was last written."""
        ...


def check_key(key: str) -> str:
    """A relative key without `..`, so no key can reach outside the storage."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalStorage:
    """Keys are files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        write_atomically(self.path(key), data)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise MissingFile(key) from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, keys: Iterable[str]) -> None:
        failed = []
        for key in keys:
            try:
                self.path(key).unlink(missing_ok=True)
            except OSError as exc:
                failed.append(f"{key} ({exc.strerror or exc})")
        if failed:
            raise DeleteFailed(f"{len(failed)} key(s) not deleted: {', '.join(failed[:5])}")

    def delete_prefix(self, prefix: str) -> int:
        folder = self.path(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass  # deleted meanwhile
        except OSError as exc:
            raise DeleteFailed(f"{prefix} not deleted: {exc}") from exc
        return count

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        folder = self.path(prefix.rstrip("/"))
        if not folder.is_dir():
            return
        for path in folder.rglob("*"):
            if path.is_file() and not path.name.startswith("."):  # a dot file is a write in progress
                try:
                    stat = path.stat()
                    yield StoredObject(path.relative_to(self.root).as_posix(), stat.st_mtime, stat.st_size)
                except FileNotFoundError:
                    continue  # deleted while we looked


class S3Storage:
    """Keys are objects under `prefix` in `bucket`; endpoint and credentials come from the AWS_* variables."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or _s3_client()

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def ensure_bucket(self) -> None:
        """Create the bucket on first use (a fresh MinIO or SeaweedFS has none); say clearly if it can't be used."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("404", "NoSuchBucket", "NotFound"):
                message = f"the bucket {self.bucket!r} can't be used ({code}): check the AWS_* variables"
                raise StorageUnavailable(message) from exc
        self.client.create_bucket(Bucket=self.bucket)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise MissingFile(key) from exc
        body: bytes = response["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, keys: Iterable[str]) -> None:
        self._delete_names([self._name(key) for key in keys])

    def delete_prefix(self, prefix: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_objects_v2")
        try:
            names = [
                item["Key"]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=self._name(prefix))
                for item in page.get("Contents", [])
            ]
        except (BotoCoreError, ClientError) as exc:
            raise DeleteFailed(f"{prefix} not listed, so not deleted: {exc}") from exc
        self._delete_names(names)
        return len(names)

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._name(prefix)):
            for item in page.get("Contents", []):
                yield StoredObject(
                    item["Key"].removeprefix(self.prefix), item["LastModified"].timestamp(), int(item["Size"])
                )

    def _delete_names(self, names: list[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        failed: list[str] = []
        for start in range(0, len(names), S3_DELETE_BATCH):
            batch = [{"Key": name} for name in names[start : start + S3_DELETE_BATCH]]
            try:
                response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except (BotoCoreError, ClientError) as exc:
                failed.extend(f"{item['Key']} ({exc})" for item in batch)
                continue
            # DeleteObjects answers 200 even when it deleted none: each key it could not delete is in Errors.
            failed.extend(f"{e.get('Key')} ({e.get('Code')})" for e in response.get("Errors", []))
        if failed:
            raise DeleteFailed(f"{len(failed)} object(s) not deleted: {', '.join(failed[:5])}")


def _s3_client() -> Any:
    """A boto3 client configured by the standard variables (AWS_ENDPOINT_URL, keys, region), with retries."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    # A session of its own: boto3's default one keeps the first credentials it found for the whole process.
    return boto3.session.Session().client("s3", config=config)


def open_storage(location: str) -> Storage:
    """`s3://bucket/prefix` or a local folder (Settings.storage)."""
    parsed = urlparse(location)
    if parsed.scheme == S3_SCHEME:
        if not parsed.netloc:
            raise ValueError(f"STYLEBOT_STORAGE_URL {location!r} names no bucket (use s3://BUCKET/PREFIX)")
        storage = S3Storage(parsed.netloc, parsed.path)
        storage.ensure_bucket()
        return storage
    if parsed.scheme and len(parsed.scheme) > 1:  # a one-letter scheme is a Windows drive
        raise ValueError(f"STYLEBOT_STORAGE_URL {location!r}: only s3:// URLs or a local folder are supported")
    return LocalStorage(Path(location))
