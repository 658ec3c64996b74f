"""DMS requests (SendMessage, SubmitPost, SubmitComment) through an outbox.

A ``service: DMS`` block writes an outbox row in the interaction's turn and the interaction
waits. The delivery loop claims due rows with a lease, POSTs each to the channel's DMS
application with the row id as idempotency key (the receiver drops repeats), records the
answer, and wakes the interaction. Delivery is at least once: a worker killed between the POST
and the record leaves a lease that expires, and another worker sends again with the same key.

The RPC cache timeout (the Hub setting, default 90 s, 0 disables; the channel option
``rpc-cache-timeout`` overrides it): the same message to the same recipient on the same
channel within the timeout of the last such request is not sent again; it shares that
request's answer, and each repeat restarts the timeout.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gsetup.httpclient import tls
from gsetup.runtime import sql
from gsetup.runtime.credentials import OUTBOUND_TOKEN_KEY, OUTBOUND_URL_KEY, SECTION
from gsetup.runtime.ids import new_id
from gsetup.runtime.itx import dumps
from gsetup.runtime.schema import interactions, outbox

if TYPE_CHECKING:
    import threading

    from sqlalchemy import Connection

    from gsetup.runtime.config import AppConfig
    from gsetup.runtime.context import EngineContext
    from gsetup.runtime.interpreter import Machine
    from gsetup.runtime.turn import Turn
    from gsetup.strategy.model import Service

RPC_CACHE_DEFAULT = 90
RPC_CACHE_OPTION = "rpc-cache-timeout"
RECIPIENT_KEYS = ("to", "post_id", "in_reply_to", "comment_id")


def enqueue(run: Machine, block: Service, args: dict[str, Any]) -> None:
    """Write the request (or find the one it repeats) and suspend the interaction."""
    from gsetup.runtime.services import answered

    turn, itx = run.turn, run.itx
    channel = str(args.get("channel") or itx.channel or "")
    app = itx.submitted_by or ""
    dedupe = _dedupe(channel, block.method, args)
    original = _cached(turn, app, channel, dedupe)
    row_id = new_id(turn.now)
    values: dict[str, Any] = {
        "id": row_id,
        "tenant": itx.tenant,
        "interaction_id": itx.id,
        "app": app,
        "channel": channel,
        "method": block.method,
        "body": dumps(args),
        "dedupe": dedupe,
        "max_attempts": block.attempts,
        "timeout": float(block.timeout),
        "created_at": turn.now,
        "attempts": 0,
    }
    if original is not None:
        values.update(state="cached", duplicate_of=original["id"], answer=original["answer"])
    else:
        values.update(state="pending", due_at=turn.now)
    turn.conn.execute(outbox.insert().values(values))
    turn.outbox_rows += 1
    turn.log(itx, "outbox", method=block.method, row=row_id, cached=original is not None)
    if original is not None and original["state"] == "sent":
        answered(run, block, original["answer"])
        return
    source = run.position["stack"][-1]["s"]
    target = original["id"] if original is not None else row_id
    run.position["pending"] = {"o": target, "s": source, "b": block.path}
    run.suspend("service", None)


def _dedupe(channel: str, method: str, args: Mapping[str, Any]) -> str:
    recipient = {k: args.get(k) for k in RECIPIENT_KEYS if args.get(k) not in (None, "")}
    text = json.dumps([channel, method, recipient, args.get("text")], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cached(turn: Turn, app: str, channel: str, dedupe: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    timeout = rpc_cache_timeout(turn.ctx, app, channel)
    if timeout <= 0:
        return None
    o = outbox.c
    latest = turn.conn.execute(
        select(o.id, o.state, o.answer, o.duplicate_of)
        .where(
            o.tenant == turn.ctx.tenant,
            o.dedupe == dedupe,
            o.created_at >= turn.now - timeout,
            o.state != "failed",
        )
        .order_by(o.created_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    original_id = latest.duplicate_of or latest.id
    row = turn.conn.execute(
        select(o.id, o.state, o.answer).where(o.tenant == turn.ctx.tenant, o.id == original_id)
    ).first()
    if row is None or row.state == "failed":
        return None
    return {"id": row.id, "state": row.state, "answer": row.answer}


def rpc_cache_timeout(ctx: EngineContext, app: str, channel: str) -> float:
    """The channel's RPC cache timeout in seconds (0: off)."""
    config = ctx.deployment.apps.get(app)
    value = config.options.get(channel, {}).get(RPC_CACHE_OPTION) if config else None
    try:
        return float(value) if value is not None else RPC_CACHE_DEFAULT
    except ValueError:
        return RPC_CACHE_DEFAULT


