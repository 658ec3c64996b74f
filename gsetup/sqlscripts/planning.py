"""What ``apply`` would do to a database: which scripts are pending, recorded or changed,
and which values CleanUp would drop. Read-only: planning never changes the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from gsetup.errors import BadInputError
from gsetup.sqlscripts.catalog import Dbms, Script, scripts_in_run_order
from gsetup.sqlscripts.operations import TABLE
from gsetup.sqlscripts.shipped import checksum, read_script

if TYPE_CHECKING:
    from sqlalchemy import Connection

Status = Literal["pending", "applied", "changed"]


@dataclass(frozen=True)
class PlannedScript:
    """A script of the requested packages, its shipped text and what the history says of it."""

    script: Script
    text: str
    checksum: str
    status: Status
    recorded_checksum: str | None = None


@dataclass(frozen=True)
class ApplyPlan:
    """Every script of the requested packages in run order, and the values at risk."""

    dbms: Dbms
    scripts: list[PlannedScript]
    # column -> rows holding a value in it, for columns a pending CleanUp would drop
    values_at_risk: dict[str, int] = field(default_factory=dict)
    rows_at_risk: int = 0  # rows that would lose at least one value

    @property
    def to_run(self) -> list[PlannedScript]:
        """The scripts apply runs, in order."""
        return [p for p in self.scripts if p.status != "applied"]

    @property
    def changed(self) -> list[PlannedScript]:
        """Recorded scripts whose shipped text differs from what was run."""
        return [p for p in self.scripts if p.status == "changed"]


def plan_apply(
    connection: Connection, dbms: Dbms, groups: list[str], history: dict[str, str]
) -> ApplyPlan:
    """Plan applying the pairs of ``groups``; ``history``: the recorded scripts' checksums.

    A pair is done when both its scripts are recorded with their current checksums. Any other
    pair runs again as a whole, CleanUp then Alter, as the guide orders: the scripts are
    idempotent, and the values CleanUp would drop are counted so apply can refuse.
    """
    present = existing_columns(connection)
    planned: list[PlannedScript] = []
    for cleanup, alter in _pairs(scripts_in_run_order(groups)):
        pair = [_planned(script, dbms, history) for script in (cleanup, alter)]
        if any(p.status != "applied" for p in pair):
            pair = [p if p.status == "changed" else _as_pending(p) for p in pair]
        planned.extend(pair)
    at_risk = [
        c.name
        for p in planned
        if p.status != "applied" and p.script.kind == "cleanup"
        for c in p.script.columns
        if c.name.lower() in present
    ]
    stored = {present[name.lower()]: name for name in at_risk}
    per_column, rows = _count_values(connection, list(stored))
    # Report the names as the guide spells them, not as the database folded them.
    return ApplyPlan(dbms, planned, {stored[n]: count for n, count in per_column.items()}, rows)


def existing_columns(connection: Connection) -> dict[str, str]:
    """Columns of the interactions table, lower-cased name -> name as the database stores it.

    Unquoted names fold to upper case on Oracle and Db2 and to lower case on PostgreSQL, so
    gsetup compares them case-insensitively, as those databases do.
    """
    from sqlalchemy import inspect

    inspector = inspect(connection)
    if not inspector.has_table(TABLE):
        raise BadInputError(
            f"The database has no {TABLE} table: is it Interaction Server's database?"
        )
    return {column["name"].lower(): column["name"] for column in inspector.get_columns(TABLE)}


def _pairs(scripts: list[Script]) -> list[tuple[Script, Script]]:
    return list(zip(scripts[0::2], scripts[1::2], strict=True))


def _planned(script: Script, dbms: Dbms, history: dict[str, str]) -> PlannedScript:
    text = read_script(script, dbms.name)
    digest = checksum(text)
    recorded = history.get(script.name)
    status: Status = (
        "pending" if recorded is None else "applied" if recorded == digest else "changed"
    )
    return PlannedScript(script, text, digest, status, recorded)


def _as_pending(planned: PlannedScript) -> PlannedScript:
    return PlannedScript(
        planned.script, planned.text, planned.checksum, "pending", planned.recorded_checksum
    )


def _count_values(connection: Connection, columns: list[str]) -> tuple[dict[str, int], int]:
    """Rows holding a value, per column and in total (rows with a value in any column)."""
    from sqlalchemy import column, func, or_, select, table

    if not columns:
        return {}, 0
    # quote=False is not needed: these are the names exactly as the database reported them.
    itx = table(TABLE, *(column(name) for name in columns))
    per_column = {
        name: connection.execute(
            select(func.count()).select_from(itx).where(itx.c[name].is_not(None))
        ).scalar_one()
        for name in columns
    }
    rows = connection.execute(
        select(func.count())
        .select_from(itx)
        .where(or_(*(itx.c[name].is_not(None) for name in columns)))
    ).scalar_one()
    return {name: count for name, count in per_column.items() if count}, rows
