"""``gsetup driver``: install, upgrade, uninstall and list the Cloud API drivers of DMS."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import (
    ALL_HELP,
    DEFAULT_TENANT,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    YES_HELP,
    confirmation,
    emit_json,
    globals_of,
    number,
    open_context,
)
from gsetup.errors import EXIT_CHANGES_PENDING, BadInputError

if TYPE_CHECKING:
    from gsetup.cli.confirm import Confirmation
    from gsetup.commands.drivers import DriverResult
    from gsetup.commands.upgrade_report import UpgradeReport
    from gsetup.wizards.collect import Prompter

app = typer.Typer(
    help="Genesys Cloud API drivers (Facebook, Twitter) in Digital Messaging Server.",
    no_args_is_help=True,
)

DRIVER_HELP = "Driver: facebook or twitter."
DMS_HELP = "The DigitalMessagingServer application (asked when not given)."
CHANNEL_HELP = "An additional channel: its options go to section channel-<driver>-<NAME>."
PACKAGE_HELP = "Driver package: a directory, .zip or .tar.gz with a manifest.yaml."
ANSWERS_HELP = "YAML answers file (docs/drivers.md lists the keys)."
SET_HELP = "Answer one question: key=value, or a channel option: option.<key>=value (repeatable)."
UPGRADE_SET_HELP = "Answer tenant, dms or accept_terms: key=value (repeatable)."
SAVE_HELP = "Write the answers given to this YAML file (no secrets)."
WIZARD_YES_HELP = "Ask nothing, apply without confirming: a question without an answer is an error."


def _wizard_mode(
    prompter: Prompter, flags: tuple[bool, bool, bool, bool], busy: str
) -> Confirmation:
    """The wizard's confirmation rules; ``flags``: dry run, yes, detailed exit code, JSON."""
    from gsetup.cli.confirm import Confirmation

    dry_run, yes, detailed, as_json = flags
    return Confirmation(
        dry_run,
        yes,
        detailed,
        wizard=True,
        to_stderr=as_json,
        busy=busy,
        terminal=lambda: prompter.interactive,
    )


def _show(results: list[DriverResult], *, applied: bool, as_json: bool, show_all: bool) -> None:
    from gsetup.cli.render import print_lines, print_plan

    if as_json:
        steps = [r.to_json() for r in results]
        emit_json(steps[0] if len(steps) == 1 and not results[0].role else {"steps": steps})
        return
    for result in results:
        if result.role:
            print(f"\n{result.role} {result.dms}:")
        print_plan(result.plan, applied=applied, show_all=show_all)
        if result.kept_files:
            print_lines("Files changed since they were installed were kept", result.kept_files)
        if result.next_steps:
            print_lines("Next steps", result.next_steps, numbered=True)


def _finish(
    results: list[DriverResult], mode: Confirmation, *, as_json: bool, show_all: bool
) -> None:
    _show(results, applied=not mode.plan_only, as_json=as_json, show_all=show_all)
    pending = next((r.plan for r in results if r.plan.pending), results[-1].plan)
    mode.exit_for(pending)


