"""The DMS channel options of each Cloud API driver: types, defaults, ranges, secrets.

Sources: the solution guide ("Installing Social Engagement 8.5.x or 9.0.x", "Configure
connections", "Deploying Facebook Private Messaging", Twitter BP - Threaded Routing
"Deploying", "Enable compliance with Twitter") and reference/genesys-facts.md.

A driver's channel lives in a DMS option section ``channel-<driver>`` or, for an additional
channel, ``channel-<driver>-<name>``; Facebook private messaging adds monitor sections
``channel-<...>-monitor-<name>``. Options gsetup has no spec for are accepted as free text:
DMS has more options than the guide describes (x-inbound-media, ucs-request-timeout...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.numbers import whole_number
from gsetup.wording import a_or_an

Driver = Literal["facebook", "twitter"]
DRIVERS: tuple[Driver, ...] = ("facebook", "twitter")
ValueKind = Literal["int", "bool", "text", "route"]

# The guide does not print driver-classname: "the class name is provided in the cfg file in
# the driver's installation directory". These follow the package of Genesys's DMS driver SDK
# (com.genesyslab.mcr.smserver.channel, as in the published DMS sample driver); a real
# driver package brings its own options file, whose value wins.
DRIVER_CLASSNAMES: dict[Driver, str] = {
    "facebook": "com.genesyslab.mcr.smserver.channel.facebook.FacebookDriver",
    "twitter": "com.genesyslab.mcr.smserver.channel.twitter.TwitterDriver",
}

# The access point (a key of DMS's [endpoints:<tenant dbid>] section) each driver's
# inbound-route names by default, as in the guide's "twitter_queue" and the facts' example.
ACCESS_POINTS: dict[Driver, str] = {"facebook": "facebook_queue", "twitter": "twitter_queue"}


@dataclass(frozen=True)
class OptionSpec:
    """One option: its value kind, default (None: DMS has none), range and effect."""

    key: str
    kind: ValueKind
    default: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    secret: bool = False
    after_restart: bool = True  # False: DMS applies a change immediately
    help: str = ""
    endpoints: int = 1  # "route" values: how many comma-separated endpoints are allowed


def _hub(key: str, help: str, *, default: str | None = "", secret: bool = False) -> OptionSpec:
    return OptionSpec(key, "text", default, secret=secret, help=help)


# The guide's Threaded Routing steps print "No results" where the option name belongs; its
# processing overview and the facts name it grouping-timeout. The runtime groups by it.
GROUPING_TIMEOUT = OptionSpec(
    "grouping-timeout",
    "int",
    minimum=10,
    maximum=3600,
    help="seconds within which tweets are grouped (Threaded Routing); absent: no grouping",
)

# Hub connection: guide, "7. Configure connections". Shipped empty, filled per deployment.
_HUB_OPTIONS = (
    _hub("gsa-account-name", "Company/Organization name of the Hub account"),
    _hub("gsa-api-key", "API key of the Hub account", secret=True),
    _hub("gsa-channel-id", "Channel ID of the Hub service channel"),
    _hub("gsa-channel-name", "exact name of the Hub service channel"),
    _hub(
        "gsa-url-base",
        "Hub API base URL",
        default="socialanalytics.genesyscloud.com/api/v2.0",
    ),
    _hub("gsa-user-name", "e-mail address of the Hub admin user"),
    _hub("password", "password of the Hub admin user", secret=True),
)

_COMMON_OPTIONS = (
    OptionSpec("driver-classname", "text", help="Java class of the driver"),
    OptionSpec(
        "reconnection-timeout",
        "int",
        "180",
        minimum=10,
        help="seconds between reconnection attempts",
    ),
    OptionSpec("ucs-in-use", "bool", "false", help="the driver uses Universal Contact Server"),
    *_HUB_OPTIONS,
)

CHANNEL_OPTIONS: dict[Driver, dict[str, OptionSpec]] = {
    "facebook": {
        spec.key: spec
        for spec in (
            *_COMMON_OPTIONS,
            # The second endpoint, after a comma, is the access point for session mode: the
            # one the driver gives to Chat Server.
            OptionSpec(
                "inbound-route",
                "route",
                endpoints=2,
                help="<tenant dbid>:<access point>[,<tenant dbid>:<access point for sessions>]",
            ),
            OptionSpec(
                "x-submit-comments-itx",
                "bool",
                "false",
                help="one interaction per comment; true needs Facebook BP - Single Comment "
                "Routing, Facebook BP needs false",
            ),
            OptionSpec(
                "skip-private",
                "bool",
                help="false includes private messages (Facebook private messaging)",
            ),
        )
    },
    "twitter": {
        spec.key: spec
        for spec in (
            *_COMMON_OPTIONS,
            OptionSpec("inbound-route", "route", help="<tenant dbid>:<access point>"),
            OptionSpec(
                "compliance-enabled",
                "bool",
                "true",
                after_restart=False,
                help="process Twitter's tweet-delete compliance events (driver 9.0.012.09+)",
            ),
            GROUPING_TIMEOUT,
        )
    },
}

# Facebook private messaging: channel-<...>-monitor-<name> sections (genesys-facts.md).
MONITOR_OPTIONS: dict[Driver, dict[str, OptionSpec]] = {
    "facebook": {
        spec.key: spec
        for spec in (
            OptionSpec("access-token", "text", secret=True, help="page access token"),
            OptionSpec("history-time-period", "text", help="history period fetched"),
            OptionSpec("id", "text", help="id of the monitored page"),
            OptionSpec(
                "inbound-media",
                "text",
                "facebooksession",
                help="media type of the interactions; written to user data _umsMediaType",
            ),
        )
    },
    "twitter": {},
}

# Not a DMS option: a field of the Hub service channel ("RPC cache timeout", guide steps 3 and
# 5 of Cloud Integration). The guide names no option for it; the wizard shows it in the Hub
# checklist.
RPC_CACHE_TIMEOUT = OptionSpec(
    "RPC cache timeout",
    "int",
    "90",
    minimum=0,
    maximum=3600,
    after_restart=False,
    help="seconds Hub refuses to forward a repeated agent message; 0 disables",
)

_CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*")
MONITOR_MARK = "-monitor-"  # between a channel section and its monitor's name


@dataclass(frozen=True)
class ChannelSection:
    """A parsed channel section name: its driver, channel name and monitor name, if any."""

    driver: Driver
    name: str | None = None
    monitor: str | None = None


def channel_section(driver: Driver, name: str | None = None) -> str:
    """The DMS section of a channel: ``channel-<driver>`` or ``channel-<driver>-<name>``."""
    _check_driver(driver)
    if name is None:
        return f"channel-{driver}"
    check_channel_name(name)
    return f"channel-{driver}-{name}"


def check_channel_name(name: str) -> None:
    """Refuse an additional channel's name that DMS section names cannot carry unambiguously."""
    if not _CHANNEL_NAME.fullmatch(name) or f"-{name}-".find(MONITOR_MARK) >= 0:
        raise BadInputError(
            f"channel name {name!r} is not allowed: use letters, digits, '_', '.' and single "
            "'-' between them (the section becomes channel-<driver>-<name>); 'monitor' may "
            "not be a part of it, it marks monitor sections"
        )


