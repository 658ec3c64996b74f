"""The install history: every applied plan, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gsetup.deployment.model import HistoryEntry

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def history(
    conn: Connection,
    *,
    tenant: str | None = None,
    limit: int = 50,
    visible: Callable[[str], bool] = lambda _tenant: True,
) -> list[HistoryEntry]:
    """Up to ``limit`` entries (only ``tenant``'s if given; only of tenants ``visible``
    accepts), newest first; one statement, read until ``limit`` entries are found."""
    from sqlalchemy import select

    from gsetup.configdb.tables import install_history as H

    query = select(
        H.c.id,
        H.c.at,
        H.c.tenant_name.label("tenant"),
        H.c.operation,
        H.c.package,
        H.c.version,
        H.c.account,
        H.c.summary,
        H.c.answers,
        H.c.changes,
    ).order_by(H.c.id.desc())
    if tenant is not None:
        query = query.where(H.c.tenant_name == tenant)
    entries: list[HistoryEntry] = []
    if limit <= 0:
        return entries
    for row in conn.execute(query):
        if visible(row.tenant):
            entries.append(HistoryEntry(**row._mapping))
            if len(entries) >= limit:
                break
    return entries
