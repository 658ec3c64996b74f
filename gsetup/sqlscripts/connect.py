"""Open the Interaction Server database named by a SQLAlchemy URL; turn driver errors into ours.

No message built here contains a password: URLs are shown with it masked, and driver
messages have every password of a URL given scrubbed, in case a driver echoes its connection
string.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup.configdb.database import connect_args, first_line, scrub
from gsetup.errors import BadInputError, DatabaseError, GsetupError, PermissionDeniedError
from gsetup.fileio import lookup, quote_prefix
from gsetup.sqlscripts.catalog import Dbms, get_dbms

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import URL

# SQLAlchemy backend names -> gsetup DBMS names (ibm-db-sa registers itself as db2/ibm_db_sa).
_BACKENDS = {
    "mssql": "mssql",
    "oracle": "oracle",
    "postgresql": "postgresql",
    "sqlite": "sqlite",
    "db2": "db2",
    "ibm_db_sa": "db2",
}
# SQLSTATE class 42501 is "insufficient privilege" on PostgreSQL and Db2; the others by text.
_PRIVILEGE_MARKERS = (
    "42501",
    "permission denied",
    "must be owner",
    "ora-01031",
    "sql0551n",
    "readonly database",
    "read-only database",
)


@dataclass(frozen=True)
class Target:
    """A parsed database URL: its DBMS and how to show it."""

    url: URL
    dbms: Dbms

    @property
    def shown(self) -> str:
        """The URL with its password masked."""
        from gsetup.configdb.database import shown_url

        return shown_url(self.url)


def parse_target(url: str) -> Target:
    """Parse ``url`` and detect its DBMS; BadInputError for what gsetup cannot use."""
    from gsetup.configdb.database import url_or_none

    parsed = url_or_none(url)
    if parsed is None:
        raise BadInputError(
            "The database URL cannot be parsed: use the form "
            "dialect+driver://user:password@host:port/database."
        )
    backend = parsed.get_backend_name()
    if backend not in _BACKENDS:
        allowed = ", ".join(sorted(set(_BACKENDS.values())))
        raise BadInputError(
            f"Unknown database dialect {quote_prefix(backend)} in the URL: use one of {allowed}."
        )
    target = Target(parsed, get_dbms(_BACKENDS[backend]))
    _check_sqlite_file(target)
    return target


def _check_sqlite_file(target: Target) -> None:
    # SQLite would create a missing file: an empty database that is surely not the one meant.
    # A query string is refused: with uri=true SQLite opens another file than the path checked
    # here ('ixn.db?mode=ro', or a 'file:' URI's), and the driver's own parameters fail unexplained.
    database = target.url.database
    if target.dbms.name != "sqlite":
        return
    if target.url.query or (database or "").startswith("file:"):
        raise BadInputError(
            f"Cannot use {target.shown}: a SQLite database is given as sqlite:///PATH of an "
            "existing file, without 'file:' or a query string"
        )
    if not database or database == ":memory:":
        return
    info = lookup(Path(database), "The SQLite database file")
    if info is None or not stat.S_ISREG(info.st_mode):
        raise BadInputError(f"The SQLite database file {database} does not exist.")


def create_engine_for(target: Target) -> Engine:
    """An engine for the target; SQLite's driver is made to run DDL inside transactions."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        # hide_parameters: errors never print values
        engine = create_engine(
            target.url, hide_parameters=True, connect_args=connect_args(target.url)
        )
    except (NoSuchModuleError, ArgumentError, ImportError) as error:
        raise BadInputError(f"Cannot use {target.shown}: {scrub(str(error))}") from None
    if target.dbms.name == "sqlite":
        # pysqlite opens transactions only before DML, so DDL would commit as it goes;
        # SQLAlchemy's documented recipe: let us emit BEGIN ourselves.
        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection: object, _record: object) -> None:
            dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

        @event.listens_for(engine, "begin")
        def _begin(connection: object) -> None:
            connection.exec_driver_sql("BEGIN")  # type: ignore[attr-defined]

    return engine


@contextmanager
def translated_errors(target: Target, doing: str, outcome: str = "") -> Iterator[None]:
    """Turn SQLAlchemy/driver errors raised while ``doing`` into one clear gsetup error.

    ``outcome`` tells the user what state the failure left (appended to statement errors).
    """
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        yield
    except GsetupError:
        raise
    except DBAPIError as error:
        detail = first_line(error)
        if error.connection_invalidated or _is_connect_error(error):
            raise DatabaseError(f"Cannot connect to {target.shown}: {detail}") from None
        if _is_privilege_error(error, detail):
            raise PermissionDeniedError(
                _sentence(
                    f"Insufficient privileges on {target.shown} while {doing}: {detail}", outcome
                )
            ) from None
        raise DatabaseError(
            _sentence(f"Failed while {doing} on {target.shown}: {detail}", outcome)
        ) from None
    except SQLAlchemyError as error:
        detail = first_line(error)
        raise DatabaseError(f"Failed while {doing} on {target.shown}: {detail}") from None


def _sentence(message: str, outcome: str) -> str:
    return f"{message.rstrip('.')}. {outcome}" if outcome else message


def _is_connect_error(error: Exception) -> bool:
    # Errors raised before any statement ran carry no statement.
    return getattr(error, "statement", None) is None


def _is_privilege_error(error: Exception, detail: str) -> bool:
    sqlstate = str(getattr(getattr(error, "orig", None), "sqlstate", "") or "")
    text = f"{sqlstate} {detail}".lower()
    return any(marker in text for marker in _PRIVILEGE_MARKERS)
