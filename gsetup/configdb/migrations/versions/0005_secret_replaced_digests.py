"""Digest rows of replaced secrets flagged secret, as gsetup 0.1.0 writes them.

Driver installs of an older gsetup recorded the unsalted SHA-256 of a secret they set over a
user's option in ``[gsetup-driver-<driver>-replaced-by]`` without the secret flag, so it was
printed (plans, app show, options export). Such a row is secret when the option it records
(``<channel section>/<key>`` on the same object) is, or the earlier value recorded beside it
in ``[gsetup-driver-<driver>-replaced]`` is: as new installs flag it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Flag the digest rows of secret options secret."""
    op.execute(
        sa.text(
            "UPDATE cfg_option SET secret = :yes "
            "WHERE section LIKE 'gsetup-driver-%-replaced-by' AND secret = :no "
            "AND EXISTS (SELECT 1 FROM cfg_option AS o "
            "WHERE o.object_id = cfg_option.object_id AND o.secret = :yes "
            "AND (o.section || '/' || o.key = cfg_option.key "
            # the -replaced row beside it: the section without its '-by'
            "OR (o.section = substr(cfg_option.section, 1, length(cfg_option.section) - 3) "
            "AND o.key = cfg_option.key)))"
        ).bindparams(yes=True, no=False)
    )


def downgrade() -> None:
    """Nothing: the flags only mask digests, which 0004's gsetup reads the same way."""
