"""The scripts and ``gsetup sql apply`` on a real interactions table, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gsetup.columns import SCRIPT_PAIRS, CustomColumn
from gsetup.errors import EXIT_BAD_INPUT, EXIT_OK
from gsetup.sqlscripts.apply import run_script
from gsetup.sqlscripts.catalog import Script, get_script
from gsetup.sqlscripts.history import HISTORY_TABLE
from gsetup.sqlscripts.shipped import checksum, read_script
from tests.helpers import run_cli

ALL_COLUMNS = [c for pair in SCRIPT_PAIRS for c in pair.columns]
IWD = SCRIPT_PAIRS[0]
ROWS = [("itx-1", "facebook", "hello"), ("itx-2", "twitter", "world")]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def itx_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An Interaction Server-like database: an interactions table holding two rows."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ixn.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE interactions (id VARCHAR(50) PRIMARY KEY, media_type VARCHAR(64), "
            "subject VARCHAR(255))"
        )
        conn.exec_driver_sql(
            "INSERT INTO interactions VALUES "
            + ", ".join(f"('{a}', '{b}', '{c}')" for a, b, c in ROWS)
        )
    engine.dispose()
    return url


@contextlib.contextmanager
def _connect(url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _columns(url: str) -> set[str]:
    with _connect(url) as conn:
        return {c["name"].lower() for c in sa.inspect(conn).get_columns("interactions")}


def _indexes(url: str) -> dict[str, list[str]]:
    with _connect(url) as conn:
        return {
            str(i["name"]).lower(): [str(c).lower() for c in i["column_names"]]
            for i in sa.inspect(conn).get_indexes("interactions")
        }


def _rows(url: str, columns: str = "id, media_type, subject") -> list[tuple[Any, ...]]:
    with _connect(url) as conn:
        return [
            tuple(r)
            for r in conn.exec_driver_sql(f"SELECT {columns} FROM interactions ORDER BY id")
        ]


def _execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def _run(url: str, script: Script) -> None:
    dbms = "sqlite" if url.startswith("sqlite") else "postgresql"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        run_script(conn, dbms, read_script(script, dbms))
    engine.dispose()


def _names(columns: list[CustomColumn]) -> set[str]:
    return {c.name.lower() for c in columns}


BASE = {"id", "media_type", "subject"}
INDEXES = {"ix_itx_facebookpostid": ["facebookpostid"], "ix_itx_twittergroupid": ["twittergroupid"]}


def test_alter_cleanup_alter_on_a_real_table(itx_url: str) -> None:
    alters = [get_script(p.alter) for p in SCRIPT_PAIRS]
    cleanups = [get_script(p.cleanup) for p in SCRIPT_PAIRS]

    for script in alters:
        _run(itx_url, script)
    assert _columns(itx_url) == BASE | _names(ALL_COLUMNS)
    assert {k: v for k, v in _indexes(itx_url).items() if k.startswith("ix_itx")} == INDEXES
    assert _rows(itx_url) == ROWS  # existing rows keep their data through Alter
    assert _rows(itx_url, "facebookPostId, twitterGroupId, desktop_influence") == [(None,) * 3] * 2

    for script in alters:  # every Alter is safe to run again
        _run(itx_url, script)
    assert _columns(itx_url) == BASE | _names(ALL_COLUMNS)

    _execute(itx_url, "UPDATE interactions SET facebookPostId = '10_20', desktop_influence = 7")
    for script in cleanups:
        _run(itx_url, script)
        _run(itx_url, script)  # and every CleanUp
    assert _columns(itx_url) == BASE
    assert not [k for k in _indexes(itx_url) if k.startswith("ix_itx")]
    assert _rows(itx_url) == ROWS

    for script in alters:
        _run(itx_url, script)
    assert _columns(itx_url) == BASE | _names(ALL_COLUMNS)
    assert {k: v for k, v in _indexes(itx_url).items() if k.startswith("ix_itx")} == INDEXES
    assert _rows(itx_url, "facebookPostId, desktop_influence") == [(None, None)] * 2


def test_column_types(itx_url: str) -> None:
    for pair in SCRIPT_PAIRS:
        _run(itx_url, get_script(pair.alter))
    with _connect(itx_url) as conn:
        types = {c["name"].lower(): c["type"] for c in sa.inspect(conn).get_columns("interactions")}
    for column in ALL_COLUMNS:
        found = types[column.name.lower()]
        if column.type == "string":
            assert isinstance(found, sa.String) and found.length == column.length, column.name
        else:
            assert isinstance(found, sa.Integer), column.name


def _history(url: str) -> dict[str, str]:
    with _connect(url) as conn:
        if not sa.inspect(conn).has_table(HISTORY_TABLE):
            return {}  # no script was ever recorded
        return dict(conn.exec_driver_sql(f"SELECT script, checksum FROM {HISTORY_TABLE}").all())


def test_apply_runs_cleanup_then_alter_records_and_is_a_noop_again(itx_url: str) -> None:
    result = run_cli("sql", "apply", "--url", itx_url, "-p", "facebook-bp-iwd", "--yes")
    assert result.exit_code == EXIT_OK, result.stderr
    assert result.stdout.splitlines()[:4] == [
        "[1/4] CleanUpTableInteractionsForIWDIntegration851.sql",
        "[2/4] AlterTableInteractionsForIWDIntegration851.sql",
        "[3/4] CleanUpTableInteractionsForFacebook851.sql",
        "[4/4] AlterTableInteractionsForFacebook851.sql",
    ]
    iwd_fb = SCRIPT_PAIRS[0].columns + SCRIPT_PAIRS[1].columns
    assert _columns(itx_url) == BASE | _names(list(iwd_fb))
    dbms = "sqlite" if itx_url.startswith("sqlite") else "postgresql"
    expected = {
        name: checksum(read_script(get_script(name), dbms))
        for pair in SCRIPT_PAIRS[:2]
        for name in (pair.cleanup, pair.alter)
    }
    assert _history(itx_url) == expected

    again = run_cli("sql", "apply", "--url", itx_url, "-p", "iwd", "-p", "facebook")
    assert again.exit_code == EXIT_OK  # no --yes needed: nothing to run
    assert "Nothing to do" in again.stdout
    assert _history(itx_url) == expected

    twitter = run_cli(
        "sql", "apply", "--url", itx_url, "--yes"
    )  # all packages: only Twitter is new
    assert twitter.exit_code == EXIT_OK
    assert [line for line in twitter.stdout.splitlines() if line.startswith("[")] == [
        "[1/2] CleanUpTableInteractionsForTwitter854.sql",
        "[2/2] AlterTableInteractionsForTwitter854.sql",
    ]
    assert _columns(itx_url) == BASE | _names(ALL_COLUMNS)
    assert _rows(itx_url) == ROWS


def _confirmed_while(
    itx_url: str,
    db_url: str,
    cwd: Path,
    package: str,
    meanwhile: Callable[[], None],
    options: str = "",
) -> tuple[int, str, str]:
    """``sql apply -p package options`` on a terminal, ``meanwhile`` run while it asks,
    answered yes: its exit status, what it showed before the question and what it printed
    after."""
    import pexpect

    from tests.helpers import in_a_terminal

    shell = f"$GSETUP sql apply --url '{itx_url}' -p {package} {options}"
    child = in_a_terminal(shell, db_url, cwd)
    child.expect_exact("Apply this plan?")
    shown = child.before
    meanwhile()
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, shown, child.before


def _applied_by_another_run(itx_url: str, package: str) -> Callable[[], None]:
    def run() -> None:
        other = run_cli("sql", "apply", "--url", itx_url, "-p", package, "--yes")
        assert other.exit_code == EXIT_OK, other.stderr

    return run


def _refused_line(after: str) -> str:
    """The error line printed after the answer (which the terminal's escapes precede)."""
    return after[after.index("gsetup: error:") :].splitlines()[0]


CHANGED_AFTER_SHOWN = "changed after the plan was shown"
RUN_AGAIN = "nothing was run: run the command again to see the new plan"
FACEBOOK_AND_IWD = {p.cleanup for p in SCRIPT_PAIRS[:2]} | {p.alter for p in SCRIPT_PAIRS[:2]}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("package", "other"), [("facebook-bp-iwd", "iwd"), ("twitter", "twitter")])
def test_scripts_another_run_applied_during_the_question_refuse_the_run(
    itx_url: str, db_url: str, tmp_path: Path, package: str, other: str
) -> None:
    """Another run applies some (or all) of the scripts shown while the question is asked:
    the run is not the one confirmed, so it runs nothing, and draws no progress bar (it
    counted the four scripts shown at "2/4", and drew "0/2" around "Nothing to do")."""
    status, shown, after = _confirmed_while(
        itx_url, db_url, tmp_path, package, _applied_by_another_run(itx_url, other)
    )
    assert "would run" in shown
    applied_meanwhile = _history(itx_url)
    pair = next(p for p in SCRIPT_PAIRS if p.group == other)
    assert set(applied_meanwhile) == {pair.cleanup, pair.alter}
    assert status == EXIT_BAD_INPUT, after
    refused = _refused_line(after)
    assert CHANGED_AFTER_SHOWN in refused and refused.endswith(RUN_AGAIN)
    assert f"(now: already applied: {pair.cleanup}, {pair.alter});" in refused
    assert _history(itx_url) == applied_meanwhile  # only the other run's
    assert "Running scripts" not in after and "/4" not in after and "/2" not in after


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_script_made_pending_during_the_question_refuses_the_run(
    itx_url: str, db_url: str, tmp_path: Path
) -> None:
    """The IWD pair is applied; the question shows only Facebook's to run; meanwhile IWD's
    history rows are deleted: the run would run IWD's pair, which nobody confirmed."""
    assert run_cli("sql", "apply", "--url", itx_url, "-p", "iwd", "--yes").exit_code == EXIT_OK
    columns = _columns(itx_url)

    def forget_iwd() -> None:
        _execute(itx_url, f"DELETE FROM {HISTORY_TABLE}")

    status, shown, after = _confirmed_while(
        itx_url, db_url, tmp_path, "facebook-bp-iwd", forget_iwd
    )
    assert f"-- {IWD.cleanup}: already applied, skipped" in shown
    assert status == EXIT_BAD_INPUT, after
    refused = _refused_line(after)
    assert CHANGED_AFTER_SHOWN in refused and refused.endswith(RUN_AGAIN)
    assert f"also to run: {IWD.cleanup}, {IWD.alter}" in refused
    assert "already applied" not in refused
    assert _history(itx_url) == {}
    assert _columns(itx_url) == columns  # Facebook's pair did not run either
    assert "Running scripts" not in after


