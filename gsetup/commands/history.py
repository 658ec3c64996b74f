"""The install history: every applied plan, newest first."""

from __future__ import annotations

from typing import Any

from gsetup import deployment
from gsetup.configdb.tenants import tenant_id
from gsetup.context import Context
from gsetup.plan.model import expand_option_row


def list_history(
    ctx: Context,
    tenant: str | None = None,
    limit: int = 50,
    with_changes: bool = False,
    *,
    known_tenant: bool = True,
) -> list[dict[str, Any]]:
    """History entries the user may see, newest first. With ``known_tenant``, a ``tenant``
    that does not exist is refused (a mistyped name is not "no history")."""
    if tenant is not None:
        ctx.identity.require(tenant, change=False)
    with ctx.db.engine.connect() as conn:
        if tenant is not None and known_tenant:
            tenant_id(conn, tenant)
        found = deployment.history(conn, tenant=tenant, limit=limit, visible=ctx.identity.can_see)
    entries = []
    for row in found:
        entry = {
            "id": row.id,
            "at": row.at.isoformat(timespec="seconds"),
            "tenant": row.tenant,
            "operation": row.operation,
            "package": row.package,
            "version": row.version,
            "account": row.account,
            "summary": row.summary,
            "answers": row.answers,
        }
        if with_changes:
            entry["changes"] = [
                expand_option_row(c, row.tenant) if isinstance(c, list) else c for c in row.changes
            ]
        entries.append(entry)
    return entries
