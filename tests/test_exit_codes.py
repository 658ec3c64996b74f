"""Every exit code docs/cli.md publishes, produced by the real console script."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.test_safety import GSETUP, gsetup

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _documented() -> set[int]:
    page = (DOCS / "cli.md").read_text()
    table = page[page.index("## Exit codes") : page.index("## Commands")]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}


def _at_the_question(key: str | signal.Signals) -> int:
    """``app delete`` in a pseudo-terminal, answering ``key`` at "Apply this plan?" (a
    signal: sent to it there)."""
    import pexpect

    child = pexpect.spawn(GSETUP, ["app", "delete", "IXN"], encoding="utf-8", timeout=300)
    child.expect("Apply this plan")
    if isinstance(key, signal.Signals):
        child.kill(key)
    else:
        child.send(key)
    child.expect(pexpect.EOF)
    child.close()
    assert isinstance(child.exitstatus, int)
    return child.exitstatus


def test_every_documented_exit_code() -> None:
    seen: dict[int, str] = {}
    assert gsetup("app", "create", "IXN", "--type", "InteractionServer").returncode == 0
    seen[0] = "app create"
    with open("/dev/full", "w") as full:  # the system failed: no space left on device
        failed = subprocess.run(
            [GSETUP, "sql", "list", "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    assert failed.stderr.startswith("gsetup: error: unexpected OSError")
    seen[failed.returncode] = "output to a full disk"
    usage = gsetup("tenant", "list", "--bogus")
    assert usage.stderr.startswith("gsetup: error: No such option: --bogus")
    seen[usage.returncode] = "usage error"
    pending = gsetup("app", "create", "CS", "--type", "ChatServer", "--detailed-exitcode")
    seen[pending.returncode] = "changes pending"
    seen[_at_the_question("n")] = "answered no"
    seen[_at_the_question("\x03")] = "Ctrl-C at the question"
    seen[_at_the_question(signal.SIGHUP)] = "the terminal closed at the question"
    # 143 (SIGTERM) needs an installed Business Process to run: test_route_simulate's
    # test_sigterm_stops_a_run_as_ctrl_c_does sees it.
    seen[143] = "SIGTERM during route simulate"
    assert set(seen) == _documented() == {0, 1, 2, 3, 4, 129, 130, 143}, seen
    assert "IXN" in gsetup("app", "list").stdout  # neither the no, Ctrl-C nor SIGHUP deleted it
    assert os.environ.get("GSETUP_DB") is None  # the embedded database of the test's home


# A configuration table that refuses every new row, as a site's own trigger might.
_FREEZE_OPTIONS = {
    "sqlite": [
        "CREATE TRIGGER refuse_option BEFORE INSERT ON cfg_option "
        "BEGIN SELECT RAISE(ABORT, 'options are frozen'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_option() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE EXCEPTION 'options are frozen'; END $$",
        "CREATE TRIGGER refuse_option BEFORE INSERT ON cfg_option "
        "FOR EACH ROW EXECUTE FUNCTION refuse_option()",
    ],
}


def _execute(url: str, statements: list[str]) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _one_clean_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    """Exit 1 with the one line ``expected``: no SQL text, no parameters, no link."""
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [expected], result.stderr
    assert result.stdout == ""


def test_an_unexpected_database_error_is_one_line_without_sql_nor_values(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trigger refuses the secret option being written: the command exits 1 with one line
    naming the statement's table and the server's reason; the SQL text, its parameters (the
    secret) and SQLAlchemy's link are not shown, and nothing was written."""
    from tests.helpers import snapshot

    assert gsetup("app", "create", "IXN", "--type", "InteractionServer").returncode == 0
    _execute(db_url, _FREEZE_OPTIONS["sqlite" if db_url.startswith("sqlite") else "postgresql"])
    before = snapshot(db_url)
    secret = "Ultra-Secret-Value-4711"
    monkeypatch.setenv("GSETUP_TEST_SECRET", secret)
    result = gsetup(
        "options", "set", "--app", "IXN", "settings/password", "--secret",
        "--value-env", "GSETUP_TEST_SECRET",
    )  # fmt: skip
    kind = "IntegrityError" if db_url.startswith("sqlite") else "ProgrammingError"
    _one_clean_line(
        result,
        f"gsetup: error: unexpected {kind} on INSERT into cfg_option: options are frozen "
        "(run with --debug for details)",
    )
    assert secret not in result.stderr
    assert snapshot(db_url) == before
    debug = gsetup(
        "--debug", "options", "set", "--app", "IXN", "settings/password", "--secret",
        "--value-env", "GSETUP_TEST_SECRET",
    )  # fmt: skip
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "INSERT INTO cfg_option" in debug.stderr
    assert secret not in debug.stderr + debug.stdout


# The options readable no more (PostgreSQL): a view over them whose every row raises.
_UNREADABLE_OPTIONS = [
    "CREATE FUNCTION refuse_read() RETURNS boolean LANGUAGE plpgsql "
    "AS $$ BEGIN RAISE EXCEPTION 'options are sealed'; END $$",
    "ALTER TABLE cfg_option RENAME TO cfg_option_kept",
    "CREATE VIEW cfg_option AS SELECT * FROM cfg_option_kept WHERE refuse_read()",
]


def test_a_dms_stand_in_whose_options_cannot_be_read_is_one_line(
    server_db_url: str, tmp_path: Path
) -> None:
    """The DMS stand-in reads its settings as it starts: a read the server refuses ends it
    with exit 1 and one line, before it listens."""
    from tests.helpers import free_port

    port = str(free_port())
    created = gsetup(
        "app", "create", "DMS_1", "--type", "DigitalMessagingServer", "--host", "127.0.0.1",
        "--port", port, "--working-dir", str(tmp_path),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert gsetup("options", "set", "--app", "DMS_1", "a/b", "c").returncode == 0
    _execute(server_db_url, _UNREADABLE_OPTIONS)
    _one_clean_line(
        gsetup("dms", "run", "--app", "DMS_1"),
        "gsetup: error: unexpected ProgrammingError on SELECT from cfg_option: options are "
        "sealed (run with --debug for details)",
    )
