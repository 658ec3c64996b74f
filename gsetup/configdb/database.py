"""Find, open and check the configuration database.

The embedded default is an SQLite file in the user's data directory, created with mode 0600
and migrated automatically. A server database (PostgreSQL) that is behind is reported, and
``gsetup db upgrade`` migrates it. Alembic is imported only when a migration actually runs,
so opening an up-to-date database stays cheap.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup.errors import ConflictError, DatabaseError, GsetupError
from gsetup.fileio import elide_middle, lookup, quote_prefix
from gsetup.numbers import decimal_number

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import URL, Connection, Engine

ENV_DB = "GSETUP_DB"
# The migration heads this gsetup knows, oldest first; tests check them against alembic.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
HEAD = REVISIONS[-1]
LOCK_TIMEOUT_ENV = "GSETUP_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 120.0
# psycopg waits for ever on a server that accepts the connection and never answers it.
CONNECT_TIMEOUT = 10
LIBPQ_DRIVERS = ("psycopg", "psycopg2")
# SQLSTATE insufficient_privilege: the URL's role was not granted what a statement needs.
_INSUFFICIENT_PRIVILEGE = "42501"
# pg_advisory_xact_lock key held while the schema is migrated or its first admin made
# ("gsetupm" in ASCII; interaction stores use "gsetup\0")
_SCHEMA_LOCK = 0x6773657475706D


def lock_timeout() -> float:
    """Seconds a writer waits for a lock (``GSETUP_LOCK_TIMEOUT``, default 120)."""
    return env_seconds(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT, DatabaseError)


def env_seconds(
    name: str, default: float, error: type[GsetupError], *, above_zero: bool = False
) -> float:
    """Seconds from environment variable ``name`` (unset or empty: ``default``): a plain
    decimal below 10000000, 0 or more (``above_zero``: more than 0), else ``error``."""
    text = os.environ.get(name)
    value = decimal_number(text, signed=False) if text else default
    if value is None or not 0 <= value < 1e7 or (above_zero and value == 0):
        least = "above 0" if above_zero else "0 or more"
        raise error(
            f"{name}={quote_prefix(text)}: give seconds, {least} and below 10000000, as a "
            f"plain decimal number (e.g. {default:g} or 2.5)"
        )
    return value


def default_url() -> str:
    """The embedded database's URL: ``gsetup.db`` in the user's data directory."""
    from platformdirs import user_data_path

    return f"sqlite:///{user_data_path('gsetup') / 'gsetup.db'}"


def resolve_url(db: str | None) -> str:
    """``--db``, else ``GSETUP_DB``, else the embedded default."""
    return db or os.environ.get(ENV_DB) or default_url()


@dataclass
class Database:
    """An open configuration database."""

    url: URL
    engine: Engine
    # The schema revision check_schema found, before it migrated anything (None: not checked,
    # or empty): what `db upgrade` migrated from.
    found_revision: str | None = None

    @property
    def embedded(self) -> bool:
        """True for SQLite, which trusts the file's owner instead of asking for a login."""
        return self.url.get_backend_name() == "sqlite"

    @property
    def file(self) -> Path | None:
        """The SQLite database's file, resolved; None for a server database."""
        return Path(self.url.database or "").expanduser().resolve() if self.embedded else None

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return shown_url(self.url)


