"""The install history: every applied plan, newest first."""

from __future__ import annotations

from typing import Any

from gsetup.context import Context
from gsetup.plan.model import expand_option_row


def list_history(
    ctx: Context, tenant: str | None = None, limit: int = 50, with_changes: bool = False
) -> list[dict[str, Any]]:
    """History entries the user may see, newest first."""
    from sqlalchemy import select

    from gsetup.configdb.models import InstallHistory as H

    query = select(H).order_by(H.id.desc())
    if tenant is not None:
        ctx.identity.require(tenant, change=False)
        query = query.where(H.tenant_name == tenant)
    entries = []
    with ctx.db.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            if not ctx.identity.can_see(row["tenant_name"]):
                continue
            entry = {
                "id": row["id"],
                "at": row["at"].isoformat(timespec="seconds"),
                "tenant": row["tenant_name"],
                "operation": row["operation"],
                "package": row["package"],
                "version": row["version"],
                "account": row["account"],
                "summary": row["summary"],
                "answers": row["answers"],
            }
            if with_changes:
                tenant_name = row["tenant_name"]
                entry["changes"] = [
                    expand_option_row(c, tenant_name) if isinstance(c, list) else c
                    for c in row["changes"]
                ]
            entries.append(entry)
            if len(entries) >= limit:
                break
    return entries
