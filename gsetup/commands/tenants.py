"""Tenants and accounts: the commands around who may use what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gsetup.configdb import auth
from gsetup.configdb.tenants import create_tenant as _create_tenant
from gsetup.configdb.tenants import list_tenants as _list_tenants
from gsetup.context import Context
from gsetup.errors import NeedsAnswerError, NotFoundError
from gsetup.plan.model import Change, Plan


def list_tenants(ctx: Context) -> list[str]:
    """The tenants the user may see."""
    with ctx.db.engine.connect() as conn:
        return _list_tenants(conn, ctx.identity)


def tenants_to_select(ctx: Context) -> list[str]:
    """The tenants a wizard offers: those the user may see; an account granted none is told
    how to get one (there is nothing to select)."""
    tenants = list_tenants(ctx)
    if not tenants:
        name = ctx.identity.name
        raise NeedsAnswerError(
            f"no tenant to select: account {name!r} was granted none; a superuser grants "
            f"one with `gsetup account grant {name} --tenant NAME --role operator`"
        )
    return tenants


def create_tenant(ctx: Context, name: str, *, dry_run: bool) -> Plan:
    """Create a tenant (superusers only): a plan of one change, or of none when it exists
    (running it again changes nothing, as ``app create``)."""
    from gsetup.configdb.tenants import check_name, record_tenant_created, tenant_id

    ctx.identity.require_superuser("create tenants")
    check_name(name, "tenant")
    with ctx.db.engine.begin() as conn:
        try:
            tenant_id(conn, name)
        except NotFoundError:
            pass
        else:
            return Plan(name, changes=[Change("keep", "object", "tenant", "")])
        tid = _create_tenant(conn, name)
        plan = Plan(name, changes=[Change("create", "object", "tenant", "")])
        if dry_run:
            conn.rollback()
        else:
            changes = [c.to_json(name) for c in plan.changes]
            record_tenant_created(conn, tid, name, ctx.identity.name, plan.summary(), changes)
    return plan


def create_account(
    ctx: Context, user: str, password: Callable[[], str], *, superuser: bool
) -> None:
    """Create a login account (superusers only); ``password`` is asked for once allowed."""
    ctx.identity.require_superuser("create accounts")
    secret = password()
    with ctx.db.engine.begin() as conn:
        auth.create_account(conn, user, secret, superuser=superuser)


def grant(ctx: Context, user: str, tenant: str, role: str) -> None:
    """Grant ``role`` in ``tenant`` to ``user`` (superusers only)."""
    ctx.identity.require_superuser("grant roles")
    with ctx.db.engine.begin() as conn:
        auth.grant(conn, user, tenant, role)


def list_accounts(ctx: Context) -> list[dict[str, Any]]:
    """Accounts and their roles (superusers only)."""
    ctx.identity.require_superuser("list accounts")
    with ctx.db.engine.connect() as conn:
        return auth.list_accounts(conn)
