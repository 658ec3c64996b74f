"""Safe by default: confirmations, plan-only exit codes, mistyped database paths.

Through the real console script: without a terminal (stdin from /dev/null) a risky plan is
refused unless --yes; in a pseudo-terminal (pexpect) it is shown and asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gsetup.errors import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_CHANGES_PENDING
from tests.helpers import run_cli, snapshot

GSETUP = str(Path(sys.executable).with_name("gsetup"))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def gsetup(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The console script without a terminal: stdin is /dev/null, output is piped."""
    return subprocess.run(
        [GSETUP, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def installed(db_url: str, tmp_path: Path) -> str:
    """rss-bp installed in Environment."""
    result = gsetup(
        "install", "rss-bp", "--answers", str(EXAMPLES / "rss-bp.yaml"), "--yes", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return db_url


def test_uninstall_without_yes_and_without_a_terminal_is_refused(installed: str) -> None:
    before = snapshot(installed)
    refused = gsetup("uninstall", "rss-bp")
    assert refused.returncode == EXIT_BAD_INPUT
    assert refused.stderr.startswith("gsetup: error: this plan deletes or replaces configuration")
    assert "add --yes" in refused.stderr and "to delete" in refused.stderr
    assert snapshot(installed) == before

    done = gsetup("uninstall", "rss-bp", "--yes")
    assert done.returncode == 0, done.stderr
    paths = {row[3] for row in snapshot(installed)["cfg_object"]}
    assert not any(p.startswith("Business Processes/") for p in paths)


def test_detailed_exitcode_never_writes(installed: str, tmp_path: Path) -> None:
    before = snapshot(installed)
    for args in (
        ("uninstall", "rss-bp", "--yes", "--detailed-exitcode"),
        ("app", "create", "IXN", "--type", "InteractionServer", "--detailed-exitcode"),
        (
            "install",
            "twitter-bp",
            "--answers",
            str(EXAMPLES / "twitter-bp.yaml"),
            "--yes",
            "--detailed-exitcode",
        ),
    ):
        result = gsetup(*args, cwd=tmp_path)
        assert result.returncode == EXIT_CHANGES_PENDING, (args, result.stderr)
        assert "Plan (nothing written)" in result.stdout
    assert snapshot(installed) == before
    assert not (
        Path(os.environ["XDG_DATA_HOME"]) / "gsetup" / "installs" / "Environment" / "twitter-bp"
    ).exists()


def test_a_single_option_set_does_not_ask_but_unset_does(db_url: str) -> None:
    assert run_cli("app", "create", "DMS_1", "--type", "DigitalMessagingServer").exit_code == 0
    assert gsetup("options", "set", "a/b", "1", "--app", "DMS_1").returncode == 0
    assert gsetup("options", "set", "a/b", "2", "--app", "DMS_1").returncode == 0  # replaces
    refused = gsetup("options", "unset", "a/b", "--app", "DMS_1")
    assert refused.returncode == EXIT_BAD_INPUT and "add --yes" in refused.stderr
    assert run_cli("options", "get", "a/b", "--app", "DMS_1").stdout == "2\n"
    cfg = Path(os.environ["HOME"]) / "dms.cfg"
    cfg.write_text("[a]\nb = 3\nc = 4\n")
    adds = gsetup("options", "import", str(cfg), "--app", "DMS_1")  # keeps b: nothing replaced
    assert adds.returncode == 0, adds.stderr
    replaced = gsetup("options", "import", str(cfg), "--app", "DMS_1", "--overwrite")
    assert replaced.returncode == EXIT_BAD_INPUT and "add --yes" in replaced.stderr
    assert run_cli("options", "get", "a/b", "--app", "DMS_1").stdout == "2\n"


def _spawn(*args: str) -> object:
    import pexpect

    return pexpect.spawn(
        GSETUP,
        list(args),
        env={**os.environ, "COLUMNS": "60"},
        encoding="utf-8",
        timeout=300,
        dimensions=(40, 60),
    )


def test_on_a_terminal_the_plan_is_shown_and_no_cancels(installed: str) -> None:
    import pexpect

    before = snapshot(installed)
    child = _spawn("uninstall", "rss-bp")
    child.expect("Plan .nothing written.")
    child.expect("Apply this plan")
    child.send("n")
    child.expect("cancelled: nothing was written")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == EXIT_CANCELLED
    assert snapshot(installed) == before

    child = _spawn("uninstall", "rss-bp")
    child.expect("Apply this plan")
    child.send("y")
    child.expect("Applied")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert snapshot(installed) != before


def test_the_plan_wraps_at_the_terminal_width_and_loses_nothing(db_url: str) -> None:
    import pexpect

    assert run_cli("app", "create", "DMS_1", "--type", "DigitalMessagingServer").exit_code == 0
    value = "a-long-value-" + "x" * 90 + "-end"
    child = _spawn(
        "options", "set", "channel-facebook/some-long-key", value, "--app", "DMS_1", "--dry-run"
    )
    child.expect(pexpect.EOF)
    child.close()
    shown = "".join((child.before or "").split())  # the lines joined, wrapping undone
    assert value in shown
    assert "[channel-facebook]some-long-key" in shown


def test_a_mistyped_database_path_is_not_an_empty_deployment(tmp_path: Path) -> None:
    missing_dir = tmp_path / "nonexistent" / "dir" / "x.db"
    for args in (("list",), ("tenant", "list"), ("history",), ("tenant", "create", "Acme")):
        result = gsetup("--db", f"sqlite:///{missing_dir}", *args)
        assert result.returncode == EXIT_BAD_INPUT, args
        assert result.stderr.startswith("gsetup: error:")
    assert not (tmp_path / "nonexistent").exists()  # no directories made

    missing_file = tmp_path / "x.db"
    read = gsetup("--db", f"sqlite:///{missing_file}", "list")
    assert read.returncode == EXIT_BAD_INPUT
    assert "does not exist" in read.stderr and "gsetup db init" in read.stderr
    assert not missing_file.exists()
    written = gsetup("--db", f"sqlite:///{missing_file}", "tenant", "create", "Acme")
    assert written.returncode == 0, written.stderr
    assert "Acme" in gsetup("--db", f"sqlite:///{missing_file}", "tenant", "list").stdout

    # The embedded default is still created on first use, by any command.
    listed = gsetup("tenant", "list")
    assert listed.returncode == 0, listed.stderr
    assert (Path(os.environ["XDG_DATA_HOME"]) / "gsetup" / "gsetup.db").is_file()


def test_long_work_shows_progress_on_a_terminal_and_stays_plain_when_piped(
    db_url: str, tmp_path: Path
) -> None:
    import pexpect

    assert run_cli("app", "create", "DMS_1", "--type", "DigitalMessagingServer").exit_code == 0
    cfg = tmp_path / "many.cfg"
    cfg.write_text("[bulk]\n" + "".join(f"k{i} = v{i}\n" for i in range(3000)))
    child = _spawn("options", "import", str(cfg), "--app", "DMS_1", "--dry-run")
    child.expect("Importing")  # the spinner, on standard error
    child.expect("3000 to create")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    piped = gsetup("options", "import", str(cfg), "--app", "DMS_1", "--dry-run")
    assert "Importing" not in piped.stdout + piped.stderr
    assert "\x1b[" not in piped.stdout  # no terminal codes in logs


def test_under_json_the_preview_and_question_stay_off_standard_output(
    db_url: str, tmp_path: Path
) -> None:
    import json
    import shlex

    import pexpect

    assert run_cli("app", "create", "DMS_1", "--type", "DigitalMessagingServer").exit_code == 0
    out = tmp_path / "result.json"
    command = f"{shlex.quote(GSETUP)} app delete DMS_1 --json > {shlex.quote(str(out))}"
    child = pexpect.spawn("/bin/sh", ["-c", command], encoding="utf-8", timeout=300)
    child.expect("Apply this plan")  # on the terminal: standard error
    child.send("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    result = json.loads(out.read_text())  # nothing but the result on standard output
    assert result["applied"] is True
    assert "Apply this plan" not in out.read_text()
    assert run_cli("app", "show", "DMS_1").exit_code == 2