@app.command("install")
def install(
    ctx: typer.Context,
    driver: str = typer.Argument(..., help=DRIVER_HELP, metavar="DRIVER"),
    dms: str | None = typer.Option(None, "--dms", help=DMS_HELP),
    tenant: str | None = typer.Option(
        None, "--tenant", "-t", help="Tenant of the DMS (the answer to 'tenant')."
    ),
    package: Path | None = typer.Option(None, "--package", "-p", help=PACKAGE_HELP),
    channel: str | None = typer.Option(None, "--channel", help=CHANNEL_HELP),
    answers: Path | None = typer.Option(None, "--answers", "-a", help=ANSWERS_HELP),
    sets: list[str] | None = typer.Option(None, "--set", help=SET_HELP, metavar="KEY=VALUE"),
    save_answers: Path | None = typer.Option(None, "--save-answers", help=SAVE_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help=WIZARD_YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Install a driver channel on a DMS: files, options file, Hub connection, as one plan.

    Asks what the answers file and --set leave open (tenant, DMS, host, port, the legal
    terms, the Hub connection options), shows the plan, applies it in one transaction and
    then puts the driver's files under <working dir>/media-channel-drivers/channel-<driver>.
    A plan that replaces existing values is confirmed first; without a terminal it needs --yes.

    Example: gsetup driver install facebook --answers examples/driver-facebook.yaml --yes
    """
    from gsetup.wizards.bp import login
    from gsetup.wizards.collect import Prompter
    from gsetup.wizards.driver import (
        DriverRequest,
        answer_sources,
        parse_driver,
        run_driver_install,
    )

    parse_driver(driver)  # an unknown driver is refused before anything is asked
    request = DriverRequest(
        driver, dms, channel, package, answers, sets or [], save_answers, yes, tenant
    )
    sources = answer_sources(request)
    prompter = Prompter()
    g = globals_of(ctx)
    context = login(g.db, g.user, sources, prompter, yes)
    if prompter.interactive and not yes:
        print(f"Configuration server: {context.db.display_url}", file=sys.stderr)
    mode = _wizard_mode(prompter, (dry_run, yes, detailed, as_json), f"Installing {driver}")
    result = run_driver_install(context, request, sources, prompter, mode)
    _finish([result], mode, as_json=as_json, show_all=show_all)


UPGRADE_EPILOG = (
    "Steps: stop the backup, keep its old driver aside, install the new one, start it and "
    "wait until it is healthy with the new version, switch over, then the same on the former "
    "primary. A member that does not become healthy within --timeout gets its old version "
    "back and is started again. A killed upgrade is resumed by running the same command "
    "again, or undone with --rollback. Exit 0: upgraded (or restored); 1: a member was "
    "rolled back or a step failed (the report says which); 2: refused, nothing changed (a "
    "dry run too, when the run would be refused); 3: --detailed-exitcode and steps to do. "
    "See docs/upgrades.md.\n\n"
    "Example: gsetup driver upgrade twitter --package ./driver-9.0.1 --dms DMS_1 "
    "--set accept_terms=true --yes --json"
)


@app.command("upgrade", epilog=UPGRADE_EPILOG)
def upgrade(
    ctx: typer.Context,
    driver: str = typer.Argument(..., help=DRIVER_HELP),
    package: Path | None = typer.Option(None, "--package", "-p", help=PACKAGE_HELP),
    dms: str | None = typer.Option(None, "--dms", help="Either DMS of the pair (or the single)."),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help=TENANT_HELP),
    answers: Path | None = typer.Option(None, "--answers", "-a", help=ANSWERS_HELP),
    sets: list[str] | None = typer.Option(
        None, "--set", help=UPGRADE_SET_HELP, metavar="KEY=VALUE"
    ),
    single: bool = typer.Option(
        False, "--single", help="A DMS without backup: stop it, upgrade it, start it again."
    ),
    switch_back: bool = typer.Option(
        False, "--switch-back", help="End with the original primary primary again."
    ),
    rollback: bool = typer.Option(
        False, "--rollback", help="Undo a half-done upgrade: the old version on both members."
    ),
    force: bool = typer.Option(False, "--force", help="Install the same version again."),
    timeout: float = typer.Option(
        120.0,
        "--timeout",
        parser=number(1),
        help="Seconds a member may take to stop or become healthy.",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help=WIZARD_YES_HELP),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the pair's state, the steps and the plans; change nothing."
    ),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the final report as JSON."),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Rolling driver upgrade of a DMS pair: backup first, switchover, then the former primary.

    The plans are shown and confirmed first (refused without a terminal unless --yes).
    """
    from gsetup.cli.progress import StepProgress
    from gsetup.interrupts import STOPS
    from gsetup.wizards.bp import login
    from gsetup.wizards.collect import Prompter
    from gsetup.wizards.driver import (
        DriverRequest,
        UpgradeFlags,
        answer_sources,
        parse_driver,
        run_driver_upgrade,
    )

    parse_driver(driver)
    flags = UpgradeFlags(single, switch_back, rollback, force, timeout)
    request = DriverRequest(
        driver, dms, None, package, answers, sets or [], None, yes, tenant, flags
    )
    sources = answer_sources(request)
    prompter = Prompter()
    g = globals_of(ctx)
    context = login(g.db, g.user, sources, prompter, yes)
    mode = _wizard_mode(prompter, (dry_run, yes, detailed, as_json), f"Upgrading {driver}")
    try:
        with StepProgress() as progress:
            report = run_driver_upgrade(context, request, sources, prompter, mode, progress)
    except STOPS:
        if not (dry_run or detailed):
            go_on = (
                "finish undoing the upgrade"
                if rollback
                else "resume it, or add --rollback to undo it"
            )
            print(
                f"gsetup: the upgrade stopped where it was: run the same command again to {go_on}",
                file=sys.stderr,
            )
        raise
    if as_json:
        emit_json(report.to_json())
    else:
        _show_upgrade(report, show_all=show_all)
    if report.result == "planned":
        if report.problems:  # the run would refuse, exit 2 with its line, after the report
            raise BadInputError(report.refusal())
        if detailed and any(step.outcome == "planned" for step in report.steps):
            raise typer.Exit(EXIT_CHANGES_PENDING)
    if not report.ok:
        raise typer.Exit(1)


def _show_upgrade(report: UpgradeReport, *, show_all: bool) -> None:
    from gsetup.cli.render import print_lines, print_plan, print_table

    rows = [(m.name, m.running, m.healthy, m.role, m.version) for m in report.before]
    title = "The pair now" if report.result == "planned" else "The pair before the upgrade"
    print_table(title, ("DMS", "running", "healthy", "role", "driver version"), rows)
    if report.result == "planned":
        steps = [(s.number, s.action, s.dms, s.outcome) for s in report.steps]
        print_table("Steps", ("#", "step", "DMS", ""), steps)
        for result in report.plans:
            print(f"\n{result.role} {result.dms}:")
            print_plan(result.plan, applied=False, show_all=show_all)
        if report.problems:
            print_lines("The upgrade cannot start until this is fixed", report.problems)
        return
    after = ", ".join(m.summary() for m in report.after)
    print(
        f"{report.result}: the {report.driver} driver {report.from_version} -> "
        f"{report.to_version}; now {after}"
    )
    if report.next_step:
        print(f"next: {report.next_step}")


@app.command("uninstall")
def uninstall(
    ctx: typer.Context,
    driver: str = typer.Argument(..., help=DRIVER_HELP),
    dms: str = typer.Option(..., "--dms", help="The DigitalMessagingServer application."),
    channel: str | None = typer.Option(None, "--channel", help=CHANNEL_HELP),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Remove a driver channel's options, and with the last channel the driver's files.

    Options that were there before the install or were added since are kept, and those the
    install overwrote get their earlier values back (unless edited since); files changed
    since they were installed are kept too. The plan is confirmed first (--yes: not).

    Example: gsetup driver uninstall facebook --dms DMS_Primary --yes
    """
    from gsetup.commands.drivers import uninstall_driver
    from gsetup.wizards.driver import parse_driver

    context = open_context(ctx)
    found = parse_driver(driver)
    mode = confirmation(dry_run, yes, detailed, as_json)
    result = mode.apply(
        lambda dry: uninstall_driver(context, found, tenant, dms, channel, dry_run=dry),
        lambda r: [r.plan],
        risky=lambda plan: plan.replaces(),
    )
    _finish([result], mode, as_json=as_json, show_all=show_all)


@app.command("list")
def list_(
    ctx: typer.Context,
    dms: str | None = typer.Option(None, "--dms", help="Only this DMS."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the drivers installed per DMS: version, channel sections, files."""
    from gsetup.cli.render import print_table
    from gsetup.commands.drivers import list_drivers

    found = list_drivers(open_context(ctx, writes=False), tenant, dms)
    if as_json:
        emit_json(found)
        return
    rows = [
        (d["dms"], d["driver"], d["version"], ", ".join(d["sections"]), len(d["files"]))
        for d in found
    ]
    print_table(f"Drivers in {tenant}", ("DMS", "driver", "version", "channels", "files"), rows)
