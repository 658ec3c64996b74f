"""``gsetup app``: applications (DMS, Chat Server, Interaction Server, Workspace...)."""

from __future__ import annotations

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
    finish_plan,
    number,
    open_context,
)
from gsetup.cli.render import print_mapping, print_table

if TYPE_CHECKING:
    from gsetup.process.control import Status

app = typer.Typer(help="Applications the features act on.", no_args_is_help=True)

TYPES_HELP = (
    "DigitalMessagingServer, ChatServer, InteractionServer, WorkspaceDesktop, "
    "UniversalRoutingServer, StatServer or UniversalContactServer."
)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Application name, unique in the tenant."),
    app_type: str = typer.Option(..., "--type", help=TYPES_HELP),
    host: str = typer.Option("", "--host", help="Host the application runs on."),
    port: int | None = typer.Option(
        None, "--port", parser=number(1, 65535, whole=True), help="Its listening port (1-65535)."
    ),
    working_dir: str = typer.Option("", "--working-dir", help="Its working directory."),
    start_cmd: str = typer.Option("", "--start-cmd", help="Command line that starts it."),
    stop_cmd: str = typer.Option("", "--stop-cmd", help="Command line that stops it."),
    backup: str | None = typer.Option(None, "--backup", help="Its backup application."),
    redundancy: str = typer.Option(
        "", "--redundancy-type", help="hot-standby, warm-standby or not-specified."
    ),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create an application. Running it again with the same settings changes nothing.

    Example: gsetup app create DMS_Primary --type DigitalMessagingServer --host dms1 --port 4120
    """
    from gsetup.commands.apps import AppSpec, create_app

    spec = AppSpec(name, app_type, host, port, working_dir, start_cmd, stop_cmd, backup, redundancy)
    context = open_context(ctx)
    mode = confirmation(dry_run, False, detailed, as_json)
    plan = mode.apply_plan(lambda dry: create_app(context, tenant, spec, dry_run=dry), risky=None)
    finish_plan(plan, mode, as_json=as_json)


@app.command("update")
def update(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Application name."),
    app_type: str | None = typer.Option(None, "--type", help=TYPES_HELP),
    host: str | None = typer.Option(None, "--host", help="Host the application runs on."),
    port: int | None = typer.Option(
        None, "--port", parser=number(1, 65535, whole=True), help="Its listening port (1-65535)."
    ),
    working_dir: str | None = typer.Option(None, "--working-dir", help="Its working directory."),
    start_cmd: str | None = typer.Option(None, "--start-cmd", help="Command line that starts it."),
    stop_cmd: str | None = typer.Option(None, "--stop-cmd", help="Command line that stops it."),
    backup: str | None = typer.Option(None, "--backup", help="Its backup application."),
    no_backup: bool = typer.Option(False, "--no-backup", help="Remove its backup application."),
    redundancy: str | None = typer.Option(
        None, "--redundancy-type", help="hot-standby, warm-standby or not-specified."
    ),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Change the given settings of an application; the others stay as they are.

    Example: gsetup app update DMS_Primary --backup DMS_Backup --redundancy-type hot-standby
    """
    from gsetup.commands.apps import update_app

    given: dict[str, str | int | None] = {
        "app_type": app_type,
        "host": host,
        "port": port,
        "working_dir": working_dir,
        "start_cmd": start_cmd,
        "stop_cmd": stop_cmd,
        "backup": backup,
        "redundancy_type": redundancy,
    }
    changes: dict[str, str | int | None] = {k: v for k, v in given.items() if v is not None}
    if no_backup:
        changes["backup"] = None
    context = open_context(ctx)
    mode = confirmation(dry_run, False, detailed, as_json)
    plan = mode.apply_plan(
        lambda dry: update_app(context, tenant, name, changes, dry_run=dry), risky=None
    )
    finish_plan(plan, mode, as_json=as_json)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the tenant's applications."""
    from gsetup.cli.reads import object_json
    from gsetup.commands.objects import list_objects

    found = list_objects(open_context(ctx, writes=False), [tenant], "application")
    if as_json:
        emit_json([object_json(t, a) for t, a in found])
        return
    rows = [
        (
            a.path.rsplit("/", 1)[-1],
            a.attrs["app_type"],
            a.attrs["host"],
            a.attrs["port"],
            (a.attrs["backup"] or "").rsplit("/", 1)[-1],
        )
        for _t, a in found
    ]
    print_table(f"Applications of {tenant}", ("name", "type", "host", "port", "backup"), rows)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Application name."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show an application's settings and options (secrets masked)."""
    from gsetup.cli.reads import show_app

    show_app(open_context(ctx, writes=False), tenant, name, as_json=as_json)


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Application name."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Delete an application and its options (asks first on a terminal; --yes does not).

    Example: gsetup app delete Interaction_Server --yes
    """
    from gsetup.commands.apps import delete_app

    context = open_context(ctx)
    mode = confirmation(dry_run, yes, detailed, as_json)
    plan = mode.apply_plan(lambda dry: delete_app(context, tenant, name, dry_run=dry))
    finish_plan(plan, mode, as_json=as_json, show_all=show_all)


# -- processes ---------------------------------------------------------------------------------

NAME_HELP = "Application name."
WAIT_HELP = "Return only once it is healthy (start) or down (stop); fail after --timeout."
TIMEOUT_HELP = "Seconds to wait (default: the application's [gsetup-process] timeout, 30)."
PROCESS_EPILOG = (
    "How an application is started comes from the configuration database: its start command "
    "and working directory (local adapter), or [gsetup-process] adapter=command with start, "
    "stop and status command lines. See docs/upgrades.md.\n\n"
    "Example: gsetup app start DMS_1 --wait --json"
)


def _show_status(status: Status, as_json: bool) -> None:
    if as_json:
        emit_json(status.to_json())
        return
    state = "running" if status.running else "stopped"
    if status.running:
        state += ", healthy" if status.healthy else ", NOT healthy"
    pid = f" (pid {status.pid})" if status.pid else ""
    detail = f": {status.health.detail}" if status.health.detail else ""
    print(f"{status.app}: {state}{pid}{detail}")


@app.command("start", epilog=PROCESS_EPILOG)
def start(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
    timeout: float | None = typer.Option(None, "--timeout", help=TIMEOUT_HELP, parser=number(0.1)),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Start an application with its process adapter (nothing if it runs already)."""
    from gsetup.commands.process import start_app

    status = start_app(open_context(ctx), tenant, name, wait=wait, timeout=timeout)
    _show_status(status, as_json)


@app.command("stop", epilog=PROCESS_EPILOG)
def stop(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP),
    timeout: float | None = typer.Option(None, "--timeout", help=TIMEOUT_HELP, parser=number(0.1)),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop an application and wait until it is down.

    A local process gets SIGTERM, then SIGKILL after the timeout; the command adapter runs
    the stop command, then the status command until it says stopped.
    """
    from gsetup.commands.process import stop_app

    _show_status(stop_app(open_context(ctx), tenant, name, timeout=timeout), as_json)


@app.command("restart", epilog=PROCESS_EPILOG)
def restart(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
    timeout: float | None = typer.Option(None, "--timeout", help=TIMEOUT_HELP, parser=number(0.1)),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop an application, then start it again."""
    from gsetup.commands.process import restart_app

    status = restart_app(open_context(ctx), tenant, name, wait=wait, timeout=timeout)
    _show_status(status, as_json)


@app.command("status", epilog=PROCESS_EPILOG)
def status_(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Whether an application runs, and its health (a DMS's role, drivers and versions)."""
    from gsetup.commands.process import app_status

    _show_status(app_status(open_context(ctx), tenant, name), as_json)


__all__ = ["app", "print_mapping"]
