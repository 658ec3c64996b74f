"""Identifiers: time-ordered (so ids sort by creation), unique across workers and hosts."""

from __future__ import annotations

import itertools
import secrets

_sequence = itertools.count()


def new_id(now: float) -> str:
    """12 hex digits of milliseconds, 6 of a per-process sequence (ids made within one
    millisecond by one process sort in the order they were made), 6 random ones."""
    return f"{int(now * 1000):012x}{next(_sequence) % 0x1000000:06x}{secrets.token_hex(3)}"