def parse_channel_section(section: str) -> ChannelSection | None:
    """Recognise a driver's channel or monitor section; None for any other section.

    The prefix is matched without regard to case: the guide itself writes
    ``channel-Twitter-*any-name*``.
    """
    channel, _, monitor = section.partition(MONITOR_MARK)
    for driver in DRIVERS:
        prefix = f"channel-{driver}"
        if channel.lower() == prefix:
            name = None
        elif channel.lower().startswith(prefix + "-"):
            name = channel[len(prefix) + 1 :]
            if not _CHANNEL_NAME.fullmatch(name):
                return None
        else:
            continue
        if MONITOR_MARK in section and not _CHANNEL_NAME.fullmatch(monitor):
            return None
        return ChannelSection(driver, name, monitor if MONITOR_MARK in section else None)
    return None


def spec_for(driver: Driver, section: str, key: str) -> OptionSpec | None:
    """The spec of ``key`` in a channel or monitor section of ``driver``; None if unknown.

    Raises BadInputError if ``section`` is not a section of that driver.
    """
    _check_driver(driver)
    parsed = parse_channel_section(section)
    if parsed is None or parsed.driver != driver:
        raise BadInputError(
            f"[{section}] is not {a_or_an(driver)} channel section: expected channel-{driver}, "
            f"channel-{driver}-<name> or channel-{driver}[-<name>]-monitor-<name>"
        )
    table = MONITOR_OPTIONS if parsed.monitor is not None else CHANNEL_OPTIONS
    spec = table[driver].get(key)
    if spec is None and parsed.monitor is None:
        _refuse_other_drivers(driver, section, key)
    return spec


