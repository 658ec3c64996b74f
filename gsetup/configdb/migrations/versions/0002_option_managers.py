"""Option managers move from the managed table onto the option rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MOVE = """
UPDATE cfg_option SET managed_by = (
    SELECT {aggregate} FROM managed m
    WHERE m.object_id = cfg_option.object_id AND m.section = cfg_option.section
      AND m.key = cfg_option.key
)
"""


def upgrade() -> None:
    """Add cfg_option.managed_by, fill it from managed, keep only object rows in managed."""
    with op.batch_alter_table("cfg_option") as batch:
        batch.add_column(sa.Column("managed_by", sa.Text(), nullable=True))
    dialect = op.get_bind().dialect.name
    aggregate = (
        "string_agg(m.package, E'\\n' ORDER BY m.package)"
        if dialect == "postgresql"
        else "group_concat(m.package, char(10))"
    )
    op.execute(_MOVE.format(aggregate=aggregate))
    op.execute("DELETE FROM managed WHERE section <> '' OR key <> ''")
    with op.batch_alter_table("managed") as batch:
        batch.drop_constraint("pk_managed", type_="primary")
        batch.drop_column("section")
        batch.drop_column("key")
        batch.create_primary_key("pk_managed", ["object_id", "package"])


def downgrade() -> None:
    """Move option managers back into the managed table."""
    with op.batch_alter_table("managed") as batch:
        batch.drop_constraint("pk_managed", type_="primary")
        batch.add_column(sa.Column("section", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("key", sa.String(255), nullable=False, server_default=""))
        batch.create_primary_key("pk_managed", ["object_id", "package", "section", "key"])
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT object_id, section, key, managed_by FROM cfg_option "
                "WHERE managed_by IS NOT NULL"
            )
        )
        .all()
    )
    for object_id, section, key, managed_by in rows:
        for package in managed_by.split("\n"):
            op.execute(
                sa.text(
                    "INSERT INTO managed (object_id, package, section, key) VALUES (:o, :p, :s, :k)"
                ).bindparams(o=object_id, p=package, s=section, k=key)
            )
    with op.batch_alter_table("cfg_option") as batch:
        batch.drop_column("managed_by")
