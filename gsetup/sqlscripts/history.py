"""The history table in the Interaction Server database: which script ran, with which checksum."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

HISTORY_TABLE = "gsetup_sql_history"


def history_table() -> Table:
    """The SQLAlchemy definition of the history table (one row per script name)."""
    from sqlalchemy import Column, DateTime, MetaData, String, Table

    return Table(
        HISTORY_TABLE,
        MetaData(),
        Column("script", String(128), primary_key=True),  # the guide's file name
        Column("script_group", String(16), nullable=False),
        Column("dbms", String(16), nullable=False),
        Column("checksum", String(64), nullable=False),  # sha256 of the script text run
        Column("applied_at", DateTime(timezone=True), nullable=False),
        Column("gsetup_version", String(32), nullable=False),
    )


def read_history(connection: Connection) -> dict[str, str]:
    """Recorded script names and their checksums; empty when the table does not exist yet."""
    from sqlalchemy import inspect, select

    if not inspect(connection).has_table(HISTORY_TABLE):
        return {}
    table = history_table()
    rows = connection.execute(select(table.c.script, table.c.checksum))
    return {script: checksum for script, checksum in rows}


def record_applied(
    connection: Connection, *, script: str, group: str, dbms: str, checksum: str
) -> None:
    """Record (or re-record, after a rerun) that ``script`` ran with ``checksum``."""
    from sqlalchemy import delete, insert

    from gsetup.sqlscripts.version import gsetup_version

    table = history_table()
    table.create(connection, checkfirst=True)
    connection.execute(delete(table).where(table.c.script == script))
    connection.execute(
        insert(table).values(
            script=script,
            script_group=group,
            dbms=dbms,
            checksum=checksum,
            applied_at=datetime.now(UTC),
            gsetup_version=gsetup_version(),
        )
    )
