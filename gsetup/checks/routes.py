"""Where a DMS channel's interactions go: its ``inbound-route`` access point, the DMS's
``[endpoints:<dbid>]`` entry for it, and for private messages Chat Server's
``[endpoint:<dbid>]`` entry ("Deploying Facebook Private Messaging": "The value of
inbound-route option must match the endpoint that you configure for Chat Server")."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from gsetup.checks.findings import Finding, command
from gsetup.configure.facebook import CHAT_SERVER, DMS, INBOUND, ROUTE, chat_endpoint_section
from gsetup.configure.snapshot import (
    Snapshot,
    driver_channels,
    has_stages,
)
from gsetup.deployment import ConfiguredApplication
from gsetup.drivers.specs import parse_channel_section
from gsetup.fileio import quote_prefix
from gsetup.packages.catalogue import catalogue
from gsetup.runtime.inbound_route import RouteError, channels, endpoint_queue


def first_endpoint(dms: ConfiguredApplication, section: str) -> tuple[str, str] | None:
    """The tenant DBID and access point of a channel's inbound-route (its first endpoint;
    a second one serves Facebook sessions); None when it has none or names no tenant DBID."""
    route = dms.options.get((section, ROUTE))
    dbid, colon, access_point = (route.value.split(",")[0].strip() if route else "").partition(":")
    return (dbid, access_point) if colon and dbid.isdigit() and access_point else None


def by_section(app: ConfiguredApplication) -> dict[str, dict[str, str]]:
    """An application's options as the runtime holds them (``options[section][key]``), for
    the intake's route resolution."""
    options: dict[str, dict[str, str]] = {}
    for (section, key), option in app.options.items():
        options.setdefault(section, {})[key] = option.value
    return options


def routed_package(snap: Snapshot, dms: ConfiguredApplication, section: str) -> str | None:
    """The installed package whose queue the intake routes the channel's interactions to,
    if any."""
    try:
        queue = endpoint_queue(dms.name, by_section(dms), section).queue
    except RouteError:
        return None
    return snap.queue_package(queue)


def inbound_endpoint(snap: Snapshot, covered: Collection[tuple[str, str]]) -> Iterator[Finding]:
    """Each channel's inbound-route names an access point of the DMS's endpoints, resolved
    as the runtime's intake does, for the channels it routes (with or without a driver):
    without it Interaction Server, and gsetup's runtime, refuse the channel's interactions.
    ``covered``: the (DMS, channel) pairs a more specific check reports on, as do the Facebook
    channels that fetch private messages (their route is private-messaging-route's)."""
    for dms in snap.apps(DMS):
        options = by_section(dms)
        private = _private_channels(dms)
        for section in channels(options):
            if (dms.name, section) in covered or section in private:
                continue
            try:
                endpoint_queue(dms.name, options, section)
            except RouteError as exc:
                yield _unrouted(snap, dms, section, str(exc))


def _unrouted(snap: Snapshot, dms: ConfiguredApplication, section: str, reason: str) -> Finding:
    """A channel without an endpoint, and the option that gives it the inbound queue of its
    driver's family when its inbound-route names a tenant and access point."""
    endpoint = first_endpoint(dms, section)
    parsed = parse_channel_section(section)
    queue = _inbound_queue(snap, parsed.driver) if parsed is not None else None
    fix = None
    if endpoint is not None and queue is not None:
        option = f"endpoints:{endpoint[0]}/{endpoint[1]}"
        fix = command(snap, "options", "set", "--app", dms.name, option, queue)
    return Finding(
        "inbound-endpoint",
        "error",
        f"{reason}: the channel's interactions are refused (they have no queue to go to)",
        fix,
    )


def _private(dms: ConfiguredApplication, section: str) -> bool:
    skip = dms.options.get((section, "skip-private"))
    return skip is not None and skip.value.strip().lower() == "false"


def _private_channels(dms: ConfiguredApplication) -> list[str]:
    """The Facebook channels that fetch private messages (skip-private = false)."""
    return [s for s in driver_channels(dms, "facebook") if _private(dms, s)]


def _inbound_queue(snap: Snapshot, driver: str) -> str | None:
    """The inbound queue of the first installed Business Process of the driver's family."""
    installed = snap.installed()
    return next(
        (
            p.stage_queue(INBOUND)
            for p in catalogue()
            if p.family == driver and p.name in installed and has_stages(p, (INBOUND,))
        ),
        None,
    )


def private_messaging_route(snap: Snapshot) -> Iterator[Finding]:
    """Each Facebook channel that fetches private messages (skip-private = false) routes them
    to an access point that DMS and a Chat Server both define, on the same queue."""
    for dms in snap.apps(DMS):
        for section in _private_channels(dms):
            problem, dbid, chats = _private_problem(snap, dms, section)
            if problem is None:
                continue
            words = ["configure", "facebook-private-messaging", "--dms", dms.name]
            words += ["--channel", section]
            if len(snap.apps(CHAT_SERVER)) > 1 and chats:
                words += ["--chat-server", chats[0]]
            if dbid is not None and dbid != str(snap.dbid):
                words += ["--tenant-dbid", dbid]
            package = _facebook_bp(snap, dms, section)
            if package not in (None, "facebook-bp"):
                words += ["--facebook-bp", package]
            yield Finding(
                "private-messaging-route",
                "error",
                f"{dms.name} [{section}] fetches private messages, but {problem}",
                command(snap, *words),
            )


def _facebook_bp(snap: Snapshot, dms: ConfiguredApplication, section: str) -> str | None:
    """The Facebook BP whose inbound queue the channel's private messages go to: the one
    its route leads to, else the first installed one with an inbound queue."""
    installed = snap.installed()
    fitting = [
        p.name
        for p in catalogue()
        if p.family == "facebook" and p.name in installed and has_stages(p, (INBOUND,))
    ]
    routed = routed_package(snap, dms, section)
    return routed if routed in fitting else next(iter(fitting), None)


def _private_problem(
    snap: Snapshot, dms: ConfiguredApplication, section: str
) -> tuple[str | None, str | None, list[str]]:
    """What is wrong with a private-messaging channel's route (None: nothing), the tenant
    DBID it names and the Chat Servers that define its access point."""
    endpoint = first_endpoint(dms, section)
    if endpoint is None:
        route = dms.options.get((section, ROUTE))
        if route is None or not route.value.strip():
            return "its inbound-route is not set", None, []
        return (
            f"its inbound-route {quote_prefix(route.value)} names no tenant DBID "
            "(<tenant dbid>:<access point>)",
            None,
            [],
        )
    dbid, access_point = endpoint
    chat_section = chat_endpoint_section(int(dbid))
    chats = {
        c.name: c.options[(chat_section, access_point)].value
        for c in snap.apps(CHAT_SERVER)
        if (chat_section, access_point) in c.options
    }
    where = f"inbound-route {dbid}:{access_point}"
    if not chats:
        return (
            f"no Chat Server has [{chat_section}] {access_point} ({where}): private messages "
            "land in Chat Server's default queue",
            dbid,
            [],
        )
    # The section the intake routes by: [endpoints:01] is not [endpoints:1].
    queue = dms.options.get((f"endpoints:{dbid}", access_point))
    if queue is None:
        return f"{dms.name} has no [endpoints:{dbid}] {access_point} ({where})", dbid, []
    others = sorted(name for name, value in chats.items() if value != queue.value)
    if others:
        return (
            f"[endpoints:{dbid}] {access_point} = {queue.value!r} on the DMS and "
            f"{chats[others[0]]!r} on {others[0]} do not match",
            dbid,
            others,
        )
    return None, dbid, []