def open_database(
    url_text: str, *, upgrade: bool | None = None, check: bool = True, create: bool = True
) -> Database:
    """Open the database at ``url_text`` and make sure its schema is the one this gsetup uses.

    Connections are not pooled: a gsetup process is short-lived and must leave none open.

    The embedded default file (and its directory) is created on first use. Another SQLite
    file that does not exist is a mistyped path as often as a new database: it is created only
    when ``create`` (commands that write) and its directory exists, else refused.

    ``upgrade`` None migrates embedded databases and refuses server databases that are behind;
    True migrates any database (``gsetup db upgrade``/``db init``); False never migrates and
    opens one behind as it is, for ``gsetup db status`` to report.
    ``check`` False leaves the schema to :func:`check_schema` (after a login, say).
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    url = parse_url(url_text)
    # Compact JSON: install-history records of large plans are written at every apply.
    # hide_parameters: a database error must never print the values bound (they hold secrets).
    compact = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)
    if not supported(url):
        raise _unsupported(url)
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_file(url, default=url_text == default_url(), create=create)
        engine = create_engine(
            url,
            poolclass=NullPool,
            json_serializer=compact,
            hide_parameters=True,
            connect_args={"timeout": lock_timeout()},
        )
        engine._connection_cls = _sqlite_connection_class()
        _configure_sqlite(engine)
    elif url.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            poolclass=NullPool,
            json_serializer=compact,
            hide_parameters=True,
            connect_args=connect_args(url),
        )
    else:
        raise _unsupported(url)
    db = Database(url, engine)
    if check:
        if upgrade is None:
            check_schema(db, upgrade=db.embedded)
        else:
            check_schema(db, upgrade=upgrade, behind=not upgrade)
    return db


def connect_args(url: URL) -> dict[str, Any]:
    """The driver's arguments for a PostgreSQL server through libpq (psycopg, psycopg2): a
    connection attempt gives up after CONNECT_TIMEOUT seconds unless the URL's
    ``connect_timeout`` or libpq's ``PGCONNECT_TIMEOUT`` says otherwise."""
    if url.get_backend_name() != "postgresql" or url.get_driver_name() not in LIBPQ_DRIVERS:
        return {}
    if "connect_timeout" in url.query or os.environ.get("PGCONNECT_TIMEOUT"):
        return {}
    return {"connect_timeout": CONNECT_TIMEOUT}


def parse_url(url_text: str) -> URL:
    """Parse a configuration database URL; DatabaseError, its password masked, if it cannot be."""
    url = url_or_none(url_text)
    if url is None:
        raise DatabaseError(
            f"{redact_url(url_text)!r} is not a database URL; use e.g. "
            "sqlite:///path/gsetup.db or postgresql+psycopg://user@host:5432/dbname"
        )
    return url