def _facebook_values(url: str) -> list[tuple[Any, ...]]:
    return _rows(url, "id, facebookPostId")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_values_gained_during_the_question_refuse_the_run(
    itx_url: str, db_url: str, tmp_path: Path
) -> None:
    """--allow-data-loss confirmed dropping one row's value; meanwhile another row gains one
    in a column CleanUp drops: the run would drop a value nobody was shown."""
    facebook = SCRIPT_PAIRS[1]
    _run(itx_url, get_script(facebook.alter))  # an earlier, manual run of the guide's script
    _execute(itx_url, "UPDATE interactions SET facebookPostId = 'p1' WHERE id = 'itx-1'")
    columns = _columns(itx_url)

    def gain_a_value() -> None:
        _execute(itx_url, "UPDATE interactions SET facebookPostId = 'p2' WHERE id = 'itx-2'")

    status, shown, after = _confirmed_while(
        itx_url, db_url, tmp_path, "facebook", gain_a_value, "--allow-data-loss"
    )
    assert "CleanUp would drop values from 1 row: facebookPostId (1 row)" in shown
    assert status == EXIT_BAD_INPUT, after
    refused = _refused_line(after)
    assert CHANGED_AFTER_SHOWN in refused and refused.endswith(RUN_AGAIN)
    assert (
        "(now: more values at risk: 2 rows would lose values, 1 shown, "
        "in facebookPostId (2 rows, 1 shown));" in refused
    )
    assert _facebook_values(itx_url) == [("itx-1", "p1"), ("itx-2", "p2")]
    assert _columns(itx_url) == columns
    assert _history(itx_url) == {}
    assert "Running scripts" not in after


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fewer_values_at_risk_than_shown_still_run(
    itx_url: str, db_url: str, tmp_path: Path
) -> None:
    """A value shown at risk is cleared during the question: the run drops fewer values than
    the user agreed to, so it runs."""
    facebook = SCRIPT_PAIRS[1]
    _run(itx_url, get_script(facebook.alter))
    _execute(itx_url, "UPDATE interactions SET facebookPostId = 'p'")

    def clear_a_value() -> None:
        _execute(itx_url, "UPDATE interactions SET facebookPostId = NULL WHERE id = 'itx-2'")

    status, shown, after = _confirmed_while(
        itx_url, db_url, tmp_path, "facebook", clear_a_value, "--allow-data-loss"
    )
    assert "CleanUp would drop values from 2 rows: facebookPostId (2 rows)" in shown
    assert status == EXIT_OK, after
    assert "Applied 2 scripts on" in after
    assert _facebook_values(itx_url) == [("itx-1", None), ("itx-2", None)]
    assert set(_history(itx_url)) == {facebook.cleanup, facebook.alter}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_confirmed_scripts_run_with_their_progress_bar(
    itx_url: str, db_url: str, tmp_path: Path
) -> None:
    """Nothing changes during the question: the scripts shown run, counted by the bar."""
    status, _shown, after = _confirmed_while(
        itx_url, db_url, tmp_path, "facebook-bp-iwd", lambda: None
    )
    assert status == EXIT_OK, after
    assert "Applied 4 scripts on" in after
    assert "Running scripts: AlterTableInteractionsForFacebook851.sql" in after
    assert "4/4" in after
    assert set(_history(itx_url)) == FACEBOOK_AND_IWD


