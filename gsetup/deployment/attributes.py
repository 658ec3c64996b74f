"""Business attributes and their values (media types, custom properties, emojis...)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from gsetup.deployment.apps import options_of
from gsetup.deployment.model import AttributeValue, BusinessAttribute

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def business_attributes(
    conn: Connection, tenant_id: int, names: Collection[str]
) -> dict[str, BusinessAttribute]:
    """The business attributes called ``names`` that the tenant has, with their values and
    the values' annex, by name; three statements whatever the number of values."""
    from sqlalchemy import select

    from gsetup.configdb.tables import attribute_value as V
    from gsetup.configdb.tables import business_attribute as A
    from gsetup.configdb.tables import cfg_object

    query = (
        select(
            cfg_object.c.id, cfg_object.c.name, cfg_object.c.path, A.c.display_name, A.c.description
        )
        .add_columns(A.c.attr_type)
        .join(A, A.c.id == cfg_object.c.id)
        .where(cfg_object.c.tenant_id == tenant_id, cfg_object.c.name.in_(list(names)))
    )
    attributes = conn.execute(query).all()
    if not attributes:
        return {}
    value = cfg_object.alias()
    values = conn.execute(
        select(value.c.parent_id, value.c.name, value.c.path, V.c.display_name, V.c.description)
        .add_columns(V.c.is_default)
        .join(V, V.c.id == value.c.id)
        .where(value.c.parent_id.in_([row.id for row in attributes]))
        .order_by(value.c.name)
    ).all()
    annex = options_of(conn, tenant_id, [row.path for row in values])
    by_parent: dict[int, dict[str, AttributeValue]] = {}
    for parent, name, path, display, description, default in values:
        by_parent.setdefault(parent, {})[name] = AttributeValue(
            name, path, display, description, bool(default), annex.get(path, {})
        )
    return {
        row.name: BusinessAttribute(
            row.name,
            row.path,
            row.display_name,
            row.description,
            row.attr_type,
            by_parent.get(row.id, {}),
        )
        for row in attributes
    }
