"""SQLite: native IF [NOT] EXISTS for indexes; column guards that ``gsetup sql apply`` checks.

SQLite has neither ADD/DROP COLUMN IF [NOT] EXISTS nor a procedural language to test for a
column, so each column statement carries a ``-- gsetup-guard:`` comment that apply evaluates
(against PRAGMA table_info through SQLAlchemy) before running it. DROP COLUMN needs SQLite 3.35
or later and an unindexed column, which is why CleanUp drops the index first.
"""

from __future__ import annotations

import re

from gsetup.sqlscripts.ddl import DdlFragments
from gsetup.sqlscripts.idioms.base import Batch, Guard, Idiom, split_statements
from gsetup.sqlscripts.operations import Operation

_GUARD = re.compile(r"^-- gsetup-guard: run only if column (\w+) (is missing|exists)$")


def render(operations: list[Operation], ddl: DdlFragments) -> list[str]:
    """Render each operation as a statement, column statements preceded by their guard."""
    return [_render_one(op, ddl) for op in operations]


def _render_one(op: Operation, ddl: DdlFragments) -> str:
    name = op.column.name
    if op.action == "add_column":
        return (
            f"-- gsetup-guard: run only if column {name} is missing\n"
            f"ALTER TABLE {ddl.table} ADD COLUMN {ddl.column_spec(op.column)};"
        )
    if op.action == "drop_column":
        return (
            f"-- gsetup-guard: run only if column {name} exists\n"
            f"ALTER TABLE {ddl.table} DROP COLUMN {name};"
        )
    if op.action == "create_index":
        return ddl.create_index(op.column, if_not_exists=True) + ";"
    return ddl.drop_index(op.column, if_exists=True) + ";"


def split(text: str) -> list[Batch]:
    """One batch per statement, with the guard of the comment line just before it."""
    batches: list[Batch] = []
    guard: Guard | None = None
    for batch in split_statements(text, keep_comments=True):
        code: list[str] = []
        for line in batch.sql.splitlines():
            match = _GUARD.match(line.strip())
            if match:
                guard = Guard(match.group(1), match.group(2) == "exists")
            elif not line.strip().startswith("--"):
                code.append(line)
        batches.append(Batch("\n".join(code).strip(), guard))
        guard = None
    return batches


IDIOM = Idiom(render, split)
