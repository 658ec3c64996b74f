"""Intake: inbound interactions and driver events, the contract between processes.

A submission is committed before it is acknowledged, and is idempotent on (tenant, channel,
external id): a repeat returns the first one's interaction id and stores nothing. Its first
queue comes from the DMS channel's ``inbound-route`` (``<tenant dbid>:<access point>``) and
the DMS ``[endpoints:<tenant dbid>]`` section, as in Interaction Server. A tweet of a channel
with a grouping-timeout gets its Threaded Routing group (:mod:`gsetup.runtime.twitter_groups`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gsetup.fileio import quote_prefix, value_kind
from gsetup.runtime import sql
from gsetup.runtime.api import Accepted
from gsetup.runtime.config import DMS_TYPE
from gsetup.runtime.errors import IntakeError
from gsetup.runtime.ids import new_id
from gsetup.runtime.inbound_route import RouteError, endpoint_queue
from gsetup.runtime.itx import custom_values, dumps
from gsetup.runtime.merges import forget_text
from gsetup.runtime.schema import NAME, interactions, outbox, ucs_interactions
from gsetup.runtime.services.ucs import with_attribute
from gsetup.runtime.store import insert_ignore
from gsetup.runtime.twitter_groups import assign_group
from gsetup.runtime.udata_types import attached_data_error

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from gsetup.runtime.config import AppConfig
    from gsetup.runtime.context import EngineContext

FIELDS = ("media_type", "channel", "text", "external_id", "attached_data")
REQUIRED = ("media_type", "channel", "external_id")


def submit_many(ctx: EngineContext, app: str, bodies: list[Any]) -> list[Accepted]:
    """Validate every body, then store them in one transaction; nothing is stored when one
    is refused."""
    config = _dms(ctx, app)
    many = len(bodies) > 1
    checked = [
        _check(ctx, config, body, f"submission {n + 1}: " if many else "")
        for n, body in enumerate(bodies)
    ]
    with ctx.store.begin() as conn:
        now = ctx.clock.now()
        accepted = [_store(ctx, conn, now, app, body, queue) for body, queue in checked]
    for item in accepted:
        (ctx.metrics.duplicates if item.duplicate else ctx.metrics.submitted).inc()
    return accepted


def submission_size(body: Mapping[str, Any]) -> int:
    """The size the intake limits a submission by: at least the bytes it takes on the wire,
    so ``route submit`` can check a file against it before sending anything."""
    return len(json.dumps(body, default=str))


def _known_fields(body: Mapping[str, Any], fields: Sequence[str], where: str = "") -> None:
    """A field the body's kind does not take is refused (a misspelt one would go unread)."""
    unknown = sorted(set(body) - set(fields))
    if unknown:
        shown = quote_prefix(unknown[0])
        raise IntakeError(400, f"{where}unknown field {shown}; the fields are: {', '.join(fields)}")


def _dms(ctx: EngineContext, app: str) -> AppConfig:
    config = ctx.deployment.apps.get(app)
    if config is None or config.app_type != DMS_TYPE:
        raise IntakeError(
            404,
            f"no Digital Messaging Server application {quote_prefix(app)} in tenant {ctx.tenant!r}",
        )
    return config


def _check(ctx: EngineContext, app: AppConfig, body: Any, where: str) -> tuple[dict[str, Any], str]:
    if not isinstance(body, Mapping):
        kind = value_kind(body, json=True)
        raise IntakeError(400, f"{where}a submission is a JSON object, not {kind}")
    size = submission_size(body)
    if size > ctx.settings.max_body:
        raise IntakeError(
            413,
            f"{where}the submission is {size} bytes; at most {ctx.settings.max_body} are accepted",
        )
    _known_fields(body, FIELDS, where)
    for name in REQUIRED:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > NAME:
            raise IntakeError(
                400, f"{where}{name} must be a non-empty string of at most {NAME} characters"
            )
    if body.get("text") is not None and not isinstance(body["text"], str):
        raise IntakeError(400, f"{where}text must be a string")
    attached = body.get("attached_data", {})
    if not isinstance(attached, Mapping):
        raise IntakeError(400, f"{where}attached_data must be a JSON object")
    wrong = attached_data_error(attached)
    if wrong is not None:
        raise IntakeError(400, f"{where}{wrong}")
    media_types = ctx.deployment.media_types
    if media_types and body["media_type"] not in media_types:
        raise IntakeError(
            422,
            f"{where}unknown media type {quote_prefix(body['media_type'])}; "
            f"the media types are: {', '.join(media_types)}",
        )
    return dict(body), _route(ctx, app, body["channel"], where)


def _route(ctx: EngineContext, app: AppConfig, channel: str, where: str) -> str:
    try:
        dbid, access_point, queue = endpoint_queue(app.name, app.options, channel)
    except RouteError as exc:
        raise IntakeError(422, f"{where}{exc}") from None
    if queue not in ctx.program.queues:
        raise IntakeError(
            422,
            f"{where}{app.name} [endpoints:{dbid}] {access_point} = {queue!r}, "
            "which is not a queue of an installed Business Process",
        )
    return queue


