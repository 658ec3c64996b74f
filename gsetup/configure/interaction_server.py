"""Interaction Server ``settings/delay-updates = false``: the BPs' inbound strategies merge
interactions (MergeItxData), which needs every property update written to the database at
once (guide, the Important notes of Facebook BP and Twitter BP - Threaded Routing)."""

from __future__ import annotations

from gsetup.configure.snapshot import find_app, read_tenant
from gsetup.context import Context
from gsetup.errors import NotFoundError
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.state import DesiredObject, DesiredState, options

INTERACTION_SERVER = "InteractionServer"
DELAY_UPDATES = ("settings", "delay-updates")


def disable_delay_updates(ctx: Context, tenant: str, *, servers: list[str], dry_run: bool) -> Plan:
    """Set delay-updates to false on the Interaction Servers named, or on all of them."""
    snap = read_tenant(ctx, tenant)
    apps = [find_app(snap, INTERACTION_SERVER, name, "--interaction-server") for name in servers]
    if not servers:
        apps = snap.apps(INTERACTION_SERVER)
    if not apps:
        raise NotFoundError(
            f"tenant {tenant!r} has no {INTERACTION_SERVER} application; create it with "
            f"`gsetup app create NAME --type {INTERACTION_SERVER}`"
        )
    section, key = DELAY_UPDATES
    opts = options({section: {key: "false"}})
    state = DesiredState(tenant)
    for app in apps:  # a server named twice is one object: add() merges them
        state.add(DesiredObject("application", app.path, {}, opts))
    return run_plan(ctx, state, "configure delay-updates", dry_run=dry_run)
