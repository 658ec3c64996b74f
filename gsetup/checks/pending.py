"""An install, upgrade or uninstall whose files were not all put in place (killed mid-swap)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from gsetup.checks.findings import Finding

if TYPE_CHECKING:
    from gsetup.context import Context


def pending_files(ctx: Context, tenant: str) -> Iterator[Finding]:
    """An install whose files were not all put in place (the process was killed)."""
    from gsetup.plan.pending import COMMITTED, pending_records

    with ctx.db.engine.connect() as conn:
        records = [r for r in pending_records(conn) if r[0] == tenant]
    for _tenant, state, holder, since in records:
        done = "committed; its files are not all in place" if state == COMMITTED else "not done"
        yield Finding(
            "pending-files",
            "error",
            f"an apply by {holder} since {since:%Y-%m-%d %H:%M:%S} was interrupted ({done}); "
            "the next gsetup command that changes this tenant (e.g. the same install again) "
            "finishes or undoes its files first",
        )
