"""``gsetup doctor``: check a tenant's deployment against the guide's "Important" notes.

Pure reads. Each finding says what is wrong, where, and the gsetup command that fixes it;
docs/doctor.md lists the checks and the guide's notes they honour. Severity follows the
guide's wording: "must" / "required" / "only if" is an error, "should" is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gsetup.checks.files import installed_files
from gsetup.checks.findings import Finding, command
from gsetup.checks.iwd import iwd_adapter_queue
from gsetup.checks.pending import pending_files
from gsetup.checks.routes import inbound_endpoint, private_messaging_route, routed_package
from gsetup.checks.twitter import (
    TWITTER_TR,
    compliance,
    grouping_timeout,
    known_timeout,
    replaced_strategies,
    tr_channels,
    tr_endpoint,
    twitter_tr_command,
)
from gsetup.checks.versions import threaded_routing_versions
from gsetup.checks.workspace import family_bps, media_filters, workspace_fix
from gsetup.configure.facebook import CHAT_KEY, SUBMIT_COMMENTS
from gsetup.configure.interaction_server import DELAY_UPDATES, INTERACTION_SERVER
from gsetup.configure.snapshot import (
    DRIVER_KEY,
    Snapshot,
    channel_sections,
    driver_channels,
    read_tenant,
)
from gsetup.configure.twitter_tr import active_replaced_strategies
from gsetup.configure.workspace import FAMILIES, PLUGIN_VERSION, SECTION, WORKSPACE
from gsetup.context import Context
from gsetup.deployment import AttributeValue, ConfiguredApplication
from gsetup.drivers.installed import record_section
from gsetup.drivers.specs import DRIVERS, Driver
from gsetup.packages.attributes import MEDIA_TYPE
from gsetup.packages.catalogue import catalogue
from gsetup.packages.next_steps import SUBMIT_COMMENTS_BY_PACKAGE

DMS = "DigitalMessagingServer"
CHAT_SERVER = "ChatServer"
# The option sections the checks read (DMS access points, channels and driver records, Chat
# Server endpoints, the plug-in's section and recorded version, Interaction Server settings):
# an application's other options, which may number hundreds of thousands, are never read.
_SECTIONS = (
    "endpoint",
    "channel-",
    *map(record_section, DRIVERS),
    SECTION,
    PLUGIN_VERSION[0],
    DELAY_UPDATES[0],
)
CHECKS = (
    "pending-files",
    "installed-files",
    "queue-options",
    "delay-updates",
    "x-submit-comments-itx",
    "shared-dms-drivers",
    "twitterdirect-media-type",
    "private-messaging-route",
    "inbound-endpoint",
    "twitter-tr-endpoint",
    "grouping-timeout",
    "twitter-compliance",
    "media-filters",
    "threaded-routing-versions",
    "twitter-bp-strategies",
    "iwd-adapter-queue",
)


@dataclass
class Diagnosis:
    """Every finding of one tenant; healthy when there is none."""

    tenant: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data for CI."""
        return {
            "tenant": self.tenant,
            "healthy": self.healthy,
            "checks": list(CHECKS),
            "findings": [f.to_json() for f in self.findings],
        }


def diagnose(ctx: Context, tenant: str) -> Diagnosis:
    """Run every check on ``tenant`` and return the findings, worst first."""
    snap = read_tenant(ctx, tenant, [MEDIA_TYPE.name], sections=_SECTIONS)
    replaced = active_replaced_strategies(ctx, tenant) if TWITTER_TR in snap.installed() else []
    findings = [
        *pending_files(ctx, tenant),
        *installed_files(snap),
        *_queue_options(snap),
        *_delay_updates(snap),
        *_submit_comments(snap),
        *_shared_dms_drivers(snap),
        *_twitterdirect(snap),
        *private_messaging_route(snap),
        *inbound_endpoint(snap, {(dms.name, section) for dms, section in tr_channels(snap)}),
        *tr_endpoint(snap),
        *grouping_timeout(snap),
        *compliance(snap),
        *media_filters(snap),
        *threaded_routing_versions(snap),
        *replaced_strategies(snap, replaced),
        *iwd_adapter_queue(snap),
    ]
    findings.sort(key=lambda f: f.severity != "error")  # stable: check order kept within
    return Diagnosis(tenant, findings)


