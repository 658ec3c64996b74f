"""Secret values an older gsetup recorded in clear in the install history, masked.

The history masks an option change whose option was secret when it was applied. Before 0007,
``options set``/``import`` stored gsetup's own credentials without the secret flag, and an
option flagged secret later (``options set --secret``, 0005's digests, 0007's credentials)
has earlier entries that show its values: ``history --changes`` printed them. A value is
masked (as ``********``, the mask gsetup writes everywhere) when its option:

- has a key that is secret wherever it appears (gsetup's credentials, the drivers' passwords
  and keys), as ``options set`` treats them today;
- is flagged secret now (the same tenant, object path, section and key);
- is masked in the same or a later entry of its tenant: it was secret then (a secret option
  deleted since; ``options set`` refuses the mask as a value, so it means a secret).

Option changes are compact rows ``[action, kind, path, section, key, before, after]``, or
dicts (``target`` ``option``, a display ``path``) in entries written before 0002. Masking
again changes nothing, so the upgrade can be run twice.

Option rows holding one of those keys outside gsetup's own sections are not flagged secret
(0007 did not either): there the key is not gsetup's credential but a user's option of the
same name, and flagging it would hide a value its owner reads with ``options get``/``export``.
In the history, where a wrong mask only hides an old value, such values are masked.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Written out, not imported: a migration means what it meant when it was written.
MASK = "********"
_SECRET_KEYS = frozenset(
    {
        "intake-token",
        "outbound-token",
        "password-hash",
        "control-token",
        "access-token",
        "gsa-api-key",
        "password",
    }
)
_BATCH = 200  # history entries in memory at once: one can hold tens of thousands of changes

_history = sa.table(
    "install_history",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("tenant_name", sa.String),
    sa.column("changes", sa.JSON),
)

# (tenant, object path, section, key): tenant is the id for flagged rows, the name in history
Option = tuple[object, str, str, str]


def upgrade() -> None:
    """Mask the values of secret options in every entry, the newest first."""
    conn = op.get_bind()
    flagged: set[Option] = {
        (tid, path, section, key)
        for tid, path, section, key in conn.execute(
            sa.text(
                "SELECT o.tenant_id, o.path, opt.section, opt.key FROM cfg_option AS opt "
                "JOIN cfg_object AS o ON o.id = opt.object_id WHERE opt.secret = :yes"
            ).bindparams(yes=True)
        )
    }
    masked_later: set[Option] = set()
    ids = conn.execute(sa.select(_history.c.id).order_by(_history.c.id.desc())).scalars().all()
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        entries = conn.execute(
            sa.select(_history).where(_history.c.id.in_(batch)).order_by(_history.c.id.desc())
        ).all()
        for entry_id, tid, tenant, changes in entries:
            options = list(_options(changes, tenant))
            masked_later.update(
                (tenant, *where)
                for where, values in options
                if MASK in (values[field] for field in _fields(values))
            )
            touched = False
            for (path, section, key), values in options:
                if (
                    key in _SECRET_KEYS
                    or (tid, path, section, key) in flagged
                    or (tenant, path, section, key) in masked_later
                ):
                    for field in _fields(values):
                        if values[field] != MASK:
                            values[field] = MASK
                            touched = True
            if touched:
                conn.execute(
                    sa.update(_history).where(_history.c.id == entry_id).values(changes=changes)
                )


def _options(changes: list[Any], tenant: str) -> Iterator[tuple[tuple[str, str, str], Any]]:
    """Each option change's (object path, section, key) and its container of values."""
    for change in changes:
        if isinstance(change, list):  # [action, kind, path, section, key, before, after]
            yield (change[2], change[3], change[4]), change
        elif isinstance(change, dict) and change.get("target") == "option":
            section, key = change["section"], change["key"]
            shown = change["path"].removesuffix(f" [{section}] {key}")
            path = "" if shown == tenant else shown.removeprefix(f"{tenant}/")
            yield (path, section, key), change


def _fields(values: Any) -> list[Any]:
    """The indexes (a row) or names (a dict) of a change's values that are set."""
    if isinstance(values, list):
        return [i for i in (5, 6) if values[i] is not None]
    return [n for n in ("before", "after") if values.get(n) is not None]


def downgrade() -> None:
    """Nothing: the values are gone, and 0007's gsetup reads masked history the same way."""
