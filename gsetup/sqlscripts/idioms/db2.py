"""IBM Db2: SQL PL compound statements that check SYSCAT before running the DDL.

DDL cannot be static inside SQL PL, so it runs through EXECUTE IMMEDIATE. Db2 puts a table in
"reorg pending" state after DROP COLUMN (and allows only a few such changes before a REORG), so
a REORG follows every dropped column and the added columns, when Db2 reports it pending. The
script uses ``@`` as the statement terminator because the blocks contain ``;``: run it with
``db2 -td@ -f <file>``.
"""

from __future__ import annotations

from gsetup.sqlscripts.ddl import DdlFragments
from gsetup.sqlscripts.idioms.base import Batch, Idiom, split_on_lines, sql_literal
from gsetup.sqlscripts.operations import Operation

TERMINATOR = "@"


def render(operations: list[Operation], ddl: DdlFragments) -> list[str]:
    """Render each operation as a guarded compound statement, with REORGs where Db2 needs one."""
    blocks: list[str] = []
    for position, op in enumerate(operations):
        blocks.append(_guarded(op, ddl))
        following = operations[position + 1 :]
        last_add = op.action == "add_column" and all(o.action != "add_column" for o in following)
        if op.action == "drop_column" or last_add:
            blocks.append(_reorg_if_pending(ddl))
    return blocks


def _guarded(op: Operation, ddl: DdlFragments) -> str:
    table = sql_literal(ddl.table.upper())
    column = (
        f"SELECT 1 FROM SYSCAT.COLUMNS WHERE TABSCHEMA = CURRENT SCHEMA"
        f" AND TABNAME = {table} AND COLNAME = {sql_literal(op.column.name.upper())}"
    )
    index = (
        f"SELECT 1 FROM SYSCAT.INDEXES WHERE INDSCHEMA = CURRENT SCHEMA"
        f" AND INDNAME = {sql_literal(op.index_name.upper())}"
    )
    if op.action == "add_column":
        return _compound(
            f"NOT EXISTS ({column})",
            f"ALTER TABLE {ddl.table} ADD COLUMN {ddl.column_spec(op.column)}",
        )
    if op.action == "drop_column":
        return _compound(
            f"EXISTS ({column})", f"ALTER TABLE {ddl.table} DROP COLUMN {op.column.name}"
        )
    if op.action == "create_index":
        return _compound(f"NOT EXISTS ({index})", ddl.create_index(op.column))
    return _compound(f"EXISTS ({index})", ddl.drop_index(op.column))


def _compound(condition: str, statement: str) -> str:
    return "\n".join(
        [
            "BEGIN",
            f"    IF {condition} THEN",
            f"        EXECUTE IMMEDIATE {sql_literal(statement)};",
            "    END IF;",
            f"END{TERMINATOR}",
        ]
    )


def _reorg_if_pending(ddl: DdlFragments) -> str:
    # ADMIN_CMD runs the CLP's REORG from SQL, so the script also works outside the db2 CLP.
    table = sql_literal(ddl.table.upper())
    return "\n".join(
        [
            "BEGIN",
            "    DECLARE reorg_command VARCHAR(300);",
            "    IF EXISTS (SELECT 1 FROM SYSIBMADM.ADMINTABINFO WHERE TABSCHEMA = CURRENT SCHEMA",
            f"               AND TABNAME = {table} AND REORG_PENDING = 'Y') THEN",
            "        SET reorg_command = 'REORG TABLE \"' || CURRENT SCHEMA || "
            f"'\".{ddl.table.upper()}';",
            "        CALL SYSPROC.ADMIN_CMD(reorg_command);",
            "    END IF;",
            f"END{TERMINATOR}",
        ]
    )


def split(text: str) -> list[Batch]:
    """Split at lines ending in the ``@`` terminator, which stays out of the batch."""
    return split_on_lines(
        text,
        lambda line: line.rstrip().endswith(TERMINATOR),
        lambda line: line.rstrip()[: -len(TERMINATOR)],
    )


IDIOM = Idiom(render, split, preamble=f"--#SET TERMINATOR {TERMINATOR}")
