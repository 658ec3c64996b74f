"""The rolling driver upgrade of a DMS pair: the guide's "Upgrading drivers", end to end.

Stop the backup, keep its old driver aside, install the new one, start it and wait until it
is healthy with the new version, switch over, then the same on the former primary
(``--switch-back`` gives the primary its role back at the end). Everything is checked before
the first change. A member that does not come up healthy gets its old version back and is
started again while the other keeps serving. Each step is recorded as it ends
(:mod:`.upgrade_journal`), so the same command resumes a killed upgrade and ``--rollback``
undoes a half-done one. docs/upgrades.md describes the procedure and its guarantees.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, replace

from gsetup.commands.dms import control_token, find_pair
from gsetup.commands.drivers import (
    check_upgrade_member,
    has_kept_options,
    inspect_driver_package,
    keep_options,
    load_dms,
    option_values,
    restore_member,
    upgrade_member,
)
from gsetup.commands.upgrade_journal import (
    Journal,
    clear_journal,
    holder_id,
    read_journal,
    refuse_if_running,
    write_journal,
)
from gsetup.commands.upgrade_members import (
    Member,
    MemberState,
    aside_directory,
    drop_aside,
    load_member,
    set_aside,
    start,
    state_of,
    stop,
    switch_over,
)
from gsetup.commands.upgrade_report import (
    StepReport,
    UpgradeProgress,
    UpgradeReport,
    UpgradeRequest,
)
from gsetup.context import Context
from gsetup.dms.settings import CONTROL_KEY, CONTROL_SECTION
from gsetup.drivers.installed import read_record
from gsetup.drivers.package import InstallRecord
from gsetup.drivers.specs import Driver
from gsetup.drivers.staging import DRIVERS_DIR
from gsetup.errors import BadInputError, GsetupError
from gsetup.process.control import port_holder

# Fault injection for the tests: SIGKILL this process (or send it the signal named in
# KILL_SIGNAL_ENV, such as SIGINT for a Ctrl-C) once the named step is recorded.
KILL_AFTER_ENV = "GSETUP_TEST_KILL_AFTER_STEP"
KILL_SIGNAL_ENV = "GSETUP_TEST_KILL_SIGNAL"

Step = tuple[str, str]  # (action, DMS)


class _Quiet:
    def step(self, report: StepReport) -> None:
        pass

    def notice(self, text: str) -> None:
        pass


@dataclass
class _Run:
    """What the steps share: the request, the pair, the journal, the report."""

    ctx: Context
    request: UpgradeRequest
    members: dict[str, Member]
    journal: Journal
    report: UpgradeReport
    progress: UpgradeProgress

    @property
    def driver(self) -> Driver:
        return self.request.driver

    def emit(self, step: StepReport) -> None:
        if step.outcome != "running":
            self.report.steps.append(step)
        self.progress.step(step)

    def record(self, journal: Journal) -> None:
        self.journal = journal
        write_journal(self.ctx, journal, self.progress.notice)


# -- the steps ---------------------------------------------------------------------------------


def upgrade_steps(order: tuple[str, ...], switch_back: bool) -> list[Step]:
    """The steps for members in ``order`` (the backup first)."""
    first = order[0]
    steps = [("stop", first), ("install", first), ("start", first)]
    if len(order) == 1:
        return steps
    second = order[1]
    steps += [("switchover", first), ("stop", second), ("install", second), ("start", second)]
    return [*steps, ("switch-back", second)] if switch_back else steps


def run_upgrade(
    ctx: Context, request: UpgradeRequest, progress: UpgradeProgress | None = None
) -> UpgradeReport:
    """Plan (``dry_run``), run, resume or roll back (``rollback``) the upgrade."""
    ctx.identity.require(request.tenant, change=not request.dry_run)
    names, anchor = _pair_members(ctx, request)
    journal = _journal(ctx, request, anchor)
    members = {name: load_member(ctx, request.tenant, name) for name in names}
    if request.rollback:
        return _rollback(ctx, request, journal, members, progress or _Quiet())
    if request.package is None:
        raise BadInputError("--package: give the new driver package (directory or archive)")
    contents = inspect_driver_package(request.driver, request.package)
    to_version = contents.manifest.version
    records = {
        name: check_upgrade_member(
            ctx, request.driver, request.tenant, name, request.package, contents
        )
        for name in names
    }
    states = [state_of(members[name], request.driver) for name in names]
    if journal is not None and journal.to_version != to_version:
        raise BadInputError(
            f"an upgrade of the {request.driver} driver to {journal.to_version} is half done "
            f"on {', '.join(names)}; run it again with that package to finish it, or undo it "
            "with --rollback"
        )
    order = journal.order if journal else _order(names, states)
    from_version = journal.from_version if journal else records[order[0]].version
    report = UpgradeReport(request.driver, request.tenant, from_version, to_version)
    report.before = states
    # The dry run and the real run, fresh or resumed, check the same: a dry run shows what
    # the run would refuse.
    report.problems = _problems(request, members, records, states, to_version, journal)
    report.resumed = journal is not None
    if journal is None:
        journal = Journal(
            request.tenant,
            anchor,
            request.driver,
            from_version,
            to_version,
            str(request.package),
            order,
            order[-1],
        )
    run = _Run(ctx, request, members, journal, report, progress or _Quiet())
    steps = upgrade_steps(order, request.switch_back)
    if request.dry_run:
        return _plan(run, steps)
    if report.problems:
        if not report.resumed:  # another run may have claimed it since: its stops the problem
            _journal(ctx, request, anchor)
        raise BadInputError(report.refusal())
    run.record(run.journal)  # claimed before the first change, resumed too
    _execute(run, steps)
    return report


def _pair_members(ctx: Context, request: UpgradeRequest) -> tuple[tuple[str, ...], str]:
    """The members to upgrade and the one whose options hold the journal."""
    pair = find_pair(ctx, request.tenant, request.dms)
    if request.single:
        if pair is not None:
            raise BadInputError(
                f"{request.dms!r} is paired with {pair.other(request.dms)!r}: upgrade the pair "
                "without --single (rolling, no downtime)"
            )
        return (request.dms,), request.dms
    if pair is None:
        raise BadInputError(
            f"application {request.dms!r} has no backup link, so there is no pair to upgrade "
            f"without downtime: link its backup (gsetup app update {request.dms} --backup "
            "OTHER_DMS), or upgrade it alone with --single (it is stopped, upgraded and "
            "started again)"
        )
    return pair.members, pair.linked


def _journal(ctx: Context, request: UpgradeRequest, anchor: str) -> Journal | None:
    values = option_values(load_dms(ctx, request.tenant, anchor))
    journal = read_journal(request.tenant, anchor, request.driver, values)
    if journal is None:
        return None
    # A half-done upgrade is this process's from now on (its steps, its --rollback).
    mine = replace(journal, holder=holder_id())
    refuse_if_running(mine, journal.holder)
    return mine


def _order(names: tuple[str, ...], states: list[MemberState]) -> tuple[str, ...]:
    """Backup first: the member that is not primary now (as configured when unknown)."""
    primaries = [s.name for s in states if s.role == "primary"]
    if len(names) == 2 and len(primaries) == 1:
        return (*(n for n in names if n != primaries[0]), primaries[0])
    return tuple(reversed(names))


def _problems(
    request: UpgradeRequest,
    members: dict[str, Member],
    records: dict[str, InstallRecord],
    states: list[MemberState],
    to_version: str,
    journal: Journal | None,
) -> list[str]:
    """Everything that stops the upgrade from starting, or a half-done one (``journal``)
    from resuming, for a message or the dry run. A resumed upgrade starts a member found
    down, and a member it installed on already has the new version and its old one aside."""
    fresh = journal is None
    done = journal.done if journal else ()
    installed = {step.partition(":")[2] for step in done if step.startswith("install:")}
    problems = []
    if not request.single:
        for state in states:
            if not state.running:
                if fresh:
                    problems.append(f"{state.name} is not running")
            elif not state.healthy:
                problems.append(f"{state.name} is not healthy ({state.detail})")
        for name, member in members.items():
            if not member.control_token:
                problems.append(
                    f"{name} has no [{CONTROL_SECTION}] {CONTROL_KEY}, which a switchover "
                    f"needs: gsetup dms token create --app {name}"
                )
        roles = [s.role for s in states]
        if all(s.running for s in states) and roles.count("primary") != 1:
            shown = ", ".join(f"{s.name} is {s.role}" for s in states)
            problems.append(f"exactly one member must be primary ({shown})")
    for state in states:
        member = members[state.name]
        taken = None if state.running else port_holder(member.process)
        if taken is not None:
            problems.append(f"{state.name} is not running and {taken}")
    if fresh and not request.force and all(r.version == to_version for r in records.values()):
        problems.append(f"version {to_version} is installed already; --force installs it again")
    for name, record in records.items():
        working = members[name].working_dir
        target = working / DRIVERS_DIR
        if not os.access(target if target.exists() else working, os.W_OK):
            problems.append(f"{target} is not writable")
        if name in installed:
            continue
        missing = [f.path for f in record.files if not (working / f.path).is_file()]
        if missing:
            problems.append(
                f"{working / missing[0]}: a file of the installed driver is missing, so the "
                "old version could not be put back; reinstall it first"
            )
    return problems


def _plan(run: _Run, steps: list[Step]) -> UpgradeReport:
    """The dry run: the steps, and the plan of each member's files and options."""
    request = run.request
    for number, (action, name) in enumerate(steps, 1):
        done = f"{action}:{name}" in run.journal.done
        run.report.steps.append(
            StepReport(
                action, name, "done before" if done else "planned", "", 0.0, number, len(steps)
            )
        )
    assert request.package is not None
    for role, name in zip(("backup", "primary"), run.journal.order, strict=False):
        run.report.plans.append(
            upgrade_member(
                run.ctx,
                request.driver,
                request.tenant,
                name,
                request.package,
                dry_run=True,
                history=request.history,
                role=role,
            )
        )
    return run.report