def test_a_script_whose_text_changed_since_shown_is_not_run(itx_url: str) -> None:
    """The plan shown had another text for a script (gsetup upgraded during the question)."""
    from dataclasses import replace

    from gsetup.errors import ConflictError
    from gsetup.sqlscripts import apply as core

    request = core.ApplyRequest(url=itx_url, groups=["iwd"], servers=[], confirmed=True)
    planned = core.plan(request)
    older = [replace(planned.scripts[0], checksum="older"), *planned.scripts[1:]]
    shown = replace(planned, scripts=older)
    columns = _columns(itx_url)
    with pytest.raises(ConflictError, match=CHANGED_AFTER_SHOWN) as refused:
        core.apply(replace(request, shown=shown))
    assert f"(now: with another text: {IWD.cleanup});" in str(refused.value)
    assert _history(itx_url) == {}
    assert _columns(itx_url) == columns


def test_changed_checksum_is_reported_not_rerun(itx_url: str) -> None:
    assert run_cli("sql", "apply", "--url", itx_url, "-p", "facebook", "--yes").exit_code == EXIT_OK
    _execute(
        itx_url,
        f"UPDATE {HISTORY_TABLE} SET checksum = 'old' "
        "WHERE script = 'AlterTableInteractionsForFacebook851.sql'",
    )
    _execute(itx_url, "UPDATE interactions SET facebookCommentId = 'c1'")

    result = run_cli("sql", "apply", "--url", itx_url, "-p", "facebook", "--yes")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "changed since: AlterTableInteractionsForFacebook851.sql" in result.stderr
    assert "--rerun-changed" in result.stderr
    assert _rows(itx_url, "facebookCommentId") == [("c1",), ("c1",)]

    # Rerunning the pair drops a column with values: still refused without --allow-data-loss.
    refused = run_cli(
        "sql", "apply", "--url", itx_url, "-p", "facebook", "--yes", "--rerun-changed"
    )
    assert refused.exit_code == EXIT_BAD_INPUT
    assert "2 rows would lose values in facebookCommentId (2 rows)." in refused.stderr

    rerun = run_cli(
        "sql",
        "apply",
        "--url",
        itx_url,
        "-p",
        "facebook",
        "--yes",
        "--rerun-changed",
        "--allow-data-loss",
    )
    assert rerun.exit_code == EXIT_OK, rerun.stderr
    assert _rows(itx_url, "facebookCommentId") == [(None,), (None,)]
    assert _history(itx_url)["AlterTableInteractionsForFacebook851.sql"] != "old"


