"""SQLAlchemy models of the configuration database.

Modelled on the Genesys Configuration Layer, simplified. Every configuration object has one row
in ``cfg_object`` (its tenant, kind and readable path, unique per tenant) and, for kinds with
fields of their own, one row with the same id in the kind's table. Options (application options)
and annex (any object) share the ``cfg_option`` table. The schema is created and changed only by
the alembic migrations in ``gsetup/configdb/migrations``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MANAGERS_SEPARATOR = "\n"  # between package names in cfg_option.managed_by
NAME = 255  # Genesys object names are at most 255 characters
PATH = 1024


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


def _fk_object(**kw: Any) -> Mapped[int]:
    return mapped_column(ForeignKey("cfg_object.id", ondelete="CASCADE"), **kw)


class Tenant(Base):
    """A tenant; ``Environment`` is the default one, as in single-tenant Genesys."""

    __tablename__ = "tenant"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Account(Base):
    """A login for server databases; the embedded database trusts its file's owner instead."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    superuser: Mapped[bool] = mapped_column(Boolean, default=False)


class Grant(Base):
    """An account's role (admin, operator, viewer) in one tenant."""

    __tablename__ = "account_grant"
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))


class CfgObject(Base):
    """Identity of every configuration object: tenant, kind and tenant-relative path."""

    __tablename__ = "cfg_object"
    __table_args__ = (
        UniqueConstraint("tenant_id", "path"),
        Index("ix_cfg_object_tenant_kind", "tenant_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(PATH))
    name: Mapped[str] = mapped_column(String(NAME))
    # Deleting a parent that still has children is refused, never cascaded.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cfg_object.id"), index=True)


class CfgOption(Base):
    """An option (applications) or annex (any object) value: unique per object/section/key."""

    __tablename__ = "cfg_option"
    __table_args__ = (UniqueConstraint("object_id", "section", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[int] = _fk_object()
    section: Mapped[str] = mapped_column(String(NAME))
    key: Mapped[str] = mapped_column(String(NAME))
    value: Mapped[str] = mapped_column(Text)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    # The packages that manage this option, one per line; NULL: a user's option. Kept on the
    # row rather than in ``managed`` so a package's thousands of options cost no extra rows.
    managed_by: Mapped[str | None] = mapped_column(Text)


class Managed(Base):
    """Which packages manage an object, so upgrades and uninstalls touch only those.

    Objects nobody manages were added by a user and are never deleted by a package.
    (Options carry their managers in ``cfg_option.managed_by``.)
    """

    __tablename__ = "managed"
    object_id: Mapped[int] = _fk_object(primary_key=True)
    package: Mapped[str] = mapped_column(String(64), primary_key=True)


class TenantSettings(Base):
    """The tenant's own configuration object (path ""), so it can carry fields and annex."""

    __tablename__ = "tenant_settings"
    id: Mapped[int] = _fk_object(primary_key=True)
    # Genesys CfgTenant.defaultCapacityRuleDBID
    default_capacity_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("cfg_object.id", ondelete="SET NULL")
    )


class BusinessAttribute(Base):
    """A business attribute (Media Type, Contact Attributes, Interaction Custom Properties...)."""

    __tablename__ = "business_attribute"
    id: Mapped[int] = _fk_object(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(NAME))
    description: Mapped[str] = mapped_column(Text, default="")
    attr_type: Mapped[str] = mapped_column(String(64))


class AttributeValue(Base):
    """A value of a business attribute; its object's parent is the attribute."""

    __tablename__ = "attribute_value"
    id: Mapped[int] = _fk_object(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(NAME))
    description: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class CapacityRule(Base):
    """A capacity rule: per media type, how many interactions an agent may hold at once."""

    __tablename__ = "capacity_rule"
    id: Mapped[int] = _fk_object(primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    limits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class Application(Base):
    """An application: DMS, Chat Server, Interaction Server, Workspace Desktop, URS..."""

    __tablename__ = "application"
    id: Mapped[int] = _fk_object(primary_key=True)
    app_type: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(NAME), default="")
    port: Mapped[int | None] = mapped_column(Integer)
    working_dir: Mapped[str] = mapped_column(String(PATH), default="")
    start_cmd: Mapped[str] = mapped_column(String(PATH), default="")
    stop_cmd: Mapped[str] = mapped_column(String(PATH), default="")
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("cfg_object.id", ondelete="SET NULL"))
    redundancy_type: Mapped[str] = mapped_column(String(32), default="")


class BusinessProcess(Base):
    """An installed Business Process: its package, version and strategy directory."""

    __tablename__ = "business_process"
    id: Mapped[int] = _fk_object(primary_key=True)
    package: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    strategy_dir: Mapped[str] = mapped_column(String(PATH))


class InteractionQueue(Base):
    """An interaction queue of a business process."""

    __tablename__ = "interaction_queue"
    id: Mapped[int] = _fk_object(primary_key=True)
    business_process_id: Mapped[int | None] = mapped_column(
        ForeignKey("cfg_object.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="")


class Strategy(Base):
    """A strategy or subroutine of a business process and the queue it serves."""

    __tablename__ = "strategy"
    id: Mapped[int] = _fk_object(primary_key=True)
    business_process_id: Mapped[int | None] = mapped_column(
        ForeignKey("cfg_object.id", ondelete="SET NULL")
    )
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("cfg_object.id", ondelete="SET NULL"))
    file: Mapped[str] = mapped_column(String(PATH), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    subroutine: Mapped[bool] = mapped_column(Boolean, default=False)


class Person(Base):
    """A person; agents get interactions delivered by the routing runtime."""

    __tablename__ = "person"
    id: Mapped[int] = _fk_object(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(NAME), default="")
    last_name: Mapped[str] = mapped_column(String(NAME), default="")
    is_agent: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("cfg_object.id", ondelete="SET NULL")
    )
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class Skill(Base):
    """A skill that agents hold at a level."""

    __tablename__ = "skill"
    id: Mapped[int] = _fk_object(primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")


class AgentGroup(Base):
    """A group of agents, with an optional capacity rule."""

    __tablename__ = "agent_group"
    id: Mapped[int] = _fk_object(primary_key=True)
    capacity_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("cfg_object.id", ondelete="SET NULL")
    )
    members: Mapped[list[str]] = mapped_column(JSON, default=list)


class InstallHistory(Base):
    """One applied plan: who, when, what package or command, redacted answers, the changes."""

    __tablename__ = "install_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="SET NULL"))
    tenant_name: Mapped[str] = mapped_column(String(NAME))
    operation: Mapped[str] = mapped_column(String(64))
    package: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ApplyLock(Base):
    """The per-tenant apply lock; the row names its holder while an apply runs."""

    __tablename__ = "apply_lock"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(NAME))
    host: Mapped[str] = mapped_column(String(NAME))
    pid: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
