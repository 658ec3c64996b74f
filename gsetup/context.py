"""An open configuration database and the identity using it: what every command runs with."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from gsetup.configdb.auth import Identity, login, os_identity
from gsetup.configdb.database import (
    Database,
    check_schema,
    open_database,
    resolve_url,
    schema_revision,
)
from gsetup.errors import BadInputError

ENV_USER = "GSETUP_USER"
ENV_PASSWORD = "GSETUP_PASSWORD"

PasswordSource = Callable[[], str]


@dataclass
class Context:
    """What a command needs: the database and who is acting on it."""

    db: Database
    identity: Identity


def connect(
    db_url: str | None,
    *,
    user: str | None = None,
    password: PasswordSource | None = None,
    upgrade: bool | None = None,
    create: bool = True,
) -> Context:
    """Open the database and identify the user (``create``: see :func:`open_database`).

    The embedded database trusts its file's owner. A server database needs ``user`` (or
    GSETUP_USER) and a password from GSETUP_PASSWORD or, only when needed, ``password()``.
    ``upgrade`` True migrates the schema, on a server database only for a superuser; False
    opens a schema behind as it is (see :func:`open_database`).
    """
    db = open_database(
        resolve_url(db_url), upgrade=upgrade, check=upgrade is not True, create=create
    )
    if db.embedded:
        if upgrade:
            check_schema(db, upgrade=True)
        return Context(db, os_identity())
    if upgrade and schema_revision(db) is None:
        check_schema(db, upgrade=False)  # empty or not gsetup's: says what to run instead
    context = _login(db, user, password)
    if upgrade:
        context.identity.require_superuser("upgrade the database schema")
        check_schema(db, upgrade=True)
    return context


def _login(db: Database, user: str | None, password: PasswordSource | None) -> Context:
    name = user or os.environ.get(ENV_USER)
    if not name:
        raise BadInputError(
            f"the server database {db.display_url} needs a login: give --user or {ENV_USER}"
        )
    secret = os.environ.get(ENV_PASSWORD)
    if secret is None:
        if password is None:
            raise BadInputError(
                f"no password for account {name!r}: set {ENV_PASSWORD} or run in a terminal"
            )
        secret = password()
    with db.engine.connect() as conn:
        return Context(db, login(conn, name, secret))
