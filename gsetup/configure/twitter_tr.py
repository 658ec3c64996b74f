"""Twitter BP - Threaded Routing, "Deploying" steps 3 and 4: the grouping timeout of the
Twitter channels, DMS's ``twitter_queue`` access point and Workspace's Twitter queues."""

from __future__ import annotations

from gsetup.configure.snapshot import (
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
from gsetup.state import DesiredObject, DesiredState, OptionKey, OptionValue

DMS = "DigitalMessagingServer"
PACKAGE = "twitter-bp-tr"
# The option the guide's step 3 misprints as "No results" (gsetup/drivers/specs.py).
GROUPING_TIMEOUT = "grouping-timeout"


def endpoints_section(dbid: int) -> str:
    """DMS's section of the access points of tenant ``dbid``."""
    return f"endpoints:{dbid}"


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
    """Point DMS and Workspace at Twitter BP - Threaded Routing's queues and set the grouping
    timeout (10-3600 seconds) in the Twitter channels of the DMS."""
    snap = read_tenant(ctx, tenant)
    package = get_package(PACKAGE)
    dms_app = find_app(snap, DMS, dms, "--dms")
    channels = select_channels(dms_app, "twitter", channel)
    timeouts = {
        (section, GROUPING_TIMEOUT): OptionValue(
            validate_option("twitter", section, GROUPING_TIMEOUT, grouping_timeout)
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
    return run_plan(ctx, state, "configure twitter-tr", dry_run=dry_run)
