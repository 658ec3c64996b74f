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


def load_current(conn: Connection, tenant_id: int) -> Current:
    """Load every object, option and management record of one tenant."""
    from sqlalchemy import select

    from gsetup.configdb.models import CfgObject, CfgOption, Managed

    by_id: dict[int, CurrentObject] = {}
    rows = conn.execute(
        select(CfgObject.id, CfgObject.kind, CfgObject.path, CfgObject.parent_id).where(
            CfgObject.tenant_id == tenant_id
        )
    )
    for oid, kind, path, parent_id in rows:
        by_id[oid] = CurrentObject(oid, kind, path, parent_id)
    _load_details(conn, tenant_id, by_id)

    in_tenant = select(CfgObject.id).where(CfgObject.tenant_id == tenant_id)
    option_rows = conn.execute(
        select(
            CfgOption.object_id,
            CfgOption.section,
            CfgOption.key,
            CfgOption.value,
            CfgOption.secret,
            CfgOption.id,
        ).where(CfgOption.object_id.in_(in_tenant))
    )
    for oid, section, key, value, secret, opt_id in option_rows:
        by_id[oid].options[(section, key)] = CurrentOption(opt_id, value, secret)

    managed_rows = conn.execute(
        select(Managed.object_id, Managed.package, Managed.section, Managed.key).where(
            Managed.object_id.in_(in_tenant)
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


def _load_details(conn: Connection, tenant_id: int, by_id: dict[int, CurrentObject]) -> None:
    """Fill each object's attributes from its kind's table, references turned into paths."""
    from sqlalchemy import select

    from gsetup.configdb.models import CfgObject

    present = {o.kind for o in by_id.values()}
    for kind in KINDS.values():
        if kind.name not in present:
            continue
        table = kind.table
        columns = [table.c.id, *(table.c[f] for f in kind.fields)]
        columns += [table.c[col] for col, _target in kind.refs.values()]
        query = select(*columns).join(CfgObject, CfgObject.id == table.c.id)
        for row in conn.execute(query.where(CfgObject.tenant_id == tenant_id)):
            values = row._mapping
            attrs = {f: values[f] for f in kind.fields}
            for attr, (col, _target) in kind.refs.items():
                ref = values[col]
                attrs[attr] = by_id[ref].path if ref in by_id else None
            by_id[values["id"]].attrs = attrs
