"""UCS (Universal Contact Server): contacts and interaction history, kept in the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gsetup.runtime import sql
from gsetup.runtime.ids import new_id
from gsetup.runtime.itx import dumps
from gsetup.runtime.schema import contacts, ucs_interactions
from gsetup.runtime.store import insert_ignore

if TYPE_CHECKING:
    from gsetup.runtime.interpreter import Machine


class ServiceError(Exception):
    """A service request that failed; retried up to the block's ``attempts``."""


def _require(method: str, args: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if args.get(n) in (None, "")]
    if missing:
        from gsetup.runtime.interpreter import StrategyError

        raise StrategyError(f"UCS.{method} needs {', '.join(missing)}")


def identify_contact(run: Machine, args: dict[str, Any]) -> dict[str, Any] | None:
    """The contact whose first given attribute matches; created when absent and ``create``.
    Args: ``media_type``, ``attributes`` (ordered: the first non-empty one identifies),
    ``create``. Result: ``{id, created, attributes}`` or none."""

    attributes = args.get("attributes")
    if not isinstance(attributes, dict):
        _require("IdentifyContact", {}, "attributes")
        return None
    identity = next((f"{k}={v}" for k, v in attributes.items() if v not in (None, "")), None)
    if identity is None:
        return None
    tenant, conn = run.itx.tenant, run.turn.conn
    key = {"b_tenant": tenant, "b_identity": identity}
    row = sql.run(conn, sql.CONTACT_BY_IDENTITY, key).first()
    if row is not None:
        return {"id": row.id, "created": False, "attributes": json.loads(row.attributes)}
    if not args.get("create"):
        return None
    contact_id = new_id(run.turn.now)
    values = {
        "id": contact_id,
        "tenant": tenant,
        "media_type": str(args.get("media_type") or run.itx.media_type),
        "identity": identity,
        "attributes": dumps(attributes),
        "created_at": run.turn.now,
    }
    statement = insert_ignore(run.turn.ctx.store.postgresql, contacts, ("tenant", "identity"))
    inserted = sql.run(conn, statement, values).first()
    if inserted is None:  # another worker created it at the same moment
        found = sql.run(conn, sql.CONTACT_BY_IDENTITY, key).first()
        if found is None:
            raise ServiceError("the contact could not be created")
        return {"id": found.id, "created": False, "attributes": json.loads(found.attributes)}
    run.turn.log(run.itx, "contact-created", contact=contact_id)
    return {"id": contact_id, "created": True, "attributes": attributes}


def interaction_exists(run: Machine, args: dict[str, Any]) -> bool:
    """Whether UCS has an interaction with this ``id`` or ``external_id``."""
    from sqlalchemy import select

    t = ucs_interactions.c
    if args.get("id") not in (None, ""):
        condition = t.id == str(args["id"])
    else:
        _require("InteractionExists", args, "external_id")
        condition = t.external_id == str(args["external_id"])
    query = select(t.id).where(t.tenant == run.itx.tenant, condition).limit(1)
    run.turn.flush_ucs()
    return run.turn.conn.execute(query).first() is not None


def create_interaction(run: Machine, args: dict[str, Any]) -> dict[str, Any]:
    """Record the interaction in UCS (again: nothing changes). Args: ``id``, ``contact_id``,
    ``parent_id``, ``attributes``. Result: ``{id}``. Written with the turn's other writes
    (:meth:`Turn.flush_ucs`)."""
    _require("CreateInteraction", args, "id")
    itx, ucs_id = run.itx, str(args["id"])
    values = {
        "id": ucs_id,
        "tenant": itx.tenant,
        "contact_id": args.get("contact_id"),
        "parent_id": args.get("parent_id"),
        "external_id": itx.external_id if ucs_id == itx.id else None,
        "media_type": itx.media_type,
        "text": itx.text,
        "attributes": dumps(args.get("attributes") or {}),
        "created_at": run.turn.now,
    }
    run.turn.ucs_created.setdefault((itx.tenant, ucs_id), values)
    return {"id": ucs_id}


def update_interaction(run: Machine, args: dict[str, Any]) -> dict[str, Any]:
    """Merge ``attributes`` into a UCS interaction's attributes; none there is an error.
    The merge is written with the turn's other writes (:meth:`Turn.flush_ucs`)."""
    _require("UpdateInteraction", args, "id")
    turn, ucs_id = run.turn, str(args["id"])
    key = (run.itx.tenant, ucs_id)
    if key in turn.ucs_created:  # its insert may be a repeat: the stored row decides
        turn.flush_ucs()
    stored = turn.ucs_updated.get(key)
    if stored is None:
        params = {"b_tenant": key[0], "b_id": ucs_id}
        found = sql.run(turn.conn, sql.UCS_ATTRIBUTES, params).scalar()
        if found is None:
            raise ServiceError(f"UCS has no interaction {args['id']!r}")
        stored = json.loads(found)
    turn.ucs_updated[key] = {**stored, **(args.get("attributes") or {})}
    return {"id": ucs_id}


def find_interaction(run: Machine, args: dict[str, Any]) -> dict[str, Any] | None:
    """The first UCS interaction (of ``contact_id`` if given) whose ``attribute`` is
    ``value``: ``{id, contact_id, attributes}``, or none."""
    from sqlalchemy import select

    _require("FindInteraction", args, "attribute", "value")
    t = ucs_interactions.c
    query = select(t.id, t.contact_id, t.attributes).where(t.tenant == run.itx.tenant)
    if args.get("contact_id") not in (None, ""):
        query = query.where(t.contact_id == str(args["contact_id"]))
    # The JSON text narrows the rows; the parsed attributes decide.
    query = query.where(t.attributes.contains(json.dumps(args["value"], ensure_ascii=False)))
    run.turn.flush_ucs()
    for row in run.turn.conn.execute(query.order_by(t.created_at)):
        attributes = json.loads(row.attributes)
        if attributes.get(args["attribute"]) == args["value"]:
            return {"id": row.id, "contact_id": row.contact_id, "attributes": attributes}
    return None


METHODS = {
    "IdentifyContact": identify_contact,
    "InteractionExists": interaction_exists,
    "CreateInteraction": create_interaction,
    "UpdateInteraction": update_interaction,
    "FindInteraction": find_interaction,
}