def outcome(turn: Turn, row_id: str) -> tuple[str, str | None, str | None]:
    """(state, answer, error) of an outbox row."""
    from sqlalchemy import select

    o = outbox.c
    row = turn.conn.execute(
        select(o.state, o.answer, o.error).where(o.tenant == turn.ctx.tenant, o.id == row_id)
    ).first()
    if row is None:
        return "failed", None, f"outbox row {row_id} is gone"
    return row.state, row.answer, row.error


# --- delivery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox row, as sent."""

    id: str
    interaction_id: str
    app: str
    channel: str
    method: str
    body: dict[str, Any]
    attempts: int
    max_attempts: int
    timeout: float


@dataclass(frozen=True)
class SendResult:
    """What the DMS answered: ``answer`` on success, else ``error``."""

    ok: bool
    answer: Mapping[str, Any] | None = None
    error: str | None = None
    # Not carried out, and the other member of a pair may take it: a refused connection, 503
    failover: bool = False


class Sender(Protocol):
    """Sends one request to a DMS application."""

    def send(self, ctx: EngineContext, app: AppConfig | None, item: Delivery) -> SendResult:
        """POST the request; never raises for network or HTTP errors."""

    def close(self) -> None:
        """Release the connections kept (the runtime is closing)."""


class HttpSender:
    """``POST <outbound-url>`` (default ``http://<host>:<port>/outbound``) of the DMS
    application, JSON body, ``Idempotency-Key`` header, ``Authorization: Bearer`` from the
    application's ``[gsetup-runtime] outbound-token`` option when set. One client, so
    connections to a DMS are kept and reused."""

    def __init__(self) -> None:
        self._client: Any = None

    def send(self, ctx: EngineContext, app: AppConfig | None, item: Delivery) -> SendResult:
        """One attempt."""
        import httpx

        if self._client is None:
            self._client = httpx.Client(verify=tls())

        if app is None:
            return SendResult(False, error=f"no application {item.app!r} in the configuration")
        options = app.options.get(SECTION, {})
        default = f"http://{app.host or '127.0.0.1'}:{app.port}/outbound"
        url = options.get(OUTBOUND_URL_KEY) or default
        headers = {"Idempotency-Key": item.id}
        if options.get(OUTBOUND_TOKEN_KEY):
            headers["Authorization"] = f"Bearer {options[OUTBOUND_TOKEN_KEY]}"
        payload = {
            "key": item.id,
            "tenant": ctx.tenant,
            "interaction_id": item.interaction_id,
            "channel": item.channel,
            "method": item.method,
            "args": item.body,
        }
        try:
            response = self._client.post(url, json=payload, headers=headers, timeout=item.timeout)
        except httpx.HTTPError as exc:
            unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            return SendResult(False, error=f"{type(exc).__name__}: {exc}", failover=unsent)
        if response.status_code // 100 != 2:
            error = f"HTTP {response.status_code}: {response.text[:200]}"
            return SendResult(False, error=error, failover=response.status_code == 503)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return SendResult(True, answer if isinstance(answer, dict) else {"answer": answer})

    def close(self) -> None:
        """Close the client and its kept connections."""
        if self._client is not None:
            self._client.close()
            self._client = None


def deliver(ctx: EngineContext, sender: Sender, stopping: threading.Event | None = None) -> int:
    """Claim due outbox rows, send them, record the outcomes; returns how many were sent.
    Once ``stopping`` is set no more are sent (each may wait its block's timeout for a DMS
    that hangs): those left go back unclaimed, no attempt spent."""
    claimed = _claim(ctx)
    if not claimed:
        return 0
    results: list[tuple[Delivery, SendResult]] = []
    for item in claimed:
        if stopping is not None and stopping.is_set():
            break
        results.append((item, _send(ctx, sender, item)))
    with ctx.store.begin() as conn:
        now = ctx.clock.now()
        for item, result in results:
            _record(ctx, conn, now, item, result)
        _unclaim(ctx, conn, claimed[len(results) :])
    return len(results)


def _unclaim(ctx: EngineContext, conn: Connection, items: list[Delivery]) -> None:
    from sqlalchemy import update

    if not items:
        return
    o = outbox.c
    conn.execute(
        update(outbox)
        .where(
            o.tenant == ctx.tenant,
            o.id.in_([item.id for item in items]),
            o.lease_owner == ctx.worker_id,
        )
        .values(lease_owner=None, lease_until=None, attempts=o.attempts - 1)
    )


