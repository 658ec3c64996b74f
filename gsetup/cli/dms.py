"""``gsetup dms``: the Digital Messaging Server stand-in."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import (
    DEFAULT_TENANT,
    DMS_APP_HELP,
    DRY_RUN_HELP,
    IF_MISSING_HELP,
    JSON_HELP,
    ROTATE_HELP,
    TENANT_HELP,
    confirmation,
    finish_plan,
    open_context,
)
from gsetup.cli.tokens import revoke_command

if TYPE_CHECKING:
    from gsetup.commands.app_tokens import TokenKind
    from gsetup.dms.settings import DmsSettings

app = typer.Typer(help="Digital Messaging Server stand-in (tests, labs, upgrade drills).")
token_app = typer.Typer(
    help="Control tokens: what a switchover of a DMS pair must present to its members.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")


def _ready(settings: DmsSettings) -> None:
    drivers = ", ".join(settings.drivers) or "none"
    print(
        f"{settings.app}: DMS stand-in on http://{settings.host}:{settings.port} "
        f"(configured role {settings.role}, drivers installed: {drivers})",
        file=sys.stderr,
        flush=True,
    )


@app.command(
    "run",
    epilog=(
        "Register it as the application's start command to manage it with gsetup app start|stop "
        "and driver upgrade:\n\n"
        "gsetup app update DMS_1 --start-cmd 'gsetup dms run --app DMS_1'"
    ),
)
def run(
    ctx: typer.Context,
    app_name: str = typer.Option(..., "--app", help=DMS_APP_HELP),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
) -> None:
    """Run a DMS stand-in for an application: health, inbound, switchover, outbound.

    Listens on the application's host and port (loopback only), loads the drivers in
    <working dir>/media-channel-drivers, and forwards accepted interactions to the intake
    stored in [gsetup-runtime] intake-url / intake-token. Runs until SIGTERM or Ctrl-C.
    """
    from gsetup.commands.dms import run_dms

    run_dms(open_context(ctx), tenant, app_name, _ready)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    app_name: str = typer.Option(..., "--app", help=DMS_APP_HELP),
    rotate: bool = typer.Option(False, "--rotate", help=ROTATE_HELP),
    if_missing: bool = typer.Option(False, "--if-missing", help=IF_MISSING_HELP),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Make a control token for a DMS application; it is never shown. Run again, it is
    refused (exit 2) unless --rotate or --if-missing.

    The token is stored as the application's secret option [gsetup-dms] control-token. Its
    stand-in wants it for /switchover and /promote, its peer and gsetup driver upgrade send
    it; all of them read it from the configuration database, a running stand-in at once.

    Example: gsetup dms token create --app DMS_1
    """
    from gsetup.commands.app_tokens import create_token
    from gsetup.commands.dms import CONTROL

    context = open_context(ctx)
    made = create_token(
        context, tenant, app_name, CONTROL, rotate=rotate, dry_run=dry_run, keep=if_missing
    )
    mode = confirmation(dry_run, False, False, as_json)
    finish_plan(made.plan, mode, as_json=as_json, extra={"kept": made.kept})
    if made.kept and not as_json:
        print(f"{app_name} already has a control token: kept")


def _control() -> TokenKind:
    from gsetup.commands.dms import CONTROL

    return CONTROL


token_app.command("revoke")(
    revoke_command(
        _control,
        """Revoke a DMS application's control token: its stand-in refuses role changes from now
        on, and driver upgrade refuses its pair (asks first on a terminal; --yes does not).

        Example: gsetup dms token revoke --app DMS_1 --yes
        """,
    )
)
