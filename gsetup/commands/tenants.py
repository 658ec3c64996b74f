"""Tenants and accounts: the commands around who may use what."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gsetup.configdb import auth
from gsetup.configdb.tenants import create_tenant as _create_tenant
from gsetup.configdb.tenants import list_tenants as _list_tenants
from gsetup.context import Context


def list_tenants(ctx: Context) -> list[str]:
    """The tenants the user may see."""
    with ctx.db.engine.connect() as conn:
        return _list_tenants(conn, ctx.identity)


def create_tenant(ctx: Context, name: str, *, dry_run: bool) -> bool:
    """Create a tenant (superusers only); returns whether it was (or would be) created."""
    from sqlalchemy import insert

    from gsetup.configdb.models import InstallHistory
    from gsetup.configdb.tenants import check_name

    ctx.identity.require_superuser("create tenants")
    check_name(name, "tenant")
    with ctx.db.engine.begin() as conn:
        tid = _create_tenant(conn, name)
        if dry_run:
            conn.rollback()
            return True
        conn.execute(
            insert(InstallHistory).values(
                tenant_id=tid,
                tenant_name=name,
                operation="tenant create",
                account=ctx.identity.name,
                at=datetime.now(UTC),
                answers={},
                summary={"create": 1},
                changes=[{"action": "create", "target": "object", "kind": "tenant", "path": name}],
            )
        )
    return True


def create_account(ctx: Context, user: str, password: str, *, superuser: bool) -> None:
    """Create a login account (superusers only)."""
    ctx.identity.require_superuser("create accounts")
    with ctx.db.engine.begin() as conn:
        auth.create_account(conn, user, password, superuser=superuser)


def grant(ctx: Context, user: str, tenant: str, role: str) -> None:
    """Grant ``role`` in ``tenant`` to ``user`` (superusers only)."""
    ctx.identity.require_superuser("grant roles")
    with ctx.db.engine.begin() as conn:
        auth.grant(conn, user, tenant, role)


def list_accounts(ctx: Context) -> list[dict[str, Any]]:
    """Accounts and their roles (superusers only)."""
    from sqlalchemy import select

    from gsetup.configdb.models import Account, Grant, Tenant

    ctx.identity.require_superuser("list accounts")
    with ctx.db.engine.connect() as conn:
        accounts = conn.execute(select(Account.id, Account.name, Account.superuser)).all()
        grants = conn.execute(
            select(Grant.account_id, Tenant.name, Grant.role).join(
                Tenant, Tenant.id == Grant.tenant_id
            )
        ).all()
    return [
        {
            "name": name,
            "superuser": su,
            "roles": {t: r for aid, t, r in grants if aid == account_id},
        }
        for account_id, name, su in sorted(accounts, key=lambda a: a[1])
    ]
