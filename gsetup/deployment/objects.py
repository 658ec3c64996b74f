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
    from gsetup.configdb.tables import cfg_object

    where = cfg_object.c.tenant_id == tenant_id
    if kind is not None:
        where = where & (cfg_object.c.kind == kind)
    found = _read(conn, where)
    order = {name: i for i, name in enumerate(KINDS)}
    return sorted(found.values(), key=lambda o: (order[o.kind], o.path))


def configured_object(conn: Connection, tenant_id: int, path: str) -> ConfigObject | None:
    """The object at ``path`` with every option (or annex entry), if the tenant has one; at
    most five statements whatever it holds."""
    from dataclasses import replace

    from gsetup.configdb.tables import cfg_object

    found = _read(conn, (cfg_object.c.tenant_id == tenant_id) & (cfg_object.c.path == path))
    if not found:
        return None
    return replace(found[path], options=options(conn, tenant_id, path))


def object_id(conn: Connection, tenant_id: int, path: str) -> tuple[str, int] | None:
    """The kind and database id of the object at ``path``, if the tenant has one."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_object

    row = conn.execute(
        select(cfg_object.c.kind, cfg_object.c.id).where(
            cfg_object.c.tenant_id == tenant_id, cfg_object.c.path == path
        )
    ).first()
    return (row[0], row[1]) if row else None


def _read(conn: Connection, where: ColumnElement[bool]) -> dict[str, ConfigObject]:
    """The objects ``where`` selects, with attributes and managers, by path."""
    from sqlalchemy import select

    from gsetup.configdb.attributes import read_attributes
    from gsetup.configdb.tables import cfg_object, managed

    rows = conn.execute(
        select(cfg_object.c.id, cfg_object.c.kind, cfg_object.c.path).where(where)
    ).all()
    if not rows:
        return {}
    attrs = read_attributes(conn, where, {oid: (kind, path) for oid, kind, path in rows})
    managers: dict[int, set[str]] = {}
    selected = select(cfg_object.c.id).where(where)
    query = select(managed.c.object_id, managed.c.package).where(managed.c.object_id.in_(selected))
    for oid, package in conn.execute(query):
        managers.setdefault(oid, set()).add(package)
    return {
        path: ConfigObject(kind, path, attrs.get(oid, {}), tuple(sorted(managers.get(oid, ()))))
        for oid, kind, path in rows
    }
