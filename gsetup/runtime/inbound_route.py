"""Where a DMS channel's interactions go, as Interaction Server resolves it: the channel's
``inbound-route`` (``<tenant dbid>:<access point>``, its first endpoint) and the DMS
``[endpoints:<tenant dbid>]`` entry for that access point. The intake routes by it and
``gsetup doctor`` checks by it, so that the two agree on which channels are refused.

A channel is a ``channel-<any name>`` section (genesys-facts.md; people write ``Channel-`` too),
with or without the ``driver-classname`` of a driver, but not a Facebook monitor section
(``channel-<name>-monitor-<name>``), which has no route of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from gsetup.drivers.specs import MONITOR_MARK
from gsetup.fileio import quote_prefix

_PREFIX = "channel-"


class RouteError(ValueError):
    """A channel whose interactions have no queue; the message says why."""


class Endpoint(NamedTuple):
    """A channel's first endpoint and the queue the DMS gives it."""

    dbid: str
    access_point: str
    queue: str


def is_channel(section: str) -> bool:
    """Whether a DMS section is a channel, one whose interactions are routed."""
    return (
        section[: len(_PREFIX)].lower() == _PREFIX
        and len(section) > len(_PREFIX)
        and MONITOR_MARK not in section
    )


def channels(options: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The channel sections of a DMS's options (``options[section][key]``), sorted."""
    return sorted(s for s in options if is_channel(s))


def endpoint_queue(app: str, options: Mapping[str, Mapping[str, str]], channel: str) -> Endpoint:
    """The endpoint ``channel`` of DMS ``app`` (``options[section][key]``) routes to."""
    if not is_channel(channel):
        raise RouteError(
            f"{app} has no channel section {quote_prefix(channel)}: a channel section is "
            f"{_PREFIX}<name>, not a monitor section ({_PREFIX}<name>{MONITOR_MARK}<name>)"
        )
    section = options.get(channel)
    if section is None:
        raise RouteError(f"{app} has no channel section {quote_prefix(channel)}")
    route = section.get("inbound-route", "").split(",")[0].strip()
    dbid, _, access_point = route.partition(":")
    if not access_point:
        raise RouteError(f"{app} [{channel}] has no inbound-route (<tenant dbid>:<access point>)")
    queue = options.get(f"endpoints:{dbid}", {}).get(access_point)
    if queue is None:
        raise RouteError(
            f"{app} [{channel}] inbound-route {route!r}: no {access_point!r} in [endpoints:{dbid}]"
        )
    return Endpoint(dbid, access_point, queue)
