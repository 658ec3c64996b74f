"""Account names unique regardless of case, in the database itself.

``account create`` refuses a name that differs from an existing one only by case, but it
reads before it inserts: two creates at once could both pass. A unique index on
``lower(name)`` makes the loser's insert fail. Accounts an earlier gsetup let in that differ
only by case refuse the upgrade, naming them: which one to keep is the operator's choice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gsetup.errors import ConflictError

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Refuse accounts colliding by case, else create the index."""
    # lower() as the index computes it, so what is refused here is exactly what it would be.
    rows = op.get_bind().execute(
        sa.text(
            "SELECT lower(name), name FROM account WHERE lower(name) IN "
            "(SELECT lower(name) FROM account GROUP BY lower(name) HAVING count(*) > 1) "
            "ORDER BY lower(name), name"
        )
    )
    groups: dict[str, list[str]] = {}
    for key, name in rows:
        groups.setdefault(key, []).append(repr(name))
    if groups:
        listed = "; ".join(" and ".join(names) for names in groups.values())
        raise ConflictError(
            f"accounts differing only by case: {listed}; schema 0006 makes account names "
            "unique regardless of case: delete or rename all but one of each (docs/operations.md"
            ', "Accounts differing only by case") and upgrade again; nothing was changed'
        )
    op.create_index("uq_account_name_lower", "account", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("uq_account_name_lower", table_name="account")
