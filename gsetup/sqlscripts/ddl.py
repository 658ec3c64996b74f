"""SQL fragments compiled by SQLAlchemy's dialects: types, column specs and index statements.

The idioms wrap these fragments in each DBMS's guards, so type names and quoting always come
from the dialect and never from hand-written strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gsetup.columns import CustomColumn
from gsetup.sqlscripts.operations import TABLE, index_name

if TYPE_CHECKING:
    from sqlalchemy import Column, Index
    from sqlalchemy.engine import Dialect
    from sqlalchemy.types import TypeEngine


def sqlalchemy_dialect(dbms: str) -> Dialect:
    """The SQLAlchemy dialect that compiles DDL for ``dbms`` (no driver or connection needed)."""
    if dbms == "db2":
        # ibm-db-sa is only needed to generate the scripts (a test extra); the shipped scripts
        # are read from package data, so a runtime install does not pull IBM's driver.
        from ibm_db_sa.base import DB2Dialect  # type: ignore[import-untyped]

        dialect: Dialect = DB2Dialect()
        return dialect
    from sqlalchemy.dialects import mssql, oracle, postgresql, sqlite

    modules = {"mssql": mssql, "oracle": oracle, "postgresql": postgresql, "sqlite": sqlite}
    return modules[dbms].dialect()  # type: ignore[no-any-return]


def sqlalchemy_type(column: CustomColumn) -> TypeEngine[object]:
    """The portable SQLAlchemy type of a column; see docs/sql.md for why each was chosen."""
    from sqlalchemy import Integer, Numeric, String

    if column.type == "string":
        return String(column.length)  # type: ignore[return-value]
    if column.type == "integer":
        return Integer()  # type: ignore[return-value]
    return Numeric(18, 4)  # type: ignore[return-value]


def interactions_column(column: CustomColumn) -> Column[object]:
    """A nullable SQLAlchemy column, unquoted.

    Interaction Server writes its SQL with unquoted names, so Oracle and DB2 must store the
    names folded to upper case (and PostgreSQL to lower case); a quoted "facebookPostId" would
    be a different, case-sensitive name that Interaction Server never finds.
    """
    from sqlalchemy import Column

    return Column(column.name, sqlalchemy_type(column), nullable=True, quote=False)


@dataclass
class DdlFragments:
    """The DDL pieces of one DBMS, compiled by its SQLAlchemy dialect."""

    dialect: Dialect
    table: str = TABLE

    def column_spec(self, column: CustomColumn) -> str:
        """``name TYPE`` as the dialect writes a column definition."""
        from sqlalchemy.schema import CreateColumn

        statement = CreateColumn(self._bound(column))
        return str(statement.compile(dialect=self.dialect)).strip()

    def create_index(self, column: CustomColumn, *, if_not_exists: bool = False) -> str:
        """The dialect's CREATE INDEX statement for the column's index."""
        from sqlalchemy.schema import CreateIndex

        statement = CreateIndex(self._index(column), if_not_exists=if_not_exists)
        return str(statement.compile(dialect=self.dialect)).strip()

    def drop_index(self, column: CustomColumn, *, if_exists: bool = False) -> str:
        """The dialect's DROP INDEX statement (MS SQL names the table, others do not)."""
        from sqlalchemy.schema import DropIndex

        statement = DropIndex(self._index(column), if_exists=if_exists)
        return str(statement.compile(dialect=self.dialect)).strip()

    def _bound(self, column: CustomColumn) -> Column[object]:
        from sqlalchemy import MetaData, Table

        # Index and column DDL name the table, so the column must belong to one.
        sa_column = interactions_column(column)
        Table(self.table, MetaData(), sa_column, quote=False)
        return sa_column

    def _index(self, column: CustomColumn) -> Index:
        from sqlalchemy import Index

        return Index(index_name(column), self._bound(column), quote=False)


def fragments_for(dbms: str) -> DdlFragments:
    """DDL fragments for ``dbms``."""
    return DdlFragments(sqlalchemy_dialect(dbms))
