"""Open the interaction store: create or check its tables, add the Alter scripts' columns.

A new store gets the tables of :mod:`gsetup.runtime.schema` and then the shipped CleanUp/Alter
pairs of every Business Process, run with :mod:`gsetup.sqlscripts` exactly as ``gsetup sql
apply`` runs them on an Interaction Server database (and recorded in its history table). A
store of an older schema version gets the tables added since; a newer one is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup.configdb.database import first_line, pg_transaction_lock, short_url
from gsetup.fileio import elide_middle, not_a_directory
from gsetup.runtime.errors import StoreError
from gsetup.runtime.itx import CustomField
from gsetup.runtime.schema import (
    ADDED_IN,
    SCHEMA_VERSION,
    interactions,
    interactions_with,
    metadata,
    runtime_meta,
    workers,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, MetaData, Table
    from sqlalchemy.engine import URL

STORE_FILE = "gsetup-runtime.db"
STORE_FILE_ASIDE = "gsetup-runtime-store.db"  # beside a configuration file named STORE_FILE
# pg_advisory_xact_lock key held while a store is created or upgraded ("gsetup" in ASCII)
_PREPARE_LOCK = 0x67736574757000
# Seconds a statement on the store may wait (PostgreSQL: statement_timeout and lock_timeout;
# SQLite: its busy timeout): a turn stuck on another session's lock, or on a server that
# no longer answers, fails, is rolled back and retried, and a SIGTERM is not held up longer.
STORE_TIMEOUT_ENV = "GSETUP_STORE_TIMEOUT"
DEFAULT_STORE_TIMEOUT = 30.0
# TCP keepalives (seconds idle, between probes, probes): a store host gone from the network
# breaks the connection in about 25 s instead of the kernel's two hours.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
PING_AFTER_IDLE = 1.0
READ_ONLY = "gsetup_read_only"  # the execution option of a connection from reading()


def store_timeout() -> float:
    """Seconds a store statement may wait (``GSETUP_STORE_TIMEOUT``, default 30)."""
    from gsetup.configdb.database import env_seconds

    return env_seconds(STORE_TIMEOUT_ENV, DEFAULT_STORE_TIMEOUT, StoreError, above_zero=True)


def stop_bound() -> float:
    """Seconds a stopping worker may take: its turn in flight and its retirement, each
    bounded by :func:`store_timeout`, and a margin."""
    return 2 * store_timeout() + 5.0


def default_store_url(config_url: str) -> str:
    """The store beside the configuration database: ``gsetup-runtime.db`` in the embedded
    database's directory (``gsetup-runtime-store.db`` when that is the configuration's own
    file), or the same PostgreSQL database (its tables do not overlap)."""
    from sqlalchemy.engine import make_url

    url = make_url(config_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        config = Path(url.database).resolve()
        # casefold: one file on a case-insensitive file system (macOS, Windows)
        own = config.name.casefold() == STORE_FILE.casefold()
        return f"sqlite:///{config.parent / (STORE_FILE_ASIDE if own else STORE_FILE)}"
    return config_url


def refuse_config_file(store_url: str, config_url: str) -> None:
    """Refuse a ``--store`` that is the embedded configuration database's own file (however
    its path is spelt): the runtime would write its tables among the configuration's. A
    PostgreSQL store may share the configuration's database: their tables do not overlap."""
    from sqlalchemy.engine import make_url

    store = _sqlite_path(parse_store_url(store_url, "--store"))
    if store is not None and store == _sqlite_path(make_url(config_url)):
        raise StoreError(
            f"--store {short_url(store_url)} is the configuration database's file: the "
            f"interaction store needs a file of its own, e.g. {default_store_url(config_url)}"
        )


