"""The Facebook channel steps: private messaging ("Deploying Facebook Private Messaging") and
x-submit-comments-itx, which must fit the Facebook BP variant ("Sample Business Process:
Facebook BP", Important)."""

from __future__ import annotations

from gsetup.configure.snapshot import (
    Snapshot,
    choose_package,
    endpoints_section,
    find_app,
    read_tenant,
    require_installed,
    select_channels,
    tenant_dbid,
)
from gsetup.context import Context
from gsetup.deployment import StoredOption
from gsetup.drivers.specs import validate_option
from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.packages.catalogue import get_package
from gsetup.packages.next_steps import SUBMIT_COMMENTS_BY_PACKAGE
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.state import DesiredObject, DesiredState, OptionValue

DMS = "DigitalMessagingServer"
CHAT_SERVER = "ChatServer"
# The Chat Server key and the BP stage whose queue it names (guide: "FacebookInboundQueue =
# Facebook Inbound Queue").
CHAT_KEY = "FacebookInboundQueue"
INBOUND = "Inbound"
SUBMIT_COMMENTS = "x-submit-comments-itx"
ROUTE = "inbound-route"


def chat_endpoint_section(dbid: int) -> str:
    """Chat Server's section of tenant ``dbid``'s access points, spelt as the guide does."""
    return f"endpoint:{dbid}"


def deploy_private_messaging(
    ctx: Context,
    tenant: str,
    *,
    dms: str | None,
    chat_server: str | None,
    channel: str | None,
    facebook_bp: str,
    dbid: int | None,
    dry_run: bool,
) -> Plan:
    """``skip-private = false`` in the Facebook channels of the DMS, each channel's
    ``inbound-route`` on the access point ``FacebookInboundQueue``, and that access point,
    on the Facebook BP's inbound queue, in DMS's ``[endpoints:<dbid>]`` and Chat Server's
    ``[endpoint:<dbid>]`` (the guide: "The value of inbound-route option must match the
    endpoint that you configure for Chat Server")."""
    snap = read_tenant(ctx, tenant)
    dms_app = find_app(snap, DMS, dms, "--dms")
    sections = select_channels(dms_app, "facebook", channel)
    chat = find_app(snap, CHAT_SERVER, chat_server, "--chat-server")
    package = choose_package(snap, "facebook", (INBOUND,), facebook_bp, "--facebook-bp")
    assert package is not None  # a package that was given is checked, never None
    queue = OptionValue(package.stage_queue(INBOUND))
    number = tenant_dbid(snap, dbid)
    dms_options = {(endpoints_section(number), CHAT_KEY): queue}
    for section in sections:
        dms_options[(section, "skip-private")] = OptionValue("false")
        dms_options[(section, ROUTE)] = OptionValue(
            private_route(dms_app.options.get((section, ROUTE)), number)
        )
    state = DesiredState(tenant)
    state.add(DesiredObject("application", dms_app.path, {}, dms_options))
    state.add(
        DesiredObject(
            "application", chat.path, {}, {(chat_endpoint_section(number), CHAT_KEY): queue}
        )
    )
    return run_plan(ctx, state, "configure facebook-private-messaging", dry_run=dry_run)


def private_route(current: StoredOption | None, dbid: int) -> str:
    """The channel's inbound-route on ``FacebookInboundQueue`` of tenant ``dbid``; a second
    endpoint (the one for session mode) is kept."""
    rest = current.value.split(",")[1:] if current is not None else []
    return validate_option(
        "facebook", "channel-facebook", ROUTE, ",".join([f"{dbid}:{CHAT_KEY}", *rest])
    )


def submit_comments_value(snap: Snapshot, facebook_bp: str | None) -> tuple[str, str]:
    """The package x-submit-comments-itx must fit and its value: the one given, else the one
    the installed Facebook BPs agree on."""
    if facebook_bp is not None:
        if facebook_bp not in SUBMIT_COMMENTS_BY_PACKAGE:
            allowed = ", ".join(SUBMIT_COMMENTS_BY_PACKAGE)
            raise BadInputError(
                f"--facebook-bp {quote_prefix(facebook_bp)} is not allowed; use {allowed}"
            )
        require_installed(snap, get_package(facebook_bp), (INBOUND,))
        return facebook_bp, SUBMIT_COMMENTS_BY_PACKAGE[facebook_bp]
    installed = sorted(p for p in snap.installed() if p in SUBMIT_COMMENTS_BY_PACKAGE)
    values = {SUBMIT_COMMENTS_BY_PACKAGE[p] for p in installed}
    if not installed:
        raise BadInputError(
            f"tenant {snap.tenant!r} has no Facebook BP that needs x-submit-comments-itx: "
            "install facebook-bp or facebook-bp-single-comment first"
        )
    if len(values) > 1:
        raise BadInputError(
            f"the installed {', '.join(installed)} need different x-submit-comments-itx "
            "values; choose the BP the channel feeds with --facebook-bp"
        )
    return installed[0], values.pop()


def configure_submit_comments(
    ctx: Context,
    tenant: str,
    *,
    dms: str | None,
    channel: str | None,
    facebook_bp: str | None,
    dry_run: bool,
) -> Plan:
    """Set x-submit-comments-itx in the Facebook channels of the DMS to what the Facebook BP
    variant needs: true for Single Comment Routing, false for Facebook BP."""
    snap = read_tenant(ctx, tenant)
    dms_app = find_app(snap, DMS, dms, "--dms")
    sections = select_channels(dms_app, "facebook", channel)
    _package, value = submit_comments_value(snap, facebook_bp)
    opts = {
        (s, SUBMIT_COMMENTS): OptionValue(validate_option("facebook", s, SUBMIT_COMMENTS, value))
        for s in sections
    }
    state = DesiredState(tenant, [DesiredObject("application", dms_app.path, {}, opts)])
    return run_plan(ctx, state, "configure facebook-comments", dry_run=dry_run)
