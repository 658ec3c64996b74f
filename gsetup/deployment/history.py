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

    from gsetup.configdb.models import InstallHistory as H

    query = select(
        H.id,
        H.at,
        H.tenant_name,
        H.operation,
        H.package,
        H.version,
        H.account,
        H.summary,
        H.answers,
        H.changes,
    ).order_by(H.id.desc())
    if tenant is not None:
        query = query.where(H.tenant_name == tenant)
    entries: list[HistoryEntry] = []
    if limit <= 0:
        return entries
    for row in conn.execute(query):
        if visible(row.tenant_name):
            entries.append(HistoryEntry(*row))
            if len(entries) >= limit:
                break
    return entries
