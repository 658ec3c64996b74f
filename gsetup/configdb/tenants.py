"""Tenants: create, find and list them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gsetup.errors import BadInputError, ConflictError, NotFoundError
from gsetup.fileio import DEL_AND_C1, quote_prefix

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gsetup.configdb.auth import Identity

DEFAULT_TENANT = "Environment"
_NAME = re.compile(rf"[^/\x00-\x1f{DEL_AND_C1}]{{1,255}}")  # no C0, DEL or C1 control


def check_name(name: str, what: str, *, spaces: bool = True) -> str:
    """Validate an object or tenant name: 1-255 characters, no '/' or control characters.
    Without ``spaces`` (account names, typed after ``--user``) no space or other invisible
    character either (no-break space, line separator, C1 controls...)."""
    fits = _NAME.fullmatch(name) is not None and name == name.strip()
    if not spaces:
        fits = fits and all(c.isprintable() and not c.isspace() for c in name)
    if not fits:
        unwanted = "control characters or surrounding spaces" if spaces else "spaces or controls"
        raise BadInputError(
            f"invalid {what} name {quote_prefix(name)}: use 1 to 255 characters without '/', "
            f"{unwanted}"
        )
    return name


def tenant_id(conn: Connection, name: str) -> int:
    """The id of tenant ``name``."""
    from sqlalchemy import select

    from gsetup.configdb.tables import tenant

    found = conn.execute(select(tenant.c.id).where(tenant.c.name == name)).scalar()
    if found is None:
        raise NotFoundError(f"unknown tenant {quote_prefix(name)}")
    return int(found)


def create_tenant(conn: Connection, name: str) -> int:
    """Create a tenant with its own configuration object (path "")."""
    from sqlalchemy import insert, select

    from gsetup.configdb.tables import cfg_object, tenant, tenant_settings

    check_name(name, "tenant")
    if conn.execute(select(tenant.c.id).where(tenant.c.name == name)).first():
        raise ConflictError(f"tenant {name!r} already exists")
    key = conn.execute(
        insert(tenant).values(name=name, created_at=datetime.now(UTC))
    ).inserted_primary_key
    assert key is not None
    new_id = int(key[0])
    obj = conn.execute(
        insert(cfg_object).values(tenant_id=new_id, kind="tenant", path="", name=name)
    ).inserted_primary_key
    assert obj is not None
    conn.execute(insert(tenant_settings).values(id=obj[0]))
    return new_id


def list_tenants(conn: Connection, identity: Identity) -> list[str]:
    """The names of the tenants ``identity`` may see, sorted."""
    from sqlalchemy import select

    from gsetup.configdb.tables import tenant

    names = conn.execute(select(tenant.c.name).order_by(tenant.c.name)).scalars()
    return [n for n in names if identity.can_see(n)]


def record_tenant_created(
    conn: Connection,
    tenant_id: int,
    name: str,
    account: str,
    summary: dict[str, int],
    changes: list[dict[str, Any]],
) -> None:
    """Record the creation of tenant ``name`` by ``account`` in the install history, with
    its plan's ``summary`` and ``changes`` as every other entry has them."""
    from sqlalchemy import insert

    from gsetup.configdb.tables import install_history

    conn.execute(
        insert(install_history).values(
            tenant_id=tenant_id,
            tenant_name=name,
            operation="tenant create",
            account=account,
            at=datetime.now(UTC),
            answers={},
            summary=summary,
            changes=changes,
        )
    )
