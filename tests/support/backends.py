"""The two deployments every job-system contract test runs on: SQLite + a local folder, Postgres + S3.

`backend` is a parametrised fixture; `backend.settings(tmp_path, ...)` gives settings that point at it. For
the Postgres side each test gets a fresh database and bucket on the session's real servers, and the AWS_*
variables are set in this process (boto3 reads them; worker processes inherit them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from settings import Settings
from tests.support.servers import PRESTART_FOR
from tests.support.settings import make_settings

SQLITE = "sqlite"
POSTGRES = "postgres"

# Tests that take these fixtures need the servers: boot them in the background while earlier tests run.
for _server in ("postgres", "s3"):
    PRESTART_FOR[_server].update({"backend", "scaled_backend"})


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str = ""  # "": the SQLite file in the data dir
    storage_url: str = ""  # "": the local files folder
    env: dict[str, str] = field(default_factory=dict)  # what other processes need to reach it (S3 keys)

    def settings(self, tmp_path: Path, **overrides: Any) -> Settings:
        return make_settings(
            tmp_path, **{"database_url": self.database_url, "storage_url": self.storage_url, **overrides}
        )


def postgres_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Backend:
    database_url: str = request.getfixturevalue("postgres_url")
    s3 = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    env: dict[str, str] = s3.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Backend(POSTGRES, database_url, f"s3://{bucket}/stylebot", env)


@pytest.fixture(params=[SQLITE, POSTGRES])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """Each test that takes this runs twice: on SQLite + a folder, and on Postgres + S3."""
    if request.param == SQLITE:
        return Backend(SQLITE)
    return postgres_backend(request, monkeypatch)


@pytest.fixture
def scaled_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """Postgres + S3 only (the many-machine deployment)."""
    return postgres_backend(request, monkeypatch)
