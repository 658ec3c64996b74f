"""``gsetup tenant``: list and create tenants."""

from __future__ import annotations

import typer

from gsetup.cli.common import (
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    confirmation,
    finish_plan,
    open_context,
)

app = typer.Typer(help="Tenants of the configuration database.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """List the tenants you may see."""
    from gsetup.cli.reads import show_tenants

    show_tenants(open_context(ctx, writes=False), as_json=as_json)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="New tenant name."),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create a tenant (superusers; on the embedded database, its owner). Running it again
    changes nothing.

    Example: gsetup tenant create Acme
    """
    from gsetup.commands.tenants import create_tenant

    context = open_context(ctx)
    mode = confirmation(dry_run, False, detailed, as_json)
    plan = mode.apply_plan(lambda dry: create_tenant(context, name, dry_run=dry), risky=None)
    finish_plan(plan, mode, as_json=as_json)
