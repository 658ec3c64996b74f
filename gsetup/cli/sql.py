"""``gsetup sql``: the Interaction Server database scripts (list, show, export, apply)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import DEFAULT_TENANT

if TYPE_CHECKING:
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
) -> None:
    """List the scripts, in the order they run, and the DBMSes each exists for."""
    from gsetup.cli.render import print_table
    from gsetup.packages.scripts import script_groups
    from gsetup.sqlscripts.catalog import list_scripts

    rows = [
        (number, script.group, script.name, ",".join(dbmses))
        for number, (script, dbmses) in enumerate(
            list_scripts(script_groups(package), dbms), start=1
        )
    ]
    print_table("Interaction Server database scripts", ["#", "package", "script", "dbms"], rows)


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
    """Write the scripts for a DBA, with run-order.txt numbering them in run order."""
    from gsetup.packages.scripts import script_groups
    from gsetup.sqlscripts.placement import export_scripts

    for path in export_scripts(dbms, directory, script_groups(package)):
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
        help="Confirm that Interaction Server is stopped when none is "
        "registered in the configuration database.",
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
) -> None:
    """Run CleanUp then Alter for each package, record them, and skip what is recorded.

    Interaction Server must be stopped: each InteractionServer application registered in the
    tenant is checked (one that accepts a connection on its host and port is running).
    """
    from gsetup.cli.common import open_context
    from gsetup.commands.apps import interaction_servers
    from gsetup.packages.scripts import script_groups
    from gsetup.sqlscripts import apply as core

    request = core.ApplyRequest(
        url=url,
        groups=script_groups(package),
        servers=[] if dry_run else interaction_servers(open_context(ctx), tenant),
        confirmed=yes,
        allow_data_loss=allow_data_loss,
        rerun_changed=rerun_changed,
    )
    if dry_run:
        _print_dry_run(core.plan(request))
        return
    _print_result(core.apply(request, _print_progress))


def _print_progress(planned: PlannedScript, position: int, total: int) -> None:
    print(f"[{position}/{total}] {planned.script.name}", flush=True)


def _print_result(planned: ApplyPlan) -> None:
    if not planned.to_run:
        print(f"Nothing to do: every script is already applied ({planned.dbms.title}).")
        return
    print(f"Applied {len(planned.to_run)} scripts on {planned.dbms.title} and recorded them.")


def _print_dry_run(planned: ApplyPlan) -> None:
    for item in planned.scripts:
        print(f"-- {item.script.name}: {_status_text(item)}")
    if planned.rows_at_risk:
        columns = ", ".join(f"{n} ({c} rows)" for n, c in planned.values_at_risk.items())
        print(f"-- CleanUp would drop values from {planned.rows_at_risk} rows: {columns}")
    for item in planned.to_run:
        print(f"\n-- ===== {item.script.name} =====")
        print(item.text, end="")


def _status_text(item: PlannedScript) -> str:
    if item.status == "applied":
        return "already applied, skipped"
    if item.status == "changed":
        return "applied before, changed since (needs --rerun-changed)"
    return "would run"
