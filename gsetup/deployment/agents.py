"""Who routing delivers to: agents with skills, agent groups and capacity rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gsetup.deployment.model import Agent, AgentGroup, CapacityRule, CapacitySource

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.engine import Connection


def capacity_rules(conn: Connection, tenant_id: int) -> list[CapacityRule]:
    """The tenant's capacity rules with their per-media limits, by name; one statement."""
    from sqlalchemy import select

    from gsetup.configdb.tables import capacity_rule as R
    from gsetup.configdb.tables import cfg_object

    query = (
        select(cfg_object.c.name, cfg_object.c.path, R.c.description, R.c.limits)
        .join(R, R.c.id == cfg_object.c.id)
        .where(cfg_object.c.tenant_id == tenant_id)
        .order_by(cfg_object.c.name)
    )
    return [
        CapacityRule(name, path, description, dict(limits or {}))
        for name, path, description, limits in conn.execute(query)
    ]


def default_capacity_rule(conn: Connection, tenant_id: int) -> str | None:
    """The name of the tenant's default capacity rule (Genesys defaultCapacityRuleDBID)."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_object, tenant_settings

    rule = cfg_object.alias()
    query = (
        select(rule.c.name)
        .select_from(cfg_object)
        .join(tenant_settings, tenant_settings.c.id == cfg_object.c.id)
        .join(rule, rule.c.id == tenant_settings.c.default_capacity_rule_id)
        .where(cfg_object.c.tenant_id == tenant_id, cfg_object.c.kind == "tenant")
    )
    name = conn.execute(query).scalar()
    return str(name) if name is not None else None


def agent_groups(conn: Connection, tenant_id: int) -> list[AgentGroup]:
    """The tenant's agent groups with members and capacity rule, by name; one statement."""
    from sqlalchemy import select

    from gsetup.configdb.tables import agent_group as G
    from gsetup.configdb.tables import cfg_object

    rule = cfg_object.alias()
    query = (
        select(cfg_object.c.name, cfg_object.c.path, G.c.members, rule.c.name)
        .join(G, G.c.id == cfg_object.c.id)
        .outerjoin(rule, rule.c.id == G.c.capacity_rule_id)
        .where(cfg_object.c.tenant_id == tenant_id)
        .order_by(cfg_object.c.name)
    )
    return [
        AgentGroup(name, path, tuple(members or ()), rule_name)
        for name, path, members, rule_name in conn.execute(query)
    ]


def agents(
    conn: Connection,
    tenant_id: int,
    *,
    only_agents: bool = True,
    names: Collection[str] | None = None,
) -> list[Agent]:
    """The tenant's persons (agents only, unless ``only_agents`` is False; those called
    ``names``, if given) by name, each with the capacity rule that applies: own, else the
    first agent group's (by group name) that has one, else the tenant default. Three
    statements whatever the number of persons."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_object, person

    rule = cfg_object.alias()
    query = (
        select(
            cfg_object.c.name,
            cfg_object.c.path,
            person.c.first_name,
            person.c.last_name,
            person.c.is_agent,
            person.c.skills,
            rule.c.name,
        )
        .join(person, person.c.id == cfg_object.c.id)
        .outerjoin(rule, rule.c.id == person.c.capacity_rule_id)
        .where(cfg_object.c.tenant_id == tenant_id)
        .order_by(cfg_object.c.name)
    )
    if only_agents:
        query = query.where(person.c.is_agent.is_(True))
    if names is not None:
        query = query.where(cfg_object.c.name.in_(names))
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
