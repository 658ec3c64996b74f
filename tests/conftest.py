"""Shared fixtures: isolated directories, a real PostgreSQL server, configuration databases.

PostgreSQL: unless GSETUP_TEST_PG_URL names a server, the session starts its own from the
PostgreSQL binaries on this machine (run as the ``postgres`` user when the tests run as root)
on a private port and data directory, and stops it at the end. Without binaries the
PostgreSQL tests are skipped, unless GSETUP_TEST_REQUIRE_PG=1 (the test command sets it), in
which case they fail.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    PG_ADMIN,
    PG_ADMIN_PASSWORD,
    CliResult,
    free_port,
    isolate,
    quick_hash,
    run_cli,
)

__all__ = ["CliResult", "run_cli"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--run-slow``: also run the sweeps marked ``slow`` (left out by default)."""
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``slow`` sweeps unless ``--run-slow`` asks for them."""
    if config.getoption("--run-slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point home and data directories at the test's own folder; forget gsetup's variables."""
    isolate(monkeypatch, tmp_path / "home")


@pytest.fixture(autouse=True)
def _close_runtimes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every runtime a test opened, also when it fails before its own ``close()``:
    else the store's connections are collected in a later test, whose ResourceWarning then
    fails that test instead. Closing twice is harmless."""
    from gsetup.runtime.api import Runtime

    opened: list[Runtime] = []
    init = Runtime.__init__

    def recorded(self: Runtime, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(Runtime, "__init__", recorded)
    yield
    while opened:
        opened.pop().close()


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The base URL (no database name) of a running PostgreSQL server."""
    given = os.environ.get("GSETUP_TEST_PG_URL")
    if given:
        yield given.rstrip("/")
        return
    with _cluster() as server:
        yield server


@pytest.fixture(scope="session")
def pg_password_server() -> Iterator[str]:
    """The base URL, with its password, of a PostgreSQL server of this session that checks
    passwords (``pg_server`` trusts every connection): a wrong one is refused."""
    with _cluster(PG_SERVER_PASSWORD) as server:
        yield server


PG_SERVER_PASSWORD = "pg-server-pw"


@contextlib.contextmanager
def _cluster(password: str | None = None) -> Iterator[str]:
    """A new PostgreSQL cluster, started on a private port and data directory and stopped
    after: trusting every connection, or checking ``password`` (user postgres)."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("GSETUP_TEST_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL binaries not found and GSETUP_TEST_REQUIRE_PG=1")
        pytest.skip("PostgreSQL binaries not found")
    root = Path(tempfile.mkdtemp(prefix="gsetup-pg-"))
    data = root / "data"
    auth = ["-A", "trust"]
    if password is not None:
        (root / "pwfile").write_text(password + "\n")
        auth = ["-A", "scram-sha-256", f"--pwfile={root / 'pwfile'}"]
    if os.geteuid() == 0:
        for path in root.iterdir():
            shutil.chown(path, "postgres", "postgres")
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o700)
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                *auth,
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    user = "postgres" if password is None else f"postgres:{password}"
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _admin_exec(server: str, sql: str) -> None:
    import psycopg

    dsn = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    for attempt in range(50):
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(sql)  # type: ignore[arg-type]
            return
        except psycopg.errors.ObjectInUse:  # template briefly busy; retry
            time.sleep(0.1 * (attempt + 1))


def _new_database(server: str, template: str | None = None) -> tuple[str, str]:
    name = "t_" + uuid.uuid4().hex[:12]
    sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    # PostgreSQL 15's default copies a database page by page through the WAL: for the
    # suite's small databases, copying the files is about three times as quick.
    _admin_exec(server, sql + (" STRATEGY FILE_COPY" if _server_version(server) >= 150000 else ""))
    return name, f"{server}/{name}"


@functools.cache
def _server_version(server: str) -> int:
    import psycopg

    dsn = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn) as conn:
        return int(conn.info.server_version)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name, url = _new_database(pg_server)
    yield url
    _admin_exec(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_config_template(pg_server: str) -> str:
    """A migrated configuration database with a superuser account, cloned for each test."""
    from sqlalchemy import create_engine, update
    from sqlalchemy.pool import NullPool

    from gsetup.commands.database import init_database
    from gsetup.configdb.tables import account

    name, url = _new_database(pg_server)
    init_database(url, PG_ADMIN, lambda: PG_ADMIN_PASSWORD)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:  # every server test logs in as admin, most many times
        conn.execute(update(account).values(password_hash=quick_hash(PG_ADMIN_PASSWORD)))
    engine.dispose()
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A configuration database on each backend, set as GSETUP_DB.

    SQLite: a file gsetup created and migrated itself. PostgreSQL: a migrated database whose
    superuser ``admin`` is logged in through GSETUP_USER/GSETUP_PASSWORD.
    """
    if request.param == "sqlite":
        url = _sqlite_config_db(request, tmp_path / "config.db")
        monkeypatch.setenv("GSETUP_DB", url)
        yield url
        return
    yield from _server_config_db(request, monkeypatch)


@pytest.fixture(scope="session")
def sqlite_config_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration database file gsetup created and migrated, copied for each test
    (migrating a new one takes about 60 ms, a copy about one)."""
    from gsetup.configdb.database import open_database

    path = tmp_path_factory.mktemp("template") / "config.db"
    open_database(f"sqlite:///{path}").engine.dispose()
    assert not path.with_name("config.db-wal").exists()  # all of it is in the one file
    return path


def _sqlite_config_db(request: pytest.FixtureRequest, path: Path) -> str:
    shutil.copyfile(request.getfixturevalue("sqlite_config_template"), path)
    path.chmod(0o600)
    return f"sqlite:///{path}"


def _server_config_db(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_config_template")
    name, url = _new_database(server, template)
    monkeypatch.setenv("GSETUP_DB", url)
    monkeypatch.setenv("GSETUP_USER", PG_ADMIN)
    monkeypatch.setenv("GSETUP_PASSWORD", PG_ADMIN_PASSWORD)
    yield url
    _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def server_db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL configuration database only (accounts exist on server databases)."""
    yield from _server_config_db(request, monkeypatch)


@pytest.fixture
def second_db_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """Another fresh configuration database on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield _sqlite_config_db(request, tmp_path / "second.db")
        return
    server = request.getfixturevalue("pg_server")
    name, url = _new_database(server, request.getfixturevalue("pg_config_template"))
    yield url
    _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_db_url(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """Make more fresh configuration databases on ``db_url``'s backend (dropped afterwards)."""
    made: list[str] = []

    def make() -> str:
        if db_url.startswith("sqlite"):
            url = _sqlite_config_db(request, tmp_path / f"db-{len(made)}.db")
        else:
            server = request.getfixturevalue("pg_server")
            _name, url = _new_database(server, request.getfixturevalue("pg_config_template"))
        made.append(url)
        return url

    yield make
    if not db_url.startswith("sqlite"):
        server = request.getfixturevalue("pg_server")
        for url in made:
            _admin_exec(server, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty routing-runtime interaction store on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name, url = _new_database(server)
    yield url
    _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
