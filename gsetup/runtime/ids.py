"""Identifiers: time-ordered (so ids sort by creation), unique across workers and hosts."""

from __future__ import annotations

import secrets


def new_id(now: float) -> str:
    """12 hex digits of milliseconds, then 12 random hex digits."""
    return f"{int(now * 1000):012x}{secrets.token_hex(6)}"
