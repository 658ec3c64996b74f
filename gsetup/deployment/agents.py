"""Who routing delivers to: agents with skills, agent groups and capacity rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gsetup.deployment.model import Agent, AgentGroup, CapacityRule, CapacitySource

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def capacity_rules(conn: Connection, tenant_id: int) -> list[CapacityRule]:
    """The tenant's capacity rules with their per-media limits, by name; one statement."""
    from sqlalchemy import select

    from gsetup.configdb.models import CapacityRule as R
    from gsetup.configdb.models import CfgObject

    query = (
        select(CfgObject.name, CfgObject.path, R.description, R.limits)
        .join(R, R.id == CfgObject.id)
        .where(CfgObject.tenant_id == tenant_id)
        .order_by(CfgObject.name)
    )
    return [
        CapacityRule(name, path, description, dict(limits or {}))
        for name, path, description, limits in conn.execute(query)
    ]


def default_capacity_rule(conn: Connection, tenant_id: int) -> str | None:
    """The name of the tenant's default capacity rule (Genesys defaultCapacityRuleDBID)."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from gsetup.configdb.models import CfgObject, TenantSettings

    rule = aliased(CfgObject)
    query = (
        select(rule.name)
        .select_from(CfgObject)
        .join(TenantSettings, TenantSettings.id == CfgObject.id)
        .join(rule, rule.id == TenantSettings.default_capacity_rule_id)
        .where(CfgObject.tenant_id == tenant_id, CfgObject.kind == "tenant")
    )
    name = conn.execute(query).scalar()
    return str(name) if name is not None else None


def agent_groups(conn: Connection, tenant_id: int) -> list[AgentGroup]:
    """The tenant's agent groups with members and capacity rule, by name; one statement."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from gsetup.configdb.models import AgentGroup as G
    from gsetup.configdb.models import CfgObject

    rule = aliased(CfgObject)
    query = (
        select(CfgObject.name, CfgObject.path, G.members, rule.name)
        .join(G, G.id == CfgObject.id)
        .outerjoin(rule, rule.id == G.capacity_rule_id)
        .where(CfgObject.tenant_id == tenant_id)
        .order_by(CfgObject.name)
    )
    return [
        AgentGroup(name, path, tuple(members or ()), rule_name)
        for name, path, members, rule_name in conn.execute(query)
    ]


def agents(conn: Connection, tenant_id: int, *, only_agents: bool = True) -> list[Agent]:
    """The tenant's persons (agents only, unless ``only_agents`` is False) by name, each with
    the capacity rule that applies: own, else the first agent group's (by group name) that
    has one, else the tenant default. Three statements whatever the number of persons."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from gsetup.configdb.models import CfgObject, Person

    rule = aliased(CfgObject)
    query = (
        select(
            CfgObject.name,
            CfgObject.path,
            Person.first_name,
            Person.last_name,
            Person.is_agent,
            Person.skills,
            rule.name,
        )
        .join(Person, Person.id == CfgObject.id)
        .outerjoin(rule, rule.id == Person.capacity_rule_id)
        .where(CfgObject.tenant_id == tenant_id)
        .order_by(CfgObject.name)
    )
    if only_agents:
        query = query.where(Person.is_agent.is_(True))
    rows = conn.execute(query).all()
    if not rows:
        return []
    groups = agent_groups(conn, tenant_id)
    default = default_capacity_rule(conn, tenant_id)
    return [_agent(row, [g for g in groups if row[0] in g.members], default) for row in rows]


def _agent(row: Any, groups: list[AgentGroup], default: str | None) -> Agent:
    name, path, first, last, is_agent, skills, own = row
    rule, source = _resolve(own, groups, default)
    return Agent(
        name=str(name),
        path=str(path),
        first_name=str(first),
        last_name=str(last),
        is_agent=bool(is_agent),
        skills=dict(skills or {}),
        groups=tuple(g.name for g in groups),
        capacity_rule=rule,
        capacity_source=source,
    )


def _resolve(
    own: object, groups: list[AgentGroup], default: str | None
) -> tuple[str | None, CapacitySource | None]:
    if own is not None:
        return str(own), "own"
    group_rule = next((g.capacity_rule for g in groups if g.capacity_rule), None)
    if group_rule is not None:
        return group_rule, "group"
    if default is not None:
        return default, "tenant"
    return None, None
