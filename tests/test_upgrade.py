"""The rolling driver upgrade against two real DMS stand-in processes on loopback ports, with
a client submitting inbound interactions to the pair the whole time."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gsetup.commands.upgrade import KILL_AFTER_ENV, KILL_SIGNAL_ENV
from tests.dms_pair import (
    MEMBERS,
    Client,
    Pair,
    assert_nothing_lost,
    driver_package,
    listener,
    ok,
    running_pair,
)
from tests.helpers import CONFIG_TABLES, run_cli, snapshot, sql_rows

# The scenarios that kill gsetup or break a package run on SQLite only: what they test is
# process control, and the rolling upgrade itself runs on both backends.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

UPGRADE = ("driver", "upgrade", "twitter", "--dms", "DMS_B", "--set", "accept_terms=true")
# The install's answers file serves the upgrade too (it reads tenant, dms and accept_terms).
ANSWERS = str(Path(__file__).resolve().parent.parent / "examples" / "driver-twitter.yaml")


@pytest.fixture
def pair(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """DMS_A (primary) and DMS_B (backup) running the twitter driver 1.0.0."""
    with running_pair(tmp_path, monkeypatch) as started:
        yield started


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
def test_broken_package_kills_resume_and_rollback(pair: Pair, db_url: str, tmp_path: Path) -> None:
    """One pair, a client submitting throughout, upgrades in a row: a broken package (rolled
    back), killed after step 4 (--rollback, after waiting for the tenant lock), killed after
    step 5 (--rollback), killed after step 4 and again after step 5 (each re-run resumes, the
    last one finishes with --switch-back). Each rollback leaves the configuration database
    and the driver files exactly as they were before the upgrade."""
    before = _configuration(pair, db_url)
    client = Client(pair)
    client.start()
    try:
        _broken_package_rolls_the_backup_back(pair, tmp_path)
        assert _configuration(pair, db_url) == before
        new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0", added=(ADDED,))
        _waits_for_the_lock_then_killed_after_step_4(pair, db_url, new)
        _rollback_restores_both(pair, ["restore DMS_B"])
        assert _configuration(pair, db_url) == before
        _killed_after("switchover:DMS_B", new)
        assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
        assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "2.0.0"}
        _rollback_restores_both(pair, ["switchover DMS_A", "restore DMS_B"])
        assert _configuration(pair, db_url) == before
        _killed_after_step_4_then_5_the_same_command_finishes(pair, new)
    finally:
        client.finish()
    assert_nothing_lost(pair, client)


ADDED = "x-added-option"  # an option the new version's options file brings


def _configuration(pair: Pair, db_url: str) -> dict[str, Any]:
    """Every configuration row (option rows by object path rather than row id: a rollback
    may write one anew) and the sha-256 of each member's driver files."""
    tables = tuple(t for t in CONFIG_TABLES if t != "cfg_option")
    options = sql_rows(
        db_url,
        "SELECT o.path, c.section, c.key, c.value, c.secret, c.managed_by "
        "FROM cfg_option c JOIN cfg_object o ON o.id = c.object_id",
    )
    rows = sorted(options, key=repr)
    files = {
        str(path.relative_to(pair.root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for name in MEMBERS
        for path in sorted((pair.working(name) / "media-channel-drivers").rglob("*"))
        if path.is_file()
    }
    return {"tables": snapshot(db_url, tables), "options": rows, "files": files}


def _channel_option(name: str, key: str) -> str | None:
    shown = run_cli("app", "show", name, "--json")
    assert shown.exit_code == 0, shown.stderr
    options: dict[str, dict[str, str]] = shown.json()["options"]
    return options.get("channel-twitter", {}).get(key)


def _broken_package_rolls_the_backup_back(pair: Pair, tmp_path: Path) -> None:
    broken = tmp_path / "twitter-2.0.0-broken"
    driver_package(broken, "2.0.0", broken=True, added=(ADDED,))
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
    # The install added the new option and moved the old default along; both went back.
    install, restore = (_option_actions(plan) for plan in report["plans"])
    assert install[ADDED] == ("create", None, "2.0.0")
    assert install["x-driver-build"] == ("update", "1.0.0", "2.0.0")
    assert restore[ADDED] == ("delete", "2.0.0", None)
    assert restore["x-driver-build"] == ("update", "2.0.0", "1.0.0")
    assert _pid(pair, "DMS_A") == primary_pid  # the primary was never stopped
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert _installed_versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    nothing = run_cli(*UPGRADE, "--rollback", "--yes")
    assert nothing.exit_code == 2 and "nothing to undo" in nothing.stderr


def _option_actions(plan: dict[str, Any]) -> dict[str, tuple[str, str | None, str | None]]:
    """What a plan does to the options of [channel-twitter]: key -> (action, before, after)."""
    return {
        c["key"]: (c["action"], c.get("before"), c.get("after"))
        for c in plan["changes"]
        if c.get("section") == "channel-twitter"
    }


def _upgrade_command(package: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "gsetup", *UPGRADE, "--package", str(package), "--yes", *extra]


def _killed_after(
    step: str, package: Path, *extra: str, signum: signal.Signals = signal.SIGKILL
) -> str:
    """Run the upgrade in a process of its own that sends itself ``signum`` once ``step``
    is recorded; returns what it said on standard error."""
    env = {**os.environ, KILL_AFTER_ENV: step, KILL_SIGNAL_ENV: signum.name}
    done = subprocess.run(
        _upgrade_command(package, *extra),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Ctrl-C is gsetup's own exit status 130; SIGKILL ends it where it is
    assert done.returncode == (130 if signum == signal.SIGINT else -signum), done.stderr
    return done.stderr


def _waits_for_the_lock_then_killed_after_step_4(pair: Pair, db_url: str, new: Path) -> None:
    """Another gsetup holds the tenant lock: the upgrade names it and waits, changing
    nothing; once it is released the upgrade goes on (and is killed after step 4)."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.lock import tenant_lock

    pids = {name: _pid(pair, name) for name in MEMBERS}
    env = {**os.environ, KILL_AFTER_ENV: "start:DMS_B", "GSETUP_LOCK_TIMEOUT": "120"}
    engine = open_database(db_url).engine
    with engine.connect() as conn, tenant_lock(conn, "Environment", "alice@ops"):
        upgrade = subprocess.Popen(
            _upgrade_command(new), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert upgrade.stderr is not None
        said = []
        for line in upgrade.stderr:  # ends at the latest when the lock wait times out
            said.append(line)
            if "waiting for tenant" in line:
                break
        assert "waiting for tenant 'Environment', locked by alice@ops (pid " in said[-1], said
        assert {name: _pid(pair, name) for name in MEMBERS} == pids  # nothing stopped
        assert not (pair.working("DMS_B") / ".gsetup-upgrade").exists()
    _out, rest = upgrade.communicate(timeout=300)
    assert upgrade.returncode == -signal.SIGKILL, rest
    assert "[3/7] start DMS_B: done" in rest
    engine.dispose()
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    assert _channel_option("DMS_B", ADDED) == "2.0.0"
    assert _channel_option("DMS_B", "x-driver-build") == "2.0.0"


def _steps(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["action"], s["dms"], s["outcome"]) for s in report["steps"]]


def _rollback_restores_both(pair: Pair, steps: list[str]) -> None:
    planned = run_cli(*UPGRADE, "--rollback", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    assert [f"{action} {dms}" for action, dms, _ in _steps(planned.json())] == steps
    assert {outcome for _, _, outcome in _steps(planned.json())} == {"planned"}
    result = run_cli(*UPGRADE, "--rollback", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["result"] == "restored"
    assert [f"{action} {dms}" for action, dms, _ in _steps(result.json())] == steps
    assert {outcome for _, _, outcome in _steps(result.json())} == {"done"}
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert _installed_versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    assert _channel_option("DMS_B", ADDED) is None
    assert _channel_option("DMS_B", "x-driver-build") == "1.0.0"
    nothing = run_cli(*UPGRADE, "--rollback", "--yes")
    assert nothing.exit_code == 2 and "nothing to undo" in nothing.stderr


def _killed_after_step_4_then_5_the_same_command_finishes(pair: Pair, new: Path) -> None:
    said = _killed_after("start:DMS_B", new, signum=signal.SIGINT)  # Ctrl-C: told what next
    assert "run the same command again to resume it, or add --rollback" in said
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "2.0.0"}
    planned = run_cli(*UPGRADE, "--package", str(new), "--dry-run", "--json", "--yes")
    assert planned.exit_code == 0, planned.stderr
    outcomes = [s["outcome"] for s in planned.json()["steps"]]
    assert outcomes[:4] == ["done before", "done before", "done before", "planned"]
    detailed = run_cli(*UPGRADE, "--package", str(new), "--detailed-exitcode", "--yes")
    assert detailed.exit_code == 3, detailed.stderr  # steps left to do
    assert "The pair now" in detailed.stdout
    # The re-run resumes at step 5 (and is killed once it is done).
    said = _killed_after("switchover:DMS_B", new)
    assert "[3/7] start DMS_B: done before" in said and "[4/7] switchover DMS_B: done" in said
    assert "[5/7]" not in said
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "2.0.0"}
    result = run_cli(*UPGRADE, "--package", str(new), "--switch-back", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert _steps(result.json()) == [
        ("stop", "DMS_B", "done before"),
        ("install", "DMS_B", "done before"),
        ("start", "DMS_B", "done before"),
        ("switchover", "DMS_B", "done before"),
        ("stop", "DMS_A", "done"),
        ("install", "DMS_A", "done"),
        ("start", "DMS_A", "done"),
        ("switch-back", "DMS_A", "done"),
    ]
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}  # switched back
    assert _installed_versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    for name in MEMBERS:
        assert not (pair.working(name) / ".gsetup-upgrade").exists()
        assert _channel_option(name, ADDED) == "2.0.0"
        shown = run_cli("app", "show", name, "--json").json()["options"]
        assert not [s for s in shown if s.startswith("gsetup-upgrade-")]  # journal, kept rows


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_primary_that_died_before_the_switchover_is_started_again(
    pair: Pair, tmp_path: Path
) -> None:
    """gsetup killed after step 3, then the primary killed too: the same command starts the
    primary again on its version, switches over and finishes (it failed at the switchover,
    connection refused, leaving the pair without a primary)."""
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    assert "[3/7] start DMS_B: done" in _killed_after("start:DMS_B", new)
    os.killpg(int(_pid(pair, "DMS_A").split()[0]), signal.SIGKILL)
    result = run_cli("driver", "upgrade", "twitter", "--answers", ANSWERS, "--dms", "DMS_B",
                     "--package", str(new), "--yes", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["result"] == "upgraded"
    started = [(s["action"], s["dms"], s["detail"]) for s in report["steps"]][3]
    assert started == ("start", "DMS_A", "healthy, twitter driver 1.0.0")
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_upgraded_member_that_died_is_started_again_before_it_is_relied_on(
    pair: Pair, tmp_path: Path
) -> None:
    """gsetup killed after the backup's start, then that member killed: the same command
    starts it again on the new version before switching over to it (it failed there, the
    primary's promote refused, every run the same). Killed again after the former primary's
    stop, then the new primary killed: the same command starts it again before it goes on,
    and finishes with one primary, both running (it said "upgraded", exit 0, with both
    members down and no primary)."""
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    assert "[3/7] start DMS_B: done" in _killed_after("start:DMS_B", new)
    os.killpg(int(_pid(pair, "DMS_B").split()[0]), signal.SIGKILL)
    said = _killed_after("stop:DMS_A", new)
    assert "[4/7] switchover DMS_B: done" in said, said
    assert pair.roles() == {"DMS_A": None, "DMS_B": "primary"}
    os.killpg(int(_pid(pair, "DMS_B").split()[0]), signal.SIGKILL)
    result = run_cli(*UPGRADE, "--package", str(new), "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["result"] == "upgraded"
    assert ("start", "DMS_B", "done", "healthy, twitter driver 2.0.0") in [
        (s["action"], s["dms"], s["outcome"], s["detail"]) for s in report["steps"]
    ]
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    assert [(m["dms"], m["running"], m["role"]) for m in report["after"]] == [
        ("DMS_A", True, "backup"),
        ("DMS_B", True, "primary"),
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_rollback_after_the_new_primary_died_restores_the_original_roles(
    pair: Pair, tmp_path: Path
) -> None:
    """gsetup killed after the switchover, then the upgraded new primary (DMS_B) killed:
    --rollback starts it on its old version, and hands the primary role back to DMS_A, the
    primary before the upgrade (DMS_B came back primary from its role file). Its dry run
    lists that switchover too (it listed the restore only)."""
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    assert "[4/7] switchover DMS_B: done" in _killed_after("switchover:DMS_B", new)
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    os.killpg(int(_pid(pair, "DMS_B").split()[0]), signal.SIGKILL)
    planned = run_cli(*UPGRADE, "--rollback", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    assert _steps(planned.json()) == [
        ("restore", "DMS_B", "planned"),
        ("switchover", "DMS_A", "planned"),
    ]
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": None}  # the dry run changed nothing
    result = run_cli(*UPGRADE, "--rollback", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["result"] == "restored"
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    assert [(m["dms"], m["running"], m["role"]) for m in report["after"]] == [
        ("DMS_A", True, "primary"),
        ("DMS_B", True, "backup"),
    ]
    assert _steps(report) == [("restore", "DMS_B", "done"), ("switchover", "DMS_A", "done")]


def _journal_holder() -> str | None:
    options = run_cli("app", "show", "DMS_A", "--json").json()["options"]
    holder = options.get("gsetup-upgrade-twitter", {}).get("holder")
    assert holder is None or isinstance(holder, str)
    return holder


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_upgrades_at_once_one_is_refused(pair: Pair, db_url: str, tmp_path: Path) -> None:
    """Two gsetups start the same upgrade at once (both found no upgrade running): one runs
    it, the other is refused naming its process, before it changes anything (both stopped
    the backup, and the second failed with an unexpected FileExistsError, exit 1). A resumed
    upgrade names its own process too, not the one that was killed."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.lock import tenant_lock

    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    env = {**os.environ, KILL_AFTER_ENV: "stop:DMS_B", "GSETUP_LOCK_TIMEOUT": "120"}
    engine = open_database(db_url).engine
    upgrades = []
    with engine.connect() as conn, tenant_lock(conn, "Environment", "alice@ops"):
        for _ in range(2):  # both read the configuration, then wait for the lock to claim it
            upgrade = subprocess.Popen(
                _upgrade_command(new), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            assert upgrade.stderr is not None
            said = []
            for line in upgrade.stderr:  # ends at the latest when the lock wait times out
                said.append(line)
                if "waiting for tenant" in line:
                    break
            assert "waiting for tenant 'Environment', locked by alice@ops" in said[-1], said
            upgrades.append(upgrade)
    engine.dispose()
    ends = [(u.wait(timeout=300), u.communicate(timeout=30)[1]) for u in upgrades]
    assert sorted(code for code, _ in ends) == [-signal.SIGKILL, 2], ends
    refused = next(said for code, said in ends if code == 2)
    assert refused.count("gsetup: error:") == 1 and "Traceback" not in refused
    assert "an upgrade of the twitter driver on 'DMS_A' is running in process" in refused
    assert "[1/7]" not in refused  # it did nothing
    killed = next(u for u, (code, _) in zip(upgrades, ends, strict=True) if code != 2)
    assert _journal_holder() == f"{killed.pid}@{socket.gethostname()}"
    # The same command resumes it, killed after its next step: the journal names it.
    resumed = subprocess.Popen(
        _upgrade_command(new), env={**env, KILL_AFTER_ENV: "install:DMS_B"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _out, said = resumed.communicate(timeout=300)
    assert resumed.returncode == -signal.SIGKILL, said
    assert _journal_holder() == f"{resumed.pid}@{socket.gethostname()}"
    finished = run_cli(*UPGRADE, "--package", str(new), "--yes")
    assert finished.exit_code == 0, finished.stderr
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_rollback_stopped_by_ctrl_c_says_to_run_it_again(
    pair: Pair, db_url: str, tmp_path: Path
) -> None:
    """Ctrl-C while --rollback waits for the tenant lock: it says to run the same command
    again to finish undoing the upgrade (it said to "add --rollback", which it has), and
    that command does."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.lock import tenant_lock

    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    _killed_after("install:DMS_B", new)
    engine = open_database(db_url).engine
    env = {**os.environ, "GSETUP_LOCK_TIMEOUT": "120"}
    rollback = [sys.executable, "-m", "gsetup", *UPGRADE, "--rollback", "--yes"]
    with engine.connect() as conn, tenant_lock(conn, "Environment", "alice@ops"):
        undo = subprocess.Popen(
            rollback, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        assert undo.stderr is not None
        for line in undo.stderr:  # ends at the latest when the lock wait times out
            if "waiting for tenant" in line:
                break
        os.killpg(undo.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's process group
        said = undo.stderr.read()
        undo.stderr.close()
        assert undo.wait(timeout=60) == 130, said
    engine.dispose()
    assert "run the same command again to finish undoing the upgrade" in said, said
    assert "add --rollback" not in said
    assert _journal_sections("DMS_A") != []
    result = run_cli(*UPGRADE, "--rollback", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["result"] == "restored"
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}


def _journal_sections(name: str) -> list[str]:
    """The upgrade's option sections on a member (its journal, its kept options)."""
    options = run_cli("app", "show", name, "--json").json()["options"]
    return [section for section in options if section.startswith("gsetup-upgrade-")]


def _taken(name: str, port: int) -> str:
    return (
        f"{name} is not running and another process listens on 127.0.0.1:{port}, so it could "
        "not start there; stop that process first"
    )


def test_a_member_port_another_process_holds_is_refused(
    pair: Pair, db_url: str, tmp_path: Path
) -> None:
    """The backup is down and another process listens on its port: it could not start
    there, so the upgrade is refused before the first change (exit 2, naming member and
    port); the database, the files and the processes are as they were."""
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    ok("app", "stop", "DMS_B")
    primary, before = _pid(pair, "DMS_A"), _configuration(pair, db_url)
    port = pair.ports["DMS_B"]
    with listener(port) as other:
        result = run_cli(*UPGRADE, "--package", str(new), "--yes")
        assert other.poll() is None  # still there, still holding the port
    assert result.exit_code == 2, result.stderr
    assert "gsetup: error: the upgrade cannot start (nothing was changed): " in result.stderr
    assert _taken("DMS_B", port) in result.stderr
    assert _configuration(pair, db_url) == before
    assert _journal_sections("DMS_A") == [] and _journal_sections("DMS_B") == []
    assert _pid(pair, "DMS_A") == primary
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": None}
    assert not (pair.working("DMS_B") / "gsetup-app.pid").exists()
    assert not any((pair.working(name) / ".gsetup-upgrade").exists() for name in MEMBERS)


@SQLITE_ONLY
def test_a_resumed_upgrade_and_its_dry_run_check_as_a_fresh_one(
    pair: Pair, db_url: str, tmp_path: Path
) -> None:
    """Killed after the former primary's install (it is down, both have the new version in
    the database), then its port taken: the dry run of the same command shows the problem,
    the command refuses to resume, changing nothing. Once the port is free, both show no
    problem (a member down, the new version installed on both are no problem when resuming)
    and the command finishes."""
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    _killed_after("install:DMS_A", new)
    port, serving = pair.ports["DMS_A"], _pid(pair, "DMS_B")
    before = _configuration(pair, db_url)
    again = (*UPGRADE, "--package", str(new), "--yes")
    with listener(port):
        planned = run_cli(*again, "--dry-run", "--json")
        assert planned.exit_code == 2, planned.stderr  # what the run would refuse
        outcomes = [s["outcome"] for s in planned.json()["steps"]]
        assert outcomes == ["done before"] * 6 + ["planned"]
        assert planned.json()["problems"] == [_taken("DMS_A", port)]
        # The refusal's one line on standard error, as the run prints it, for a script.
        assert planned.stderr == (
            f"gsetup: error: the upgrade cannot resume (nothing was changed): "
            f"{_taken('DMS_A', port)}\n"
        )
        refused = run_cli(*again)
    assert refused.exit_code == 2, refused.stderr
    assert "the upgrade cannot resume (nothing was changed): " in refused.stderr
    assert _taken("DMS_A", port) in refused.stderr
    assert _configuration(pair, db_url) == before
    assert _pid(pair, "DMS_B") == serving
    assert pair.roles() == {"DMS_A": None, "DMS_B": "primary"}

    assert run_cli(*again, "--dry-run", "--json").json()["problems"] == []
    result = run_cli(*again)
    assert result.exit_code == 0, result.stderr
    assert "The pair before the upgrade" in result.stdout
    assert "upgraded: the twitter driver 1.0.0 -> 2.0.0" in result.stdout
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert _journal_sections("DMS_A") == [] and _journal_sections("DMS_B") == []
