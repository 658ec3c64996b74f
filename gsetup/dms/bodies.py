"""The request bodies the stand-in accepts, checked: one clear message per bad body."""

from __future__ import annotations

from typing import Any

from gsetup.drivers.specs import parse_channel_section
from gsetup.fileio import quote_prefix

MAX_BODY = 1024 * 1024  # bytes: the routing runtime's intake takes no larger submission
INTERACTION_KEYS = ("media_type", "channel", "text", "external_id", "attached_data")
# The routing runtime's outbound request (docs/runtime.md, "Outbound requests")
OUTBOUND_KEYS = ("key", "tenant", "interaction_id", "channel", "method", "args")


def check_interaction(body: Any) -> dict[str, Any]:
    """An inbound interaction; ``media_type`` defaults to the channel's driver (the channel
    itself when it is no driver's channel section), text to ""."""
    checked = _check(body, INTERACTION_KEYS, ("channel", "external_id"))
    # As the driver attaches it: the section's name (channel-facebook) is no media type.
    section = parse_channel_section(checked["channel"])
    driver = section.driver if section is not None and section.monitor is None else None
    checked.setdefault("media_type", driver or checked["channel"])
    checked.setdefault("text", "")
    checked.setdefault("attached_data", {})
    return checked


def check_outbound(body: Any) -> dict[str, Any]:
    """An outbound request of the routing runtime: a DMS method and its arguments."""
    checked = _check(body, OUTBOUND_KEYS, ("key", "channel", "method"), objects=("args",))
    checked.setdefault("args", {})
    return checked


def check_switchover(body: Any) -> dict[str, Any]:
    """A switchover request: an empty body or ``{}`` (nothing to choose: the peer takes over)."""
    return _check(body, (), (), objects=())


def check_promote(body: Any, peer: str | None) -> dict[str, Any]:
    """A promote request: ``{"from": PEER}``, the member asking, which must be the peer."""
    checked = _check(body, ("from",), ("from",), objects=())
    if checked["from"] != peer:
        shown = quote_prefix(checked["from"])
        raise ValueError(f"from: {shown} is not this member's peer ({peer})")
    return checked


def _check(
    body: Any,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    objects: tuple[str, ...] = ("attached_data",),
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        raise ValueError(
            f"unknown key {quote_prefix(unknown[0])}; allowed: {', '.join(allowed) or 'none'}"
        )
    for key in required:
        if not isinstance(body.get(key), str) or not body[key]:
            raise ValueError(f"{key}: required, a non-empty string")
    for key in allowed:
        if key in body and key not in objects and not isinstance(body[key], str):
            raise ValueError(f"{key}: must be a string")
    for key in objects:
        if not isinstance(body.get(key, {}), dict):
            raise ValueError(f"{key}: must be a JSON object")
    return dict(body)
