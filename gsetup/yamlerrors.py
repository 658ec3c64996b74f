"""A YAML parser error as one line: the parser's own text spans several (its context, the
offending line and a caret), and every refusal of gsetup is one line."""

from __future__ import annotations


def yaml_problem(exc: Exception, text: str) -> str:
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
