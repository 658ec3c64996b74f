"""The functions a ``call`` block runs (docs/strategy-format.md, "Functions")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gsetup.runtime.interpreter import StrategyError
from gsetup.runtime.itx import Itx

if TYPE_CHECKING:
    from sqlalchemy import Table

    from gsetup.runtime.interpreter import Machine

# find_interaction's states -> the interactions-table states they cover.
_STATES = {
    "queued": ("queued",),
    "routing": ("queued", "routing"),
    "agent": ("offered", "agent"),
}


def update_user_data(run: Machine, args: dict[str, Any]) -> None:
    """``Update[key, value]``: a key set again replaces its value."""
    run.itx.udata[_key(args["key"])] = args["value"]
    run.turn.touch(run.itx)


def delete_user_data(run: Machine, args: dict[str, Any]) -> None:
    """Remove a key from the user data (nothing happens when it is absent)."""
    run.itx.udata.pop(_key(args["key"]), None)
    run.turn.touch(run.itx)


def merge_itx_data(run: Machine, args: dict[str, Any]) -> bool:
    """MergeItxData: merge this interaction into an older one of the same Business Process
    with the same ``column`` value, still before its target (one of ``flags`` set). The older
    one gets this one's user data in ``_mergedItems`` and every key it lacks; true when merged."""
    from sqlalchemy import or_, select

    table = run.turn.ctx.store.table
    column = _column(run, args["column"])
    value = args["value"]
    if value in (None, ""):
        return False
    flags = [_column(run, f) for f in (args.get("flags") or [])]
    process = run.program.process_of_queue(run.itx.queue or "")
    queues = list(process.bp.queues) if process is not None else [run.itx.queue]
    run.turn.flush()
    query = (
        select(table.c.id)
        .where(
            table.c.tenant == run.itx.tenant,
            table.c[column] == value,
            table.c.id != run.itx.id,
            table.c.state.in_(("queued", "routing")),
            table.c.queue.in_(queues),
            table.c.received_at <= run.itx.received_at,
        )
        .order_by(table.c.received_at, table.c.id)
        .limit(1)
    )
    if flags:
        query = query.where(or_(*(table.c[f] == 1 for f in flags)))
    older = _lock(run, query)
    if older is None:
        return False
    _merge_into(older, run.itx)
    run.turn.touch(older)
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
    from sqlalchemy import select

    table = run.turn.ctx.store.table
    column = _column(run, args["column"])
    state = args["state"]
    if state not in _STATES:
        raise StrategyError(f"state is one of {', '.join(_STATES)}, not {state!r}")
    if args["value"] in (None, ""):
        return None
    run.turn.flush()
    query = (
        select(table.c.id, table.c.assigned_to, table.c.queue)
        .where(
            table.c.tenant == run.itx.tenant,
            table.c[column] == args["value"],
            table.c.id != run.itx.id,
            table.c.state.in_(_STATES[state]),
        )
        .order_by(table.c.received_at)
        .limit(1)
    )
    if args.get("before") is not None:
        query = query.where(table.c.received_at < float(args["before"]))
    row = run.turn.conn.execute(query).first()
    if row is None:
        return None
    return {"id": row.id, "agent": row.assigned_to, "queue": row.queue}


def keep_order(run: Machine, args: dict[str, Any]) -> None:
    """Hold this interaction while an older one whose user data ``key`` is ``value`` is still
    in this strategy's queue (not yet routed on). Older: received earlier or, with ``order``
    (a user data key holding a number, e.g. a tweet's status id), with a smaller number."""
    from sqlalchemy import select

    key, value = _key(args["key"]), args["value"]
    if value in (None, ""):
        return
    table = run.turn.ctx.store.table
    run.turn.flush()
    query = select(table.c.id, table.c.received_at, table.c.attached_data).where(
        table.c.tenant == run.itx.tenant,
        table.c.queue == run.itx.queue,
        table.c.state.in_(("queued", "routing")),
        table.c.id != run.itx.id,
    )
    if args.get("order") in (None, ""):
        query = query.where(table.c.received_at <= run.itx.received_at)
    rows = run.turn.conn.execute(query)
    order = _order_of(run.itx.udata, args.get("order"))
    for row in rows:
        udata = json.loads(row.attached_data)
        if udata.get(key) != value:
            continue
        if order is not None:
            other = _order_of(udata, args["order"])
            if other is None or other >= order:
                continue
        elif row.received_at == run.itx.received_at and row.id > run.itx.id:
            continue
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
    from gsetup.runtime.services.facebook_xml import comments

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
        raise StrategyError(f"a user data key is a non-empty string, not {value!r}")
    return value


def _column(run: Machine, name: Any) -> str:
    columns = run.turn.ctx.store.columns
    if not isinstance(name, str) or name.lower() not in columns:
        raise StrategyError(
            f"{name!r} is not a custom column of the interactions table; the columns are: "
            f"{', '.join(sorted(columns.values()))}"
        )
    return columns[name.lower()]


def _lock(run: Machine, query: Any) -> Itx | None:
    """The interaction ``query`` finds, held by this turn (locked on PostgreSQL)."""
    from sqlalchemy import select

    turn = run.turn
    found = turn.conn.execute(query).scalar()
    if found is None:
        return None
    if found in turn.held:
        return turn.held[found]
    table: Table = turn.ctx.store.table
    locking = select(table).where(table.c.id == found)
    if turn.ctx.store.postgresql:
        locking = locking.with_for_update(skip_locked=True)
    row = turn.conn.execute(locking).first()
    if row is None:  # another worker is running it right now: no merge this time
        return None
    return turn.hold([row])[0]


FUNCTIONS: dict[str, Callable[[Machine, dict[str, Any]], Any]] = {
    "update_user_data": update_user_data,
    "delete_user_data": delete_user_data,
    "merge_itx_data": merge_itx_data,
    "find_interaction": find_interaction,
    "keep_order": keep_order,
    "facebook_comments": facebook_comments,
    "channel_option": channel_option,
}
