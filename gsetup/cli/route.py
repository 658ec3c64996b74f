"""``gsetup route``: the routing runtime: run it, see its status, submit to it, its tokens."""

from __future__ import annotations

import typer

from gsetup.cli.common import (
    DEFAULT_TENANT,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    emit_json,
    finish_plan,
    globals_of,
    open_context,
)

app = typer.Typer(
    help="The routing runtime of the installed Business Processes.", no_args_is_help=True
)
token_app = typer.Typer(
    help="Intake tokens: the credential a DMS application sends to the runtime.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")

URL_HELP = (
    "The runtime's base URL, e.g. http://127.0.0.1:8470 (default: the runtime recorded as "
    "running for the tenant)."
)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    app_name: str = typer.Option(..., "--app", help="The DigitalMessagingServer application."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP + " Stored as intake-url."),
    rotate: bool = typer.Option(
        False, "--rotate", help="Replace an existing token (the old one stops working)."
    ),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Make an intake token for a DMS application and print it, once.

    The token is stored as the application's secret option [gsetup-runtime] intake-token,
    beside intake-url (where the DMS sends interactions); it is never shown again.

    Example: gsetup route token create --app DMS_1 --url http://127.0.0.1:8470
    """
    from gsetup.cli.render import print_plan
    from gsetup.commands.route_tokens import create_token

    context = open_context(ctx)
    base = url or default_url(ctx, tenant)
    made = create_token(context, tenant, app_name, base, rotate=rotate, dry_run=dry_run)
    if as_json:
        emit_json({**made.plan.to_json(), "applied": not dry_run, "token": made.token})
        return
    print_plan(made.plan, applied=not dry_run)
    if made.token is not None:
        print(f"intake token of {app_name} (shown once; sent to {made.url}):\n{made.token}")


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    app_name: str = typer.Option(..., "--app", help="The DigitalMessagingServer application."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Revoke a DMS application's intake token: the runtime refuses it from now on.

    Example: gsetup route token revoke --app DMS_1
    """
    from gsetup.commands.route_tokens import revoke_token

    plan = revoke_token(open_context(ctx), tenant, app_name, dry_run=dry_run)
    finish_plan(plan, dry_run=dry_run, as_json=as_json, detailed_exitcode=detailed)


def default_url(ctx: typer.Context, tenant: str, store: str | None = None) -> str:
    """The URL of the runtime recorded as running for ``tenant``, else the default listen
    address."""
    from gsetup.commands.route_tokens import DEFAULT_LISTEN
    from gsetup.commands.runtime_client import recorded_url

    return recorded_url(globals_of(ctx).db, tenant, store) or f"http://{DEFAULT_LISTEN}"
