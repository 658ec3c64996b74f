"""The configuration database's tables, in SQLAlchemy Core: the one definition of its schema.

Modelled on the Genesys Configuration Layer, simplified. Every configuration object has one row
in ``cfg_object`` (its tenant, kind and readable path, unique per tenant) and, for kinds with
fields of their own, one row with the same id in the kind's table. Options (application options)
and annex (any object) share the ``cfg_option`` table. The schema is created and changed only by
the alembic migrations in ``gsetup/configdb/migrations`` (a test compares them with this).

Core, not the ORM: the read side and the quick read commands query these tables without
importing ``sqlalchemy.orm``, which with the mapped classes costs more than SQLAlchemy itself.
:mod:`gsetup.configdb.models` maps the planner's classes onto the same tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

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

metadata = MetaData(naming_convention=NAMING)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _object_id(name: str = "id", *, primary_key: bool = False) -> Column[int]:
    """A reference to ``cfg_object`` that goes with the object (a detail row, an option)."""
    reference = ForeignKey("cfg_object.id", ondelete="CASCADE")
    return Column(name, reference, nullable=False, primary_key=primary_key)


def _ref(name: str) -> Column[int]:
    """An optional reference to another object, cleared when that object is deleted."""
    return Column(name, ForeignKey("cfg_object.id", ondelete="SET NULL"))


def _text(
    name: str, length: int | None = None, *, unique: bool = False, default: str | None = None
) -> Column[str]:
    kind = String(length) if length else Text()
    return Column(name, kind, nullable=False, unique=unique, default=default)


def _flag(name: str, default: bool) -> Column[bool]:
    return Column(name, Boolean, nullable=False, default=default)


def _json(name: str, default: object) -> Column[object]:
    return Column(name, JSON, nullable=False, default=default)


def _when(name: str) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=False)


# A tenant; ``Environment`` is the default one, as in single-tenant Genesys.
tenant = Table(
    "tenant",
    metadata,
    _id(),
    _text("name", NAME, unique=True),
    _when("created_at"),
)

# A login for server databases; the embedded database trusts its file's owner instead.
account = Table(
    "account",
    metadata,
    _id(),
    _text("name", NAME, unique=True),
    _text("password_hash", 512),
    _flag("superuser", False),
)
# Names differing only by case would read as one account in history, locks and lists.
Index("uq_account_name_lower", func.lower(account.c.name), unique=True)

# An account's role (admin, operator, viewer) in one tenant.
account_grant = Table(
    "account_grant",
    metadata,
    Column("account_id", ForeignKey("account.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True),
    _text("role", 16),
)

# Identity of every configuration object: tenant, kind and tenant-relative path.
cfg_object = Table(
    "cfg_object",
    metadata,
    _id(),
    Column("tenant_id", ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False),
    _text("kind", 32),
    _text("path", PATH),
    _text("name", NAME),
    # Deleting a parent that still has children is refused, never cascaded.
    Column("parent_id", ForeignKey("cfg_object.id"), index=True),
    UniqueConstraint("tenant_id", "path"),
    Index("ix_cfg_object_tenant_kind", "tenant_id", "kind"),
)

# An option (applications) or annex (any object) value: unique per object/section/key.
cfg_option = Table(
    "cfg_option",
    metadata,
    _id(),
    _object_id("object_id"),
    _text("section", NAME),
    _text("key", NAME),
    _text("value"),
    _flag("secret", False),
    # The packages that manage this option, one per line; NULL: a user's option. Kept on the
    # row rather than in ``managed`` so a package's thousands of options cost no extra rows.
    Column("managed_by", Text),
    UniqueConstraint("object_id", "section", "key"),
)

# Which packages manage an object, so upgrades and uninstalls touch only those. Objects
# nobody manages were added by a user and are never deleted by a package.
managed = Table(
    "managed",
    metadata,
    _object_id("object_id", primary_key=True),
    Column("package", String(64), primary_key=True),
)

# The tenant's own configuration object (path ""), so it can carry fields and annex.
tenant_settings = Table(
    "tenant_settings",
    metadata,
    _object_id(primary_key=True),
    _ref("default_capacity_rule_id"),  # Genesys CfgTenant.defaultCapacityRuleDBID
)

# A business attribute (Media Type, Contact Attributes, Interaction Custom Properties...).
business_attribute = Table(
    "business_attribute",
    metadata,
    _object_id(primary_key=True),
    _text("display_name", NAME),
    _text("description", default=""),
    _text("attr_type", 64),
)

# A value of a business attribute; its object's parent is the attribute.
attribute_value = Table(
    "attribute_value",
    metadata,
    _object_id(primary_key=True),
    _text("display_name", NAME),
    _text("description", default=""),
    _flag("is_default", False),
)

# A capacity rule: per media type, how many interactions an agent may hold at once.
capacity_rule = Table(
    "capacity_rule",
    metadata,
    _object_id(primary_key=True),
    _text("description", default=""),
    _json("limits", dict),
)

# An application: DMS, Chat Server, Interaction Server, Workspace Desktop, URS...
application = Table(
    "application",
    metadata,
    _object_id(primary_key=True),
    _text("app_type", 64),
    _text("host", NAME, default=""),
    Column("port", Integer),
    _text("working_dir", PATH, default=""),
    _text("start_cmd", PATH, default=""),
    _text("stop_cmd", PATH, default=""),
    _ref("backup_id"),
    _text("redundancy_type", 32, default=""),
)

# An installed Business Process: its package, version and strategy directory.
business_process = Table(
    "business_process",
    metadata,
    _object_id(primary_key=True),
    _text("package", 64),
    _text("version", 32),
    _text("strategy_dir", PATH),
)

# An interaction queue of a business process.
interaction_queue = Table(
    "interaction_queue",
    metadata,
    _object_id(primary_key=True),
    _ref("business_process_id"),
    _text("description", default=""),
)

# A strategy or subroutine of a business process and the queue it serves.
strategy = Table(
    "strategy",
    metadata,
    _object_id(primary_key=True),
    _ref("business_process_id"),
    _ref("queue_id"),
    _text("file", PATH, default=""),
    _flag("active", True),
    _flag("subroutine", False),
)

# A person; agents get interactions delivered by the routing runtime.
person = Table(
    "person",
    metadata,
    _object_id(primary_key=True),
    _text("first_name", NAME, default=""),
    _text("last_name", NAME, default=""),
    _flag("is_agent", True),
    _ref("capacity_rule_id"),
    _json("skills", dict),
)

# A skill that agents hold at a level.
skill = Table(
    "skill",
    metadata,
    _object_id(primary_key=True),
    _text("description", default=""),
)

# A group of agents, with an optional capacity rule.
agent_group = Table(
    "agent_group",
    metadata,
    _object_id(primary_key=True),
    _ref("capacity_rule_id"),
    _json("members", list),
)

# One applied plan: who, when, what package or command, redacted answers, the changes.
install_history = Table(
    "install_history",
    metadata,
    _id(),
    Column("tenant_id", ForeignKey("tenant.id", ondelete="SET NULL")),
    _text("tenant_name", NAME),
    _text("operation", 64),
    Column("package", String(64)),
    Column("version", String(32)),
    _text("account", NAME),
    _when("at"),
    _json("answers", dict),
    _json("summary", dict),
    _json("changes", list),
)

# The per-tenant apply lock; the row names its holder while an apply runs.
apply_lock = Table(
    "apply_lock",
    metadata,
    Column("tenant_id", ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True),
    _text("holder", NAME),
    _text("host", NAME),
    Column("pid", Integer, nullable=False),
    _when("since"),
)

# The install-homes lock, one row while held: a package install or uninstall (any tenant)
# takes it after its tenant's apply lock, as the files it checks and changes may be shared
# with another tenant's packages. ``tenant`` is the holder's, for ``gsetup db unlock``.
install_homes_lock = Table(
    "install_homes_lock",
    metadata,
    Column("name", String(32), primary_key=True),
    _text("tenant", NAME),
    _text("holder", NAME),
    _text("host", NAME),
    Column("pid", Integer, nullable=False),
    _when("since"),
)

# The file operations of an apply, recorded in its transaction until they are done: "staged"
# while the new files are written beside their destinations (the next run removes them),
# "committed" once the transaction committed (the next run finishes the renames). The row is
# deleted when the files are in place.
pending_files = Table(
    "pending_files",
    metadata,
    _id(),
    Column("tenant_id", ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False),
    _text("state", 16),
    _text("holder", NAME),
    _when("since"),
    _json("steps", list),
)
