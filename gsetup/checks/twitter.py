"""Twitter channels: what Twitter BP - Threaded Routing needs of them ("Deploying", steps 3
and 4) and Twitter's compliance ("Enable compliance with Twitter", Important)."""

from __future__ import annotations

from collections.abc import Iterator

from gsetup.checks.findings import Finding, command
from gsetup.checks.routes import by_section, first_endpoint, routed_package
from gsetup.configure.facebook import DMS, INBOUND
from gsetup.configure.snapshot import Snapshot, channel_sections, driver_channels
from gsetup.deployment import ConfiguredApplication, Strategy
from gsetup.drivers.specs import ACCESS_POINTS
from gsetup.packages.catalogue import catalogue, get_package
from gsetup.runtime import twitter_groups
from gsetup.runtime.inbound_route import RouteError, endpoint_queue
from gsetup.runtime.twitter_groups import TIMEOUT_OPTION

TWITTER_TR = "twitter-bp-tr"
COMPLIANCE = "compliance-enabled"
# gsetup does not guess a grouping timeout: the fix names the placeholder to replace.
SECONDS = "SECONDS"


def read_timeout(dms: ConfiguredApplication, section: str) -> int | None:
    """The channel's grouping timeout as the runtime and Inbound Buffer-TR read it (``+60``,
    which an older gsetup stored, is 60); None: missing or out of range, no grouping."""
    option = dms.options.get((section, TIMEOUT_OPTION))
    if option is None:
        return None
    return twitter_groups.grouping_timeout({TIMEOUT_OPTION: option.value})


def known_timeout(dms: ConfiguredApplication) -> str | None:
    """The grouping timeout the Twitter channels of ``dms`` that group agree on, if any."""
    timeouts = {read_timeout(dms, s) for s in driver_channels(dms, "twitter")} - {None}
    return str(timeouts.pop()) if len(timeouts) == 1 else None


def twitter_tr_command(
    snap: Snapshot, dms: ConfiguredApplication, timeout: str, *extra: str
) -> str:
    """``gsetup configure twitter-tr`` for ``dms`` with ``timeout``."""
    words = ["configure", "twitter-tr", "--dms", dms.name, *extra]
    return command(snap, *words, "--grouping-timeout", timeout)


def tr_channels(
    snap: Snapshot, *, driverless: bool = False
) -> Iterator[tuple[ConfiguredApplication, str]]:
    """The Twitter channels that feed Threaded Routing: those whose route leads to its
    queue, and those whose route leads nowhere known when it is the only Twitter BP. Only
    the driver's channels unless ``driverless``: sections without driver-classname too."""
    installed = snap.installed()
    if TWITTER_TR not in installed:
        return
    twitter = [p.name for p in catalogue() if p.family == "twitter" and p.name in installed]
    sections = channel_sections if driverless else driver_channels
    for dms in snap.apps(DMS):
        for section in sections(dms, "twitter"):
            package = routed_package(snap, dms, section)
            if package == TWITTER_TR or (package is None and twitter == [TWITTER_TR]):
                yield dms, section


def tr_endpoint(snap: Snapshot) -> Iterator[Finding]:
    """A Threaded Routing channel's route leads to an access point of the DMS's endpoints,
    resolved as the runtime's intake does (no default route is assumed)."""
    for dms, section in tr_channels(snap):
        try:
            endpoint_queue(dms.name, by_section(dms), section)
        except RouteError as exc:
            yield Finding(
                "twitter-tr-endpoint",
                "error",
                f"{exc}: tweets never reach Twitter BP - Threaded Routing",
                _tr_endpoint_fix(snap, dms, section),
            )