def _sqlite_path(url: URL) -> Path | None:
    """The resolved file of a SQLite URL (None: another database, or in memory)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database or "").resolve()


@contextmanager
def peek(store_url: str, table: str, *, must_exist: bool = False) -> Iterator[Connection | None]:
    """A connection to the store at ``store_url`` for a client's look (``gsetup agent``,
    ``route token``...), or None when it has no ``table``: the embedded store may not exist
    yet, and looking must not create it. ``must_exist``: a store a runtime used, whose
    SQLite file is gone, is not an empty one: StoreError."""
    import sqlite3

    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from gsetup.configdb.database import connect_args

    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "").absolute()
        if not _is_file(path):
            if must_exist:
                raise StoreError(
                    f"no interaction store at {elide_middle(str(path))}: its file is gone"
                )
            yield None
            return
        # mode=rw: a file deleted since is an error, never created anew by the driver.
        uri = f"{path.as_uri()}?mode=rw"
        engine = create_engine(
            "sqlite://",
            poolclass=NullPool,
            hide_parameters=True,  # a failure's values (a token) stay out of --debug's traceback
            creator=lambda: sqlite3.connect(uri, uri=True),
        )
    else:
        engine = create_engine(
            url, poolclass=NullPool, hide_parameters=True, connect_args=connect_args(url)
        )
    try:
        with engine.connect() as conn:
            yield conn if inspect(conn).has_table(table) else None
    finally:
        engine.dispose()


@dataclass
class Store:
    """An open interaction store.

    ``columns`` maps each custom column, lower-cased, to its name as the database stores it;
    ``custom`` says which attached-data key (Interaction Custom Property) fills each.
    """

    engine: Engine
    dbms: str
    columns: dict[str, str] = field(default_factory=dict)
    custom: tuple[CustomField, ...] = ()
    table: Table = interactions
    property_of: dict[str, str] = field(default_factory=dict)  # column -> custom property

    def refresh(self) -> None:
        """Read which custom columns the store has."""
        self.columns, self.custom = _custom_columns(self.engine)
        self.property_of = {f.column: f.property for f in self.custom}
        self.table = interactions_with([(f.column, f.type, f.length) for f in self.custom])

    @property
    def postgresql(self) -> bool:
        """True on PostgreSQL, where workers claim with SKIP LOCKED."""
        return self.dbms == "postgresql"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction, committed when the block ends without an exception."""
        with self.engine.begin() as conn:
            yield conn

    def read(self) -> AbstractContextManager[Connection]:
        """A connection for reads only: see :func:`reading`."""
        return reading(self.engine)

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection whose statements each commit on their own: no BEGIN or COMMIT round
        trips, for statements that need no transaction together."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def ensure_statistics(self) -> None:
        """PostgreSQL: ANALYZE the store's tables that have no statistics yet, or that grew by
        half since their last analyze (their size on disk, which is exact at once: the
        statistics views' counts lag up to a second). Without statistics (a
        new store, before autovacuum's first pass over that table) the planner cannot tell
        the tenant, one value, from an id: its generic plans walked every row of the tenant
        through whichever index starts with it. With those of a table a few pages long, it
        plans to read the table (offers, contacts), and keeps reading it as it grows until
        autovacuum analyzes it again. Checked per table: autovacuum analyzes a busy table
        (the interactions) before a quieter one. ANALYZE invalidates the plans made before
        it."""
        from sqlalchemy import bindparam, text

        if not self.postgresql:
            return
        names = [t.name for t in metadata.sorted_tables]
        with self.autocommit() as conn:
            missing = conn.execute(
                text(
                    "SELECT s.relname FROM pg_stat_user_tables s "
                    "JOIN pg_class c ON c.oid = s.relid WHERE s.relname IN :names "
                    "AND s.relid = to_regclass(quote_ident(s.relname)) "
                    "AND (coalesce(s.last_analyze, s.last_autoanalyze) IS NULL "
                    "OR 2 * pg_relation_size(s.relid) "
                    "> 3 * greatest(c.relpages, 1) * current_setting('block_size')::int)"
                ).bindparams(bindparam("names", expanding=True)),
                {"names": names},
            ).scalars()
            unanalyzed = sorted(missing)
            if unanalyzed:
                conn.execute(text(f"ANALYZE {', '.join(unanalyzed)}"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only, which neither waits for writers nor holds them up. On
    SQLite, a deferred transaction: a snapshot of the WAL, without the write lock a turn
    takes. On PostgreSQL, autocommit: each statement reads what is committed, with no
    BEGIN and ROLLBACK round trips around it (a desk's poll, a session check)."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "AUTOCOMMIT"}
    with engine.connect().execution_options(**options) as conn:
        yield conn


def open_store(url: str, *, create: bool = True) -> Store:
    """Open the store at ``url``: SQLite or PostgreSQL. ``create``: make a new store, or
    upgrade an older one, as a runtime does. Without it (a read, such as ``route status``)
    the store must exist at this schema version, and nothing is written: a mistyped URL is
    an error, not an empty store."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = store_engine(url, create)
    dbms = engine.dialect.name
    store = Store(engine, dbms)
    try:
        if create:
            with store.begin() as conn:
                _prepare(conn, dbms, url)
        else:
            with store.read() as conn:
                _check_current(conn, url)
        store.refresh()
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open the interaction store {short_url(url)}: {first_line(exc)}"
        ) from None
    except StoreError:
        engine.dispose()
        raise
    return store


def parse_store_url(url: str, option: str = "") -> URL:
    """``url`` parsed; a StoreError naming ``option`` (``--store``) when it is no URL."""
    from gsetup.configdb.database import redact_url, url_or_none
    from gsetup.fileio import quote_prefix

    parsed = url_or_none(url)
    if parsed is None:
        given = f"{option} " if option else ""
        raise StoreError(
            f"{given}{quote_prefix(redact_url(url))} is not a store URL; use e.g. "
            "sqlite:///runtime.db or postgresql+psycopg://user@host/dbname"
        )
    return parsed


def store_engine(url: str, create: bool) -> Engine:
    """An engine for the store at ``url`` (SQLite: WAL, write transactions that lock at
    once); without ``create`` a missing SQLite file is refused, not made."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import DBAPIError

    from gsetup.configdb.database import connect_args, supported

    parsed = parse_store_url(url)
    timeout = store_timeout()  # a bad GSETUP_STORE_TIMEOUT is refused before a file is made
    backend = parsed.get_backend_name()
    if not supported(parsed):
        raise StoreError(
            f"unsupported store {short_url(url)}: the interaction store is SQLite "
            "(sqlite:///PATH) or PostgreSQL through psycopg (postgresql+psycopg://...)"
        )
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError("the embedded store needs a file path, e.g. sqlite:///runtime.db")
        _sqlite_file(Path(parsed.database), create)
        engine = create_engine(
            parsed,
            hide_parameters=True,
            connect_args={"timeout": timeout, "isolation_level": None},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL + synchronous=NORMAL: a committed turn survives a killed process (the
            # guarantee the runtime gives); only a power loss may lose the last commits.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A write transaction takes the write lock at once: two processes never deadlock
            # upgrading read locks. A read takes none (WAL gives it a snapshot). Sent to the
            # driver itself: through exec_driver_sql it cost a third of an empty transaction.
            statement = (
                "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
            )
            dbapi = conn.dialect.loaded_dbapi
            try:
                conn.connection.dbapi_connection.execute(statement)  # type: ignore[union-attr]
            except dbapi.Error as exc:  # as SQLAlchemy raises it: "database is locked"...
                raise DBAPIError.instance(
                    statement, None, exc, dbapi.Error, hide_parameters=True
                ) from exc

        return engine
    # PostgreSQL through psycopg, the only other pair DRIVERS allows
    waits = max(1, round(timeout * 1000))  # 0 would be no bound at all
    keepalives = {k: v for k, v in KEEPALIVES.items() if k not in parsed.query}
    engine = create_engine(
        parsed,
        hide_parameters=True,
        pool_size=4,
        connect_args={**connect_args(parsed), **keepalives},
    )
    _ping_when_idle(engine)

    @event.listens_for(engine, "connect")
    def _session(dbapi_conn: Any, _record: Any) -> None:
        # Prepared statements keep one generic plan instead of planning again for their
        # parameters: the engine's statements are checked to have good generic plans
        # (tests/test_runtime_query_plans.py), and PostgreSQL planned the wake-up's
        # UPDATE afresh at every call, 0.2 ms of server CPU each.
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute(f"SET statement_timeout = {waits}")
            cursor.execute(f"SET lock_timeout = {waits}")
        dbapi_conn.commit()

    return engine


def _sqlite_file(path: Path, create: bool) -> None:
    """Create a new store's file readable by its owner only (it holds the messages, the UCS
    contacts and the agents' session digests); without ``create``, it must exist."""
    import os

    if not create:
        if not _is_file(path):
            raise StoreError(
                f"no interaction store at {elide_middle(str(path.absolute()))}: a runtime "
                "creates it when it first runs (gsetup route run), or give the store's URL with "
                "--store"
            )
        return
    blocker = not_a_directory(path.parent, "the interaction store", StoreError)
    if blocker is not None:
        raise StoreError(
            f"cannot create the interaction store {elide_middle(str(path))}: "
            f"{elide_middle(str(blocker))} is not a directory"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    except OSError as exc:
        raise StoreError(
            f"cannot open the interaction store {elide_middle(str(path))}: {exc.strerror}"
        ) from None


def _is_file(path: Path) -> bool:
    import stat

    from gsetup.fileio import lookup

    info = lookup(path, "the interaction store", StoreError)
    return info is not None and stat.S_ISREG(info.st_mode)


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only if it sat idle for ``PING_AFTER_IDLE``
    seconds; a dead one is replaced. SQLAlchemy's ``pool_pre_ping`` pings on every checkout:
    one more round trip per transaction, as many as the transactions themselves when the
    engine runs small turns. A connection lost while in use fails its transaction, which
    the worker retries and SQLAlchemy answers by replacing the pool's connections."""
    import time

    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error:
            raise DisconnectionError("the pooled connection is gone") from None


def create_tables(
    engine: Engine, tables: MetaData, upgrade: Callable[[Connection], None] | None = None
) -> None:
    """Create those of ``tables`` the store lacks (the HTTP server's sessions and endpoints),
    then ``upgrade`` the ones an older gsetup made, under the lock that creates the store:
    workers started together on a new store would otherwise each find a table (or column)
    missing and all but one fail creating it."""
    with engine.begin() as conn:
        _lock_prepare(conn)
        tables.create_all(conn)
        if upgrade is not None:
            upgrade(conn)


def _lock_prepare(conn: Connection) -> None:
    # Workers started together on a new store: one creates it, the others wait and then find
    # it. SQLite's BEGIN IMMEDIATE already serialises them. Neither the wait nor the work
    # (the upgrade of a large store) is bounded by GSETUP_STORE_TIMEOUT: a start, not a turn.
    from sqlalchemy import text

    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(text("SET LOCAL lock_timeout = 0"))
    pg_transaction_lock(conn, _PREPARE_LOCK)


def _prepare(conn: Connection, dbms: str, url: str) -> None:
    from sqlalchemy import inspect, select

    _lock_prepare(conn)
    if inspect(conn).has_table(runtime_meta.name):
        # Locked (PostgreSQL): two processes opening an older store upgrade it once.
        found = conn.execute(
            select(runtime_meta.c.value)
            .where(runtime_meta.c.key == "schema-version")
            .with_for_update()
        ).scalar()
        _upgrade(conn, found, url)
        _create_functions(conn, dbms)
        return
    if inspect(conn).has_table("interactions"):
        raise StoreError(
            f"{short_url(url)} has an interactions table but is not a gsetup interaction "
            "store: give the runtime its own database"
        )
    metadata.create_all(conn)
    conn.execute(runtime_meta.insert().values(key="schema-version", value=str(SCHEMA_VERSION)))
    _create_functions(conn, dbms)
    _apply_scripts(conn, dbms)


def _check_current(conn: Connection, url: str) -> None:
    """A store to read: one made by a runtime, at this schema version."""
    from sqlalchemy import inspect, select

    if not inspect(conn).has_table(runtime_meta.name):
        raise StoreError(
            f"{short_url(url)} is not a gsetup interaction store (it has no "
            f"{runtime_meta.name} table): give the URL the runtime runs with (--store)"
        )
    found = conn.execute(
        select(runtime_meta.c.value).where(runtime_meta.c.key == "schema-version")
    ).scalar()
    if found != str(SCHEMA_VERSION):
        older = found is not None and found.isdigit() and int(found) < SCHEMA_VERSION
        advice = (
            "gsetup route run upgrades it"
            if older
            else "read it with the gsetup that made it, or use a new store"
        )
        raise StoreError(
            f"the interaction store {short_url(url)} has schema version {found}, this gsetup "
            f"uses {SCHEMA_VERSION}: {advice}"
        )


def _create_functions(conn: Connection, dbms: str) -> None:
    """PostgreSQL: (re)create the store's function when its definition is not the one this
    gsetup has, as recorded in ``runtime_meta``: a new store, one an older gsetup made, or
    one whose function changed since. Not a schema version: an older gsetup, which does not
    call it, still opens the store."""
    import hashlib

    from sqlalchemy import delete, select, text

    from gsetup.runtime.sql import bump_and_wake_function

    if dbms != "postgresql":
        return
    definition = bump_and_wake_function()
    digest = hashlib.sha256(definition.encode()).hexdigest()
    key = runtime_meta.c.key == "functions"
    recorded = conn.execute(select(runtime_meta.c.value).where(key)).scalar()
    present = conn.execute(text("SELECT to_regproc('gsetup_bump_and_wake')")).scalar()
    if recorded == digest and present is not None:  # dropped since: made again
        return
    conn.execute(text(definition))
    conn.execute(delete(runtime_meta).where(key))
    conn.execute(runtime_meta.insert().values(key="functions", value=digest))


def _upgrade(conn: Connection, found: str | None, url: str) -> None:
    """Bring a store of an older schema version up to this one by creating the tables the
    versions since added, and filling those that record what the store holds (the merges
    made before ``runtime_merges``, the UCS attributes before ``ucs_attributes``); a newer
    (or unknown) version is refused."""
    from sqlalchemy import update

    version = int(found) if found is not None and found.isdigit() else None
    if version == SCHEMA_VERSION:
        return
    if version is None or version > SCHEMA_VERSION:
        raise StoreError(
            f"the interaction store {short_url(url)} has schema version {found}, this gsetup "
            f"uses {SCHEMA_VERSION}: use a store made by this version, or a new one"
        )
    for added in range(version + 1, SCHEMA_VERSION + 1):
        for table in ADDED_IN.get(added, ()):
            table.create(conn, checkfirst=True)
    for added, fill in _fillers().items():
        if version < added:
            fill(conn, conn.dialect.name == "postgresql")
    conn.execute(
        update(runtime_meta)
        .where(runtime_meta.c.key == "schema-version")
        .values(value=str(SCHEMA_VERSION))
    )


def _fillers() -> dict[int, Callable[[Connection, bool], None]]:
    """Schema version -> what fills the table it added that records what a store holds,
    from the rows an older store has."""
    from gsetup.runtime.merges import record_stored
    from gsetup.runtime.services.ucs import index_stored

    return {4: record_stored, 5: index_stored, 6: _rekey_workers}


def _rekey_workers(conn: Connection, _postgresql: bool) -> None:
    """Version 6 keys ``runtime_workers`` by (tenant, worker id), as the endpoints are: the
    table is made again with its rows (a killed worker's too: shown dead, not forgotten)."""
    from sqlalchemy import select

    kept = [dict(row._mapping) for row in conn.execute(select(workers))]
    workers.drop(conn)
    workers.create(conn)
    if kept:
        conn.execute(workers.insert(), kept)


def _apply_scripts(conn: Connection, dbms: str) -> None:
    """Add the Business Processes' custom columns with the shipped scripts."""
    from gsetup.sqlscripts.apply import run_script
    from gsetup.sqlscripts.catalog import GROUPS, get_dbms
    from gsetup.sqlscripts.history import read_history, record_applied
    from gsetup.sqlscripts.planning import plan_apply

    planned = plan_apply(conn, get_dbms(dbms), list(GROUPS), read_history(conn))
    for script in planned.to_run:
        run_script(conn, dbms, script.text)
        record_applied(
            conn,
            script=script.script.name,
            group=script.script.group,
            dbms=dbms,
            checksum=script.checksum,
        )


def _custom_columns(engine: Engine) -> tuple[dict[str, str], tuple[CustomField, ...]]:
    from gsetup.columns import SCRIPT_PAIRS
    from gsetup.sqlscripts.planning import existing_columns

    with engine.connect() as conn:
        present = existing_columns(conn)
    columns: dict[str, str] = {}
    custom: list[CustomField] = []
    for pair in SCRIPT_PAIRS:
        for column in pair.columns:
            stored = present.get(column.name.lower())
            if stored is not None:
                columns[column.name.lower()] = stored
                custom.append(CustomField(column.property, stored, column.type, column.length))
    return columns, tuple(custom)


@functools.cache
def insert_ignore(
    postgresql: bool, table: Table, keys: tuple[str, ...], *, returning: bool = True
) -> Any:
    """An INSERT that does nothing when a row with the same ``keys`` exists (a unique key),
    returning the primary key of what it inserted: ``.first()`` is None for a repeat
    (rowcount is -1 with psycopg here); without ``returning``, for an executemany. Built
    once per table."""
    if postgresql:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return statement.returning(*table.primary_key.columns) if returning else statement
