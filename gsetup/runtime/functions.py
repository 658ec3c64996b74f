"""The functions a ``call`` block runs (docs/strategy-format.md, "Functions")."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gsetup.fileio import quote_prefix
from gsetup.runtime import sql
from gsetup.runtime.interpreter import StrategyError
from gsetup.runtime.itx import Itx
from gsetup.runtime.merges import merged_ids, record
from gsetup.runtime.services.facebook_xml import comments

if TYPE_CHECKING:
    from gsetup.runtime.interpreter import Machine

# find_interaction's states -> the interactions-table states they cover.
_STATES = {
    "queued": ("queued",),
    "routing": ("queued", "routing"),
    "agent": ("offered", "agent"),
}


def update_user_data(run: Machine, args: dict[str, Any]) -> None:
    """``Update[key, value]``: a key set again replaces its value."""
    key = _key(args["key"])
    run.itx.udata[key] = args["value"]
    run.turn.touch(run.itx, (key,))


def delete_user_data(run: Machine, args: dict[str, Any]) -> None:
    """Remove a key from the user data (nothing happens when it is absent)."""
    key = _key(args["key"])
    run.itx.udata.pop(key, None)
    run.turn.touch(run.itx, (key,))


def merge_itx_data(run: Machine, args: dict[str, Any]) -> bool:
    """MergeItxData: merge this interaction into an older one of the same Business Process
    with the same ``column`` value, still before its target (one of ``flags`` set). The older
    one gets this one's user data in ``_mergedItems`` and every key it lacks; true when merged."""
    store = run.turn.ctx.store
    column = _column(run, args["column"])
    value = args["value"]
    if value in (None, ""):
        return False
    flags = tuple(_column(run, f) for f in (args.get("flags") or []))
    process = run.program.process_of_queue(run.itx.queue or "")
    queues = process.bp.queues if process is not None else (run.itx.queue or "",)
    run.turn.flush_matching(column, value, run.itx)
    found = sql.run(
        run.turn.conn,
        sql.merge_candidate(store.table, column, flags, queues),
        {
            "b_tenant": run.itx.tenant,
            "b_value": value,
            "b_id": run.itx.id,
            "b_received": run.itx.received_at,
        },
    ).scalar()
    older = _lock(run, found) if found is not None else None
    if older is None:
        return False
    _merge_into(older, run.itx)
    run.turn.touch(older)
    # where the copies of the texts are, for a compliance delete
    merged = [run.itx.id, *merged_ids(run.itx.udata)]
    record(run.turn.conn, store.postgresql, run.itx.tenant, older.id, merged)
    run.turn.log(run.itx, "merged", into=older.id)
    return True


def _merge_into(older: Itx, itx: Itx) -> None:
    items = list(older.udata.get("_mergedItems") or [])
    items.append({"id": itx.id, "text": itx.text, "udata": itx.udata})
    older.udata["_mergedItems"] = items
    for key, value in itx.udata.items():
        older.udata.setdefault(key, value)


def find_interaction(run: Machine, args: dict[str, Any]) -> dict[str, Any] | None:
    """Another interaction with ``column`` = ``value`` in ``state`` (queued, routing, agent),
    created before ``before`` if given: ``{id, agent, queue}``, or none."""
    store = run.turn.ctx.store
    column = _column(run, args["column"])
    state, value = args["state"], args["value"]
    if state not in _STATES:
        raise StrategyError(f"state is one of {', '.join(_STATES)}, not {quote_prefix(state)}")
    if value in (None, ""):
        return None
    run.turn.flush_matching(column, value, run.itx)
    before = args.get("before")
    params = {"b_tenant": run.itx.tenant, "b_value": value, "b_id": run.itx.id}
    if before is not None:
        params["b_before"] = float(before)
    row = sql.run(
        run.turn.conn,
        sql.find_other(store.table, column, _STATES[state], before is not None),
        params,
    ).first()
    if row is None:
        return None
    return {"id": row.id, "agent": row.assigned_to, "queue": row.queue}


