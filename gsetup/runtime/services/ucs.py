"""UCS (Universal Contact Server): contacts and interaction history, kept in the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gsetup.runtime import sql
from gsetup.runtime.ids import new_id
from gsetup.runtime.itx import dumps
from gsetup.runtime.schema import NAME, contacts, ucs_attributes, ucs_interactions
from gsetup.runtime.store import insert_ignore

if TYPE_CHECKING:
    from sqlalchemy import Connection

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
    itx, turn, ucs_id = run.itx, run.turn, str(args["id"])
    attributes = args.get("attributes") or {}
    key = (itx.tenant, ucs_id)
    if key in turn.ucs_created:  # the first one recorded stands
        return {"id": ucs_id}
    turn.ucs_created[key] = {
        "id": ucs_id,
        "tenant": itx.tenant,
        "contact_id": args.get("contact_id"),
        "parent_id": args.get("parent_id"),
        "external_id": itx.external_id if ucs_id == itx.id else None,
        "media_type": itx.media_type,
        "text": itx.text,
        "attributes": dumps(attributes),
        "created_at": turn.now,
    }
    turn.ucs_new_attributes.extend(
        {"b_tenant": itx.tenant, "b_id": ucs_id, "b_name": name, "b_value": value}
        for name, value in index_rows(attributes).items()
        if value is not None
    )
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
    merged = args.get("attributes") or {}
    turn.ucs_updated[key] = {**stored, **merged}
    for name, value in index_rows(merged).items():
        turn.ucs_set_attributes[(key[0], ucs_id, name)] = value
    return {"id": ucs_id}


def find_interaction(run: Machine, args: dict[str, Any]) -> dict[str, Any] | None:
    """The first UCS interaction (of ``contact_id`` if given) whose ``attribute`` is
    ``value``: ``{id, contact_id, attributes}``, or none."""
    _require("FindInteraction", args, "attribute", "value")
    contact = args.get("contact_id")
    run.turn.flush_ucs()
    found = with_attribute(
        run.turn.conn,
        run.itx.tenant,
        args["attribute"],
        args["value"],
        contact_id=None if contact in (None, "") else str(contact),
        first=True,
    )
    if not found:
        return None
    row = found[0]
    return {"id": row.id, "contact_id": row.contact_id, "attributes": json.loads(row.attributes)}


def with_attribute(
    conn: Connection,
    tenant: str,
    name: Any,
    value: Any,
    *,
    contact_id: str | None = None,
    first: bool = False,
) -> list[Any]:
    """The UCS interactions (of ``contact_id`` if given) whose attribute ``name`` is
    ``value``, oldest first (the first alone if ``first``): rows of id, contact_id and
    attributes. A value ucs_attributes holds is looked up there (the JSON encodings equal);
    any other, by reading the tenant's interactions (a string's: those with it in their JSON
    text), equal once parsed."""
    from sqlalchemy import select

    encoded = indexed(value)
    if encoded is not None and isinstance(name, str) and len(name) <= NAME:
        params = {"b_tenant": tenant, "b_name": name, "b_value": encoded}
        if contact_id is not None:
            params["b_contact"] = contact_id
        statement = sql.ucs_with_attribute(contact_id is not None, first)
        return list(sql.run(conn, statement, params).all())
    t = ucs_interactions.c
    query = select(t.id, t.contact_id, t.attributes).where(t.tenant == tenant)
    if contact_id is not None:
        query = query.where(t.contact_id == contact_id)
    if isinstance(value, str):  # stored as encoded here; a list's or object's text may differ
        query = query.where(t.attributes.contains(dumps(value)))
    found = []
    for row in conn.execute(query.order_by(t.created_at)):
        attributes = json.loads(row.attributes)
        if isinstance(attributes, dict) and attributes.get(name) == value:
            found.append(row)
            if first:
                break
    return found


def indexed(value: Any) -> str | None:
    """An attribute's value as ucs_attributes holds it: the JSON encoding of a string, number
    or boolean that fits the column; None for any other value, which has no row."""
    if isinstance(value, str | int | float):  # bool is an int
        encoded = dumps(value)
        if len(encoded) <= NAME:
            return encoded
    return None


def index_rows(attributes: Any) -> dict[str, str | None]:
    """Each attribute's name, as the stored JSON has it, and :func:`indexed` value; a name
    longer than the column has none (found by reading, as any value without a row)."""
    if not isinstance(attributes, dict):
        return {}
    rows: dict[str, str | None] = {}
    for name, value in attributes.items():
        # a number or boolean key is a string in JSON (the last of equal ones stands)
        key = name if isinstance(name, str) else next(iter(json.loads(dumps({name: None}))))
        if len(key) <= NAME:
            rows[key] = indexed(value)
    return rows


def index_stored(conn: Connection, postgresql: bool) -> None:
    """Index the attributes of the UCS interactions a store recorded before ucs_attributes
    (an upgrade to schema version 5): the one scan of them, in batches."""
    from sqlalchemy import select

    t = ucs_interactions.c
    statement = insert_ignore(
        postgresql, ucs_attributes, ("tenant", "ucs_id", "name"), returning=False
    )
    # yield_per on the query alone: the connection's option would stream the inserts too
    stored = conn.execute(select(t.tenant, t.id, t.attributes).execution_options(yield_per=5000))
    for batch in stored.partitions():
        rows = [
            {"tenant": row.tenant, "ucs_id": row.id, "name": name, "value": value}
            for row in batch
            for name, value in index_rows(json.loads(row.attributes)).items()
            if value is not None
        ]
        if rows:
            conn.execute(statement, rows)


METHODS = {
    "IdentifyContact": identify_contact,
    "InteractionExists": interaction_exists,
    "CreateInteraction": create_interaction,
    "UpdateInteraction": update_interaction,
    "FindInteraction": find_interaction,
}
