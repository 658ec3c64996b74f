"""Every MS SQL batch parses as T-SQL and every Oracle DDL statement as Oracle SQL (sqlglot)."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from gsetup.sqlscripts.catalog import GROUPS, Script, scripts_in_run_order
from gsetup.sqlscripts.generate import REPO_ROOT
from gsetup.sqlscripts.idioms import IDIOMS

SCRIPTS = scripts_in_run_order(list(GROUPS))
DDL = (exp.Alter, exp.Create, exp.Drop)


def _read(dbms: str, script: Script) -> str:
    return (REPO_ROOT / "sql" / dbms / script.name).read_text()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_mssql_batches_parse_as_tsql(script: Script) -> None:
    batches = IDIOMS["mssql"].split(_read("mssql", script))
    assert len(batches) == len(script.columns) + sum(c.indexed for c in script.columns)
    for batch in batches:
        tree = sqlglot.parse_one(batch.sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
        # A guard around one DDL statement; nothing sqlglot had to give up on (Command).
        assert isinstance(tree, exp.IfBlock), batch.sql
        assert not list(tree.find_all(exp.Command)), batch.sql
        guarded = tree.args["true"].expressions
        assert len(guarded) == 1 and isinstance(guarded[0], DDL), batch.sql
        condition = tree.this.sql("tsql")
        assert "COL_LENGTH" in condition or "sys.indexes" in condition


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_oracle_ddl_inside_plsql_parses_as_oracle(script: Script) -> None:
    blocks = IDIOMS["oracle"].split(_read("oracle", script))
    assert len(blocks) == len(script.columns) + sum(c.indexed for c in script.columns)
    for block in blocks:
        assert block.sql.startswith("DECLARE") and block.sql.endswith("END;")
        assert re.search(r"PRAGMA EXCEPTION_INIT\(\w+, -\d+\);", block.sql)
        statements = re.findall(r"EXECUTE IMMEDIATE '((?:[^']|'')*)';", block.sql)
        assert len(statements) == 1, block.sql
        ddl = statements[0].replace("''", "'")
        tree = sqlglot.parse_one(ddl, read="oracle", error_level=sqlglot.ErrorLevel.RAISE)
        assert isinstance(tree, DDL), ddl
        assert not list(tree.find_all(exp.Command)), ddl


def test_oracle_ignores_only_the_already_done_errors() -> None:
    alter = _read("oracle", SCRIPTS[3])  # AlterTableInteractionsForFacebook851.sql
    cleanup = _read("oracle", SCRIPTS[2])
    assert set(re.findall(r"EXCEPTION_INIT\(\w+, (-\d+)\)", alter)) == {"-1430", "-955", "-1408"}
    assert set(re.findall(r"EXCEPTION_INIT\(\w+, (-\d+)\)", cleanup)) == {"-1418", "-904"}
    assert "WHEN OTHERS" not in alter + cleanup


def test_mssql_index_batches_follow_the_column_batches() -> None:
    alter = IDIOMS["mssql"].split(_read("mssql", SCRIPTS[3]))
    cleanup = IDIOMS["mssql"].split(_read("mssql", SCRIPTS[2]))
    assert "CREATE INDEX ix_itx_facebookPostId" in alter[-1].sql
    assert "DROP INDEX ix_itx_facebookPostId ON interactions" in cleanup[0].sql
    assert "DROP COLUMN facebookPostId" in cleanup[1].sql


def test_sqlite_guards_are_parsed_from_comments() -> None:
    batches = IDIOMS["sqlite"].split(_read("sqlite", SCRIPTS[2]))
    assert [(b.guard.column, b.guard.must_exist) if b.guard else None for b in batches] == [
        None,  # DROP INDEX IF EXISTS guards itself
        ("facebookPostId", True),
        ("facebookInQueueAtTarget", True),
        ("facebookCommentId", True),
        ("facebookInBufferBeforeTarget", True),
    ]
    assert all(not b.sql.startswith("--") and not b.sql.endswith(";") for b in batches)
