"""Objects' attributes read from their kinds' tables, references turned into paths.

Shared by the planner (which compares them with the desired state) and the read side (which
shows them): one statement per kind present, and one for references outside the objects read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gsetup.configdb.kinds import KINDS

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.engine import Connection


def read_attributes(
    conn: Connection, where: ColumnElement[bool], objects: Mapping[int, tuple[str, str]]
) -> dict[int, dict[str, Any]]:
    """The attributes of ``objects`` (id -> (kind, path)), all selected by ``where`` on
    ``cfg_object``: id -> attribute -> value, references as the referred object's path."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_object

    present = {kind for kind, _path in objects.values()}
    found: dict[int, dict[str, Any]] = {}
    refs: list[tuple[dict[str, Any], str, int]] = []
    for kind in KINDS.values():
        if kind.name not in present:
            continue
        table = kind.table
        columns = [table.c.id, *(table.c[f] for f in kind.fields)]
        columns += [table.c[col] for col, _target in kind.refs.values()]
        query = select(*columns).join(cfg_object, cfg_object.c.id == table.c.id).where(where)
        for row in conn.execute(query):
            values = row._mapping
            attrs = found[values["id"]] = {f: values[f] for f in kind.fields}
            for attr, (col, _target) in kind.refs.items():
                attrs[attr] = None
                if values[col] is not None:
                    refs.append((attrs, attr, values[col]))
    paths = {oid: path for oid, (_kind, path) in objects.items()}
    missing = {ref for _attrs, _attr, ref in refs if ref not in paths}
    if missing:  # references that point outside the objects read
        rows = conn.execute(
            select(cfg_object.c.id, cfg_object.c.path).where(cfg_object.c.id.in_(missing))
        )
        paths.update({oid: path for oid, path in rows})
    for attrs, attr, ref in refs:
        attrs[attr] = paths[ref]
    return found
