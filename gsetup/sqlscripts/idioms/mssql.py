"""Microsoft SQL Server: COL_LENGTH / sys.indexes guards, one GO batch per change.

Each change is its own batch because T-SQL compiles a whole batch before running it: a
CREATE INDEX on a column added earlier in the same batch would fail to compile.
"""

from __future__ import annotations

from gsetup.sqlscripts.ddl import DdlFragments
from gsetup.sqlscripts.idioms.base import Batch, Idiom, split_on_lines, sql_literal
from gsetup.sqlscripts.operations import Operation


def render(operations: list[Operation], ddl: DdlFragments) -> list[str]:
    """Render each operation as a guarded T-SQL batch ending in GO."""
    return [_render_one(op, ddl) + "\nGO" for op in operations]


def _render_one(op: Operation, ddl: DdlFragments) -> str:
    col_length = f"COL_LENGTH({sql_literal(ddl.table)}, {sql_literal(op.column.name)})"
    index_exists = (
        f"EXISTS (SELECT 1 FROM sys.indexes WHERE name = {sql_literal(op.index_name)}"
        f" AND object_id = OBJECT_ID({sql_literal(ddl.table)}))"
    )
    if op.action == "add_column":
        return (
            f"IF {col_length} IS NULL\n"
            f"    ALTER TABLE {ddl.table} ADD {ddl.column_spec(op.column)};"
        )
    if op.action == "drop_column":
        return (
            f"IF {col_length} IS NOT NULL\n"
            f"    ALTER TABLE {ddl.table} DROP COLUMN {op.column.name};"
        )
    if op.action == "create_index":
        return f"IF NOT {index_exists}\n    {ddl.create_index(op.column)};"
    return f"IF {index_exists}\n    {ddl.drop_index(op.column)};"


def split(text: str) -> list[Batch]:
    """Split at ``GO`` lines, as sqlcmd and SSMS do."""
    return split_on_lines(text, lambda line: line.strip().upper() == "GO")


IDIOM = Idiom(render, split)
