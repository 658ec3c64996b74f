"""Where ``merge_itx_data`` copied a message's text: the ``_mergedItems`` of the interaction
merged into. ``runtime_merges`` records each copy (of the interaction merged and of those
merged into it before), so a compliance delete finds the copies by key: searching every
interaction's attached data for the id was a full scan of the store per delete."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from gsetup.runtime import sql
from gsetup.runtime.itx import dumps
from gsetup.runtime.schema import interactions, merges
from gsetup.runtime.store import insert_ignore

if TYPE_CHECKING:
    from sqlalchemy import Connection

_KEY = ("tenant", "merged_id", "into_id")


def merged_ids(udata: dict[str, Any]) -> list[str]:
    """The ids of the items of ``udata``'s ``_mergedItems``, and of the items merged into
    those (an interaction that had merged others was merged itself)."""
    found: list[str] = []
    for item in udata.get("_mergedItems") or []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("id"), str):
            found.append(item["id"])
        if isinstance(item.get("udata"), dict):
            found.extend(merged_ids(item["udata"]))
    return found


def record(conn: Connection, postgresql: bool, tenant: str, into: str, ids: Iterable[str]) -> None:
    """``into``'s ``_mergedItems`` now hold the text of each of ``ids``."""
    rows = [{"tenant": tenant, "merged_id": i, "into_id": into} for i in dict.fromkeys(ids)]
    if rows:
        sql.write(conn, insert_ignore(postgresql, merges, _KEY, returning=False), rows)


def record_stored(conn: Connection, postgresql: bool) -> None:
    """Record the copies a store made before ``runtime_merges`` holds (an upgrade to schema
    version 4): the one scan of the interactions, for those holding merged items."""
    from sqlalchemy import select

    i = interactions.c
    found = conn.execute(
        select(i.tenant, i.id, i.attached_data).where(i.attached_data.contains('"_mergedItems"'))
    )
    rows = [
        {"tenant": row.tenant, "merged_id": merged, "into_id": row.id}
        for row in found
        for merged in dict.fromkeys(merged_ids(json.loads(row.attached_data)))
    ]
    if rows:
        conn.execute(insert_ignore(postgresql, merges, _KEY, returning=False), rows)


def forget_text(conn: Connection, tenant: str, ids: Collection[str]) -> None:
    """Set the text of the copies of ``ids`` to none wherever they were merged."""
    from sqlalchemy import select, update

    i, m = interactions.c, merges.c
    holders = conn.execute(
        select(i.id, i.attached_data)
        # a join: with ``id IN (subquery)`` SQLite walked the tenant's index instead
        .select_from(merges.join(interactions, i.id == m.into_id))
        .where(m.tenant == tenant, m.merged_id.in_(ids), i.tenant == tenant)
        .with_for_update(of=interactions)  # a turn holding the row commits first
    )
    for row in holders.all():
        udata = json.loads(row.attached_data)
        if _blank(udata, ids):
            conn.execute(
                update(interactions)
                .where(i.tenant == tenant, i.id == row.id)
                .values(attached_data=dumps(udata))
            )


def _blank(udata: dict[str, Any], ids: Collection[str]) -> bool:
    """Set the text of the merged items of ``ids`` to none, also in items merged into an
    item; true when one changed."""
    changed = False
    for item in udata.get("_mergedItems") or []:
        if not isinstance(item, dict):
            continue
        if item.get("id") in ids and item.get("text") is not None:
            item["text"] = None
            changed = True
        if isinstance(item.get("udata"), dict):
            changed = _blank(item["udata"], ids) or changed
    return changed
