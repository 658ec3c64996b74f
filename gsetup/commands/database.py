"""Database commands: init, upgrade, status, unlock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gsetup.configdb import auth
from gsetup.configdb.database import (
    HEAD,
    Database,
    check_schema,
    lock_schema,
    open_database,
    resolve_url,
    schema_revision,
    shown_url,
    url_or_none,
)
from gsetup.context import Context
from gsetup.errors import BadInputError, ConflictError

if TYPE_CHECKING:
    from sqlalchemy import Connection


def init_database(
    db_url: str | None, admin: str | None, password: Callable[[], str]
) -> dict[str, Any]:
    """Create or migrate the schema; on a server, create the first admin (a superuser).

    On a server database every refusal comes before the schema is written, ``password`` (the
    admin's, asked only then) included: a refused init leaves an empty database empty, and
    one that has accounts is migrated by a superuser's ``db upgrade``, not by whoever runs init.
    """
    db = open_database(resolve_url(db_url), check=False)
    if db.embedded:
        check_schema(db, upgrade=True)
        return {"url": db.display_url, "revision": schema_revision(db), "admin": None}
    if schema_revision(db) is not None:
        check_schema(db, upgrade=False, behind=True)  # newer: `db upgrade` would refuse it too
        with db.engine.connect() as conn:
            _refuse_accounts(db, conn)
    if not admin:
        raise BadInputError("a server database needs a first admin: give --user NAME")
    secret = auth.check_password(password())
    check_schema(db, upgrade=True)
    with db.engine.begin() as conn:
        lock_schema(conn)  # another init at once waits here, then finds this one's admin
        _refuse_accounts(db, conn)  # another init since the look above
        auth.create_account(conn, admin, secret, superuser=True)
    return {"url": db.display_url, "revision": schema_revision(db), "admin": admin}


def _refuse_accounts(db: Database, conn: Connection) -> None:
    if auth.has_accounts(conn):
        raise ConflictError(
            f"{db.display_url} already has accounts; use `gsetup account create` (and "
            "`gsetup db upgrade`, as a superuser, to migrate its schema)"
        )


def versions(db_url: str | None) -> dict[str, Any]:
    """What ``gsetup version`` reports; the database URL is shown, not opened."""
    import platform

    import sqlalchemy

    from gsetup import __version__

    parsed = url_or_none(resolve_url(db_url))
    shown = "(not a database URL)" if parsed is None else shown_url(parsed)
    return {
        "gsetup": __version__,
        "schema": HEAD,
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "database": shown,
    }


def upgrade_database(ctx: Context) -> dict[str, Any]:
    """What :func:`gsetup.context.connect` with ``upgrade=True`` migrated (superusers only):
    the revision it found and the one it left."""
    return {
        "url": ctx.db.display_url,
        "from": ctx.db.found_revision,
        "revision": schema_revision(ctx.db),
    }


def status(ctx: Context) -> dict[str, Any]:
    """Where the database is and its schema revision, as :func:`gsetup.context.connect` with
    ``upgrade=False`` left it (behind: not migrated)."""
    return {
        "url": ctx.db.display_url,
        "embedded": ctx.db.embedded,
        "revision": schema_revision(ctx.db),
        "head": HEAD,
        "user": ctx.identity.name,
    }


def unlock(ctx: Context, tenant: str) -> bool:
    """Remove a tenant's apply lock (and install-homes lock) left by a process that is gone."""
    from gsetup.plan.lock import force_unlock

    ctx.identity.require(tenant, change=True)
    return force_unlock(ctx.db.engine, tenant)
