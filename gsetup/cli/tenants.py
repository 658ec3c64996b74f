"""``gsetup tenant``: list and create tenants."""

from __future__ import annotations

import typer

from gsetup.cli.common import DRY_RUN_HELP, JSON_HELP, emit_json, open_context

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
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create a tenant (superusers; on the embedded database, its owner).

    Example: gsetup tenant create Acme
    """
    from gsetup.commands.tenants import create_tenant

    create_tenant(open_context(ctx), name, dry_run=dry_run)
    if as_json:
        emit_json({"tenant": name, "action": "create", "applied": not dry_run})
    else:
        print(f"{'would create' if dry_run else 'created'} tenant {name!r}")
