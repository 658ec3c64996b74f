"""Every configuration read of the runtime, in one place: the tenant's installed Business
Processes, their strategy files and queues, agents with their resolved capacity, and the
DMS applications with their options.

The result is a plain :class:`Deployment`, so tests and the bench can also build one in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup.errors import BadInputError, NotFoundError
from gsetup.packages.model import HOME_KEY, HOME_SECTION

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DMS_TYPE = "DigitalMessagingServer"
MEDIA_TYPE_ATTRIBUTE = "Media Type"
# Genesys Administrator: "by default, the maximum of a media type is 1" when no rule applies.
DEFAULT_CAPACITY = 1


@dataclass(frozen=True)
class AgentConfig:
    """A person who is an agent: skills and the resolved capacity rule (own, group, tenant)."""

    name: str
    skills: Mapping[str, int]
    capacity: Mapping[str, int]  # media type -> interactions at once; missing: DEFAULT


@dataclass(frozen=True)
class AppConfig:
    """An application with its options: ``options[section][key]``."""

    name: str
    app_type: str
    host: str
    port: int | None
    options: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class BusinessProcess:
    """An installed Business Process: its package, strategy directory, files and queues."""

    name: str
    package: str
    strategy_dir: Path
    files: tuple[Path, ...]  # active strategies and subroutines
    queues: tuple[str, ...]
    install_home: Path | None = None  # where the installer placed its scripts and rule files


@dataclass(frozen=True)
class Deployment:
    """What the runtime of one tenant reads from the configuration database."""

    tenant: str
    dbid: int
    processes: tuple[BusinessProcess, ...]
    agents: Mapping[str, AgentConfig] = field(default_factory=dict)
    apps: Mapping[str, AppConfig] = field(default_factory=dict)
    queues: tuple[str, ...] = ()  # every interaction queue of the tenant (iWD's adapter too)
    media_types: tuple[str, ...] = ()  # values of the Media Type business attribute


def read_deployment(config_url: str | None, tenant: str) -> Deployment:
    """Read ``tenant``'s deployment; :class:`NotFoundError` for an unknown tenant or one
    with no installed Business Process."""
    from sqlalchemy.orm import Session

    from gsetup.configdb.database import open_database, resolve_url

    db = open_database(resolve_url(config_url))
    try:
        with Session(db.engine) as session:
            return _read(session, tenant)
    finally:
        db.engine.dispose()


def _read(session: Session, tenant: str) -> Deployment:
    from sqlalchemy import select

    from gsetup.configdb import models as m

    row = session.execute(select(m.Tenant).where(m.Tenant.name == tenant)).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no tenant {tenant!r} in the configuration database")
    processes = _processes(session, row.id)
    if not processes:
        raise BadInputError(
            f"tenant {tenant!r} has no installed Business Process: install one first, "
            "e.g. gsetup install facebook-bp"
        )
    queues = session.execute(
        select(m.CfgObject.name).where(m.CfgObject.tenant_id == row.id, m.CfgObject.kind == "queue")
    ).scalars()
    return Deployment(
        tenant,
        row.id,
        processes,
        _agents(session, row.id),
        _apps(session, row.id),
        tuple(sorted(queues)),
        _media_types(session, row.id),
    )


def _media_types(session: Session, tenant_id: int) -> tuple[str, ...]:
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from gsetup.configdb import models as m

    parent = aliased(m.CfgObject)
    names = session.execute(
        select(m.CfgObject.name)
        .join(parent, parent.id == m.CfgObject.parent_id)
        .where(
            m.CfgObject.tenant_id == tenant_id,
            m.CfgObject.kind == "attribute_value",
            parent.name == MEDIA_TYPE_ATTRIBUTE,
        )
    ).scalars()
    return tuple(sorted(names))


def _processes(session: Session, tenant_id: int) -> tuple[BusinessProcess, ...]:
    from sqlalchemy import or_, select

    from gsetup.configdb import models as m

    found: list[BusinessProcess] = []
    rows = session.execute(
        select(m.CfgObject, m.BusinessProcess)
        .join(m.BusinessProcess, m.BusinessProcess.id == m.CfgObject.id)
        .where(m.CfgObject.tenant_id == tenant_id)
        .order_by(m.CfgObject.name)
    ).all()
    for obj, bp in rows:
        directory = Path(bp.strategy_dir)
        files = session.execute(
            select(m.Strategy.file)
            .where(
                m.Strategy.business_process_id == bp.id,
                or_(m.Strategy.active.is_(True), m.Strategy.subroutine.is_(True)),
            )
            .order_by(m.Strategy.file)
        ).scalars()
        queues = session.execute(
            select(m.CfgObject.name)
            .join(m.InteractionQueue, m.InteractionQueue.id == m.CfgObject.id)
            .where(m.InteractionQueue.business_process_id == bp.id)
            .order_by(m.CfgObject.name)
        ).scalars()
        home = session.execute(
            select(m.CfgOption.value).where(
                m.CfgOption.object_id == obj.id,
                m.CfgOption.section == HOME_SECTION,
                m.CfgOption.key == HOME_KEY,
            )
        ).scalar()
        found.append(
            BusinessProcess(
                obj.name,
                bp.package,
                directory,
                tuple(directory / f for f in files if f),
                tuple(queues),
                Path(home) if home else None,
            )
        )
    return tuple(found)


def _agents(session: Session, tenant_id: int) -> dict[str, AgentConfig]:
    from sqlalchemy import select

    from gsetup.configdb import models as m

    rules = dict(
        session.execute(
            select(m.CapacityRule.id, m.CapacityRule.limits)
            .join(m.CfgObject, m.CfgObject.id == m.CapacityRule.id)
            .where(m.CfgObject.tenant_id == tenant_id)
        ).all()
    )
    settings = session.execute(
        select(m.TenantSettings.default_capacity_rule_id)
        .join(m.CfgObject, m.CfgObject.id == m.TenantSettings.id)
        .where(m.CfgObject.tenant_id == tenant_id)
    ).scalar()
    group_rule: dict[str, int] = {}
    for members, rule_id in session.execute(
        select(m.AgentGroup.members, m.AgentGroup.capacity_rule_id)
        .join(m.CfgObject, m.CfgObject.id == m.AgentGroup.id)
        .where(m.CfgObject.tenant_id == tenant_id, m.AgentGroup.capacity_rule_id.is_not(None))
    ).all():
        for member in members or []:
            if rule_id is not None:
                group_rule.setdefault(member, rule_id)
    agents: dict[str, AgentConfig] = {}
    for name, person in session.execute(
        select(m.CfgObject.name, m.Person)
        .join(m.Person, m.Person.id == m.CfgObject.id)
        .where(m.CfgObject.tenant_id == tenant_id, m.Person.is_agent.is_(True))
    ).all():
        rule_id = person.capacity_rule_id or group_rule.get(name) or settings
        limits = rules.get(rule_id, {}) if rule_id is not None else {}
        agents[name] = AgentConfig(name, dict(person.skills or {}), dict(limits))
    return agents


def _apps(session: Session, tenant_id: int) -> dict[str, AppConfig]:
    from sqlalchemy import select

    from gsetup.configdb import models as m

    apps: dict[str, AppConfig] = {}
    for obj, app in session.execute(
        select(m.CfgObject, m.Application)
        .join(m.Application, m.Application.id == m.CfgObject.id)
        .where(m.CfgObject.tenant_id == tenant_id)
    ).all():
        options: dict[str, dict[str, str]] = {}
        for section, key, value in session.execute(
            select(m.CfgOption.section, m.CfgOption.key, m.CfgOption.value).where(
                m.CfgOption.object_id == obj.id
            )
        ).all():
            options.setdefault(section, {})[key] = value
        apps[obj.name] = AppConfig(obj.name, app.app_type, app.host, app.port, options)
    return apps


def capacity_for(agent: AgentConfig, media_type: str) -> int:
    """How many interactions of ``media_type`` the agent may hold at once."""
    return int(agent.capacity.get(media_type, DEFAULT_CAPACITY))
