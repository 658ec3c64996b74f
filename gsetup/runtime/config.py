"""Every configuration read of the runtime, in one place, through the read side
(:mod:`gsetup.deployment`): the tenant's installed Business Processes, their strategy files and
queues, agents with their resolved capacity, and the applications with their options.

The result is a plain :class:`Deployment`, so tests and the bench can also build one in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup.errors import BadInputError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

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
    backup: str | None = None  # the other member of a primary/backup pair (the backup link)


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
    """Read ``tenant``'s deployment through the read side (:mod:`gsetup.deployment`);
    :class:`NotFoundError` for an unknown tenant, :class:`BadInputError` for one with no
    installed Business Process."""
    from gsetup.configdb.database import open_database, resolve_url
    from gsetup.configdb.tenants import tenant_id

    db = open_database(resolve_url(config_url))
    try:
        with db.engine.connect() as conn:
            return _read(conn, tenant, tenant_id(conn, tenant))
    finally:
        db.engine.dispose()


def _read(conn: Connection, tenant: str, tid: int) -> Deployment:
    from gsetup import deployment as read

    processes = _processes(conn, tid)
    if not processes:
        raise BadInputError(
            f"tenant {tenant!r} has no installed Business Process: install one first, "
            "e.g. gsetup install facebook-bp"
        )
    media = read.business_attributes(conn, tid, [MEDIA_TYPE_ATTRIBUTE]).get(MEDIA_TYPE_ATTRIBUTE)
    return Deployment(
        tenant,
        tid,
        processes,
        _agents(conn, tid),
        _apps(conn, tid),
        tuple(q.name for q in read.queues(conn, tid)),
        tuple(sorted(media.values)) if media is not None else (),
    )


def _processes(conn: Connection, tid: int) -> tuple[BusinessProcess, ...]:
    from gsetup import deployment as read

    files: dict[str, list[str]] = {}
    for strategy in read.strategies(conn, tid):
        if strategy.file and (strategy.active or strategy.subroutine):
            files.setdefault(strategy.package or "", []).append(strategy.file)
    queues: dict[str, list[str]] = {}
    for queue in read.queues(conn, tid):
        queues.setdefault(queue.package or "", []).append(queue.name)
    found = []
    for name, package in sorted(read.installed_packages(conn, tid).items()):
        directory = Path(package.strategy_dir)
        found.append(
            BusinessProcess(
                package.path.rsplit("/", 1)[-1],
                name,
                directory,
                tuple(directory / f for f in sorted(files.get(name, []))),
                tuple(sorted(queues.get(name, []))),
                Path(package.home) if package.home else None,
            )
        )
    return tuple(found)


def read_agent(config: Engine, tenant: str, name: str) -> AgentConfig | None:
    """Agent ``name`` of ``tenant`` as the configuration database has it now (None: no such
    agent): a running runtime reads it at each login, so agents added or changed since it
    started log in with their current skills and capacity."""
    return read_agents(config, tenant, [name]).get(name)


def read_agents(config: Engine, tenant: str, names: list[str]) -> dict[str, AgentConfig]:
    """Those of ``names`` that are agents of ``tenant`` in the configuration database now
    (a running runtime logs out the others: Runtime.refresh)."""
    from gsetup.configdb.tenants import tenant_id

    with config.connect() as conn:
        return _agents(conn, tenant_id(conn, tenant), names)


def read_apps(config: Engine, tenant: str) -> dict[str, AppConfig]:
    """``tenant``'s applications with their options as the configuration database has them
    now (a running runtime reads them again: Runtime.refresh_applications)."""
    from gsetup.configdb.tenants import tenant_id

    with config.connect() as conn:
        return _apps(conn, tenant_id(conn, tenant))


def _agents(conn: Connection, tid: int, names: list[str] | None = None) -> dict[str, AgentConfig]:
    from gsetup import deployment as read

    limits = {rule.name: rule.limits for rule in read.capacity_rules(conn, tid)}
    return {
        agent.name: AgentConfig(
            agent.name,
            dict(agent.skills),
            dict(limits.get(agent.capacity_rule or "", {})),
        )
        for agent in read.agents(conn, tid, names=names)
    }


def _apps(conn: Connection, tid: int) -> dict[str, AppConfig]:
    from gsetup import deployment as read

    apps = read.applications(conn, tid)
    stored = read.options_of(conn, tid, [app.path for app in apps])
    found = {}
    for app in apps:
        options: dict[str, dict[str, str]] = {}
        for (section, key), option in stored.get(app.path, {}).items():
            options.setdefault(section, {})[key] = option.value
        found[app.name] = AppConfig(
            app.name, app.app_type, app.host, app.port, options, app.backup or None
        )
    return found


def capacity_for(agent: AgentConfig, media_type: str) -> int:
    """How many interactions of ``media_type`` the agent may hold at once."""
    return int(agent.capacity.get(media_type, DEFAULT_CAPACITY))
