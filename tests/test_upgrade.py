"""The rolling driver upgrade against two real DMS stand-in processes on loopback ports, with
a client submitting inbound interactions to the pair the whole time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dms_pair import Client, Pair, assert_nothing_lost, driver_package, make_pair
from tests.helpers import run_cli

# The scenarios that kill gsetup or break a package run on SQLite only: what they test is
# process control, and the rolling upgrade itself runs on both backends.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

UPGRADE = ("driver", "upgrade", "twitter", "--dms", "DMS_B", "--set", "accept_terms=true")
# The install's answers file serves the upgrade too (it reads tenant, dms and accept_terms).
ANSWERS = str(Path(__file__).resolve().parent.parent / "examples" / "driver-twitter.yaml")


@pytest.fixture
def pair(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """DMS_A (primary) and DMS_B (backup) running the twitter driver 1.0.0."""
    started = make_pair(tmp_path, monkeypatch)
    try:
        yield started
    finally:
        started.close()


def test_rolling_upgrade_loses_nothing(pair: Pair, tmp_path: Path) -> None:
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    client = Client(pair)
    client.start()
    try:
        args = ("--answers", ANSWERS, "--dms", "DMS_B", "--package", str(new), "--yes", "--json")
        result = run_cli("driver", "upgrade", "twitter", *args)
    finally:
        client.finish()
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["result"] == "upgraded"
    assert [(s["action"], s["dms"]) for s in report["steps"]] == [
        ("stop", "DMS_B"),
        ("install", "DMS_B"),
        ("start", "DMS_B"),
        ("switchover", "DMS_B"),
        ("stop", "DMS_A"),
        ("install", "DMS_A"),
        ("start", "DMS_A"),
    ]
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    assert_nothing_lost(pair, client)


def _installed_versions() -> dict[str, str]:
    listed = run_cli("driver", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    return {d["dms"]: d["version"] for d in listed.json()}


def _pid(pair: Pair, name: str) -> str:
    return (pair.working(name) / "gsetup-app.pid").read_text()


@SQLITE_ONLY
def test_broken_package_kills_resume_and_rollback(pair: Pair, tmp_path: Path) -> None:
    """One pair, a client submitting throughout, four upgrades in a row: a broken package
    (rolled back), killed after step 5 (--rollback), killed after step 4 (resumed, with
    --switch-back)."""
    client = Client(pair)
    client.start()
    try:
        _broken_package_rolls_the_backup_back(pair, tmp_path)
        new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
        _killed_after_step_5_rollback_restores_both(pair, new)
        _killed_after_step_4_the_same_command_finishes(pair, new)
    finally:
        client.finish()
    assert_nothing_lost(pair, client)


def _broken_package_rolls_the_backup_back(pair: Pair, tmp_path: Path) -> None:
    broken = driver_package(tmp_path / "twitter-2.0.0-broken", "2.0.0", broken=True)
    primary_pid = _pid(pair, "DMS_A")
    args = ("--package", str(broken), "--yes", "--json")
    result = run_cli(*UPGRADE, *args)
    assert result.exit_code == 1, result.stderr
    report = result.json()
    assert report["result"] == "rolled back"
    assert _steps(report) == [
        ("stop", "DMS_B", "done"),
        ("install", "DMS_B", "done"),
        ("start", "DMS_B", "failed"),
        ("restore", "DMS_B", "done"),
    ]
    detail = report["steps"][2]["detail"]
    assert "did not become healthy with the twitter driver 2.0.0" in detail
    assert "lib/twitter-driver.jar is not a jar (zip) archive" in detail
    assert _pid(pair, "DMS_A") == primary_pid  # the primary was never stopped
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert _installed_versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    nothing = run_cli(*UPGRADE, "--rollback", "--yes")
    assert nothing.exit_code == 2 and "nothing to undo" in nothing.stderr


def _killed_after(step: str, package: Path) -> None:
    """Run the upgrade in a process of its own that SIGKILLs itself once ``step`` is recorded."""
    env = {**os.environ, "GSETUP_TEST_KILL_AFTER_STEP": step}
    command = [sys.executable, "-m", "gsetup", *UPGRADE, "--package", str(package), "--yes"]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == -9, done.stderr


def _steps(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["action"], s["dms"], s["outcome"]) for s in report["steps"]]


def _killed_after_step_5_rollback_restores_both(pair: Pair, new: Path) -> None:
    _killed_after("switchover:DMS_B", new)
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "2.0.0"}
    result = run_cli(*UPGRADE, "--rollback", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["result"] == "restored"
    assert _steps(result.json()) == [
        ("switchover", "DMS_A", "done"),
        ("restore", "DMS_B", "done"),
    ]
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert _installed_versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    nothing = run_cli(*UPGRADE, "--rollback", "--yes")
    assert nothing.exit_code == 2 and "nothing to undo" in nothing.stderr


def _killed_after_step_4_the_same_command_finishes(pair: Pair, new: Path) -> None:
    _killed_after("start:DMS_B", new)
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "2.0.0"}
    planned = run_cli(*UPGRADE, "--package", str(new), "--dry-run", "--json", "--yes")
    assert planned.exit_code == 0, planned.stderr
    outcomes = [s["outcome"] for s in planned.json()["steps"]]
    assert outcomes[:4] == ["done before", "done before", "done before", "planned"]
    result = run_cli(*UPGRADE, "--package", str(new), "--switch-back", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert _steps(result.json()) == [
        ("stop", "DMS_B", "done before"),
        ("install", "DMS_B", "done before"),
        ("start", "DMS_B", "done before"),
        ("switchover", "DMS_B", "done"),
        ("stop", "DMS_A", "done"),
        ("install", "DMS_A", "done"),
        ("start", "DMS_A", "done"),
        ("switch-back", "DMS_A", "done"),
    ]
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}  # switched back
    assert not (pair.working("DMS_B") / ".gsetup-upgrade").exists()
