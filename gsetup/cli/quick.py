"""The common read commands, answered without typer, pydantic or the ORM.

Importing typer (and pydantic through it) and the ORM's mapped classes costs more than the
read itself, and more than SQLAlchemy's own import, which a read needs anyway. So the console
script first offers its arguments here: the exact forms below are parsed and answered through
the same bodies the typer commands use (:mod:`gsetup.cli.reads`); anything else, including
``-h``, a misspelt option or a repeated one, returns None and goes to typer, which then parses,
explains or refuses it as always.

    list          [--json]
    tenant list   [--json]
    object show   PATH [--json]
    app show      NAME [--tenant NAME] [--json]
    history       [--tenant NAME] [--limit N] [--changes] [--json]

each after the global options ``--db URL``, ``--user NAME`` and ``--debug``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from gsetup.cli import reads
from gsetup.cli.common import DEFAULT_TENANT, Globals, connect_as
from gsetup.fileio import not_utf8
from gsetup.numbers import whole_number

if TYPE_CHECKING:
    from gsetup.context import Context

_GLOBAL_VALUES = {"--db": "db", "--user": "user", "-u": "user"}
_VALUES = {"--tenant": "tenant", "-t": "tenant", "--limit": "limit", "-n": "limit"}
_FLAGS = {"--json": "json", "--changes": "changes"}


Values = dict[str, str]  # option and flag names -> values ("" for a flag)


@dataclass
class _Parsed:
    words: list[str] = field(default_factory=list)  # the command, then its arguments
    values: Values = field(default_factory=dict)


Reader = Callable[["Context", list[str], Values], None]


def _tenant(values: Values) -> str:
    return values.get("tenant", DEFAULT_TENANT)


# The commands answered here: words -> (positional arguments, options and flags it takes, how).
_COMMANDS: dict[tuple[str, ...], tuple[int, frozenset[str], Reader]] = {
    ("list",): (
        0,
        frozenset({"json"}),
        lambda c, a, v: reads.show_packages(c, as_json="json" in v),
    ),
    ("tenant", "list"): (
        0,
        frozenset({"json"}),
        lambda c, a, v: reads.show_tenants(c, as_json="json" in v),
    ),
    ("object", "show"): (
        1,
        frozenset({"json"}),
        lambda c, a, v: reads.show_object(c, a[0], as_json="json" in v),
    ),
    ("app", "show"): (
        1,
        frozenset({"json", "tenant"}),
        lambda c, a, v: reads.show_app(c, _tenant(v), a[0], as_json="json" in v),
    ),
    ("history",): (
        0,
        frozenset({"json", "tenant", "limit", "changes"}),
        lambda c, a, v: reads.show_history(
            c,
            v.get("tenant"),
            int(v.get("limit", "20")),  # checked by _positive
            changes="changes" in v,
            as_json="json" in v,
        ),
    ),
}


def answer(argv: list[str]) -> int | None:
    """Run ``argv`` if it is one of the forms above and return its exit status, else None."""
    from gsetup.cli.errors import guarded

    parsed = None if any(not_utf8(arg) for arg in argv) else _parse(argv)  # typer refuses it
    if parsed is None:
        return None
    found = _command(parsed)
    if found is None:
        return None
    run, debug = found
    return guarded(run, debug)


def _parse(argv: list[str]) -> _Parsed | None:
    """Words and named values; None for anything this parser does not know for sure."""
    parsed = _Parsed()
    tokens = iter(argv)
    for token in tokens:
        name, eq, inline = token.partition("=")
        options = _VALUES if parsed.words else _GLOBAL_VALUES  # global options come first
        flags = _FLAGS if parsed.words else {"--debug": "debug"}
        if name in options:
            value = inline if eq else next(tokens, None)
            if value is None or (not eq and value.startswith("-")):
                return None
            key = options[name]
        elif token in flags:
            key, value = flags[token], ""
        elif token.startswith("-"):
            return None
        else:
            parsed.words.append(token)
            continue
        if key in parsed.values:
            return None
        parsed.values[key] = value
    return parsed


def _command(parsed: _Parsed) -> tuple[Callable[[], int], bool] | None:
    """The function that answers ``parsed``, and whether --debug was given."""
    for words, (positional, allowed, reader) in _COMMANDS.items():
        arguments = parsed.words[len(words) :]
        if tuple(parsed.words[: len(words)]) != words or len(arguments) != positional:
            continue
        values = parsed.values
        limit = values.get("limit", "20")
        if not set(values) - {"db", "user", "debug"} <= allowed or not _positive(limit):
            return None
        g = Globals(values.get("db"), values.get("user"), "debug" in values)
        return partial(_run, reader, arguments, values, g), g.debug
    return None


def _positive(text: str) -> bool:
    number = whole_number(text, signed=False)
    return number is not None and number >= 1


def _run(reader: Reader, arguments: list[str], values: Values, g: Globals) -> int:
    reader(connect_as(g, writes=False), arguments, values)
    return 0