def _refuse_other_drivers(driver: Driver, section: str, key: str) -> None:
    """A channel option that belongs to another driver (x-submit-comments-itx is Facebook's)
    does nothing on this driver's channel but mislead whoever reads the section."""
    owners = [d for d in DRIVERS if d != driver and key in CHANNEL_OPTIONS[d]]
    if owners:
        raise BadInputError(
            f"[{section}] {key} is an option of the {owners[0]} driver's channels; a "
            f"{driver} channel does not read it"
        )


def validate_option(
    driver: Driver, section: str, key: str, value: str, *, echo: bool = True
) -> str:
    """Check a channel option's value against its spec; return it in canonical form.

    Integers lose surrounding blanks and leading zeros, booleans become ``true``/``false``;
    keys without a spec are returned unchanged. Raises BadInputError naming the section, the key
    and what is allowed, and the value unless ``echo`` is false (it may be a secret).
    """
    spec = spec_for(driver, section, key)
    if spec is None:
        return value
    return validate_value(spec, value, where=f"[{section}] {key}", echo=echo)


def validate_value(spec: OptionSpec, value: str, *, where: str, echo: bool = True) -> str:
    """Check ``value`` against ``spec``; ``where`` names it in the error message, which shows
    the value only when ``echo``."""
    shown = quote_prefix(value) if echo else "the value"
    if spec.kind == "int":
        return _check_int(spec, value, f"{where}: {shown}")
    if spec.kind == "bool":
        if value.strip().lower() not in ("true", "false"):
            raise BadInputError(f"{where}: {shown} is not allowed; use true or false")
        return value.strip().lower()
    if spec.kind == "route":
        return _check_route(spec, value, f"{where}: {shown}")
    return value


def _check_int(spec: OptionSpec, value: str, what: str) -> str:
    low, high = spec.minimum, spec.maximum
    # A sign only where the range has negative numbers: the command line's rule (+180 was 180).
    number = whole_number(value.strip(), signed=low is None or low < 0)
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            allowed = f"a whole number from {low} to {high}"
        elif low is not None:
            allowed = f"a whole number of at least {low}"
        else:
            allowed = "a whole number"
        raise BadInputError(f"{what} is not allowed; use {allowed}")
    return str(number)


def _check_route(spec: OptionSpec, value: str, what: str) -> str:
    endpoints = value.split(",")
    valid = len(endpoints) <= spec.endpoints and all(
        re.fullmatch(r"[0-9]+:[^\s:,]+", endpoint) for endpoint in endpoints
    )
    if not valid:
        allowed = "<tenant dbid>:<access point> such as 101:facebook_queue"
        if spec.endpoints > 1:
            allowed += f", up to {spec.endpoints} separated by commas"
        raise BadInputError(f"{what} is not allowed; use {allowed}")
    return value


def secret_keys(driver: Driver) -> frozenset[str]:
    """Keys whose values are secrets in any section of ``driver`` (masked, never echoed)."""
    _check_driver(driver)
    tables = (CHANNEL_OPTIONS[driver], MONITOR_OPTIONS[driver])
    return frozenset(key for table in tables for key, spec in table.items() if spec.secret)


def _check_driver(driver: str) -> None:
    if driver not in DRIVERS:
        raise BadInputError(
            f"unknown driver {quote_prefix(driver)}; use one of: {', '.join(DRIVERS)}"
        )
