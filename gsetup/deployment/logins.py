"""What the routing runtime checks its callers against: the intake tokens of a tenant's
Digital Messaging Servers and an agent's password hash (``gsetup.runtime.credentials``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def app_option_values(
    conn: Connection, tenant: str, app_type: str, section: str, key: str
) -> list[tuple[str, str]]:
    """(application name, value) of one option of every ``app_type`` application of the
    tenant named ``tenant`` that has it; one statement."""
    from sqlalchemy import select

    from gsetup.configdb import models as m

    query = (
        select(m.CfgObject.name, m.CfgOption.value)
        .join(m.Tenant, m.Tenant.id == m.CfgObject.tenant_id)
        .join(m.CfgOption, m.CfgOption.object_id == m.CfgObject.id)
        .join(m.Application, m.Application.id == m.CfgObject.id)
        .where(
            m.Tenant.name == tenant,
            m.Application.app_type == app_type,
            m.CfgOption.section == section,
            m.CfgOption.key == key,
        )
    )
    return [(name, value) for name, value in conn.execute(query)]


def agent_annex_value(
    conn: Connection, tenant: str, agent: str, section: str, key: str
) -> str | None:
    """One annex value of the agent (a person flagged agent) ``agent`` of the tenant named
    ``tenant``; None when there is no such agent or value. One statement."""
    from sqlalchemy import select

    from gsetup.configdb import models as m
    from gsetup.state import object_path

    query = (
        select(m.CfgOption.value)
        .join(m.CfgObject, m.CfgObject.id == m.CfgOption.object_id)
        .join(m.Tenant, m.Tenant.id == m.CfgObject.tenant_id)
        .join(m.Person, m.Person.id == m.CfgObject.id)
        .where(
            m.Tenant.name == tenant,
            m.CfgObject.path == object_path("person", agent),
            m.Person.is_agent.is_(True),
            m.CfgOption.section == section,
            m.CfgOption.key == key,
        )
    )
    value = conn.execute(query).scalar()
    return None if value is None else str(value)