# -- queue options ----------------------------------------------------------------------------


def _queue_options(snap: Snapshot) -> Iterator[Finding]:
    """DMS access points, Chat Server's FacebookInboundQueue and the plug-in's queue options
    must name queues of installed Business Processes."""
    for dms in snap.apps(DMS):
        for (section, key), option in sorted(dms.options.items()):
            if section.startswith("endpoints:"):
                step = _twitter_tr_fix(snap, dms) if key == "twitter_queue" else None
                yield from _check_queue(snap, dms, (section, key), option.value, step)
    for chat in snap.apps(CHAT_SERVER):
        step = _private_messaging_fix(snap, chat)
        for (section, key), option in sorted(chat.options.items()):
            if section.split(":")[0] in ("endpoint", "endpoints") and key == CHAT_KEY:
                yield from _check_queue(snap, chat, (section, key), option.value, step)
    for wde in snap.apps(WORKSPACE):
        yield from _workspace_queues(snap, wde)


def _check_queue(
    snap: Snapshot,
    app: ConfiguredApplication,
    option: tuple[str, str],
    queue: str,
    step: str | None,
) -> Iterator[Finding]:
    if snap.queue_package(queue) is not None:
        return
    where = f"{app.name} [{option[0]}] {option[1]} = {queue!r}"
    owner = next((p for p in catalogue() if queue in {q.name for q in p.queues}), None)
    if owner is not None:
        why = f"a queue of {owner.name}, which is not installed"
    elif queue in snap.queues:
        why = "a queue of no installed Business Process"
    else:
        why = "no such interaction queue"
    install = command(snap, "install", owner.name) if owner is not None else None
    yield Finding(
        "queue-options",
        "error",
        f"{where}: {why}; interactions sent there are never routed",
        step or install,
    )


def _workspace_queues(snap: Snapshot, wde: ConfiguredApplication) -> Iterator[Finding]:
    with_queues = family_bps(snap)
    fix = workspace_fix(snap, wde)
    for family in FAMILIES:
        has_bp = bool(with_queues[family])
        for kind in ("default-queue", "outbound-queue"):
            key = (SECTION, f"{family}.{kind}")
            option = wde.options.get(key)
            if option is not None:
                yield from _check_queue(snap, wde, key, option.value, fix)
            elif has_bp:
                yield Finding(
                    "queue-options",
                    "error",
                    f"{wde.name} [{SECTION}] {key[1]} is not set; the Social Media plug-in "
                    f"needs it for the installed {family.capitalize()} Business Process",
                    fix,
                )


def _twitter_tr_fix(snap: Snapshot, dms: ConfiguredApplication) -> str | None:
    """``configure twitter-tr`` when Threaded Routing is installed and its grouping timeout
    is already known (gsetup does not guess one)."""
    timeout = known_timeout(dms) if TWITTER_TR in snap.installed() else None
    return twitter_tr_command(snap, dms, timeout) if timeout is not None else None


def _private_messaging_fix(snap: Snapshot, chat: ConfiguredApplication) -> str | None:
    if "facebook-bp" not in snap.installed():
        return None
    return command(snap, "configure", "facebook-private-messaging", "--chat-server", chat.name)


# -- Interaction Server -----------------------------------------------------------------------


def _delay_updates(snap: Snapshot) -> Iterator[Finding]:
    """Every Interaction Server has settings/delay-updates = false."""
    section, key = DELAY_UPDATES
    for ixn in snap.apps(INTERACTION_SERVER):
        option = ixn.options.get(DELAY_UPDATES)
        if option is not None and option.value.strip().lower() == "false":
            continue
        now = f"is {option.value!r}" if option is not None else "is not set"
        yield Finding(
            "delay-updates",
            "warning",
            f"{ixn.name} [{section}] {key} {now}; the inbound strategies' MergeItxData "
            "needs false, so that every property update reaches the database at once",
            command(snap, "configure", "delay-updates", "--interaction-server", ixn.name),
        )


