"""What the routing runtime checks its callers against: the intake tokens of a tenant's
Digital Messaging Servers and an agent's password hash (``gsetup.runtime.credentials``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def app_option_values(
    conn: Connection, tenant: str | None, app_type: str, section: str, key: str
) -> list[tuple[str, str, str]]:
    """(tenant name, application name, value) of one option of every ``app_type``
    application of the tenant named ``tenant`` (None: of every tenant) that has it; one
    statement."""
    from sqlalchemy import select

    from gsetup.configdb import tables as m

    query = (
        select(m.tenant.c.name, m.cfg_object.c.name, m.cfg_option.c.value)
        .join(m.tenant, m.tenant.c.id == m.cfg_object.c.tenant_id)
        .join(m.cfg_option, m.cfg_option.c.object_id == m.cfg_object.c.id)
        .join(m.application, m.application.c.id == m.cfg_object.c.id)
        .where(
            m.application.c.app_type == app_type,
            m.cfg_option.c.section == section,
            m.cfg_option.c.key == key,
        )
    )
    if tenant is not None:
        query = query.where(m.tenant.c.name == tenant)
    return [(owner, name, value) for owner, name, value in conn.execute(query)]


def agent_annex_value(
    conn: Connection, tenant: str, agent: str, section: str, key: str
) -> str | None:
    """One annex value of the agent (a person flagged agent) ``agent`` of the tenant named
    ``tenant``; None when there is no such agent or value. One statement."""
    from sqlalchemy import select

    from gsetup.configdb import tables as m
    from gsetup.state import object_path

    query = (
        select(m.cfg_option.c.value)
        .join(m.cfg_object, m.cfg_object.c.id == m.cfg_option.c.object_id)
        .join(m.tenant, m.tenant.c.id == m.cfg_object.c.tenant_id)
        .join(m.person, m.person.c.id == m.cfg_object.c.id)
        .where(
            m.tenant.c.name == tenant,
            m.cfg_object.c.path == object_path("person", agent),
            m.person.c.is_agent.is_(True),
            m.cfg_option.c.section == section,
            m.cfg_option.c.key == key,
        )
    )
    value = conn.execute(query).scalar()
    return None if value is None else str(value)
