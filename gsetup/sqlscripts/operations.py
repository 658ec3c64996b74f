"""The DDL operations a script performs, independent of any DBMS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gsetup.columns import CustomColumn
from gsetup.sqlscripts.catalog import Script

TABLE = "interactions"  # Interaction Server's table, as the guide's script names say

Action = Literal["drop_index", "drop_column", "add_column", "create_index"]


@dataclass(frozen=True)
class Operation:
    """One idempotent change to the interactions table: each idiom renders it with a guard."""

    action: Action
    column: CustomColumn

    @property
    def index_name(self) -> str:
        """The name of the index on the column (short enough for Oracle's 30 characters)."""
        return index_name(self.column)


def index_name(column: CustomColumn) -> str:
    """Name of the index gsetup puts on an indexed column."""
    return f"ix_itx_{column.name}"


def operations_for(script: Script) -> list[Operation]:
    """The operations of a script, in the order they must run.

    CleanUp drops an index before its column (SQLite and DB2 refuse to drop an indexed column);
    Alter adds every column before indexing it.
    """
    if script.kind == "cleanup":
        return [op for column in script.columns for op in _drop(column)]
    added = [Operation("add_column", column) for column in script.columns]
    indexed = [Operation("create_index", column) for column in script.columns if column.indexed]
    return added + indexed


def _drop(column: CustomColumn) -> list[Operation]:
    dropped = [Operation("drop_column", column)]
    return [Operation("drop_index", column), *dropped] if column.indexed else dropped