def _send(ctx: EngineContext, sender: Sender, item: Delivery) -> SendResult:
    """Send to the application the interaction came from; when it is down or not the
    primary (since a switchover), to the other member of its pair, as every client of a DMS
    pair does (docs/upgrades.md)."""
    apps = ctx.deployment.apps
    result = sender.send(ctx, apps.get(item.app), item)
    other = _other_member(apps, item.app)
    if result.ok or not result.failover or other is None:
        return result
    second = sender.send(ctx, other, item)
    if second.ok:
        return second
    return SendResult(False, error=f"{item.app}: {result.error}; {other.name}: {second.error}")


def _other_member(apps: Mapping[str, AppConfig], name: str) -> AppConfig | None:
    """The other member of ``name``'s pair, from the backup link either way."""
    app = apps.get(name)
    if app is not None and app.backup and app.backup in apps:
        return apps[app.backup]
    return next((a for a in apps.values() if a.backup == name), None)


@functools.cache
def _due(postgresql: bool) -> Any:
    """Due outbox rows not leased, oldest first: built once (a worker's every loop, and a
    replay's every step, asks, mostly finding none)."""
    from sqlalchemy import bindparam, or_, select

    o = outbox.c
    now: Any = bindparam("b_now")
    query = (
        select(outbox)
        .where(
            o.tenant == bindparam("b_tenant"),
            o.state == "pending",
            o.due_at <= now,
            or_(o.lease_until.is_(None), o.lease_until < now),
        )
        .order_by(o.due_at)
        .limit(bindparam("b_limit"))
    )
    return query.with_for_update(skip_locked=True) if postgresql else query


def _claim(ctx: EngineContext) -> list[Delivery]:
    from sqlalchemy import update

    o = outbox.c
    with ctx.store.begin() as conn:
        now = ctx.clock.now()
        params = {"b_tenant": ctx.tenant, "b_now": now, "b_limit": ctx.settings.outbox_batch}
        rows = sql.run(conn, _due(ctx.store.postgresql), params).all()
        if not rows:
            return []
        conn.execute(
            update(outbox)
            .where(o.tenant == ctx.tenant, o.id.in_([r.id for r in rows]))
            .values(
                lease_owner=ctx.worker_id,
                lease_until=now + ctx.settings.lease,
                attempts=o.attempts + 1,
            )
        )
    return [
        Delivery(
            r.id,
            r.interaction_id,
            r.app,
            r.channel,
            r.method,
            json.loads(r.body),
            r.attempts + 1,
            r.max_attempts,
            r.timeout,
        )
        for r in rows
    ]


def _record(
    ctx: EngineContext, conn: Connection, now: float, item: Delivery, result: SendResult
) -> None:
    from sqlalchemy import update

    o = outbox.c
    mine = (o.tenant == ctx.tenant) & (o.id == item.id) & (o.lease_owner == ctx.worker_id)
    if result.ok:
        values: dict[str, Any] = {
            "state": "sent",
            "answer": dumps(result.answer or {}),
            "sent_at": now,
        }
        ctx.metrics.outbox.labels(outcome="sent").inc()
    elif item.attempts >= item.max_attempts:
        values = {"state": "failed", "error": result.error}
        ctx.metrics.outbox.labels(outcome="failed").inc()
    else:
        backoff = ctx.settings.retry_backoff * 2 ** (item.attempts - 1)
        values = {"due_at": now + backoff, "error": result.error}
        ctx.metrics.outbox.labels(outcome="retry").inc()
    changed = conn.execute(
        update(outbox).where(mine).values(lease_owner=None, lease_until=None, **values)
    ).rowcount
    if changed and "state" in values:
        complete(ctx, conn, now, item.id)


def complete(ctx: EngineContext, conn: Connection, now: float, row_id: str) -> None:
    """Wake the interactions waiting for ``row_id`` (and for its cached repeats)."""
    from sqlalchemy import or_, select, update

    o = outbox.c
    waiting = select(o.interaction_id).where(
        o.tenant == ctx.tenant, or_(o.id == row_id, o.duplicate_of == row_id)
    )
    conn.execute(
        update(interactions)
        .where(
            interactions.c.tenant == ctx.tenant,
            interactions.c.id.in_(waiting),
            interactions.c.waiting == "service",
        )
        .values(due_at=now)
    )