def _execute(run: _Run, steps: list[Step]) -> None:
    """Run the steps not done yet, recording each; a failure rolls the member back."""
    for number, (action, name) in enumerate(steps, 1):
        step_id = f"{action}:{name}"
        if step_id in run.journal.done:
            run.emit(StepReport(action, name, "done before", number=number, total=len(steps)))
            continue
        run.emit(StepReport(action, name, "running", number=number, total=len(steps)))
        began = time.monotonic()
        try:
            detail = _do(run, action, name)
        except GsetupError as exc:
            took = time.monotonic() - began
            run.emit(StepReport(action, name, "failed", str(exc), took, number, len(steps)))
            _after_failure(run, action, name)
            return
        took = time.monotonic() - began
        run.record(run.journal.with_done(step_id))
        run.emit(StepReport(action, name, "done", detail, took, number, len(steps)))
        if os.environ.get(KILL_AFTER_ENV) == step_id:
            os.kill(os.getpid(), signal.Signals[os.environ.get(KILL_SIGNAL_ENV, "SIGKILL")])
    clear_journal(run.ctx, run.journal, run.progress.notice)
    for member in run.members.values():
        drop_aside(member)
    run.report.result = "upgraded"
    run.report.after = [state_of(m, run.driver) for m in run.members.values()]


