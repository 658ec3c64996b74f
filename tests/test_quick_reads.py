"""The quick read commands (gsetup.cli.quick): the console script answers them without typer,
pydantic or the ORM, and exactly as the typer commands do; anything else goes to typer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CliResult, run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Modules a quick read must not load: they cost more than the read itself.
HEAVY = ("typer", "click", "pydantic", "sqlalchemy.orm", "gsetup.configdb.models", "alembic")

QUICK = [
    ("list",),
    ("list", "--json"),
    ("tenant", "list"),
    ("tenant", "list", "--json"),
    ("object", "show", "Environment/Applications/DMS_1"),
    ("object", "show", "--json", "Environment/Applications/DMS_1"),
    ("app", "show", "DMS_1"),
    ("app", "show", "DMS_1", "--tenant", "Environment", "--json"),
    ("app", "show", "-t", "Other", "DMS_2"),
    ("history",),
    ("history", "--limit", "2", "--changes"),
    ("history", "-n", "1", "--json", "--changes"),
    ("history", "--tenant=Other", "--limit=5"),
    ("--debug", "tenant", "list"),
    # Refusals answered quickly too, with the same message and status.
    ("app", "show", "Missing"),
    ("object", "show", "Nowhere/Applications/DMS_1"),
]

TO_TYPER = [
    ("history", "--limit", "0"),  # typer's range check explains it
    ("object", "show"),  # a missing argument
    ("list", "--bogus"),
    ("list", "--tenant", "Environment"),  # an option list does not take
    ("tenant", "list", "-h"),
    ("history", "--json", "--json"),
]


def _console(*args: str) -> tuple[CliResult, set[str]]:
    """``gsetup ARGS`` through the console script's entry, and the heavy modules it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gsetup", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    timings = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    stderr = "".join(
        f"{line}\n" for line in done.stderr.splitlines() if not line.startswith("import time:")
    )
    imported = {line.rpartition("|")[2].strip() for line in timings}
    return CliResult(done.returncode, done.stdout, stderr), imported & set(HEAVY)


@pytest.fixture
def deployment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An install, two tenants, applications with options (one secret) and their history."""
    monkeypatch.setenv("GSETUP_TEST_SECRET", "s3cret-value")
    for args in (
        ("install", "rss-bp", "--answers", str(EXAMPLES / "rss-bp.yaml"), "--yes"),
        ("tenant", "create", "Other"),
        ("app", "create", "DMS_1", "--type", "DigitalMessagingServer", "--port", "4100"),
        ("app", "create", "DMS_2", "--type", "DigitalMessagingServer", "--tenant", "Other"),
        ("options", "set", "channel-facebook/reconnection-timeout", "30", "--app", "DMS_1"),
        ("options", "set", "notes/label", "[bold]not markup[/bold]", "--app", "DMS_1"),
        (
            "options",
            "set",
            "gsetup-runtime/intake-token",
            "--value-env",
            "GSETUP_TEST_SECRET",
            "--secret",
            "--app",
            "DMS_1",
        ),
    ):
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
    return db_url


def test_quick_reads_answer_as_typer_does_without_loading_it(deployment: str) -> None:
    """Every quick form, and every form that must go to typer, on one deployment. Parsing is
    the same on both databases: PostgreSQL runs the forms that show each read (logged in
    through GSETUP_USER and GSETUP_PASSWORD, without typer)."""
    from gsetup.cli.quick import answer

    server = deployment.startswith("postgresql")
    for args in QUICK[::2] if server else QUICK:
        quick, heavy = _console(*args)
        assert heavy == set(), f"gsetup {' '.join(args)} imported {heavy}"
        assert quick == run_cli(*args), args
        assert "s3cret-value" not in quick.stdout + quick.stderr
    for args in () if server else TO_TYPER:  # declined, gsetup.entry hands them to typer
        assert answer(list(args)) is None, args

    listed, _heavy = _console("list", "--json")
    rss = next(p for p in listed.json() if p["name"] == "rss-bp")
    assert [i["tenant"] for i in rss["installed"]] == ["Environment"]
    assert rss["installed"][0]["install_home"].endswith("installs/Environment/rss-bp")
    shown, _heavy = _console("app", "show", "DMS_1")
    assert "[channel-facebook]" in shown.stdout and "[bold]not markup[/bold]" in shown.stdout
    assert "reconnection-timeout: 30" in shown.stdout
    missing, _heavy = _console("app", "show", "Missing")
    assert missing.exit_code == 2
    assert missing.stderr == (
        "gsetup: error: no application 'Applications/Missing' in tenant 'Environment'\n"
    )


def test_a_mistyped_database_path_is_refused_quickly_too(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config.db"
    result, heavy = _console("--db", f"sqlite:///{missing}", "list")
    assert heavy == set()
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "gsetup db init" in result.stderr
    assert not missing.parent.exists()


def test_an_argument_that_is_not_utf8_goes_to_typer_which_refuses_it() -> None:
    from gsetup.cli.quick import answer

    # Answered here, it reached the database and failed unexplained (exit 1).
    assert answer(["app", "show", "DMS\udcff"]) is None
    refused = run_cli("app", "show", "DMS\udcff")
    assert refused.exit_code == 2
    assert "Invalid value for 'NAME': byte 0xFF at position 4 is not UTF-8" in refused.stderr


def test_a_reader_that_goes_away_stops_quick_and_typer_reads_alike(deployment: str) -> None:
    """``gsetup list --json | head -1``: the pipe's reader is gone before the output is written.
    A quick read stops quietly with status 1, as typer does for the other commands, rather
    than report an unexpected error."""
    for args in (("list", "--json"), ("history", "--json"), ("object", "list", "--json")):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "gsetup", *args],
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            os.close(write_end)
        assert (done.returncode, done.stderr) == (1, ""), args
