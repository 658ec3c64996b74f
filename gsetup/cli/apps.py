"""``gsetup app``: applications (DMS, Chat Server, Interaction Server, Workspace...)."""

from __future__ import annotations

import typer

from gsetup.cli.common import (
    ALL_HELP,
    DEFAULT_TENANT,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    emit_json,
    finish_plan,
    open_context,
)
from gsetup.cli.render import print_mapping, print_table

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
    port: int | None = typer.Option(None, "--port", help="Its listening port (1-65535)."),
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
    """Create an application. Running it again with the same settings changes nothing."""
    from gsetup.commands.apps import AppSpec, create_app

    spec = AppSpec(name, app_type, host, port, working_dir, start_cmd, stop_cmd, backup, redundancy)
    plan = create_app(open_context(ctx), tenant, spec, dry_run=dry_run)
    finish_plan(plan, dry_run=dry_run, as_json=as_json, detailed_exitcode=detailed)


@app.command("update")
def update(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Application name."),
    app_type: str | None = typer.Option(None, "--type", help=TYPES_HELP),
    host: str | None = typer.Option(None, "--host", help="Host the application runs on."),
    port: int | None = typer.Option(None, "--port", help="Its listening port (1-65535)."),
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
    """Change the given settings of an application; the others stay as they are."""
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
    plan = update_app(open_context(ctx), tenant, name, changes, dry_run=dry_run)
    finish_plan(plan, dry_run=dry_run, as_json=as_json, detailed_exitcode=detailed)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the tenant's applications."""
    from gsetup.cli.objects import object_json
    from gsetup.commands.objects import list_objects

    found = list_objects(open_context(ctx), [tenant], "application")
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
    from gsetup.cli.objects import object_json, print_object
    from gsetup.commands.apps import show_app

    found = show_app(open_context(ctx), tenant, name)
    emit_json(object_json(tenant, found)) if as_json else print_object(tenant, found)


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Application name."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Delete an application and its options."""
    from gsetup.commands.apps import delete_app

    plan = delete_app(open_context(ctx), tenant, name, dry_run=dry_run)
    finish_plan(
        plan, dry_run=dry_run, as_json=as_json, detailed_exitcode=detailed, show_all=show_all
    )


__all__ = ["app", "print_mapping"]