def _do(run: _Run, action: str, name: str) -> str:
    """One step; returns what to say about it."""
    member, timeout = run.members[name], run.request.timeout
    other = next((m for m in run.members.values() if m is not member), None)
    # A member may have died since the checks, or before a resumed run (killed, crashed):
    # started again on the version it has, the other one serves while this one is down.
    if other is not None:
        _ensure_running(run, other)
    if action == "stop":
        stop(member, timeout)
        return "stopped"
    if action == "install":
        return _install(run, member)
    if action == "start":
        state = start(member, run.driver, run.journal.to_version, timeout)
        return f"healthy, {run.driver} driver {state.version}, {state.role}"
    # The primary (started above) takes its role back and can hand it over; the member that
    # takes over must be up too, or the primary's promote fails on every run.
    assert other is not None  # a switchover has a pair
    _ensure_running(run, member)
    _switch_over(run, other, member)
    return f"{name} is primary, {other.name} backup"


def _switch_over(run: _Run, primary: Member, backup: Member) -> None:
    """``primary`` hands over to ``backup``, asked with its control token as configured now:
    one rotated while the upgrade runs (``dms token create --rotate``) is the one the running
    member wants, not the one read at the start."""
    token = control_token(option_values(load_dms(run.ctx, run.request.tenant, primary.name)))
    switch_over(replace(primary, control_token=token), backup, run.driver, run.request.timeout)


