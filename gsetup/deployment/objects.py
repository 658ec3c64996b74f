"""Any configuration object, for browsing: lists of objects, one object with its options."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gsetup.deployment.apps import options
from gsetup.deployment.model import ConfigObject

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.engine import Connection


def objects(conn: Connection, tenant_id: int, kind: str | None = None) -> list[ConfigObject]:
    """The tenant's objects (only of ``kind`` if given) in creation order of their kinds, then
    by path; without options. Three statements and one per kind present."""
    from gsetup.configdb.kinds import KINDS
    from gsetup.configdb.models import CfgObject

    where = CfgObject.tenant_id == tenant_id
    if kind is not None:
        where = where & (CfgObject.kind == kind)
    found = _read(conn, where)
    order = {name: i for i, name in enumerate(KINDS)}
    return sorted(found.values(), key=lambda o: (order[o.kind], o.path))


def configured_object(conn: Connection, tenant_id: int, path: str) -> ConfigObject | None:
    """The object at ``path`` with every option (or annex entry), if the tenant has one; at
    most five statements whatever it holds."""
    from dataclasses import replace

    from gsetup.configdb.models import CfgObject

    found = _read(conn, (CfgObject.tenant_id == tenant_id) & (CfgObject.path == path))
    if not found:
        return None
    return replace(found[path], options=options(conn, tenant_id, path))


def object_id(conn: Connection, tenant_id: int, path: str) -> tuple[str, int] | None:
    """The kind and database id of the object at ``path``, if the tenant has one."""
    from sqlalchemy import select

    from gsetup.configdb.models import CfgObject

    row = conn.execute(
        select(CfgObject.kind, CfgObject.id).where(
            CfgObject.tenant_id == tenant_id, CfgObject.path == path
        )
    ).first()
    return (row[0], row[1]) if row else None


def _read(conn: Connection, where: ColumnElement[bool]) -> dict[str, ConfigObject]:
    """The objects ``where`` selects, with attributes and managers, by path."""
    from sqlalchemy import select

    from gsetup.configdb.attributes import read_attributes
    from gsetup.configdb.models import CfgObject, Managed

    rows = conn.execute(select(CfgObject.id, CfgObject.kind, CfgObject.path).where(where)).all()
    if not rows:
        return {}
    attrs = read_attributes(conn, where, {oid: (kind, path) for oid, kind, path in rows})
    managed: dict[int, set[str]] = {}
    selected = select(CfgObject.id).where(where)
    query = select(Managed.object_id, Managed.package).where(Managed.object_id.in_(selected))
    for oid, package in conn.execute(query):
        managed.setdefault(oid, set()).add(package)
    return {
        path: ConfigObject(kind, path, attrs.get(oid, {}), tuple(sorted(managed.get(oid, ()))))
        for oid, kind, path in rows
    }
