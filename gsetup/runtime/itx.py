"""An interaction row in memory while a worker holds it, and its conversion to and from rows."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2.runtime import Undefined

from gsetup.fileio import value_kind
from gsetup.numbers import decimal_number, whole_number


@dataclass(eq=False)
class Itx:
    """One interaction: its row's values, its user data and its suspended strategy.

    The user data is decoded from the row's JSON when first asked for (:attr:`udata`); one
    never asked for cannot have changed, so the row is written back without it (an agent's
    accept or done changes the state only)."""

    id: str
    tenant: str
    type: str
    media_type: str
    state: str
    queue: str | None
    submitted_by: str | None
    channel: str | None
    external_id: str | None
    parent_id: str | None
    text: str | None
    attached: str  # the row's attached data (JSON), as read
    received_at: float
    placed_in_queue_at: float | None = None
    due_at: float | None = None
    assigned_to: str | None = None
    strategy: str | None = None
    position: dict[str, Any] | None = None
    waiting: str | None = None
    stop_reason: str | None = None
    error: str | None = None
    ended_at: float | None = None
    offers: int = 0
    props: dict[str, Any] = field(default_factory=dict)
    decoded: dict[str, Any] | None = None  # the user data, once asked for

    @property
    def udata(self) -> dict[str, Any]:
        """The user data (attached data), to read and change in place."""
        if self.decoded is None:
            self.decoded = json.loads(self.attached)
        return self.decoded

    def udata_copy(self) -> dict[str, Any]:
        """A copy of the user data that does not count as asking for it (an answer to an
        agent): the row is not written back for it."""
        return dict(self.decoded) if self.decoded is not None else json.loads(self.attached)

    def refresh_props(self) -> dict[str, Any]:
        """The ``itx`` name of expressions: the interaction's properties."""
        self.props = {
            "id": self.id,
            "type": self.type,
            "media_type": self.media_type,
            "queue": self.queue,
            "text": self.text,
            "external_id": self.external_id,
            "received_at": self.received_at,
            "submitted_by": self.submitted_by,
            "channel": self.channel,
            "parent_id": self.parent_id,
            "state": self.state,
        }
        return self.props


def from_row(row: Mapping[str, Any]) -> Itx:
    """An :class:`Itx` from an ``interactions`` row mapping."""
    position = row["position"]
    return Itx(
        id=row["id"],
        tenant=row["tenant"],
        type=row["type"],
        media_type=row["media_type"],
        state=row["state"],
        queue=row["queue"],
        submitted_by=row["submitted_by"],
        channel=row["channel"],
        external_id=row["external_id"],
        parent_id=row["parent_id"],
        text=row["text"],
        attached=row["attached_data"],
        received_at=row["received_at"],
        placed_in_queue_at=row["placed_in_queue_at"],
        due_at=row["due_at"],
        assigned_to=row["assigned_to"],
        strategy=row["strategy"],
        position=json.loads(position) if position else None,
        waiting=row["waiting"],
        stop_reason=row["stop_reason"],
        error=row["error"],
        ended_at=row["ended_at"],
        offers=row["offers"],
    )


def to_values(itx: Itx, custom: Sequence[CustomField]) -> dict[str, Any]:
    """The columns a turn writes: system state plus, when the user data was asked for, the
    attached data and each custom column from it."""
    values = {
        "state": itx.state,
        "queue": itx.queue,
        "placed_in_queue_at": itx.placed_in_queue_at,
        "due_at": itx.due_at,
        "assigned_to": itx.assigned_to,
        "strategy": itx.strategy,
        "position": dumps(itx.position) if itx.position is not None else None,
        "waiting": itx.waiting,
        "stop_reason": itx.stop_reason,
        "error": itx.error,
        "ended_at": itx.ended_at,
        "offers": itx.offers,
    }
    if itx.decoded is not None:
        values["attached_data"] = dumps(itx.decoded)
        values.update(custom_values(itx.decoded, custom))
    return values


@dataclass(frozen=True)
class CustomField:
    """A custom column of the store: the property that fills it and how values convert."""

    property: str
    column: str  # as the database stores the name
    type: str  # string, integer, number
    length: int | None


def custom_values(udata: Mapping[str, Any], custom: Sequence[CustomField]) -> dict[str, Any]:
    """Interaction Server's translation: each custom property's value in its column; a value
    that does not fit the column's type is stored as NULL (the user data keeps it)."""
    return {f.column: _column_value(udata.get(f.property), f) for f in custom}


# INTEGER holds 32 bits in every dialect the Alter scripts target: a larger number does not fit.
_INTEGER = range(-(2**31), 2**31)


def _column_value(value: Any, f: CustomField) -> Any:
    if value is None:
        return None
    if f.type == "string":
        text = value if isinstance(value, str) else json.dumps(value)
        return text[: f.length] if f.length else text
    if isinstance(value, str):
        # Plain ASCII decimals (gsetup.numbers): int() and float() also took 1_0, ' 7 ',
        # other scripts' digits, nan and exponents.
        value = whole_number(value) if f.type == "integer" else decimal_number(value)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return None  # a list or a KV list is no number
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if f.type == "number":
        try:
            return float(value)
        except OverflowError:  # an integer past a double's range
            return None
    if isinstance(value, float) and not value.is_integer():  # 7.9 was cut to 7
        return None
    return int(value) if int(value) in _INTEGER else None


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """``value`` as an interaction stores it: jinja2's Undefined (inside dicts and lists too)
    replaced by None, a tuple made a list. :class:`TypeError` for what JSON cannot hold (a
    generator, ``udata.items()``): raised here, in the block that made it, it parks the
    interaction; raised when the turn writes its rows, it failed the whole turn."""
    if type(value) in _SCALARS:  # most arguments: nothing to look into
        return value
    if isinstance(value, Undefined):
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float):  # a subclass, such as jinja2's Markup
        return value
    raise _unstorable(value)


def dumps(value: Any) -> str:
    """Compact JSON; anything not JSON (an undefined, a set) is refused by :func:`plain` first."""
    return _ENCODER.encode(value)


def _refuse(value: Any) -> Any:
    if isinstance(value, Undefined):
        return None
    raise _unstorable(value)


def _unstorable(value: Any) -> TypeError:
    return TypeError(
        f"{value_kind(value)} cannot be stored in an interaction: it holds text, numbers, "
        "true/false, none, lists and mappings (`| list` makes a list)"
    )


# One encoder: json.dumps with options builds a new one on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_refuse)
