"""Twitter BP - Threaded Routing, "Deploying" steps 2 to 4: Twitter BP's strategies
deactivated, the grouping timeout of the Twitter channels, DMS's ``twitter_queue`` access
point and Workspace's Twitter queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gsetup.configure.snapshot import (
    endpoints_section,
    find_app,
    read_tenant,
    require_installed,
    select_channels,
    tenant_dbid,
)
from gsetup.configure.workspace import QUEUE_STAGES, WORKSPACE, desktop_queue_options
from gsetup.context import Context
from gsetup.drivers.specs import ACCESS_POINTS, validate_option
from gsetup.packages.catalogue import get_package
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.runtime.twitter_groups import TIMEOUT_OPTION
from gsetup.state import DesiredObject, DesiredState, OptionKey, OptionValue

if TYPE_CHECKING:
    from gsetup.deployment import Strategy

DMS = "DigitalMessagingServer"
PACKAGE = "twitter-bp-tr"
# The Business Process whose strategies Threaded Routing replaces (its "Deploying", step 2).
REPLACED = "twitter-bp"


def deploy_twitter_tr(
    ctx: Context,
    tenant: str,
    *,
    grouping_timeout: str,
    dms: str | None,
    workspace: str | None,
    channel: str | None,
    dbid: int | None,
    dry_run: bool,
) -> Plan:
    """Point DMS and Workspace at Twitter BP - Threaded Routing's queues, set the grouping
    timeout (10-3600 seconds) in the Twitter channels of the DMS and deactivate Twitter BP's
    strategies when it is installed."""
    snap = read_tenant(ctx, tenant)
    package = get_package(PACKAGE)
    dms_app = find_app(snap, DMS, dms, "--dms")
    channels = select_channels(dms_app, "twitter", channel)
    timeouts = {
        (section, TIMEOUT_OPTION): OptionValue(
            validate_option("twitter", section, TIMEOUT_OPTION, grouping_timeout)
        )
        for section in channels
    }
    wde = find_app(snap, WORKSPACE, workspace, "--workspace")
    inbound, *_desktop = require_installed(snap, package, ("Inbound", *QUEUE_STAGES))
    route: dict[OptionKey, OptionValue] = {
        (endpoints_section(tenant_dbid(snap, dbid)), ACCESS_POINTS["twitter"]): OptionValue(inbound)
    }
    state = DesiredState(tenant)
    state.add(DesiredObject("application", dms_app.path, {}, {**timeouts, **route}))
    state.add(DesiredObject("application", wde.path, {}, desktop_queue_options(package)))
    for strategy in active_replaced_strategies(ctx, tenant):
        state.add(DesiredObject("strategy", strategy.path, {"active": False}))
    return run_plan(ctx, state, "configure twitter-tr", dry_run=dry_run)


def active_replaced_strategies(ctx: Context, tenant: str) -> list[Strategy]:
    """Twitter BP's strategies that are still active (step 2: "Deactivate the old Business
    Process strategies")."""
    from gsetup import deployment

    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        return [s for s in deployment.strategies(conn, tid, REPLACED) if s.active]
