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
    from sqlalchemy.orm import aliased

    from gsetup.configdb.models import AttributeValue as V
    from gsetup.configdb.models import BusinessAttribute as A
    from gsetup.configdb.models import CfgObject

    query = (
        select(CfgObject.id, CfgObject.name, CfgObject.path, A.display_name, A.description)
        .add_columns(A.attr_type)
        .join(A, A.id == CfgObject.id)
        .where(CfgObject.tenant_id == tenant_id, CfgObject.name.in_(list(names)))
    )
    attributes = conn.execute(query).all()
    if not attributes:
        return {}
    value = aliased(CfgObject)
    values = conn.execute(
        select(value.parent_id, value.name, value.path, V.display_name, V.description)
        .add_columns(V.is_default)
        .join(V, V.id == value.id)
        .where(value.parent_id.in_([row.id for row in attributes]))
        .order_by(value.name)
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