def _install(run: _Run, member: Member) -> str:
    request = run.request
    record = _installed(run.ctx, request.tenant, member.name, run.driver)
    if not has_kept_options(run.ctx, run.driver, request.tenant, member.name):
        # Not done before (a resumed upgrade has both): the old files, then the old options.
        set_aside(member, record)
        keep_options(run.ctx, run.driver, request.tenant, member.name, progress=run.progress.notice)
    assert request.package is not None
    result = upgrade_member(
        run.ctx,
        run.driver,
        request.tenant,
        member.name,
        request.package,
        dry_run=False,
        history=request.history,
        role="backup" if member.name == run.journal.order[0] else "primary",
        progress=run.progress.notice,
    )
    run.report.plans.append(result)
    return f"{record.version} -> {result.version}: {result.plan.summary_line()}"


def _installed(ctx: Context, tenant: str, name: str, driver: Driver) -> InstallRecord:
    record = read_record(driver, option_values(load_dms(ctx, tenant, name)))
    if record is None:
        raise BadInputError(f"the {driver} driver is not installed on {name!r}")
    return record


def _after_failure(run: _Run, action: str, name: str) -> None:
    """A member's stop, install or start failed: give it its old version back and start it;
    the other member is not touched. A failed switchover changes nobody: it stays to be
    resumed or rolled back. Either way the report says how the pair is now."""
    run.report.result = "failed"
    if action not in ("stop", "install", "start"):
        run.report.after = [state_of(m, run.driver) for m in run.members.values()]
        run.report.next_step = (
            f"the {action} failed and the roles are as shown: run the same command again to "
            "retry it and finish the upgrade, or add --rollback to undo the upgrade"
        )
        return
    try:
        _restore(run, run.members[name])
    except GsetupError as exc:
        # It does not start even on its old version (a start command that exits at once, a
        # port taken): the journal stays, so that --rollback finishes once that is fixed.
        run.emit(StepReport("restore", name, "failed", str(exc)))
        run.report.after = [state_of(m, run.driver) for m in run.members.values()]
        run.report.next_step = (
            f"{name} did not start on its old version either: fix the cause, then add "
            "--rollback to the same command to start it and finish undoing the upgrade"
        )
        return
    run.record(run.journal.without(name))
    if not any(step.startswith("install:") for step in run.journal.done):
        clear_journal(run.ctx, run.journal, run.progress.notice)
        drop_aside(run.members[name])
    run.report.result = "rolled back"
    run.report.after = [state_of(m, run.driver) for m in run.members.values()]


def _restore(run: _Run, member: Member) -> None:
    """Stop the member, put its old driver back (files, and options exactly as they were),
    start it again."""
    began = time.monotonic()
    run.emit(StepReport("restore", member.name, "running"))
    request = run.request
    stop(member, request.timeout)
    result = restore_member(
        run.ctx,
        run.driver,
        request.tenant,
        member.name,
        aside_directory(member, run.driver),
        history={**request.history, "rollback": True},
        progress=run.progress.notice,
    )
    if result is not None:
        run.report.plans.append(result)
    version = _installed(run.ctx, request.tenant, member.name, run.driver).version
    state = start(member, run.driver, version, request.timeout)
    detail = f"back on {state.version}, {state.role}"
    run.emit(StepReport("restore", member.name, "done", detail, time.monotonic() - began))


