"""Numbers users type (HTTP query parameters, command-line values, option files): plain ASCII
decimal only, as the docs describe them. Python's ``int()`` and ``float()`` also take
underscores (``1_0`` is 10), surrounding spaces, other scripts' digits (Arabic-Indic five), ``nan``,
``inf`` and exponents; ``str.isdigit()`` also takes ``²``, which ``int()`` then refuses."""

from __future__ import annotations

import re

# At most 18 digits either side of the point: every range the product has fits, and int()
# of a huge text would be refused.
_SIGN = {True: "[+-]?", False: ""}  # keyed by whether a sign is allowed
_WHOLE = {s: re.compile(rf"{sign}[0-9]{{1,18}}") for s, sign in _SIGN.items()}
_DECIMAL = {s: re.compile(rf"{sign}[0-9]{{1,18}}(?:\.[0-9]{{1,18}})?") for s, sign in _SIGN.items()}


def whole_number(text: str, *, signed: bool = True) -> int | None:
    """``text`` as an int when it is ASCII digits with an optional sign (none unless
    ``signed``); None otherwise."""
    return int(text) if _WHOLE[signed].fullmatch(text) else None


def decimal_number(text: str, *, signed: bool = True) -> float | None:
    """``text`` as a float when it is ASCII digits with an optional sign (none unless
    ``signed``) and fraction (``30``, ``2.5``); None otherwise."""
    return float(text) if _DECIMAL[signed].fullmatch(text) else None
