"""``gsetup sql apply``: run the pending CleanUp/Alter pairs on an Interaction Server database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gsetup.errors import ConflictError, changed_after_shown
from gsetup.sqlscripts.catalog import check_groups
from gsetup.sqlscripts.connect import (
    Target,
    create_engine_for,
    parse_target,
    translated_errors,
)
from gsetup.sqlscripts.history import HISTORY_TABLE, read_history, record_applied
from gsetup.sqlscripts.idioms import IDIOMS
from gsetup.sqlscripts.operations import TABLE
from gsetup.sqlscripts.planning import ApplyPlan, PlannedScript, existing_columns, plan_apply
from gsetup.sqlscripts.servers import check_stopped

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

Progress = Callable[[PlannedScript, int, int], None]  # script, its position (1-based), total


@dataclass(frozen=True)
class ApplyRequest:
    """What the user asked ``apply`` to do."""

    url: str
    groups: list[str] | None  # None: every group
    servers: list[tuple[str, str, int]]  # registered Interaction Servers: name, host, port
    confirmed: bool = False  # --yes: none registered, the user stopped it themselves
    allow_data_loss: bool = False
    rerun_changed: bool = False
    # The plan shown at the question (None with --yes): apply runs only its scripts.
    shown: ApplyPlan | None = None


def plan(request: ApplyRequest) -> ApplyPlan:
    """Plan without changing anything (``--dry-run``)."""
    target = parse_target(request.url)
    engine = create_engine_for(target)
    try:
        with translated_errors(target, f"reading the {TABLE} table"), engine.connect() as conn:
            return _plan(conn, target, check_groups(request.groups))
    finally:
        engine.dispose()


def _plan(conn: Connection, target: Target, groups: list[str]) -> ApplyPlan:
    """Plan; an error names the table that was being read."""
    with translated_errors(target, f"reading {HISTORY_TABLE}"):
        history = read_history(conn)
    with translated_errors(target, f"reading the {TABLE} table"):
        return plan_apply(conn, target.dbms, groups, history)


def apply(request: ApplyRequest, progress: Progress | None = None) -> ApplyPlan:
    """Apply the pending scripts and record them; return the plan that was carried out.

    Runs nothing when every script is recorded with its current checksum. On PostgreSQL and
    SQLite everything runs in one transaction; elsewhere each script commits on its own, and
    since the scripts are idempotent a failed run can simply be repeated.
    """
    target = parse_target(request.url)
    engine = create_engine_for(target)
    try:
        with translated_errors(target, "applying the scripts", _outcome(target)):
            return _apply(engine, target, request, progress or _silent)
    finally:
        engine.dispose()


def _outcome(target: Target) -> str:
    """What a failure while applying leaves, for its message."""
    if target.dbms.transactional_ddl:
        return "Everything was rolled back: nothing changed."
    return (
        "Scripts that completed stay applied and recorded; fix the cause and run apply "
        "again (the scripts are safe to rerun)."
    )


def _apply(engine: Engine, target: Target, request: ApplyRequest, progress: Progress) -> ApplyPlan:
    groups = check_groups(request.groups)
    if target.dbms.transactional_ddl:
        # Plan, checks and changes share one transaction: a refusal or a failure rolls back
        # everything, and nobody can change the table between planning and running.
        with engine.begin() as conn:
            planned = _plan(conn, target, groups)
            _check_allowed(planned, request)
            _run_all(planned, lambda script: _run_script(conn, target, script), progress)
        return planned
    with engine.connect() as conn:
        planned = _plan(conn, target, groups)
    _check_allowed(planned, request)

    def run_committed(script: PlannedScript) -> None:
        with engine.begin() as conn:
            _run_script(conn, target, script)

    _run_all(planned, run_committed, progress)
    return planned


def _run_all(planned: ApplyPlan, run: Callable[[PlannedScript], None], progress: Progress) -> None:
    total = len(planned.to_run)
    for position, script in enumerate(planned.to_run, start=1):
        progress(script, position, total)
        run(script)


def _check_allowed(planned: ApplyPlan, request: ApplyRequest) -> None:
    """Refuse, before any change, what the user has not allowed or a running server."""
    if request.shown is not None:
        _check_as_shown(planned, request.shown)
    check_allowed(planned, request)
    if planned.to_run:  # a no-op needs no stopped server
        check_stopped(request.servers, confirmed=request.confirmed)


def _check_as_shown(planned: ApplyPlan, shown: ApplyPlan) -> None:
    """Run only what was confirmed: the plan made again differs from the one shown when
    another run applied some scripts meanwhile, deleted their history, the scripts' text
    changed, or rows gained values in the columns CleanUp drops."""
    before = {p.script.name: p.checksum for p in shown.to_run}
    now = {p.script.name: p.checksum for p in planned.to_run}
    more_at_risk = _more_at_risk(planned, shown)
    changes = {
        "also to run": [name for name in now if name not in before],
        "already applied": [name for name in before if name not in now],
        "with another text": [n for n, digest in now.items() if before.get(n, digest) != digest],
        "more values at risk": [more_at_risk] if more_at_risk else [],
    }
    if not any(changes.values()):
        return
    raise changed_after_shown(
        f"the scripts to run on {planned.dbms.title}",
        "; ".join(f"{what}: {', '.join(names)}" for what, names in changes.items() if names),
        "nothing was run",
    )


def _more_at_risk(planned: ApplyPlan, shown: ApplyPlan) -> str:
    """How the values CleanUp would drop now exceed those shown ("" when they do not).

    Only more counts: the user agreed to lose the values shown, so fewer is within that.
    """
    grown = {
        name: count
        for name, count in planned.values_at_risk.items()
        if count > shown.values_at_risk.get(name, 0)
    }
    if not grown and planned.rows_at_risk <= shown.rows_at_risk:
        return ""
    rows = f"{rows_text(planned.rows_at_risk)} would lose values, {shown.rows_at_risk} shown"
    # Values can move to other rows with no column holding more: the rows alone grew then.
    columns = ", ".join(
        f"{name} ({rows_text(count)}, {shown.values_at_risk.get(name, 0)} shown)"
        for name, count in grown.items()
    )
    return f"{rows}, in {columns}" if columns else rows


def check_allowed(planned: ApplyPlan, request: ApplyRequest) -> None:
    """Refuse what the user has not allowed: rerunning changed pairs, dropping values.

    A dry run refuses with the same line, as the run would.
    """
    if not planned.to_run:
        return  # a no-op loses nothing
    if planned.changed and not request.rerun_changed:
        names = ", ".join(p.script.name for p in planned.changed)
        raise ConflictError(
            f"These scripts were applied before but have changed since: {names}. "
            "Nothing was run; to run their pairs again (CleanUp, then Alter) "
            "use --rerun-changed."
        )
    if planned.rows_at_risk and not request.allow_data_loss:
        columns = ", ".join(
            f"{name} ({rows_text(count)})" for name, count in planned.values_at_risk.items()
        )
        raise ConflictError(
            f"CleanUp would drop columns holding values: {rows_text(planned.rows_at_risk)} "
            f"would lose values in {columns}. Nothing was run; to drop "
            "them anyway use --allow-data-loss."
        )


def _run_script(conn: Connection, target: Target, planned: PlannedScript) -> None:
    run_script(conn, target.dbms.name, planned.text)
    with translated_errors(target, f"recording the scripts in {HISTORY_TABLE}", _outcome(target)):
        record_applied(
            conn,
            script=planned.script.name,
            group=planned.script.group,
            dbms=target.dbms.name,
            checksum=planned.checksum,
        )


def run_script(conn: Connection, dbms: str, text: str) -> None:
    """Run a script's batches on ``conn`` as its DBMS's tools would, evaluating SQLite guards."""
    for batch in IDIOMS[dbms].split(text):
        if batch.guard is not None:
            present = batch.guard.column.lower() in existing_columns(conn)
            if present != batch.guard.must_exist:
                continue
        conn.exec_driver_sql(batch.sql)


def rows_text(count: int) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count} row" if count == 1 else f"{count} rows"


def _silent(_planned: PlannedScript, _position: int, _total: int) -> None:
    """The default progress callback: report nothing."""
