"""A strategy's run-time error in the words of its files: Python's and jinja2's messages for
the common mistakes (``'a' + 1``, ``none < 1``, ``x | length`` of a number, ``udata.n + 1``
without ``n``) name values as YAML does (:func:`gsetup.fileio.kind_of_type_named`), never by
their Python types (``str``, ``NoneType``, ``dict object``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from jinja2.exceptions import UndefinedError

from gsetup.fileio import kind_of_type_named as kind
from gsetup.fileio import quote_prefix

_CONTAINERS = "text, a list or a mapping"


def _operands(op: str, left: str, right: str) -> str:
    op = {"** or pow()": "**"}.get(op, op)
    hint = " (`~` joins values as text)" if op == "+" and "str" in (left, right) else ""
    return f"cannot use '{op}' on {kind(left)} and {kind(right)}{hint}"


def _missing(owner: str, what: str, name: str) -> str:
    shown = "nothing (null)" if owner == "None" else kind(owner.removesuffix(" object"))
    if what == "element":
        return f"{shown} has no item {name}"
    return f"{shown} has no {'key' if shown == 'a mapping' else 'attribute'} {name}"


def _text(shown: str) -> str:
    """Text quoted whole in a Python message (its repr), quoted as gsetup's messages do: cut
    (a value from a message may be megabytes)."""
    import ast  # here: most runs park nothing, and a worker starts without it

    try:
        return quote_prefix(ast.literal_eval(shown))
    except (ValueError, SyntaxError):  # not a repr after all: shown as it is, cut alike
        return quote_prefix(shown)


_Reword = Callable[..., str]
_TYPE = r"'(\w+)'"
# Python 3.11's and jinja2's messages, matched whole; any other keeps its words. Patterns are
# compiled on first use (re caches them), not when the worker starts: most runs park nothing.
_REWORDS: tuple[tuple[type[Exception], str, _Reword], ...] = (
    (
        TypeError,
        r'can only concatenate (\w+) \(not "(\w+)"\) to \w+',
        lambda left, right: _operands("+", left, right),
    ),
    (TypeError, rf"unsupported operand type\(s\) for (.+): {_TYPE} and {_TYPE}", _operands),
    (TypeError, rf"'(.+)' not supported between instances of {_TYPE} and {_TYPE}", _operands),
    (
        TypeError,
        rf"bad operand type for unary (.): {_TYPE}",
        lambda op, operand: f"cannot use '{op}' on {kind(operand)}",
    ),
    (
        TypeError,
        rf"bad operand type for abs\(\): {_TYPE}",
        lambda operand: f"cannot use abs on {kind(operand)}",
    ),
    (
        TypeError,
        r"type (\w+) doesn't define __round__ method",
        lambda operand: f"cannot use round on {kind(operand)}",
    ),
    (
        TypeError,
        rf"can't multiply sequence by non-int of type {_TYPE}",
        lambda times: (
            f"cannot use '*' on text or a list and {kind(times)}: '*' repeats them a "
            "whole number of times"
        ),
    ),
    (
        TypeError,
        rf"argument of type {_TYPE} is not iterable",
        lambda other: f"cannot use 'in' on {kind(other)}: it looks in {_CONTAINERS}",
    ),
    (
        TypeError,
        rf"{_TYPE} object is not iterable",
        lambda value: f"{kind(value)} has no items ({_CONTAINERS} has)",
    ),
    (
        TypeError,
        rf"object of type {_TYPE} has no len\(\)",
        lambda value: f"{kind(value)} has no length ({_CONTAINERS} has)",
    ),
    (
        TypeError,
        rf"{_TYPE} object cannot be interpreted as an integer",
        lambda value: f"{kind(value)} is not a whole number",
    ),
    (
        TypeError,
        rf"(?:float|int)\(\) argument must be .*, not {_TYPE}",
        lambda value: f"a number is needed, not {kind(value)}",
    ),
    (
        ValueError,
        r"could not convert string to float: (.+)",
        lambda shown: f"{_text(shown)} is not a number",
    ),
    (ZeroDivisionError, r".*", lambda: "division by zero"),
    (OverflowError, r".*", lambda: "a number too large to compute"),
    (UndefinedError, r"'?(\w+ object|None)'? has no (attribute|element) (.+)", _missing),
)


def reworded(exc: Exception) -> str:
    """What ``exc`` says, reworded when it is one of the common Python or jinja2 messages."""
    message = str(exc)
    for kind_of_error, pattern, reword in _REWORDS:
        if isinstance(exc, kind_of_error):
            found = re.fullmatch(pattern, message)
            if found is not None:
                return reword(*found.groups())
    return message
