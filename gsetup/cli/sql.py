"""``gsetup sql``: the Interaction Server database scripts (list, show, export, apply)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import DEFAULT_TENANT, JSON_HELP, emit_json
from gsetup.cli.progress import steps

if TYPE_CHECKING:
    from gsetup.columns import ScriptPair
    from gsetup.sqlscripts.planning import ApplyPlan, PlannedScript

app = typer.Typer(
    help=(
        "Interaction Server database scripts: the CleanUp/Alter pairs that add the Business "
        "Processes' columns to the interactions table (see docs/sql.md)."
    ),
    no_args_is_help=True,
)

PACKAGE_HELP = (
    "iwd, facebook or twitter, or a BP package name (facebook-bp, twitter-bp-iwd...); "
    "repeat for several. Default: all."
)
DBMS_HELP = "mssql, oracle, db2, postgresql or sqlite."


@app.command("list")
def list_(
    package: list[str] = typer.Option(None, "--package", "-p", help=PACKAGE_HELP),
    dbms: str | None = typer.Option(None, "--dbms", "-d", help=DBMS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the scripts, in the order they run, and the DBMSes each exists for."""
    from gsetup.cli.render import print_table
    from gsetup.packages.scripts import script_groups
    from gsetup.sqlscripts.catalog import list_scripts

    rows = [
        (number, script.group, script.name, dbmses)
        for number, (script, dbmses) in enumerate(
            list_scripts(script_groups(package), dbms), start=1
        )
    ]
    if as_json:
        keys = ("order", "package", "script", "dbms")
        emit_json([dict(zip(keys, row, strict=True)) for row in rows])
        return
    print_table(
        "Interaction Server database scripts",
        ["#", "package", "script", "dbms"],
        [(*row[:3], ",".join(row[3])) for row in rows],
    )


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Script file name, as 'gsetup sql list' shows it."),
    dbms: str = typer.Option(..., "--dbms", "-d", help=DBMS_HELP),
) -> None:
    """Print one script, to hand to a DBA."""
    from gsetup.sqlscripts.catalog import get_dbms, get_script
    from gsetup.sqlscripts.shipped import read_script

    print(read_script(get_script(name), get_dbms(dbms).name), end="")


@app.command("export")
def export(
    dbms: str = typer.Option(..., "--dbms", "-d", help=DBMS_HELP),
    directory: Path = typer.Option(..., "--dir", help="Directory to write the scripts into."),
    package: list[str] = typer.Option(None, "--package", "-p", help=PACKAGE_HELP),
) -> None:
    """Write the scripts for a DBA, with run-order.txt numbering them in run order.

    Example: gsetup sql export --dbms oracle --dir scripts/
    """
    from gsetup.installer.files import check_directory
    from gsetup.packages.scripts import script_groups
    from gsetup.sqlscripts.placement import export_scripts

    groups = script_groups(package)
    check_directory(directory, "--dir")
    for path in export_scripts(dbms, directory, groups):
        print(path)


