"""Each DBMS's idiom for guarded, repeatable DDL, keyed by gsetup's DBMS name."""

from __future__ import annotations

from gsetup.sqlscripts.idioms import db2, mssql, oracle, postgresql, sqlite
from gsetup.sqlscripts.idioms.base import Batch, Guard, Idiom

IDIOMS: dict[str, Idiom] = {
    "mssql": mssql.IDIOM,
    "oracle": oracle.IDIOM,
    "db2": db2.IDIOM,
    "postgresql": postgresql.IDIOM,
    "sqlite": sqlite.IDIOM,
}

__all__ = ["IDIOMS", "Batch", "Guard", "Idiom"]
