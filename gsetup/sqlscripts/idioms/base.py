"""What every dialect idiom provides: rendering operations, and splitting a script to run it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gsetup.sqlscripts.ddl import DdlFragments
from gsetup.sqlscripts.operations import Operation


@dataclass(frozen=True)
class Guard:
    """A condition apply checks before a batch, for DBMSes whose SQL cannot test it (SQLite)."""

    column: str
    must_exist: bool


@dataclass(frozen=True)
class Batch:
    """One unit the DBMS executes at a time: a GO batch, a PL/SQL block, a statement."""

    sql: str
    guard: Guard | None = None


@dataclass(frozen=True)
class Idiom:
    """How one DBMS writes guarded DDL and how its scripts split into batches."""

    render: Callable[[list[Operation], DdlFragments], list[str]]  # blocks, terminators included
    split: Callable[[str], list[Batch]]
    preamble: str = ""  # lines the script needs before its first block (DB2's terminator)


def sql_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def is_comment_or_blank(line: str) -> bool:
    """Whether a script line holds no SQL."""
    stripped = line.strip()
    return not stripped or stripped.startswith("--")


def split_on_lines(
    text: str,
    is_separator: Callable[[str], bool],
    keep_separator: Callable[[str], str] | None = None,
) -> list[Batch]:
    """Split a script at separator lines; comment-only chunks are dropped.

    ``keep_separator`` returns the part of a separator line that belongs to the batch (DB2's
    ``END@`` keeps ``END``); without it the separator line is dropped (``GO``, ``/``).
    """
    batches: list[Batch] = []
    current: list[str] = []
    for line in text.splitlines():
        if is_separator(line):
            if keep_separator is not None:
                current.append(keep_separator(line))
            _flush(current, batches)
            current = []
        else:
            current.append(line)
    _flush(current, batches)
    return batches


def _flush(lines: list[str], batches: list[Batch]) -> None:
    code = [line for line in lines if not is_comment_or_blank(line)]
    if code:
        batches.append(Batch("\n".join(code).strip()))


def split_statements(text: str, *, keep_comments: bool = False) -> list[Batch]:
    """Split at lines ending in ``;`` (the generated scripts never put two statements on a line).

    The terminating ``;`` is dropped; ``keep_comments`` keeps comment lines inside each batch
    for idioms that read annotations from them.
    """
    batches: list[Batch] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("--") and not keep_comments:
            continue
        current.append(line)
        if not line.lstrip().startswith("--") and line.rstrip().endswith(";"):
            current[-1] = line.rstrip()[:-1]
            batches.append(Batch("\n".join(current).strip()))
            current = []
    if any(not is_comment_or_blank(line) for line in current):
        batches.append(Batch("\n".join(current).strip()))
    return batches
