"""Opening the interaction store: a runtime creates or upgrades it; a read (``route status``)
writes nothing and refuses what is not a store of this version."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text, update
from sqlalchemy.pool import NullPool

from gsetup.configdb.database import short_url
from gsetup.runtime.errors import StoreError
from gsetup.runtime.schema import SCHEMA_VERSION, runtime_meta
from gsetup.runtime.store import open_store
from tests.helpers import run_cli
from tests.runtime_support import configure_tenant


def _tables(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return sorted(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_a_read_neither_creates_nor_upgrades_a_store(store_url: str) -> None:
    missing = "no interaction store at" if store_url.startswith("sqlite") else "no runtime_meta"
    with pytest.raises(StoreError, match=missing):
        open_store(store_url, create=False)
    if store_url.startswith("sqlite"):
        assert not Path(store_url.removeprefix("sqlite:///")).exists()
    else:
        assert _tables(store_url) == []

    open_store(store_url).dispose()  # as a runtime's first start makes it
    store = open_store(store_url, create=False)
    store.dispose()
    with store.engine.begin() as conn:  # as an older gsetup left it
        conn.execute(update(runtime_meta).values(value="1"))
    older = f"schema version 1, this gsetup uses {SCHEMA_VERSION}: gsetup route run upgrades"
    with pytest.raises(StoreError, match=older):
        open_store(store_url, create=False)
    with store.engine.connect() as conn:
        assert conn.execute(select(runtime_meta.c.value)).scalar() == "1"
    with store.engine.begin() as conn:  # as a newer gsetup left it
        conn.execute(update(runtime_meta).values(value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match="read it with the gsetup that made it"):
        open_store(store_url, create=False)
    store.engine.dispose()


def test_a_runtime_refuses_a_newer_or_foreign_store_naming_it(store_url: str) -> None:
    """What ``route run`` opens and cannot use is named, as ``route status`` names it (its
    refusals said "the interaction store" and "the database" only); nothing is written."""
    store = open_store(store_url)
    store.dispose()
    newer = str(SCHEMA_VERSION + 1)
    with store.engine.begin() as conn:
        conn.execute(update(runtime_meta).values(value=newer))
        conn.execute(text("DROP TABLE runtime_merges"))
    before = _tables(store_url)
    with pytest.raises(StoreError) as refused:
        open_store(store_url)
    assert str(refused.value) == (
        f"the interaction store {short_url(store_url)} has schema version {newer}, this gsetup "
        f"uses {SCHEMA_VERSION}: use a store made by this version, or a new one"
    )
    assert _tables(store_url) == before
    with store.engine.begin() as conn:  # an Interaction Server database, say
        conn.execute(text("DROP TABLE runtime_meta"))
    with pytest.raises(StoreError) as foreign:
        open_store(store_url)
    assert str(foreign.value) == (
        f"{short_url(store_url)} has an interactions table but is not a gsetup interaction "
        "store: give the runtime its own database"
    )
    assert _tables(store_url) == sorted(set(before) - {"runtime_meta"})
    store.engine.dispose()


def test_an_older_store_gets_its_workers_keyed_by_tenant(store_url: str) -> None:
    """Schema 5 keyed ``runtime_workers`` by worker id alone: the upgrade keys it by (tenant,
    worker id), keeping its rows, so each tenant's worker ``w1`` may have its own."""
    store = open_store(store_url)
    with store.begin() as conn:  # the table as schema version 5 made it, with a worker
        conn.execute(text("DROP TABLE runtime_workers"))
        conn.execute(
            text(
                "CREATE TABLE runtime_workers (worker_id VARCHAR(255) PRIMARY KEY, tenant "
                "VARCHAR(255) NOT NULL, started_at FLOAT NOT NULL, heartbeat_at FLOAT NOT NULL, "
                "processed INTEGER NOT NULL)"
            )
        )
        conn.execute(text("INSERT INTO runtime_workers VALUES ('w1', 'A', 1.0, 2.0, 3)"))
        conn.execute(update(runtime_meta).values(value="5"))
    store.dispose()
    store = open_store(store_url)
    try:
        with store.begin() as conn:
            conn.execute(text("INSERT INTO runtime_workers VALUES ('w1', 'B', 4.0, 5.0, 6)"))
            found = conn.execute(text("SELECT * FROM runtime_workers ORDER BY tenant")).all()
            version = conn.execute(select(runtime_meta.c.value)).scalar()
        assert [tuple(row) for row in found] == [("w1", "A", 1.0, 2.0, 3), ("w1", "B", 4.0, 5.0, 6)]
        assert version == str(SCHEMA_VERSION)
    finally:
        store.dispose()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_workers_starting_together_on_a_new_store_all_open_it(store_url: str) -> None:
    workers = 4
    start = threading.Barrier(workers)
    failures: list[BaseException] = []

    def open_it() -> None:
        start.wait(timeout=30)
        try:
            open_store(store_url).dispose()
        except Exception as exc:  # collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert "interactions" in _tables(store_url)


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_dropped_store_function_is_made_again(store_url: str) -> None:
    store = open_store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP FUNCTION gsetup_bump_and_wake"))
    store.dispose()
    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            found = conn.execute(text("SELECT to_regproc('gsetup_bump_and_wake')")).scalar()
        assert found is not None
    finally:
        store.dispose()


