"""Oracle: PL/SQL blocks that run the DDL and ignore only the "already done" errors.

Oracle has no IF NOT EXISTS for columns; catching the specific ORA- error of an existing (or
missing) column or index is its usual idiom, and any other error still stops the script.
"""

from __future__ import annotations

from gsetup.sqlscripts.ddl import DdlFragments
from gsetup.sqlscripts.idioms.base import Batch, Idiom, split_on_lines, sql_literal
from gsetup.sqlscripts.operations import Action, Operation

# The errors that mean "this change is already in place", per operation.
_IGNORED: dict[Action, tuple[tuple[str, int, str], ...]] = {
    "add_column": (("column_exists", -1430, "column being added already exists"),),
    "drop_column": (("no_such_column", -904, "invalid identifier: the column is gone"),),
    "create_index": (
        ("name_in_use", -955, "name is already used by an existing object"),
        ("already_indexed", -1408, "such column list already indexed"),
    ),
    "drop_index": (("no_such_index", -1418, "specified index does not exist"),),
}


def render(operations: list[Operation], ddl: DdlFragments) -> list[str]:
    """Render each operation as an anonymous PL/SQL block ending in a ``/`` line."""
    return [_block(_statement(op, ddl), _IGNORED[op.action]) for op in operations]


def _statement(op: Operation, ddl: DdlFragments) -> str:
    if op.action == "add_column":
        return f"ALTER TABLE {ddl.table} ADD ({ddl.column_spec(op.column)})"
    if op.action == "drop_column":
        return f"ALTER TABLE {ddl.table} DROP COLUMN {op.column.name}"
    if op.action == "create_index":
        return ddl.create_index(op.column)
    return ddl.drop_index(op.column)


def _block(statement: str, ignored: tuple[tuple[str, int, str], ...]) -> str:
    declare = [
        f"    {name} EXCEPTION;\n    PRAGMA EXCEPTION_INIT({name}, {code});"
        for name, code, _ in ignored
    ]
    handlers = [
        f"    WHEN {name} THEN NULL;  -- ORA{code:06d}: {why}" for name, code, why in ignored
    ]
    return "\n".join(
        [
            "DECLARE",
            *declare,
            "BEGIN",
            f"    EXECUTE IMMEDIATE {sql_literal(statement)};",
            "EXCEPTION",
            *handlers,
            "END;",
            "/",
        ]
    )


def split(text: str) -> list[Batch]:
    """Split at ``/`` lines, as SQL*Plus and SQLcl do."""
    return split_on_lines(text, lambda line: line.strip() == "/")


IDIOM = Idiom(render, split)
