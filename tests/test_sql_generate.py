"""The checked-in scripts are what the generator makes now, and the DB2 idiom is complete."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gsetup.columns import SCRIPT_PAIRS, ScriptPair
from gsetup.sqlscripts.catalog import DBMSES, GROUPS, scripts_in_run_order
from gsetup.sqlscripts.generate import (
    PACKAGE_DIR,
    REPO_ROOT,
    drifted,
    expected_files,
    main,
    write_all,
)
from gsetup.sqlscripts.idioms import IDIOMS
from gsetup.sqlscripts.render import render_script

GUIDE_NAMES = {
    "CleanUpTableInteractionsForIWDIntegration851.sql",
    "AlterTableInteractionsForIWDIntegration851.sql",
    "CleanUpTableInteractionsForFacebook851.sql",
    "AlterTableInteractionsForFacebook851.sql",
    "CleanUpTableInteractionsForTwitter854.sql",
    "AlterTableInteractionsForTwitter854.sql",
}


def test_checked_in_scripts_match_the_generator() -> None:
    assert drifted() == []
    for dbms in ("mssql", "oracle", "db2", "postgresql", "sqlite"):
        assert {p.name for p in (REPO_ROOT / "sql" / dbms).iterdir()} == GUIDE_NAMES


def test_package_data_is_the_sql_dir() -> None:
    assert (PACKAGE_DIR / "data").is_symlink()
    assert (PACKAGE_DIR / "data").resolve() == (REPO_ROOT / "sql").resolve()
    for dbms in DBMSES:
        for name in GUIDE_NAMES:
            assert (PACKAGE_DIR / "data" / dbms.name / name).is_file()


def test_drift_check_fails_when_a_checked_in_script_is_edited(tmp_path: Path) -> None:
    write_all(tmp_path)
    assert drifted(tmp_path) == []
    edited = tmp_path / "sql" / "mssql" / "AlterTableInteractionsForFacebook851.sql"
    edited.write_text(edited.read_text().replace("VARCHAR(128)", "VARCHAR(64)"))
    removed = tmp_path / "sql" / "oracle" / "CleanUpTableInteractionsForTwitter854.sql"
    removed.unlink()
    assert sorted(drifted(tmp_path)) == sorted([edited, removed])


def test_generator_check_mode_reports_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "sql", copy / "sql")
    (copy / "sql" / "db2" / "AlterTableInteractionsForTwitter854.sql").write_text("-- edited\n")
    # drifted() takes its defaults at definition time, so main is checked through them too.
    monkeypatch.setattr("gsetup.sqlscripts.generate.drifted", lambda: drifted(copy))
    assert main(["--check"]) == 1
    assert "AlterTableInteractionsForTwitter854.sql" in capsys.readouterr().out


def test_generated_files_cover_every_dbms_and_script() -> None:
    files = expected_files()
    assert len(files) == len(DBMSES) * len(GUIDE_NAMES)


@pytest.mark.parametrize("pair", SCRIPT_PAIRS, ids=lambda p: p.group)
def test_db2_scripts_check_syscat_and_reorg(pair: ScriptPair) -> None:
    columns = pair.columns
    alter = (REPO_ROOT / "sql" / "db2" / pair.alter).read_text()
    cleanup = (REPO_ROOT / "sql" / "db2" / pair.cleanup).read_text()
    for column in columns:
        guard = f"COLNAME = '{column.name.upper()}'"
        assert "NOT EXISTS (SELECT 1 FROM SYSCAT.COLUMNS WHERE" in alter
        assert guard in alter and guard in cleanup
        assert f"'ALTER TABLE interactions ADD COLUMN {column.name} " in alter
        assert f"'ALTER TABLE interactions DROP COLUMN {column.name}'" in cleanup
        if column.indexed:
            assert f"INDNAME = 'IX_ITX_{column.name.upper()}'" in alter
            assert f"'CREATE INDEX ix_itx_{column.name} ON interactions ({column.name})'" in alter
            assert f"'DROP INDEX ix_itx_{column.name}'" in cleanup
    # A conditional REORG after each dropped column and after the added columns.
    assert cleanup.count("CALL SYSPROC.ADMIN_CMD(reorg_command)") == len(columns)
    assert alter.count("CALL SYSPROC.ADMIN_CMD(reorg_command)") == 1
    assert alter.splitlines()[0].startswith("-- ") and "--#SET TERMINATOR @" in alter


def test_db2_batches_are_compound_statements() -> None:
    for script in scripts_in_run_order(list(GROUPS)):
        text = render_script(script, "db2")
        batches = IDIOMS["db2"].split(text)
        assert batches, script.name
        for batch in batches:
            assert batch.sql.startswith("BEGIN") and batch.sql.endswith("END"), batch.sql
            assert "@" not in batch.sql
            assert re.search(r"EXECUTE IMMEDIATE '|CALL SYSPROC.ADMIN_CMD", batch.sql)


def test_db2_types_come_from_ibm_db_sa() -> None:
    text = (REPO_ROOT / "sql" / "db2" / "AlterTableInteractionsForFacebook851.sql").read_text()
    assert "ADD COLUMN facebookPostId VARCHAR(128)'" in text
    assert "ADD COLUMN facebookInQueueAtTarget INT'" in text  # ibm-db-sa's spelling of Integer