def test_dry_run_of_a_changed_pair_shows_the_refusal_of_the_run(itx_url: str) -> None:
    assert run_cli("sql", "apply", "--url", itx_url, "-p", "iwd", "--yes").exit_code == EXIT_OK
    _execute(
        itx_url,
        f"UPDATE {HISTORY_TABLE} SET checksum = 'old' WHERE script = '{IWD.alter}'",
    )
    run = run_cli("sql", "apply", "--url", itx_url, "-p", "iwd", "--yes")
    dry = run_cli("sql", "apply", "--url", itx_url, "-p", "iwd", "--dry-run")
    assert run.exit_code == dry.exit_code == EXIT_BAD_INPUT
    assert dry.stderr == run.stderr
    # The CleanUp (recorded unchanged) does not run: the run refuses the whole pair.
    assert f"-- {IWD.cleanup}: refused with its pair (needs --rerun-changed)" in dry.stdout
    assert f"-- {IWD.alter}: applied before, changed since: refused (needs --rerun-changed)" in (
        dry.stdout
    )
    assert "would run" not in dry.stdout
    assert "ALTER TABLE" not in dry.stdout

    rerun = run_cli("sql", "apply", "--url", itx_url, "-p", "iwd", "--dry-run", "--rerun-changed")
    assert rerun.exit_code == EXIT_OK, rerun.stderr
    assert f"-- {IWD.cleanup}: would run" in rerun.stdout
    assert f"-- {IWD.alter}: applied before, changed since: would run again" in rerun.stdout
    assert _history(itx_url)[IWD.alter] == "old"


