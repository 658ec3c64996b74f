"""gsetup's own credentials flagged secret, as ``options set``/``import`` now store them.

Before, ``options set`` and ``options import`` (a restore from an ``--include-secrets``
export, a token made by hand) stored ``[gsetup-runtime] intake-token``, ``outbound-token``,
``password-hash`` and ``[gsetup-dms] control-token`` without the secret flag, so they were
printed (plans, app show, options export). Such rows are secret, as new ones are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Written out, not imported: a migration means what it meant when it was written.
_CREDENTIALS = (
    ("gsetup-runtime", "intake-token"),
    ("gsetup-runtime", "outbound-token"),
    ("gsetup-runtime", "password-hash"),
    ("gsetup-dms", "control-token"),
)


def upgrade() -> None:
    """Flag the credentials' rows secret."""
    flag = sa.text(
        "UPDATE cfg_option SET secret = :yes WHERE section = :section AND key = :key "
        "AND secret = :no"
    )
    for section, key in _CREDENTIALS:
        op.execute(flag.bindparams(yes=True, no=False, section=section, key=key))


def downgrade() -> None:
    """Nothing: the flags only mask credentials, which 0006's gsetup reads the same way."""