# -- DMS channels -----------------------------------------------------------------------------


def _submit_comments(snap: Snapshot) -> Iterator[Finding]:
    """x-submit-comments-itx of each Facebook channel fits the BP its interactions reach."""
    for dms in snap.apps(DMS):
        for section in driver_channels(dms, "facebook"):
            package = _channel_package(snap, dms, section)
            if package is None:
                continue
            want = SUBMIT_COMMENTS_BY_PACKAGE[package]
            option = dms.options.get((section, SUBMIT_COMMENTS))
            have = option.value.strip().lower() if option is not None else "false"
            if have == want:
                continue
            shown = repr(option.value) if option is not None else "not set (false)"
            yield Finding(
                "x-submit-comments-itx",
                "error",
                f"{dms.name} [{section}] {SUBMIT_COMMENTS} is {shown}, but {package} needs {want}",
                command(
                    snap,
                    "configure",
                    "facebook-comments",
                    "--dms",
                    dms.name,
                    "--channel",
                    section,
                    "--facebook-bp",
                    package,
                ),
            )


def _channel_package(snap: Snapshot, dms: ConfiguredApplication, section: str) -> str | None:
    """The installed Facebook BP a channel's interactions reach (inbound-route, then the
    DMS access point, then the queue's BP); else the one the installed BPs agree on."""
    package = routed_package(snap, dms, section)
    if package is not None:
        return package if package in SUBMIT_COMMENTS_BY_PACKAGE else None
    installed = [p for p in SUBMIT_COMMENTS_BY_PACKAGE if p in snap.installed()]
    values = {SUBMIT_COMMENTS_BY_PACKAGE[p] for p in installed}
    return installed[0] if len(values) == 1 else None


def _shared_dms_drivers(snap: Snapshot) -> Iterator[Finding]:
    """Where Threaded Routing's DMS also has Facebook channels, both drivers are installed
    on it (guide: the Facebook driver is "required only if you have both Facebook and
    Twitter channels in the same Digital Messaging Server")."""
    if TWITTER_TR not in snap.installed():
        return
    drivers: tuple[Driver, ...] = ("facebook", "twitter")
    for dms in snap.apps(DMS):
        sections = {d: channel_sections(dms, d) for d in drivers}
        if not all(sections.values()) or not driver_channels(dms, "twitter"):
            continue
        for driver in drivers:
            missing = [s for s in sections[driver] if (s, DRIVER_KEY) not in dms.options]
            if missing:
                yield Finding(
                    "shared-dms-drivers",
                    "error",
                    f"{dms.name} serves Twitter BP - Threaded Routing and Facebook, but its "
                    f"{driver} channel(s) {', '.join(missing)} have no {DRIVER_KEY}: install "
                    f"the Cloud API Driver for {driver.capitalize()} on the same DMS",
                    command(snap, "driver", "install", driver, "--dms", dms.name),
                )


# -- media types ------------------------------------------------------------------------------


def _twitterdirect(snap: Snapshot) -> Iterator[Finding]:
    """The media type twitterdirect exists when a Twitter BP is installed."""
    twitter = [p.name for p in catalogue() if p.family == "twitter" and p.name in snap.installed()]
    if not twitter or _media_type(snap, "twitterdirect") is not None:
        return
    if _media_type(snap, "twitter") is not None:
        fix = command(snap, "configure", "twitterdirect")
    else:
        fix = command(snap, "install", twitter[0])
    yield Finding(
        "twitterdirect-media-type",
        "warning",
        f"{', '.join(twitter)} is installed but the media type twitterdirect is missing: "
        "Twitter direct messages have no media type to be routed and counted by",
        fix,
    )


def _media_type(snap: Snapshot, name: str) -> AttributeValue | None:
    return snap.attribute_value(MEDIA_TYPE.name, name)