def _tr_endpoint_fix(snap: Snapshot, dms: ConfiguredApplication, section: str) -> str:
    """A route for a channel without one; configure twitter-tr for a route to twitter_queue
    (it writes [endpoints:<dbid>] with the DBID as a number); else the endpoint itself."""
    endpoint = first_endpoint(dms, section)
    if endpoint is None:
        option, value = f"{section}/inbound-route", f"{snap.dbid}:{ACCESS_POINTS['twitter']}"
    elif endpoint[1] == ACCESS_POINTS["twitter"] and endpoint[0] == str(int(endpoint[0])):
        extra = [] if endpoint[0] == str(snap.dbid) else ["--tenant-dbid", endpoint[0]]
        return twitter_tr_command(snap, dms, known_timeout(dms) or SECONDS, *extra)
    else:
        option = f"endpoints:{endpoint[0]}/{endpoint[1]}"
        value = get_package(TWITTER_TR).stage_queue(INBOUND)
    return command(snap, "options", "set", "--app", dms.name, option, value)


def grouping_timeout(snap: Snapshot) -> Iterator[Finding]:
    """A Threaded Routing channel has a grouping timeout from 10 to 3600 seconds (guide:
    missing or invalid, Threaded Routing "works the same as Twitter BP"). The intake groups
    by the channel section's option whether or not it names the driver: both are checked."""
    for dms, section in tr_channels(snap, driverless=True):
        if read_timeout(dms, section) is not None:
            continue
        option = dms.options.get((section, TIMEOUT_OPTION))
        if option is not None:
            now = f"is {option.value!r}, not a whole number from 10 to 3600"
        else:
            now = "is not set"
        yield Finding(
            "grouping-timeout",
            "error",
            f"{dms.name} [{section}] {TIMEOUT_OPTION} {now}: Threaded Routing groups "
            "nothing and works as Twitter BP",
            _timeout_fix(snap, dms, section),
        )


def _timeout_fix(snap: Snapshot, dms: ConfiguredApplication, section: str) -> str:
    """configure twitter-tr for a channel of the driver; it takes no other, so a section
    without driver-classname gets the option itself."""
    if section in driver_channels(dms, "twitter"):
        return twitter_tr_command(snap, dms, SECONDS, "--channel", section)
    option = f"{section}/{TIMEOUT_OPTION}"
    return command(snap, "options", "set", "--app", dms.name, option, SECONDS)


def compliance(snap: Snapshot) -> Iterator[Finding]:
    """With a Twitter BP installed, no Twitter channel turns compliance off."""
    installed = snap.installed()
    if not any(p.family == "twitter" and p.name in installed for p in catalogue()):
        return
    for dms in snap.apps(DMS):
        for section in driver_channels(dms, "twitter"):
            option = dms.options.get((section, COMPLIANCE))
            if option is None or option.value.strip().lower() == "true":
                continue
            yield Finding(
                "twitter-compliance",
                "warning",
                f"{dms.name} [{section}] {COMPLIANCE} is {option.value!r}: Genesys "
                "recommends true, otherwise you may be in violation of Twitter's policy "
                "(Tweet deletions are not processed)",
                command(
                    snap, "options", "set", "--app", dms.name, f"{section}/{COMPLIANCE}", "true"
                ),
            )


def replaced_strategies(snap: Snapshot, active: list[Strategy]) -> Iterator[Finding]:
    """With Threaded Routing installed, Twitter BP's strategies are deactivated ("Deploying",
    step 2): both would take the same tweets. ``active`` are Twitter BP's active strategies
    (gsetup.configure.twitter_tr.active_replaced_strategies)."""
    if TWITTER_TR not in snap.installed() or not active:
        return
    # configure twitter-tr deactivates them, beside its work on a DMS with Twitter channels.
    dms = [d for d in snap.apps(DMS) if driver_channels(d, "twitter")]
    fix = twitter_tr_command(snap, dms[0], known_timeout(dms[0]) or SECONDS) if dms else None
    names = ", ".join(s.name for s in active[:2]) + (", ..." if len(active) > 2 else "")
    yield Finding(
        "twitter-bp-strategies",
        "error",
        f"Twitter BP - Threaded Routing is installed, but {len(active)} strategies of Twitter "
        f"BP are still active ({names}): both would take the same tweets; the guide's step 2 "
        "deactivates them",
        fix,
    )