def test_a_new_embedded_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "runtime" / "store.db"
    open_store(f"sqlite:///{path}").dispose()
    for made in path.parent.iterdir():  # the database, its WAL and shared-memory files
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made


def test_route_status_reads_only_a_runtime_store(db_url: str, tmp_path: Path) -> None:
    configure_tenant(db_url, tmp_path, agents={})
    before = _tables(db_url)
    wrong = run_cli("route", "status", "--store", db_url)  # the configuration database
    assert wrong.exit_code == 2
    # SQLite: refused as the configuration's own file before it is opened
    sqlite = "is the configuration database's file: the interaction store needs a file of its own"
    reason = sqlite if db_url.startswith("sqlite") else "is not a gsetup interaction store"
    assert reason in wrong.stderr
    assert _tables(db_url) == before
    if db_url.startswith("sqlite"):  # the default store, beside it, before any runtime ran
        default = run_cli("route", "status")
        assert default.exit_code == 2
        assert "a runtime creates it when it first runs" in default.stderr
        assert not (tmp_path / "gsetup-runtime.db").exists()


def test_a_store_of_another_database_or_driver_is_refused() -> None:
    for url in ("postgresql+asyncpg://u@127.0.0.1/db", "mysql://u@127.0.0.1/db", "bogus://x"):
        with pytest.raises(StoreError, match=r"the interaction store is SQLite .* psycopg"):
            open_store(url)


def test_an_empty_store_url_is_refused_not_taken_as_the_default(
    db_url: str, tmp_path: Path
) -> None:
    configure_tenant(db_url, tmp_path, agents={})
    empty = run_cli("route", "status", "--store", "")
    assert empty.exit_code == 2
    assert empty.stderr.startswith(
        "gsetup: error: --store '' is not a store URL; use e.g. sqlite:///"
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_configuration_file_named_as_the_default_store_has_another_default_store(
    db_url: str, tmp_path: Path
) -> None:
    """A configuration database itself named gsetup-runtime.db was its own default store:
    the runtime wrote its tables among the configuration's. Its default store is
    gsetup-runtime-store.db beside it, for the runtime and the commands reading the store."""
    import contextlib
    import sqlite3

    from gsetup.runtime.api import open_runtime
    from tests.runtime_support import TENANT

    configure_tenant(db_url, tmp_path, agents={})
    config = tmp_path / "conf" / "gsetup-runtime.db"
    config.parent.mkdir()
    with (
        contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as source,
        contextlib.closing(sqlite3.connect(config)) as copy,
    ):
        source.backup(copy)
    config_url = f"sqlite:///{config}"
    before = _tables(config_url)
    open_runtime(TENANT, config_url=config_url).close()
    assert _tables(config_url) == before
    store = config.with_name("gsetup-runtime-store.db")
    assert "interactions" in _tables(f"sqlite:///{store}")
    # reads that store: the configuration's file holds no store's tables (exit 2)
    status = run_cli("--db", config_url, "route", "status", "--json")
    assert status.exit_code == 0, status.stderr
    assert status.json()["tenant"] == TENANT
    refused = run_cli("--db", config_url, "route", "status", "--store", config_url)
    assert (refused.exit_code, refused.stderr) == (
        2,
        f"gsetup: error: --store {config_url} is the configuration database's file: the "
        f"interaction store needs a file of its own, e.g. sqlite:///{store}\n",
    )


def test_a_failed_statement_of_a_look_at_a_store_shows_no_value(store_url: str) -> None:
    """A client's look at a store (``peek``) that fails keeps the statement's values out of
    the error, as every other engine of gsetup does: ``--debug`` shows it whole."""
    from sqlalchemy.exc import DBAPIError

    from gsetup.runtime.store import peek

    engine = create_engine(store_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE agents (name VARCHAR(20))"))
    engine.dispose()
    secret = "Look-Secret-8842"
    with pytest.raises(DBAPIError) as failed, peek(store_url, "agents") as conn:
        assert conn is not None
        conn.execute(text("SELECT name FROM missing WHERE name = :name"), {"name": secret})
    assert "SELECT name FROM missing" in str(failed.value)
    assert secret not in str(failed.value)