@app.command("apply")
def apply(
    ctx: typer.Context,
    url: str = typer.Option(
        ...,
        "--url",
        envvar="GSETUP_IXN_DB",
        show_envvar=True,
        help="SQLAlchemy URL of Interaction Server's database; its dialect picks the scripts.",
    ),
    package: list[str] = typer.Option(None, "--package", "-p", help=PACKAGE_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the SQL and change nothing."),
    yes: bool = typer.Option(
        False,
        "--yes",
        "-y",
        help="Apply without asking (needed without a terminal); also confirms that Interaction "
        "Server is stopped when none is registered in the configuration database.",
    ),
    allow_data_loss: bool = typer.Option(
        False, "--allow-data-loss", help="Let CleanUp drop columns that hold values."
    ),
    rerun_changed: bool = typer.Option(
        False, "--rerun-changed", help="Run again the pairs whose recorded checksum changed."
    ),
    tenant: str = typer.Option(
        DEFAULT_TENANT, "--tenant", "-t", help="Tenant whose Interaction Servers must be stopped."
    ),
    restart: bool = typer.Option(
        False,
        "--restart",
        help="Stop the tenant's Interaction Server applications first and start them again "
        "after (gsetup app stop/start).",
    ),
) -> None:
    """Run CleanUp then Alter for each package, record them, and skip what is recorded.

    Interaction Server must be stopped: each InteractionServer application registered in the
    tenant is checked (one that accepts a connection on its host and port is running). With
    --restart, gsetup stops them, applies, and starts them again, even when applying fails.
    The scripts to run are shown and confirmed first; without a terminal it needs --yes.

    Example: gsetup sql apply --url postgresql+psycopg://ixn@dbhost/ixn --restart --yes
    """
    from dataclasses import replace

    from gsetup.cli.common import confirmation, open_context
    from gsetup.commands.apps import interaction_servers
    from gsetup.packages.scripts import script_groups
    from gsetup.sqlscripts import apply as core

    context = None if dry_run else open_context(ctx, writes=restart)
    request = core.ApplyRequest(
        url=url,
        groups=script_groups(package),
        servers=[] if context is None else interaction_servers(context, tenant),
        confirmed=yes,
        allow_data_loss=allow_data_loss,
        rerun_changed=rerun_changed,
    )
    planned = core.plan(request)
    if dry_run:
        _print_status(planned, rerun_changed)
        core.check_allowed(planned, request)  # the run's refusal, after the report
        _print_sql(planned)
        return
    core.check_allowed(planned, request)
    if not yes:  # apply runs only the scripts planned here: those confirmed, or none
        request = replace(request, shown=planned)
    if planned.to_run:
        confirmation(False, yes, False).confirm(
            f"sql apply would run {len(planned.to_run)} scripts on {planned.dbms.title}",
            lambda: _print_status(planned, rerun_changed),
        )
        request = replace(request, confirmed=True)
    # The bar counts the plan apply carries out, made again after the question.
    with steps("Running scripts") as advance:
        work = partial(core.apply, request, lambda item, _, total: advance(item.script.name, total))
        if not restart:
            _print_result(work())
            return
        from gsetup.commands.process import while_stopped

        assert context is not None
        _print_result(while_stopped(context, tenant, "InteractionServer", work, _print_notice))


def _print_notice(text: str) -> None:
    print(text, flush=True)


def _print_result(planned: ApplyPlan) -> None:
    if not planned.to_run:
        print(f"Nothing to do: every script is already applied ({planned.dbms.title}).")
        return
    print(f"Applied {len(planned.to_run)} scripts on {planned.dbms.title} and recorded them.")


def _print_status(planned: ApplyPlan, rerun_changed: bool) -> None:
    # Changed scripts without --rerun-changed: the run refuses everything, their pairs first.
    refused = (
        None if rerun_changed or not planned.changed else {p.script.pair for p in planned.changed}
    )
    for item in planned.scripts:
        print(f"-- {item.script.name}: {_status_text(item, refused)}")
    if planned.rows_at_risk:
        from gsetup.sqlscripts.apply import rows_text

        columns = ", ".join(f"{n} ({rows_text(c)})" for n, c in planned.values_at_risk.items())
        print(f"-- CleanUp would drop values from {rows_text(planned.rows_at_risk)}: {columns}")
    print("-- Interaction Server must be stopped while the scripts run.")


def _print_sql(planned: ApplyPlan) -> None:
    for item in planned.to_run:
        print(f"\n-- ===== {item.script.name} =====")
        print(item.text, end="")


def _status_text(item: PlannedScript, refused: set[ScriptPair] | None) -> str:
    """``refused``: the changed pairs when the run refuses, None when it would run."""
    if item.status == "applied":
        return "already applied, skipped"
    if refused is None:
        if item.status == "changed":
            return "applied before, changed since: would run again"
        return "would run"
    if item.status == "changed":
        return "applied before, changed since: refused (needs --rerun-changed)"
    if item.script.pair in refused:
        return "refused with its pair (needs --rerun-changed)"
    return "not run: the changed scripts refuse the whole apply (needs --rerun-changed)"
