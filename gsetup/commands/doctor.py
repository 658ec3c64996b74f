"""``gsetup doctor``: check a tenant's deployment against the guide's "Important" notes.

Pure reads. Each finding says what is wrong, where, and the gsetup command that fixes it;
the checks are listed in docs/configure.md ("gsetup doctor"). Severity follows the guide's
wording: "must" / "required" / "only if" is an error, "should" is a warning.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from gsetup.configdb.tenants import DEFAULT_TENANT
from gsetup.configure.facebook import CHAT_KEY, SUBMIT_COMMENTS
from gsetup.configure.interaction_server import DELAY_UPDATES, INTERACTION_SERVER
from gsetup.configure.snapshot import (
    DRIVER_KEY,
    Snapshot,
    channel_sections,
    driver_channels,
    has_stages,
    read_tenant,
)
from gsetup.configure.workspace import FAMILIES, QUEUE_STAGES, SECTION, WORKSPACE
from gsetup.context import Context
from gsetup.deployment import AttributeValue, ConfiguredApplication
from gsetup.drivers.specs import Driver
from gsetup.packages.attributes import MEDIA_TYPE
from gsetup.packages.catalogue import catalogue
from gsetup.packages.next_steps import SUBMIT_COMMENTS_BY_PACKAGE

Severity = Literal["error", "warning"]

DMS = "DigitalMessagingServer"
CHAT_SERVER = "ChatServer"
TWITTER_TR = "twitter-bp-tr"
# The option sections the checks read (DMS access points and channels, Chat Server endpoints,
# the plug-in's section, Interaction Server settings): an application's other options, which
# may number hundreds of thousands, are never read.
_SECTIONS = ("endpoint", "channel-", SECTION, DELAY_UPDATES[0])
CHECKS = (
    "queue-options",
    "delay-updates",
    "x-submit-comments-itx",
    "shared-dms-drivers",
    "twitterdirect-media-type",
)


@dataclass(frozen=True)
class Finding:
    """One problem: the check that found it, how bad it is, what and where, and the fix."""

    check: str
    severity: Severity
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }


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
    findings = [
        *_queue_options(snap),
        *_delay_updates(snap),
        *_submit_comments(snap),
        *_shared_dms_drivers(snap),
        *_twitterdirect(snap),
    ]
    findings.sort(key=lambda f: f.severity != "error")  # stable: check order kept within
    return Diagnosis(tenant, findings)


def _command(snap: Snapshot, *words: str) -> str:
    """A gsetup command line, with --tenant unless it is the default tenant."""
    tenant = [] if snap.tenant == DEFAULT_TENANT else ["--tenant", snap.tenant]
    return shlex.join(["gsetup", *words, *tenant])


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
    install = _command(snap, "install", owner.name) if owner is not None else None
    yield Finding(
        "queue-options",
        "error",
        f"{where}: {why}; interactions sent there are never routed",
        step or install,
    )


def _workspace_queues(snap: Snapshot, wde: ConfiguredApplication) -> Iterator[Finding]:
    installed = snap.installed()
    with_queues = {
        family: sorted(
            p.name
            for p in catalogue()
            if p.family == family and p.name in installed and has_stages(p, QUEUE_STAGES)
        )
        for family in FAMILIES
    }
    # With several BPs of a family installed, `configure workspace` needs to be told which.
    choose = [
        word
        for family, names in with_queues.items()
        if len(names) > 1
        for word in (f"--{family}-bp", names[0])
    ]
    fix = _command(snap, "configure", "workspace", "--workspace", wde.name, *choose)
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
    if TWITTER_TR not in snap.installed():
        return None
    timeouts = {
        dms.options[(s, "grouping-timeout")].value
        for s in driver_channels(dms, "twitter")
        if (s, "grouping-timeout") in dms.options
    }
    if len(timeouts) != 1:
        return None
    (timeout,) = timeouts
    return _command(
        snap, "configure", "twitter-tr", "--dms", dms.name, "--grouping-timeout", timeout
    )


def _private_messaging_fix(snap: Snapshot, chat: ConfiguredApplication) -> str | None:
    if "facebook-bp" not in snap.installed():
        return None
    return _command(snap, "configure", "facebook-private-messaging", "--chat-server", chat.name)


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
            _command(snap, "configure", "delay-updates", "--interaction-server", ixn.name),
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
                _command(
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
    route = dms.options.get((section, "inbound-route"))
    if route is not None:
        dbid, _, access_point = route.value.split(",")[0].strip().partition(":")
        queue = dms.options.get((f"endpoints:{dbid}", access_point))
        package = snap.queue_package(queue.value) if queue is not None else None
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
                    _command(snap, "driver", "install", driver, "--dms", dms.name),
                )


# -- media types ------------------------------------------------------------------------------


def _twitterdirect(snap: Snapshot) -> Iterator[Finding]:
    """The media type twitterdirect exists when a Twitter BP is installed."""
    twitter = [p.name for p in catalogue() if p.family == "twitter" and p.name in snap.installed()]
    if not twitter or _media_type(snap, "twitterdirect") is not None:
        return
    if _media_type(snap, "twitter") is not None:
        fix = _command(snap, "configure", "twitterdirect")
    else:
        fix = _command(snap, "install", twitter[0])
    yield Finding(
        "twitterdirect-media-type",
        "warning",
        f"{', '.join(twitter)} is installed but the media type twitterdirect is missing: "
        "Twitter direct messages have no media type to be routed and counted by",
        fix,
    )


def _media_type(snap: Snapshot, name: str) -> AttributeValue | None:
    return snap.attribute_value(MEDIA_TYPE.name, name)
