"""Bulk statements handed to the database driver directly.

SQLAlchemy builds bound parameters and result rows one Python object at a time; for the tens
of thousands of option rows an import reads and writes, that costs more than the database's
own work. These helpers compile a Core statement once for the connection's dialect and give
it to the driver's ``executemany`` or ``fetchall``. Values come back as the driver returns
them: no SQLAlchemy type processing (SQLite booleans are 0 and 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import ClauseElement
    from sqlalchemy.sql.compiler import Compiled


def insert_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` with one executemany."""
    from sqlalchemy import insert

    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(rows[0]))
    params: list[Any] = rows
    if compiled.positional:
        order = compiled.positiontup or []
        params = [tuple(row[key] for key in order) for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def fetch_rows(conn: Connection, query: ClauseElement) -> Sequence[tuple[Any, ...]]:
    """All rows of ``query`` as the driver's tuples, in the connection's transaction."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), _parameters(compiled))
        rows: Sequence[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    return rows


def _parameters(compiled: Compiled) -> Any:
    params = compiled.params
    if compiled.positional:  # type: ignore[attr-defined]
        return tuple(params[key] for key in compiled.positiontup or [])  # type: ignore[attr-defined]
    return params
