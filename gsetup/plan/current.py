"""Read what a tenant holds now, in a handful of queries (one per table, never one per row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gsetup.configdb.kinds import KINDS
from gsetup.state import OptionKey

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass
class CurrentOption:
    """An option row as stored."""

    id: int
    value: str
    secret: bool
    managers: set[str] = field(default_factory=set)


@dataclass
class CurrentObject:
    """An object as stored: attributes (references as paths), options and managing packages."""

    id: int
    kind: str
    path: str
    parent_id: int | None
    attrs: dict[str, Any] = field(default_factory=dict)
    options: dict[OptionKey, CurrentOption] = field(default_factory=dict)
    managers: set[str] = field(default_factory=set)


@dataclass
class Current:
    """A tenant's objects by path."""

    tenant_id: int
    objects: dict[str, CurrentObject]

    def children(self, obj_id: int) -> list[CurrentObject]:
        """The objects whose parent is ``obj_id``."""
        return [o for o in self.objects.values() if o.parent_id == obj_id]


def load_current(conn: Connection, tenant_id: int, scope: set[str] | None = None) -> Current:
    """Load the objects, options and management records of one tenant.

    With ``scope`` (a set of paths) only those objects and their children are loaded, so a
    command on one application does not read a tenant of 100,000 options.
    """
    from sqlalchemy import or_, select

    from gsetup.configdb.models import CfgObject, CfgOption, Managed

    where = CfgObject.tenant_id == tenant_id
    if scope is not None:
        in_scope = select(CfgObject.id).where(where, CfgObject.path.in_(scope))
        where = where & or_(CfgObject.path.in_(scope), CfgObject.parent_id.in_(in_scope))
    by_id: dict[int, CurrentObject] = {}
    rows = conn.execute(
        select(CfgObject.id, CfgObject.kind, CfgObject.path, CfgObject.parent_id).where(where)
    )
    for oid, kind, path, parent_id in rows:
        by_id[oid] = CurrentObject(oid, kind, path, parent_id)
    _load_details(conn, where, by_id)

    selected = select(CfgObject.id).where(where)
    option_rows = conn.execute(
        select(
            CfgOption.object_id,
            CfgOption.section,
            CfgOption.key,
            CfgOption.value,
            CfgOption.secret,
            CfgOption.id,
        ).where(CfgOption.object_id.in_(selected))
    )
    for oid, section, key, value, secret, opt_id in option_rows:
        by_id[oid].options[(section, key)] = CurrentOption(opt_id, value, secret)

    managed_rows = conn.execute(
        select(Managed.object_id, Managed.package, Managed.section, Managed.key).where(
            Managed.object_id.in_(selected)
        )
    )
    for oid, package, section, key in managed_rows:
        obj = by_id[oid]
        if section or key:
            option = obj.options.get((section, key))
            if option is not None:
                option.managers.add(package)
        else:
            obj.managers.add(package)
    return Current(tenant_id, {o.path: o for o in by_id.values()})


def _load_details(conn: Connection, where: Any, by_id: dict[int, CurrentObject]) -> None:
    """Fill each object's attributes from its kind's table, references turned into paths."""
    from sqlalchemy import select

    from gsetup.configdb.models import CfgObject

    present = {o.kind for o in by_id.values()}
    refs: list[tuple[CurrentObject, str, int]] = []
    for kind in KINDS.values():
        if kind.name not in present:
            continue
        table = kind.table
        columns = [table.c.id, *(table.c[f] for f in kind.fields)]
        columns += [table.c[col] for col, _target in kind.refs.values()]
        query = select(*columns).join(CfgObject, CfgObject.id == table.c.id).where(where)
        for row in conn.execute(query):
            values = row._mapping
            obj = by_id[values["id"]]
            obj.attrs = {f: values[f] for f in kind.fields}
            for attr, (col, _target) in kind.refs.items():
                obj.attrs[attr] = None
                if values[col] is not None:
                    refs.append((obj, attr, values[col]))
    paths = {oid: o.path for oid, o in by_id.items()}
    missing = {ref for _obj, _attr, ref in refs if ref not in paths}
    if missing:  # references that point outside the loaded scope
        found = conn.execute(select(CfgObject.id, CfgObject.path).where(CfgObject.id.in_(missing)))
        paths.update({oid: path for oid, path in found})
    for obj, attr, ref in refs:
        obj.attrs[attr] = paths[ref]