def test_cleanup_refuses_to_drop_values_unless_allowed(itx_url: str) -> None:
    # Columns from an earlier, manual run of the guide's scripts, holding values.
    for pair in SCRIPT_PAIRS[1:]:
        _run(itx_url, get_script(pair.alter))
    _execute(itx_url, "UPDATE interactions SET facebookPostId = 'p1' WHERE id = 'itx-1'")
    _execute(
        itx_url,
        "UPDATE interactions SET twitterGroupId = 'g2', "
        "twitterInBufferAfterTarget = 1 WHERE id = 'itx-2'",
    )

    dry = run_cli("sql", "apply", "--url", itx_url, "--dry-run")
    assert "CleanUp would drop values from 2 rows: facebookPostId (1 row), " in dry.stdout
    result = run_cli("sql", "apply", "--url", itx_url, "--yes")
    # The dry run ends as the run would: refused, with the same line.
    assert dry.exit_code == result.exit_code == EXIT_BAD_INPUT
    assert dry.stderr == result.stderr
    allowed_dry = run_cli("sql", "apply", "--url", itx_url, "--dry-run", "--allow-data-loss")
    assert allowed_dry.exit_code == EXIT_OK, allowed_dry.stderr
    assert "ALTER TABLE interactions DROP COLUMN" in allowed_dry.stdout
    assert (
        "2 rows would lose values in facebookPostId (1 row), twitterGroupId (1 row), "
        "twitterInBufferAfterTarget (1 row). Nothing was run; to drop them anyway use "
        "--allow-data-loss." in result.stderr
    )
    assert _rows(itx_url, "facebookPostId, twitterGroupId") == [("p1", None), (None, "g2")]
    assert "desktop_sentiment" not in _columns(itx_url)  # nothing ran, not even IWD
    assert _table_missing(itx_url, HISTORY_TABLE)

    allowed = run_cli("sql", "apply", "--url", itx_url, "--yes", "--allow-data-loss")
    assert allowed.exit_code == EXIT_OK, allowed.stderr
    assert _rows(itx_url, "facebookPostId, twitterGroupId") == [(None, None), (None, None)]
    assert _columns(itx_url) == BASE | _names(ALL_COLUMNS)


def _table_missing(url: str, table: str) -> bool:
    with _connect(url) as conn:
        return not sa.inspect(conn).has_table(table)


def test_dry_run_prints_sql_and_changes_nothing(itx_url: str) -> None:
    result = run_cli("sql", "apply", "--url", itx_url, "-p", "twitter", "--dry-run")
    assert result.exit_code == EXIT_OK
    assert "-- CleanUpTableInteractionsForTwitter854.sql: would run" in result.stdout
    assert "ALTER TABLE interactions ADD COLUMN" in result.stdout
    assert "twitterGroupId" in result.stdout
    assert _columns(itx_url) == BASE
    assert _table_missing(itx_url, HISTORY_TABLE)


