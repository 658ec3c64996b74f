"""The planner's ORM classes, mapped onto the Core tables of :mod:`gsetup.configdb.tables`.

The annotations only type the attributes; the columns are defined once, in the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped

from gsetup.configdb import tables
from gsetup.configdb.tables import MANAGERS_SEPARATOR, NAME, PATH

__all__ = ["MANAGERS_SEPARATOR", "NAME", "PATH"]


class Base(DeclarativeBase):
    """Declarative base sharing the tables' metadata (stable constraint names for migrations)."""

    metadata = tables.metadata


class Tenant(Base):
    """A tenant; ``Environment`` is the default one, as in single-tenant Genesys."""

    __table__ = tables.tenant
    id: Mapped[int]
    name: Mapped[str]
    created_at: Mapped[datetime]


class Account(Base):
    """A login for server databases; the embedded database trusts its file's owner instead."""

    __table__ = tables.account
    id: Mapped[int]
    name: Mapped[str]
    password_hash: Mapped[str]
    superuser: Mapped[bool]


class Grant(Base):
    """An account's role (admin, operator, viewer) in one tenant."""

    __table__ = tables.account_grant
    account_id: Mapped[int]
    tenant_id: Mapped[int]
    role: Mapped[str]


class CfgObject(Base):
    """Identity of every configuration object: tenant, kind and tenant-relative path."""

    __table__ = tables.cfg_object
    id: Mapped[int]
    tenant_id: Mapped[int]
    kind: Mapped[str]
    path: Mapped[str]
    name: Mapped[str]
    parent_id: Mapped[int | None]


class CfgOption(Base):
    """An option (applications) or annex (any object) value: unique per object/section/key."""

    __table__ = tables.cfg_option
    id: Mapped[int]
    object_id: Mapped[int]
    section: Mapped[str]
    key: Mapped[str]
    value: Mapped[str]
    secret: Mapped[bool]
    managed_by: Mapped[str | None]


class Managed(Base):
    """Which packages manage an object, so upgrades and uninstalls touch only those.

    Objects nobody manages were added by a user and are never deleted by a package.
    (Options carry their managers in ``cfg_option.managed_by``.)
    """

    __table__ = tables.managed
    object_id: Mapped[int]
    package: Mapped[str]


class TenantSettings(Base):
    """The tenant's own configuration object (path ""), so it can carry fields and annex."""

    __table__ = tables.tenant_settings
    id: Mapped[int]
    default_capacity_rule_id: Mapped[int | None]


class BusinessAttribute(Base):
    """A business attribute (Media Type, Contact Attributes, Interaction Custom Properties...)."""

    __table__ = tables.business_attribute
    id: Mapped[int]
    display_name: Mapped[str]
    description: Mapped[str]
    attr_type: Mapped[str]


class AttributeValue(Base):
    """A value of a business attribute; its object's parent is the attribute."""

    __table__ = tables.attribute_value
    id: Mapped[int]
    display_name: Mapped[str]
    description: Mapped[str]
    is_default: Mapped[bool]


class CapacityRule(Base):
    """A capacity rule: per media type, how many interactions an agent may hold at once."""

    __table__ = tables.capacity_rule
    id: Mapped[int]
    description: Mapped[str]
    limits: Mapped[dict[str, int]]


class Application(Base):
    """An application: DMS, Chat Server, Interaction Server, Workspace Desktop, URS..."""

    __table__ = tables.application
    id: Mapped[int]
    app_type: Mapped[str]
    host: Mapped[str]
    port: Mapped[int | None]
    working_dir: Mapped[str]
    start_cmd: Mapped[str]
    stop_cmd: Mapped[str]
    backup_id: Mapped[int | None]
    redundancy_type: Mapped[str]


class BusinessProcess(Base):
    """An installed Business Process: its package, version and strategy directory."""

    __table__ = tables.business_process
    id: Mapped[int]
    package: Mapped[str]
    version: Mapped[str]
    strategy_dir: Mapped[str]


class InteractionQueue(Base):
    """An interaction queue of a business process."""

    __table__ = tables.interaction_queue
    id: Mapped[int]
    business_process_id: Mapped[int | None]
    description: Mapped[str]


class Strategy(Base):
    """A strategy or subroutine of a business process and the queue it serves."""

    __table__ = tables.strategy
    id: Mapped[int]
    business_process_id: Mapped[int | None]
    queue_id: Mapped[int | None]
    file: Mapped[str]
    active: Mapped[bool]
    subroutine: Mapped[bool]


class Person(Base):
    """A person; agents get interactions delivered by the routing runtime."""

    __table__ = tables.person
    id: Mapped[int]
    first_name: Mapped[str]
    last_name: Mapped[str]
    is_agent: Mapped[bool]
    capacity_rule_id: Mapped[int | None]
    skills: Mapped[dict[str, int]]


class Skill(Base):
    """A skill that agents hold at a level."""

    __table__ = tables.skill
    id: Mapped[int]
    description: Mapped[str]


class AgentGroup(Base):
    """A group of agents, with an optional capacity rule."""

    __table__ = tables.agent_group
    id: Mapped[int]
    capacity_rule_id: Mapped[int | None]
    members: Mapped[list[str]]


class InstallHistory(Base):
    """One applied plan: who, when, what package or command, redacted answers, the changes."""

    __table__ = tables.install_history
    id: Mapped[int]
    tenant_id: Mapped[int | None]
    tenant_name: Mapped[str]
    operation: Mapped[str]
    package: Mapped[str | None]
    version: Mapped[str | None]
    account: Mapped[str]
    at: Mapped[datetime]
    answers: Mapped[dict[str, Any]]
    summary: Mapped[dict[str, int]]
    changes: Mapped[list[dict[str, Any]]]


class PendingFiles(Base):
    """The file operations of an apply, recorded in its transaction until they are done.

    ``state`` is "staged" while the new files are being written beside their destinations
    (the next run removes them) and "committed" once the database transaction committed (the
    next run finishes the renames). The row is deleted when the files are in place.
    """

    __table__ = tables.pending_files
    id: Mapped[int]
    tenant_id: Mapped[int]
    state: Mapped[str]
    holder: Mapped[str]
    since: Mapped[datetime]
    steps: Mapped[list[dict[str, Any]]]