def url_or_none(url_text: str) -> URL | None:
    """``url_text`` parsed by SQLAlchemy, or None when it cannot be read (its own errors
    repeat the URL, password included). Its passwords are kept for :func:`scrub`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(url_text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return None
    _GIVEN_SECRETS.update(_secrets_of(url))
    return url


# The passwords of the database URLs this process was given (every one is parsed by
# url_or_none): a driver's message may echo its connection string, in any format.
_GIVEN_SECRETS: set[str] = set()
_ODBC_PWD = re.compile(r"\bpwd=\{?([^;}]*)", re.IGNORECASE)


def _secrets_of(url: URL) -> set[str]:
    """The URL's password and the values of its secret query parameters (ODBC's PWD inside
    odbc_connect too)."""
    found = {str(url.password)} if url.password else set()
    for key, given in url.query.items():
        if re.fullmatch(_SECRET_NAME, key, re.IGNORECASE):
            for value in (given,) if isinstance(given, str) else given:
                found.add(value)
                found.update(_ODBC_PWD.findall(value))
    return {secret for secret in found if secret}


# A password of 8 characters or more (the least an agent's may have, NIST's minimum too) is
# masked wherever it occurs: it does not occur by chance. A shorter one ('pg', 'admin') is
# part of words, paths and schemes, so it is masked where it stands alone, as drivers print
# it: between delimiters (password=pg, user:pg@host, PWD={pg}, 'pg'), a lone word too.
_MASKED_EVERYWHERE = 8


def scrub(text: str) -> str:
    """``text`` (a driver's error, a traceback) with the passwords of the database URLs this
    process was given masked, the longest first (one may contain another)."""
    for secret in sorted(_GIVEN_SECRETS, key=len, reverse=True):
        if len(secret) >= _MASKED_EVERYWHERE:
            text = text.replace(secret, "***")
        else:
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "***", text)
    return text


# Query parameters that hand a password to the driver: libpq's password and sslpassword,
# ODBC's PWD (alone or inside odbc_connect), a secret of any other name alike. Not libpq's
# passfile: the path of a password file, which a recorded store needs to be reached.
_SECRET_NAME = r"(?!passfile\b)[^=&#]*(?:pass|pwd|secret|token|odbc_connect)[^=&#]*"
_SECRET_PARAMETER = re.compile(rf"([?&]{_SECRET_NAME}=)[^&#]*", re.IGNORECASE)


def redact_url(url_text: str) -> str:
    """``url_text`` with the password of its user part and secret query parameters masked,
    parsable or not."""
    scheme, sep, rest = url_text.rpartition("://")
    userinfo, at, host = rest.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    shown = f"{scheme}{sep}{user}:***{at}{host}" if colon else url_text
    return _SECRET_PARAMETER.sub(r"\1***", shown)


def short_url(url_text: str) -> str:
    """``url_text`` (a store's) for a message: its password masked, its middle elided when
    very long."""
    return elide_middle(redact_url(url_text))


def without_secrets(url: URL) -> URL:
    """``url`` without its password nor its secret query parameters: what may be written."""
    secret = [key for key in url.query if re.fullmatch(_SECRET_NAME, key, re.IGNORECASE)]
    # URL.set() keeps a password given as None; the tuple's own _replace drops it.
    return url._replace(password=None).difference_update_query(secret)


def shown_url(url: URL) -> str:
    """``url`` for messages and reports, without its password (nor one in its query)."""
    return redact_url(url.render_as_string(hide_password=True))


# The drivers gsetup is built and tested with, per backend (None: the backend's default).
DRIVERS = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}


def supported(url: URL) -> bool:
    """Whether ``url`` names a backend and driver of :data:`DRIVERS`. A scheme SQLAlchemy does
    not know is not one (finding its default driver raises NoSuchModuleError)."""
    from sqlalchemy.exc import NoSuchModuleError

    try:
        driver = url.get_driver_name()
    except NoSuchModuleError:
        return False
    return driver in DRIVERS.get(url.get_backend_name(), ())


def _unsupported(url: URL) -> DatabaseError:
    return DatabaseError(
        f"unsupported database {shown_url(url)!r}: gsetup keeps its "
        "configuration in SQLite (sqlite:///PATH) or PostgreSQL (postgresql+psycopg://...)"
    )


def _prepare_sqlite_file(url: URL, *, default: bool, create: bool) -> None:
    """Create the file with mode 0600; refuse a file owned by another operating-system user."""
    if not url.database or url.database == ":memory:":
        raise DatabaseError("the embedded database needs a file path, e.g. sqlite:///gsetup.db")
    path = Path(url.database).expanduser()
    if not default and lookup(path, "the database file", DatabaseError) is None:
        _check_creatable(path, create)
    try:
        if default:
            path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    except OSError as exc:
        raise DatabaseError(f"cannot open the database file {path}: {exc.strerror}") from None
    if path.stat().st_uid != os.getuid():
        raise DatabaseError(
            f"the database file {path} belongs to another user; the embedded database trusts "
            "only its owner (use a PostgreSQL database with accounts to share it)"
        )


def _check_creatable(path: Path, create: bool) -> None:
    """A named SQLite file that does not exist: create it only to write, in an existing dir."""
    if not create:
        raise DatabaseError(
            f"the database file {path} does not exist (check --db or GSETUP_DB); "
            "`gsetup db init` creates one"
        )
    if not path.parent.is_dir():
        raise DatabaseError(
            f"cannot create the database file {path}: the directory {path.parent} does not "
            "exist (gsetup creates no directories for a --db path)"
        )


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL journal, and write transactions that take the lock up front."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own handling is lazy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute(f"PRAGMA busy_timeout = {int(lock_timeout() * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writes always open their transaction explicitly: IMMEDIATE, so one that reads then
        # writes can't deadlock on the upgrade. Implicit ones only read: a plain BEGIN, which
        # in WAL mode never waits for a writer.
        conn.exec_driver_sql("BEGIN" if getattr(conn, "reading", False) else "BEGIN IMMEDIATE")


def set_busy_timeout(conn: Connection, seconds: float) -> None:
    """How long ``conn``'s next SQLite write waits for another writer (no-op elsewhere)."""
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


# How long a write undoing a run that SQLite kept waiting past the lock timeout waits itself.
BRIEF_BUSY_SECONDS = 0.1


@contextmanager
def undoing_after(conn: Connection, exc: BaseException | None) -> Iterator[None]:
    """Around the writes that undo a run failed by ``exc``: after SQLite was kept busy past
    the lock timeout, each tries briefly instead of waiting the whole timeout again, so the
    refusal takes one timeout, not one more per lock and record to delete."""
    if not is_busy(exc):
        yield
        return
    set_busy_timeout(conn, BRIEF_BUSY_SECONDS)
    try:
        yield
    finally:
        set_busy_timeout(conn, lock_timeout())


def is_busy(exc: BaseException | None) -> bool:
    """Whether ``exc`` is SQLite's refusal of a write while another connection held its lock."""
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def busy_error() -> ConflictError:
    """The refusal of a write that SQLite's lock, held by another process, kept waiting past
    the lock timeout."""
    return ConflictError(
        "the configuration database is busy: another process kept it locked longer than "
        f"{LOCK_TIMEOUT_ENV} ({lock_timeout():g} s); try again when it is done"
    )


@functools.cache
def _sqlite_connection_class() -> type[Connection]:
    from sqlalchemy.engine import Connection

    class SqliteConnection(Connection):
        """Marks the transactions begun implicitly, by a first statement: they only read."""

        reading = False

        def _autobegin(self) -> None:
            self.reading = True
            try:
                super()._autobegin()
            finally:
                self.reading = False

    return SqliteConnection


def _current_revision(db: Database) -> tuple[str | None, bool]:
    """The database's revision and whether it holds any table at all."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        with db.engine.connect() as conn:
            # The revision is read first, the tables listed only when it is missing: every
            # command opens the database, and listing them costs a catalogue query.
            try:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
                return (row[0] if row else None), True
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise
                conn.rollback()
                tables = set(inspect(conn).get_table_names())
                if "alembic_version" in tables:
                    raise  # it is there: the read was refused for another reason
                return None, bool(tables)
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot connect to the configuration database {db.display_url}: {first_line(exc.orig)}"
        ) from None
    except DBAPIError as exc:
        raise DatabaseError(
            f"the configuration database {db.display_url} refused gsetup: {first_line(exc.orig)}"
        ) from None


def explain_failure(exc: BaseException) -> GsetupError | None:
    """The user's sentence for a database failure that is not a bug of gsetup, else None.

    A database kept busy past the lock timeout, one whose tables were dropped or changed
    by hand, or a role not granted a write: one sentence, never the SQL text.
    """
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return None
    if getattr(exc.orig, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE:
        return DatabaseError(
            f"the database refused gsetup: {first_line(exc.orig)}: the role of its URL may not "
            "change it; use the URL of a role that may (the one `db init` ran with, or one "
            "granted the rights on gsetup's tables)"
        )
    if is_busy(exc):
        return busy_error()
    reason = str(exc.orig)
    missing = re.search(
        r"no such (?:table|column): (\S+)|(?:relation|column) \"?([^\s\"]+)\"? does not exist",
        reason,
    )
    if missing:
        name = missing.group(1) or missing.group(2)
        return DatabaseError(
            f"the configuration database has no {name!r} ({first_line(exc.orig)}): it was "
            "changed by hand or damaged; restore it from a backup"
        )
    return None


def unexpected_failure(exc: BaseException) -> str:
    """The one line for a failure gsetup did not expect (a bug, a trigger's refusal...): for a
    database's, the statement's operation and table and the first line of the server's reason;
    never the SQL text, its parameters (a secret being written) nor the server's further lines
    (a row's values) and SQLAlchemy's link; no password of a URL."""
    from sqlalchemy.exc import StatementError

    statement = exc.statement if isinstance(exc, StatementError) else None
    return f"unexpected {type(exc).__name__}{_target(statement)}: {first_line(exc)}"


_OPERATION = re.compile(r"\s*(\w+)")
_TABLE = re.compile(r'\b(INTO|FROM|UPDATE|TABLE)\s+("[^"]+"|[\w.]+)', re.IGNORECASE)


def _target(statement: str | None) -> str:
    """`` on INSERT into cfg_option``, `` on UPDATE runtime_workers``: what ``statement`` did."""
    operation = _OPERATION.match(statement or "")
    if statement is None or operation is None:
        return ""
    verb = operation[1].upper()
    table = _TABLE.search(statement)
    if table is None:
        return f" on {verb}"
    keyword, name = table[1].upper(), table[2].strip('"')
    return f" on {verb} {name}" if keyword == verb else f" on {verb} {keyword.lower()} {name}"


def first_line(exc: BaseException | None) -> str:
    """The first line of a database error's own message (not SQLAlchemy's statement and link
    to its background page, nor the server's further lines), for messages and log lines; no
    password of a URL in it."""
    text = str(getattr(exc, "orig", None) or exc).strip() if exc else ""
    return scrub(text.splitlines()[0]) if text else "no reason given"


def check_schema(db: Database, *, upgrade: bool, behind: bool = False) -> None:
    """Make sure the schema is this gsetup's: migrate it when ``upgrade``, else refuse, or
    with ``behind`` leave an older one of this gsetup's line as it is."""
    revision, has_tables = _current_revision(db)
    db.found_revision = revision
    if revision == HEAD:
        return
    if revision is None and has_tables:
        raise DatabaseError(f"{db.display_url} is not a gsetup configuration database")
    if revision is not None and revision not in REVISIONS:
        raise DatabaseError(
            f"the configuration database {db.display_url} is at schema {revision}, newer than "
            f"this gsetup knows ({HEAD}); upgrade gsetup"
        )
    if behind and revision is not None:
        return
    if not upgrade:
        state = "empty" if revision is None else f"at schema {revision}, behind {HEAD}"
        command = "gsetup db init" if revision is None else "gsetup db upgrade"
        raise DatabaseError(
            f"the configuration database {db.display_url} is {state}; run `{command}`"
        )
    migrate(db)


def alembic_config() -> Config:
    """Alembic's configuration of the shipped migrations (the connection is the caller's)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def migrate(db: Database) -> None:
    """Run the alembic migrations up to this gsetup's head, in one transaction."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import DBAPIError

    cfg = alembic_config()
    try:
        with db.engine.begin() as conn:
            lock_schema(conn)
            # Another upgrade waited for may have migrated it: what this one migrates from.
            db.found_revision = MigrationContext.configure(conn).get_current_revision()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
            raise
        role = db.url.username
        if db.found_revision is None:  # an init: no role owns gsetup's tables yet
            raise DatabaseError(
                f"the database role {role!r} of {db.display_url} may not create gsetup's "
                f"tables ({first_line(exc.orig)}): make it the database's owner (`ALTER "
                f"DATABASE {db.url.database} OWNER TO {role}`, as an administrator), then run "
                "`gsetup db init` again; nothing was changed"
            ) from None
        raise DatabaseError(
            f"the database role {role!r} of {db.display_url} may not change "
            f"gsetup's tables ({first_line(exc.orig)}): run `gsetup db upgrade` with a --db "
            "(or GSETUP_DB) URL naming the role that owns them (the one `db init` ran with); "
            "nothing was changed"
        ) from None


def lock_schema(conn: Connection) -> None:
    """Hold the schema's lock until ``conn``'s transaction ends: two inits or upgrades at
    once migrate once (the other, waiting, then finds the schema at head) and make one first
    admin. PostgreSQL only: SQLite's BEGIN IMMEDIATE already serialises them."""
    pg_transaction_lock(conn, _SCHEMA_LOCK)


def pg_transaction_lock(conn: Connection, key: int) -> None:
    """On PostgreSQL, wait for and hold advisory lock ``key`` until the transaction ends
    (each statement after it sees what the previous holder committed)."""
    from sqlalchemy import text

    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def schema_revision(db: Database) -> str | None:
    """The schema revision the database is at (None when empty)."""
    return _current_revision(db)[0]