def _store(
    ctx: EngineContext, conn: Connection, now: float, app: str, body: dict[str, Any], queue: str
) -> Accepted:
    table = ctx.store.table
    udata = dict(body.get("attached_data") or {})
    assign_group(ctx, conn, now, app, body, udata)  # Threaded Routing, as the driver would
    has_strategy = queue in ctx.program.by_queue
    values = {
        "id": new_id(now),
        "tenant": ctx.tenant,
        "type": "Inbound",
        "media_type": body["media_type"],
        "state": "queued",
        "queue": queue,
        "submitted_by": app,
        "channel": body["channel"],
        "external_id": body["external_id"],
        "text": body.get("text"),
        "attached_data": dumps(udata),
        "received_at": now,
        "placed_in_queue_at": now,
        "due_at": now if has_strategy else None,
        "offers": 0,
    }
    values.update(custom_values(udata, ctx.store.custom))
    statement = insert_ignore(ctx.store.postgresql, table, ("tenant", "channel", "external_id"))
    if sql.run(conn, statement, values).first() is not None:
        return Accepted(values["id"], False, queue)
    first = sql.run(
        conn,
        sql.intake_duplicate(table),
        {"b_tenant": ctx.tenant, "b_channel": body["channel"], "b_external": body["external_id"]},
    ).one()
    return Accepted(first.id, True, first.queue or queue)


# --- events --------------------------------------------------------------------------------------


def apply_event(ctx: EngineContext, app: str, body: Any) -> str:
    """``outbound-result`` (key, ok, answer, error) completes an outbox row the DMS answered
    later; ``compliance-delete`` (external_id) removes a message's text from the stored
    interactions and history. Returns the id matched."""
    _dms(ctx, app)
    if not isinstance(body, Mapping):
        raise IntakeError(400, f"an event is a JSON object, not {value_kind(body, json=True)}")
    kind = body.get("type")
    if kind == "outbound-result":
        return _outbound_result(ctx, body)
    if kind == "compliance-delete":
        return _compliance_delete(ctx, body)
    if kind is None:
        raise IntakeError(400, "an event needs a 'type': outbound-result or compliance-delete")
    if not isinstance(kind, str):
        raise IntakeError(400, f"an event's 'type' is a string, not {value_kind(kind, json=True)}")
    raise IntakeError(
        400,
        f"unknown event type {quote_prefix(kind)}; the types are: outbound-result, "
        "compliance-delete",
    )


def _outbound_result(ctx: EngineContext, body: Mapping[str, Any]) -> str:
    from sqlalchemy import select, update

    from gsetup.runtime.outbox import complete

    _known_fields(body, ("type", "key", "ok", "answer", "error"), "an outbound-result event: ")
    key = body.get("key")
    if not isinstance(key, str) or not isinstance(body.get("ok"), bool):
        raise IntakeError(400, "an outbound-result event needs key (string) and ok (true/false)")
    # As a synchronous answer is (an object) and an error is (text); null: none given.
    for name, kind, fits in (("answer", "a JSON object", Mapping), ("error", "a string", str)):
        value = body.get(name)
        if value is not None and not isinstance(value, fits):
            shown = value_kind(value, json=True)
            raise IntakeError(400, f"an outbound-result event's {name} is {kind}, not {shown}")
    o = outbox.c
    with ctx.store.begin() as conn:
        state = conn.execute(select(o.state).where(o.tenant == ctx.tenant, o.id == key)).scalar()
        if state is None:
            raise IntakeError(404, f"no outbound request {quote_prefix(key)}")
        if state == "pending":
            now = ctx.clock.now()
            values: dict[str, Any] = (
                {"state": "sent", "answer": dumps(body.get("answer") or {}), "sent_at": now}
                if body["ok"]
                else {"state": "failed", "error": str(body.get("error") or "failed")}
            )
            conn.execute(update(outbox).where(o.tenant == ctx.tenant, o.id == key).values(**values))
            complete(ctx, conn, now, key)
        elif (state == "failed") == body["ok"]:
            # A repeat of the recorded outcome (a driver retrying) changes nothing; the other
            # outcome cannot be true: the interaction has moved on with the first.
            ok = "true" if body["ok"] else "false"
            raise IntakeError(
                409,
                f"outbound request {quote_prefix(key)} is {state} already; an outbound-result "
                f"with ok {ok} contradicts it (nothing changed)",
            )
    return key


def _compliance_delete(ctx: EngineContext, body: Mapping[str, Any]) -> str:
    from sqlalchemy import select, update

    _known_fields(body, ("type", "external_id"), "a compliance-delete event: ")
    external = body.get("external_id")
    if not isinstance(external, str) or not external:
        raise IntakeError(400, "a compliance-delete event needs external_id (the message's id)")
    u, i = ucs_interactions.c, interactions.c
    with ctx.store.begin() as conn:
        # The message's own id, or the StatusId UCS keeps for a sent tweet.
        ids = list(
            conn.execute(
                select(u.id).where(u.tenant == ctx.tenant, u.external_id == external)
            ).scalars()
        )
        ids += [row.id for row in with_attribute(conn, ctx.tenant, "StatusId", external)]
        own = set(
            conn.execute(
                select(i.id).where(i.tenant == ctx.tenant, i.external_id == external)
            ).scalars()
        )
        if own:
            conn.execute(
                update(interactions).where(i.tenant == ctx.tenant, i.id.in_(own)).values(text=None)
            )
            forget_text(conn, ctx.tenant, own)  # merge_itx_data's copies of it
        if ids:
            conn.execute(
                update(ucs_interactions)
                .where(u.tenant == ctx.tenant, u.id.in_(ids))
                .values(text=None)
            )
        if not ids and not own:
            raise IntakeError(404, f"no stored message {quote_prefix(external)}")
    return external