def test_apply_requires_yes_when_no_interaction_server_is_registered(itx_url: str) -> None:
    result = run_cli("sql", "apply", "--url", itx_url)
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no terminal to confirm it on: add --yes" in result.stderr
    assert _columns(itx_url) == BASE


def test_apply_refuses_while_a_registered_interaction_server_runs(itx_url: str) -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        registered = run_cli(
            "app",
            "create",
            "Interaction_Server",
            "--type",
            "InteractionServer",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        )
        assert registered.exit_code == EXIT_OK, registered.stderr
        result = run_cli("sql", "apply", "--url", itx_url, "--yes")
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"Interaction_Server at 127.0.0.1:{port}" in result.stderr
    assert _columns(itx_url) == BASE

    # Once it stops (nothing listens on the port), apply goes ahead.
    ok = run_cli("sql", "apply", "--url", itx_url, "--yes")
    assert ok.exit_code == EXIT_OK, ok.stderr
    assert _columns(itx_url) == BASE | _names(ALL_COLUMNS)


def test_missing_interactions_table(tmp_path: Path, pg_url: str) -> None:
    sqlite_file = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{sqlite_file}").connect().close()
    for url in (f"sqlite:///{sqlite_file}", pg_url):
        result = run_cli("sql", "apply", "--url", url, "--yes")
        assert result.exit_code == EXIT_BAD_INPUT
        assert "has no interactions table" in result.stderr
        assert "Traceback" not in result.stderr
        assert _table_missing(url, HISTORY_TABLE)


def test_bad_urls_exit_2_without_the_password(tmp_path: Path) -> None:
    cases = {
        "postgresql+psycopg://ixn:s3cr3t-pw@127.0.0.1:1/ixn": "Cannot connect to "
        "postgresql+psycopg://ixn:***@127.0.0.1:1/ixn",
        "informix://ixn:s3cr3t-pw@host/db": "Unknown database dialect 'informix'",
        "ixn:s3cr3t-pw@host/db": "cannot be parsed",
        "postgresql+psycopg://ixn:s3cr3t-pw@host:x/db": "cannot be parsed",
        f"sqlite:///{tmp_path / 'nowhere.db'}": "does not exist",
        # A password in the query string (libpq's password=, ODBC's PWD) was printed in clear.
        "postgresql+psycopg://ixn@127.0.0.1:1/ixn?password=s3cr3t-pw": "Cannot connect to "
        "postgresql+psycopg://ixn@127.0.0.1:1/ixn?password=***",
        "mssql+pyodbc://ixn@host/db?odbc_connect=DRIVER%3Dx%3BPWD%3Ds3cr3t-pw": "Cannot use "
        "mssql+pyodbc://ixn@host/db?odbc_connect=***",
    }
    for url, message in cases.items():
        result = run_cli("sql", "apply", "--url", url, "--yes")
        assert result.exit_code == EXIT_BAD_INPUT, url
        assert message in result.stderr, result.stderr
        assert "s3cr3t-pw" not in result.stdout + result.stderr
        assert result.stderr.count("\n") == 1  # one clear message
    assert not (tmp_path / "nowhere.db").exists()


