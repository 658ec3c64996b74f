"""``gsetup dms``: the Digital Messaging Server stand-in."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import DEFAULT_TENANT, TENANT_HELP, open_context

if TYPE_CHECKING:
    from gsetup.dms.settings import DmsSettings

app = typer.Typer(help="Digital Messaging Server stand-in (tests, labs, upgrade drills).")


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
    app_name: str = typer.Option(..., "--app", help="The DigitalMessagingServer application."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
) -> None:
    """Run a DMS stand-in for an application: health, inbound, switchover, outbound.

    Listens on the application's host and port (loopback only), loads the drivers in
    <working dir>/media-channel-drivers, and forwards accepted interactions to the intake
    stored in [gsetup-runtime] intake-url / intake-token. Runs until SIGTERM or Ctrl-C.
    """
    from gsetup.commands.dms import run_dms

    run_dms(open_context(ctx), tenant, app_name, _ready)