def keep_order(run: Machine, args: dict[str, Any]) -> None:
    """Hold this interaction while an older one whose user data ``key`` is ``value`` is still
    in this strategy's queue (not yet routed on). Older: received earlier or, with ``order``
    (a user data key holding a number, e.g. a tweet's status id), with a smaller number."""
    key, value = _key(args["key"]), args["value"]
    if value in (None, ""):
        return
    itx = run.itx
    order = _order_of(itx.udata, args.get("order"))
    run.turn.flush()
    rows = sql.run(
        run.turn.conn,
        sql.same_queue_older(run.turn.ctx.store.table),
        {
            "b_tenant": itx.tenant,
            "b_queue": itx.queue,
            "b_id": itx.id,
            # With an order key, one received later may still be older.
            "b_received": itx.received_at if order is None else math.inf,
        },
    )
    for row in rows:
        udata = json.loads(row.attached_data)
        if udata.get(key) != value:
            continue
        if order is not None:
            other = _order_of(udata, args["order"])
            if other is None or other >= order:
                continue
        elif row.received_at == itx.received_at and row.id > itx.id:
            continue  # received at the same moment: ids keep the order of submission
        run.suspend("order", run.turn.now + run.turn.ctx.settings.order_recheck, again=True)


def _order_of(udata: dict[str, Any], key: Any) -> int | None:
    """The number in user data ``key`` (None without a key or a number)."""
    if key in (None, ""):
        return None
    try:
        return int(udata.get(_key(key)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def facebook_comments(run: Machine, args: dict[str, Any]) -> list[dict[str, str]]:
    """The comments of a Facebook post's ``_facebookXML``: ``[{id, author, text}]``. ``xml``
    may be a list of documents (a post and the interactions merged into it): each comment
    is listed once, in order of first appearance."""
    documents = args["xml"] if isinstance(args["xml"], list) else [args["xml"]]
    found: dict[str, dict[str, str]] = {}
    for document in documents:
        for comment in comments(document if isinstance(document, str) else ""):
            found.setdefault(comment["id"] or f"#{len(found)}", comment)
    return list(found.values())


def channel_option(run: Machine, args: dict[str, Any]) -> Any:
    """An option of the DMS channel the interaction came from, else ``default``."""
    itx = run.itx
    app = run.turn.ctx.deployment.apps.get(itx.submitted_by or "")
    section = app.options.get(itx.channel or "", {}) if app is not None else {}
    return section.get(str(args["option"]), args.get("default"))


def _key(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise StrategyError(f"a user data key is a non-empty string, not {quote_prefix(value)}")
    return value


def _column(run: Machine, name: Any) -> str:
    columns = run.turn.ctx.store.columns
    if not isinstance(name, str) or name.lower() not in columns:
        raise StrategyError(
            f"{quote_prefix(name)} is not a custom column of the interactions table; the "
            f"columns are: {', '.join(sorted(columns.values()))}"
        )
    return columns[name.lower()]


def _lock(run: Machine, found: str) -> Itx | None:
    """Interaction ``found``, held by this turn (locked on PostgreSQL; None when another
    worker is running it right now)."""
    turn = run.turn
    if found in turn.held:
        return turn.held[found]
    store = turn.ctx.store
    row = sql.run(
        turn.conn,
        sql.lock_one(store.table, store.postgresql, True),
        {"b_tenant": run.itx.tenant, "b_id": found},
    ).first()
    return turn.hold([row])[0] if row is not None else None


FUNCTIONS: dict[str, Callable[[Machine, dict[str, Any]], Any]] = {
    "update_user_data": update_user_data,
    "delete_user_data": delete_user_data,
    "merge_itx_data": merge_itx_data,
    "find_interaction": find_interaction,
    "keep_order": keep_order,
    "facebook_comments": facebook_comments,
    "channel_option": channel_option,
}