@pytest.mark.parametrize(
    "tail",
    ["file:{dir}/none.db?uri=true", "{dir}/ixn.db?mode=ro&uri=true", "{dir}/ixn.db?timeout=x"],
)
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_sqlite_urls_with_a_query_are_refused_and_create_no_file(
    tmp_path: Path, tail: str, dry_run: list[str]
) -> None:
    # SQLite opened another file than the one checked ('ixn.db?mode=ro', a missing 'file:'
    # URI), created it empty and blamed a missing interactions table; timeout=x was exit 1.
    sa.create_engine(f"sqlite:///{tmp_path / 'ixn.db'}").connect().close()
    before = sorted(tmp_path.iterdir())
    result = run_cli(
        "sql", "apply", "--url", "sqlite:///" + tail.format(dir=tmp_path), "--yes", *dry_run
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.stderr
    assert "sqlite:///PATH of an existing file, without" in result.stderr
    assert result.stderr.count("\n") == 1
    assert sorted(tmp_path.iterdir()) == before
    assert _table_missing(f"sqlite:///{tmp_path / 'ixn.db'}", HISTORY_TABLE)


@pytest.mark.pg
def test_insufficient_privileges_exit_2_and_nothing_applied(pg_url: str) -> None:
    _create_table(pg_url)
    role = "ixn_reader_" + uuid.uuid4().hex[:8]
    database = pg_url.rsplit("/", 1)[1]
    _execute(pg_url, f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'")
    _execute(pg_url, f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    _execute(pg_url, f"GRANT SELECT ON interactions TO {role}")
    _execute(pg_url, f"GRANT CREATE ON SCHEMA public TO {role}")  # only ALTER is missing
    reader_url = pg_url.replace("postgres@", f"{role}:pw-{role}@")
    try:
        result = run_cli("sql", "apply", "--url", reader_url, "--yes")
        assert result.exit_code == EXIT_BAD_INPUT
        assert "Insufficient privileges" in result.stderr
        assert "must be owner of table interactions" in result.stderr
        assert f"pw-{role}" not in result.stderr
        assert _columns(pg_url) == BASE
        assert _table_missing(pg_url, HISTORY_TABLE)
    finally:
        _execute(pg_url, f"DROP OWNED BY {role}")
        _execute(pg_url, f"DROP ROLE {role}")


@pytest.mark.pg
def test_a_refused_history_table_is_named(pg_url: str) -> None:
    _create_table(pg_url)
    assert run_cli("sql", "apply", "--url", pg_url, "-p", "iwd", "--yes").exit_code == EXIT_OK
    role = "ixn_owner_" + uuid.uuid4().hex[:8]
    database = pg_url.rsplit("/", 1)[1]
    _execute(pg_url, f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'")
    _execute(pg_url, f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    _execute(pg_url, f"ALTER TABLE interactions OWNER TO {role}")  # not the history table
    role_url = pg_url.replace("postgres@", f"{role}:pw-{role}@")
    try:
        for args in (["--dry-run"], ["--yes"]):
            result = run_cli("sql", "apply", "--url", role_url, *args)
            assert result.exit_code == EXIT_BAD_INPUT, args
            assert f"while reading {HISTORY_TABLE}: permission denied" in result.stderr, args
            assert "interactions table" not in result.stderr
            assert f"pw-{role}" not in result.stderr
        _execute(pg_url, f"GRANT SELECT ON {HISTORY_TABLE} TO {role}")
        result = run_cli("sql", "apply", "--url", role_url, "--yes")
        assert result.exit_code == EXIT_BAD_INPUT
        assert f"while recording the scripts in {HISTORY_TABLE}: permission denied" in (
            result.stderr
        )
        assert "Everything was rolled back" in result.stderr
        assert _columns(pg_url) == BASE | _names(list(IWD.columns))
    finally:
        _execute(pg_url, "ALTER TABLE interactions OWNER TO postgres")
        _execute(pg_url, f"DROP OWNED BY {role}")
        _execute(pg_url, f"DROP ROLE {role}")


def _create_table(url: str) -> None:
    _execute(
        url,
        "CREATE TABLE interactions (id VARCHAR(50) PRIMARY KEY, "
        "media_type VARCHAR(64), subject VARCHAR(255))",
    )


@pytest.mark.pg
def test_failure_midway_rolls_back_everything(pg_url: str) -> None:
    _create_table(pg_url)
    _execute(pg_url, "ALTER TABLE interactions ADD COLUMN facebookCommentId VARCHAR(128)")
    # A view on the column makes the Facebook CleanUp fail after the IWD pair has run.
    _execute(pg_url, "CREATE VIEW comments AS SELECT facebookCommentId FROM interactions")
    result = run_cli("sql", "apply", "--url", pg_url, "--yes")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "Failed while applying the scripts" in result.stderr
    assert "because other objects depend on it. Everything was rolled back" in result.stderr
    assert _columns(pg_url) == BASE | {"facebookcommentid"}  # IWD's columns rolled back too
    assert _table_missing(pg_url, HISTORY_TABLE)


def test_docs_apply_examples_run(itx_url: str) -> None:
    """The ``gsetup sql apply`` examples of docs/sql.md, pointed at a real database."""
    import re
    import shlex

    from gsetup.sqlscripts.generate import REPO_ROOT

    docs = (REPO_ROOT / "docs" / "sql.md").read_text()
    examples = re.findall(r"^\s*\$ gsetup sql (apply .+)$", docs, flags=re.MULTILINE)
    assert len(examples) == 2
    for example in examples:
        args = [
            itx_url if a.startswith("postgresql+psycopg://ixn@") else a
            for a in shlex.split(example)
        ]
        result = run_cli("sql", *args)
        assert result.exit_code == EXIT_OK, (example, result.stderr)
    iwd_fb = SCRIPT_PAIRS[0].columns + SCRIPT_PAIRS[1].columns
    assert _columns(itx_url) == BASE | _names(list(iwd_fb))


def test_without_transactional_ddl_each_script_commits_and_a_rerun_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MS SQL/Oracle/Db2 path, played on SQLite: completed scripts stay applied and recorded."""
    from dataclasses import replace

    from gsetup.sqlscripts import catalog

    def no_transactional_ddl(name: str) -> catalog.Dbms:
        return replace(catalog.get_dbms(name), transactional_ddl=False)

    monkeypatch.setattr("gsetup.sqlscripts.connect.get_dbms", no_transactional_ddl)
    url = f"sqlite:///{tmp_path / 'ixn.db'}"
    _create_table(url)
    _execute(url, "ALTER TABLE interactions ADD COLUMN facebookCommentId VARCHAR(128)")
    _execute(url, "CREATE VIEW comments AS SELECT facebookCommentId FROM interactions")

    failed = run_cli("sql", "apply", "--url", url, "--yes")
    assert failed.exit_code == EXIT_BAD_INPUT
    assert "Scripts that completed stay applied and recorded" in failed.stderr
    assert set(_history(url)) == {IWD.cleanup, IWD.alter}
    assert _columns(url) == BASE | _names(list(IWD.columns)) | {"facebookcommentid"}

    _execute(url, "DROP VIEW comments")
    rerun = run_cli("sql", "apply", "--url", url, "--yes")
    assert rerun.exit_code == EXIT_OK, rerun.stderr
    assert "[1/4] CleanUpTableInteractionsForFacebook851.sql" in rerun.stdout
    assert _columns(url) == BASE | _names(ALL_COLUMNS)
    assert len(_history(url)) == 6


def test_restart_stops_the_registered_interaction_server_applies_and_starts_it(
    itx_url: str, tmp_path: Path
) -> None:
    """The guide's steps 1 and 3 around the scripts: an Interaction Server stand-in (a real
    process listening on its port) is stopped, the scripts run, and it is started again."""
    import sys

    from gsetup.process.pids import read_pid_file
    from tests.helpers import free_port

    port = free_port()
    command = f"{sys.executable} -m http.server --bind 127.0.0.1 {port}"
    created = run_cli(
        "app", "create", "Interaction_Server", "--type", "InteractionServer",
        "--host", "127.0.0.1", "--port", str(port), "--working-dir", str(tmp_path),
        "--start-cmd", command,
    )  # fmt: skip
    assert created.exit_code == EXIT_OK, created.stderr
    pid_file = tmp_path / "gsetup-app.pid"
    try:
        assert run_cli("app", "start", "Interaction_Server", "--wait").exit_code == EXIT_OK
        before = read_pid_file(pid_file)
        assert before is not None
        refused = run_cli("sql", "apply", "--url", itx_url, "--yes")
        assert refused.exit_code == EXIT_BAD_INPUT and "Interaction_Server at" in refused.stderr

        result = run_cli("sql", "apply", "--url", itx_url, "--restart", "--yes")
        assert result.exit_code == EXIT_OK, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "stopped Interaction_Server"
        assert lines[1].startswith("[1/")  # the scripts ran while it was stopped
        assert "started Interaction_Server" in lines
        assert _columns(itx_url) == BASE | _names(ALL_COLUMNS)
        after = read_pid_file(pid_file)
        assert after is not None and after != before
        status = run_cli("app", "status", "Interaction_Server", "--json").json()
        assert status["running"] and status["healthy"]
    finally:
        run_cli("app", "stop", "Interaction_Server")
    assert read_pid_file(pid_file) is None
