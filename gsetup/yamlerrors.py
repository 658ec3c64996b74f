"""Read a YAML document, every failure of the parser as one line: its own text spans several
(its context, the offending line and a caret), and every refusal of gsetup is one line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gsetup.errors import BadInputError

# YAML's recursive descent raises RecursionError on deep nesting: each loader says this.
TOO_DEEP = "nested too deeply to read (more than a few hundred levels)"


def read_yaml(load: Callable[[str], Any], text: str, source: str) -> Any:
    """``load(text)``, a parser's ``load``; a document it cannot read is a
    :class:`~gsetup.errors.BadInputError` naming ``source``. Its constructors raise Python's
    own errors for a value they cannot convert (a 31st of February, an integer of thousands
    of digits, ``!!bool maybe``), and its recursive descent RecursionError for deep nesting."""
    from ruamel.yaml.error import YAMLError

    try:
        return load(text)
    except YAMLError as exc:
        raise BadInputError(f"{source}: {_problem(exc, text)}") from None
    except RecursionError:
        raise BadInputError(f"{source}: {TOO_DEEP}") from None
    except (ValueError, KeyError) as exc:
        # Python's advice after ';' (sys.set_int_max_str_digits) is not the user's to follow.
        cause = str(exc).splitlines()[0].split(";")[0]
        raise BadInputError(f"{source}: a value YAML cannot convert: {cause}") from None


def _problem(exc: Exception, text: str) -> str:
    """``line L, column C: PROBLEM`` for the parser's ``exc`` on ``text``."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    first = str(exc).splitlines()[0]
    position = getattr(exc, "position", None)  # a reader error: a character YAML refuses
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        return f"line {line}: {first}"
    return f"not a valid YAML document: {first}"