# -- --rollback --------------------------------------------------------------------------------


def _rollback(
    ctx: Context,
    request: UpgradeRequest,
    journal: Journal | None,
    members: dict[str, Member],
    progress: UpgradeProgress,
) -> UpgradeReport:
    """Undo a half-done upgrade: each upgraded member (the backup first) gets its old
    version back; a primary hands over to the other member first."""
    if journal is None:
        raise BadInputError(
            f"nothing to undo: no upgrade of the {request.driver} driver is half done on "
            f"{', '.join(members)}"
        )
    report = UpgradeReport(request.driver, request.tenant, journal.to_version, journal.from_version)
    report.before = [state_of(m, request.driver) for m in members.values()]
    run = _Run(ctx, request, members, journal, report, progress)
    roles = {s.name: s.role for s in report.before}
    upgraded = sorted(
        (
            m
            for m in members.values()
            if has_kept_options(ctx, request.driver, request.tenant, m.name)
        ),
        key=lambda m: roles[m.name] == "primary",
    )
    if request.dry_run:
        report.steps = _rollback_steps(journal, upgraded, roles)
        return report
    run.record(run.journal)  # claimed before the first change
    for member in upgraded:
        other = next((m for m in members.values() if m is not member), None)
        if other is not None and state_of(member, request.driver).role == "primary":
            _ensure_running(run, other)
            _switch_over(run, member, other)
            run.emit(StepReport("switchover", other.name, "done", f"{other.name} is primary"))
        _restore(run, member)
        run.record(run.journal.without(member.name))
    for member in members.values():
        _ensure_running(run, member)
        drop_aside(member)
    _restore_roles(run)
    clear_journal(ctx, run.journal, progress.notice)
    report.result = "restored"
    report.after = [state_of(m, request.driver) for m in members.values()]
    return report


def _rollback_steps(
    journal: Journal, upgraded: list[Member], roles: dict[str, str | None]
) -> list[StepReport]:
    """The dry run of :func:`_rollback` from the roles now: a primary hands over before its
    restore, and the primary before the upgrade gets its role back at the end. A member down
    now (role unknown) is taken as not primary, so that switchover is listed."""
    roles = dict(roles)
    steps = []
    for member in upgraded:
        other = next((name for name in roles if name != member.name), None)
        if other is not None and roles[member.name] == "primary":
            steps.append(StepReport("switchover", other, "planned"))
            roles[member.name], roles[other] = "backup", "primary"
        steps.append(StepReport("restore", member.name, "planned"))
    if len(journal.order) == 2 and roles[journal.order[1]] != "primary":
        steps.append(StepReport("switchover", journal.order[1], "planned"))
    return steps


def _restore_roles(run: _Run) -> None:
    """The primary before the upgrade (last in its order) primary again: a member restarted
    takes the role it last had from its role file, so an upgraded primary that died came
    back primary."""
    if len(run.journal.order) != 2:
        return
    backup, primary = (run.members[name] for name in run.journal.order)
    if state_of(primary, run.driver).role == "primary":
        return
    _switch_over(run, backup, primary)
    run.emit(StepReport("switchover", primary.name, "done", f"{primary.name} is primary"))


def _ensure_running(run: _Run, member: Member) -> None:
    """Start a member found down (a kill between its stop and its start)."""
    if state_of(member, run.driver).running:
        return
    version = _installed(run.ctx, run.request.tenant, member.name, run.driver).version
    start(member, run.driver, version, run.request.timeout)
    run.emit(StepReport("start", member.name, "done", f"healthy, {run.driver} driver {version}"))
