"""PostgreSQL: its native IF [NOT] EXISTS clauses make every statement safe to repeat."""

from __future__ import annotations

from gsetup.sqlscripts.ddl import DdlFragments
from gsetup.sqlscripts.idioms.base import Batch, Idiom, split_statements
from gsetup.sqlscripts.operations import Operation


def render(operations: list[Operation], ddl: DdlFragments) -> list[str]:
    """Render each operation as one self-guarding statement."""
    return [_statement(op, ddl) + ";" for op in operations]


def _statement(op: Operation, ddl: DdlFragments) -> str:
    if op.action == "add_column":
        return f"ALTER TABLE {ddl.table} ADD COLUMN IF NOT EXISTS {ddl.column_spec(op.column)}"
    if op.action == "drop_column":
        return f"ALTER TABLE {ddl.table} DROP COLUMN IF EXISTS {op.column.name}"
    if op.action == "create_index":
        return ddl.create_index(op.column, if_not_exists=True)
    return ddl.drop_index(op.column, if_exists=True)


def split(text: str) -> list[Batch]:
    """One batch per statement."""
    return split_statements(text)


IDIOM = Idiom(render, split)
