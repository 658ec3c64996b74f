"""Initial schema, and the default tenant Environment.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=False),
        sa.Column("superuser", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("name", name=op.f("uq_account_name")),
    )
    op.create_table(
        "tenant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant")),
        sa.UniqueConstraint("name", name=op.f("uq_tenant_name")),
    )
    op.create_table(
        "account_grant",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_account_grant_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_account_grant_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "tenant_id", name=op.f("pk_account_grant")),
    )
    op.create_table(
        "apply_lock",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_apply_lock_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_apply_lock")),
    )
    op.create_table(
        "cfg_object",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["cfg_object.id"], name=op.f("fk_cfg_object_parent_id_cfg_object")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_cfg_object_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cfg_object")),
        sa.UniqueConstraint("tenant_id", "path", name=op.f("uq_cfg_object_tenant_id")),
    )
    with op.batch_alter_table("cfg_object", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cfg_object_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_cfg_object_tenant_kind", ["tenant_id", "kind"], unique=False)

    op.create_table(
        "install_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("tenant_name", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=64), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=True),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_install_history_tenant_id_tenant"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_install_history")),
    )
    op.create_table(
        "agent_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capacity_rule_id", sa.Integer(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capacity_rule_id"],
            ["cfg_object.id"],
            name=op.f("fk_agent_group_capacity_rule_id_cfg_object"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["cfg_object.id"], name=op.f("fk_agent_group_id_cfg_object"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_group")),
    )
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_type", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("working_dir", sa.String(length=1024), nullable=False),
        sa.Column("start_cmd", sa.String(length=1024), nullable=False),
        sa.Column("stop_cmd", sa.String(length=1024), nullable=False),
        sa.Column("backup_id", sa.Integer(), nullable=True),
        sa.Column("redundancy_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["backup_id"],
            ["cfg_object.id"],
            name=op.f("fk_application_backup_id_cfg_object"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["cfg_object.id"], name=op.f("fk_application_id_cfg_object"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
    )
    op.create_table(
        "attribute_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["cfg_object.id"],
            name=op.f("fk_attribute_value_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute_value")),
    )
    op.create_table(
        "business_attribute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attr_type", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["cfg_object.id"],
            name=op.f("fk_business_attribute_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_attribute")),
    )
    op.create_table(
        "business_process",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("strategy_dir", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["cfg_object.id"],
            name=op.f("fk_business_process_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_process")),
    )
    op.create_table(
        "capacity_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["cfg_object.id"],
            name=op.f("fk_capacity_rule_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_rule")),
    )
    op.create_table(
        "cfg_option",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["cfg_object.id"],
            name=op.f("fk_cfg_option_object_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cfg_option")),
        sa.UniqueConstraint("object_id", "section", "key", name=op.f("uq_cfg_option_object_id")),
    )
    op.create_table(
        "interaction_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_process_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_process_id"],
            ["cfg_object.id"],
            name=op.f("fk_interaction_queue_business_process_id_cfg_object"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["id"],
            ["cfg_object.id"],
            name=op.f("fk_interaction_queue_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_queue")),
    )
    op.create_table(
        "managed",
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(length=64), nullable=False),
        sa.Column("section", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["cfg_object.id"],
            name=op.f("fk_managed_object_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_id", "package", "section", "key", name=op.f("pk_managed")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=False),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("is_agent", sa.Boolean(), nullable=False),
        sa.Column("capacity_rule_id", sa.Integer(), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capacity_rule_id"],
            ["cfg_object.id"],
            name=op.f("fk_person_capacity_rule_id_cfg_object"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["cfg_object.id"], name=op.f("fk_person_id_cfg_object"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_table(
        "skill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"], ["cfg_object.id"], name=op.f("fk_skill_id_cfg_object"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill")),
    )
    op.create_table(
        "strategy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_process_id", sa.Integer(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("file", sa.String(length=1024), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("subroutine", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_process_id"],
            ["cfg_object.id"],
            name=op.f("fk_strategy_business_process_id_cfg_object"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["cfg_object.id"], name=op.f("fk_strategy_id_cfg_object"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["cfg_object.id"],
            name=op.f("fk_strategy_queue_id_cfg_object"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy")),
    )
    op.create_table(
        "tenant_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("default_capacity_rule_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["default_capacity_rule_id"],
            ["cfg_object.id"],
            name=op.f("fk_tenant_settings_default_capacity_rule_id_cfg_object"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["id"],
            ["cfg_object.id"],
            name=op.f("fk_tenant_settings_id_cfg_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_settings")),
    )

    _seed_default_tenant()


def _seed_default_tenant() -> None:
    """A new database holds the default tenant, as single-tenant Genesys does."""
    conn = op.get_bind()
    conn.execute(
        sa.text("INSERT INTO tenant (name, created_at) VALUES ('Environment', :now)"),
        {"now": datetime.now(UTC)},
    )
    tenant_id = conn.execute(sa.text("SELECT id FROM tenant WHERE name = 'Environment'")).scalar()
    conn.execute(
        sa.text(
            "INSERT INTO cfg_object (tenant_id, kind, path, name) "
            "VALUES (:t, 'tenant', '', 'Environment')"
        ),
        {"t": tenant_id},
    )
    object_id = conn.execute(
        sa.text("SELECT id FROM cfg_object WHERE tenant_id = :t AND path = ''"), {"t": tenant_id}
    ).scalar()
    conn.execute(sa.text("INSERT INTO tenant_settings (id) VALUES (:i)"), {"i": object_id})


def downgrade() -> None:
    op.drop_table("tenant_settings")
    op.drop_table("strategy")
    op.drop_table("skill")
    op.drop_table("person")
    op.drop_table("managed")
    op.drop_table("interaction_queue")
    op.drop_table("cfg_option")
    op.drop_table("capacity_rule")
    op.drop_table("business_process")
    op.drop_table("business_attribute")
    op.drop_table("attribute_value")
    op.drop_table("application")
    op.drop_table("agent_group")
    op.drop_table("install_history")
    with op.batch_alter_table("cfg_object", schema=None) as batch_op:
        batch_op.drop_index("ix_cfg_object_tenant_kind")
        batch_op.drop_index(batch_op.f("ix_cfg_object_parent_id"))

    op.drop_table("cfg_object")
    op.drop_table("apply_lock")
    op.drop_table("account_grant")
    op.drop_table("tenant")
    op.drop_table("account")
