"""The DMS stand-in's role-changing routes (/switchover, /promote) against a real pair: only
a caller holding the member's control token changes a role, and only with a valid body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gsetup.httpclient import tls
from tests.dms_pair import CONTROL, MEMBERS, Pair, driver_package, ok, running_pair
from tests.helpers import free_port, run_cli
from tests.test_dms_tokens import control_option

ANSWERS = str(Path(__file__).resolve().parent.parent / "examples" / "driver-twitter.yaml")


@pytest.fixture
def pair(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """DMS_A (primary) and DMS_B (backup)."""
    with running_pair(tmp_path, monkeypatch) as started:
        yield started


def _post(pair: Pair, name: str, path: str, token: str | None, **body: Any) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{pair.ports[name]}{path}"
    return httpx.post(url, headers=headers, timeout=30, verify=tls(), **body)


def test_role_changes_want_the_control_token_and_a_valid_body(pair: Pair) -> None:
    both = {"DMS_A": "primary", "DMS_B": "backup"}
    refused = [
        ("DMS_B", "/promote", None, {}, 401, "no control token"),
        ("DMS_B", "/promote", "guess", {"json": {"from": "DMS_A"}}, 401, "wrong control token"),
        # DMS_A's token does not open DMS_B: each member has its own.
        ("DMS_B", "/promote", CONTROL["DMS_A"], {"json": {"from": "DMS_A"}}, 401, "wrong"),
        ("DMS_A", "/switchover", None, {"json": {}}, 401, "no control token"),
        ("DMS_A", "/switchover", "guess", {}, 401, "wrong control token"),
        ("DMS_B", "/promote", CONTROL["DMS_B"], {}, 400, "from: required"),
        ("DMS_B", "/promote", CONTROL["DMS_B"], {"json": {"from": 5}}, 400, "from: required"),
        ("DMS_B", "/promote", CONTROL["DMS_B"], {"json": {"from": "X"}}, 400, "not this member"),
        ("DMS_B", "/promote", CONTROL["DMS_B"], {"json": {"from": "DMS_A", "x": 1}}, 400, "'x'"),
        ("DMS_A", "/switchover", CONTROL["DMS_A"], {"json": {"to": "DMS_B"}}, 400, "'to'"),
        ("DMS_A", "/switchover", CONTROL["DMS_A"], {"json": [1]}, 400, "JSON object"),
        ("DMS_A", "/switchover", CONTROL["DMS_A"], {"content": b"{"}, 400, "not valid JSON"),
    ]
    for name, path, token, body, status, reason in refused:
        answer = _post(pair, name, path, token, **body)
        assert answer.status_code == status, (name, path, body, answer.text)
        assert reason in answer.json()["error"], (name, path, body, answer.text)
        assert CONTROL[name] not in answer.text
        assert pair.roles() == both, (name, path, body)  # nobody changed role

    done = _post(pair, "DMS_A", "/switchover", CONTROL["DMS_A"])  # the peer's token: its own
    assert done.status_code == 200, done.text
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_peer_moved_while_the_primary_runs_is_reached_where_it_is_now(pair: Pair) -> None:
    """DMS_B moved to another port (and restarted there) after DMS_A started: DMS_A reads
    its peer's address with the control tokens for each role change, so it asks DMS_B where
    it listens now (it asked the old port, and a switchover failed until the primary itself
    was restarted)."""
    pair.ports["DMS_B"] = free_port()
    ok("app", "update", "DMS_B", "--port", str(pair.ports["DMS_B"]))
    ok("app", "restart", "DMS_B", "--wait", "--timeout", "60")
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    switched = pair.control("DMS_A", "/switchover")
    assert switched.status_code == 200, switched.text
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}


# Process control, as the other kill and failure scenarios of upgrades (tests/test_upgrade.py).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_failed_switchover_reports_the_pair_and_how_to_go_on(pair: Pair, tmp_path: Path) -> None:
    """DMS_A was started while it had no backup link, which was made again since: a member
    takes its peer at start, so DMS_A refuses every switchover (no peer) until restarted."""
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    ok("app", "update", "DMS_A", "--no-backup")
    ok("app", "restart", "DMS_A", "--wait", "--timeout", "60")
    ok("app", "update", "DMS_A", "--backup", "DMS_B")
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    upgrade = ("driver", "upgrade", "twitter", "--answers", ANSWERS, "--dms", "DMS_B")
    upgrade += ("--package", str(new), "--yes")

    failed = run_cli(*upgrade, "--json")
    assert failed.exit_code == 1, failed.stderr
    report = failed.json()
    assert report["result"] == "failed"
    assert [(s["action"], s["outcome"]) for s in report["steps"]][-1] == ("switchover", "failed")
    after = {m["dms"]: (m["running"], m["role"], m["version"]) for m in report["after"]}
    assert after == {"DMS_A": (True, "primary", "1.0.0"), "DMS_B": (True, "backup", "2.0.0")}
    assert "run the same command again" in report["next_step"]
    assert "--rollback" in report["next_step"]

    text = run_cli(*upgrade)  # the same, as text: the pair observed and what next
    assert text.exit_code == 1, text.stderr
    assert "now DMS_A primary on 1.0.0, DMS_B backup on 2.0.0" in text.stdout, text.stdout
    assert "unknown" not in text.stdout
    assert "next: the switchover failed" in text.stdout and "--rollback" in text.stdout

    # The step it names works: --rollback puts DMS_B back on 1.0.0, roles as they were.
    undone = run_cli("driver", "upgrade", "twitter", "--dms", "DMS_B", "--rollback", "--yes")
    assert undone.exit_code == 0, undone.stdout + undone.stderr
    assert pair.versions() == {"DMS_A": "1.0.0", "DMS_B": "1.0.0"}
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_control_token_rotated_during_an_upgrade_is_the_one_its_switchover_sends(
    pair: Pair, db_url: str, tmp_path: Path
) -> None:
    """``dms token create --rotate`` on the primary while an upgrade runs (here: paused after
    its backup started on the new version): the switchover sends the token as configured
    then, which the running member wants at once (it sent the token read at the start, was
    refused 401 and the upgrade failed)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from gsetup.commands.upgrade import KILL_AFTER_ENV, KILL_SIGNAL_ENV

    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    env = {**os.environ, KILL_AFTER_ENV: "start:DMS_B", KILL_SIGNAL_ENV: "SIGSTOP"}
    command = [sys.executable, "-m", "gsetup", "driver", "upgrade", "twitter", "--answers"]
    command += [ANSWERS, "--dms", "DMS_B", "--package", str(new), "--yes", "--json"]
    upgrade = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while _process_state(upgrade.pid) != "T":
            assert upgrade.poll() is None, upgrade.communicate()
            assert time.monotonic() < deadline, "the upgrade never reached its switchover"
            time.sleep(0.1)
        old = control_option(db_url, "DMS_A")
        ok("dms", "token", "create", "--app", "DMS_A", "--rotate")
        rotated = control_option(db_url, "DMS_A")
        assert old is not None and rotated is not None and rotated[0] != old[0]
        upgrade.send_signal(signal.SIGCONT)
        out, err = upgrade.communicate(timeout=240)
    finally:
        if upgrade.poll() is None:
            upgrade.kill()
            upgrade.communicate(timeout=30)
    assert upgrade.returncode == 0, out + err
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    assert rotated[0] not in out + err


def _process_state(pid: int) -> str:
    """The state letter of process ``pid`` (``T``: stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


@pytest.fixture
def pair_without_tokens(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pair]:
    """DMS_A (primary) and DMS_B (backup), running without control tokens."""
    with running_pair(tmp_path, monkeypatch, control=False) as started:
        yield started


# One real pair for what `gsetup dms token` does to running stand-ins (SQLite: the commands'
# rows are tested on both backends in tests/test_dms_tokens.py).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_tokens_made_by_dms_token_count_at_once_in_a_running_pair(
    pair_without_tokens: Pair, db_url: str, tmp_path: Path
) -> None:
    """A pair without control tokens: the upgrade is refused, naming the command that makes
    them; once made with it, the running members take them (DMS_A, never restarted before
    the switchover, wants its new token and sends DMS_B's), and the upgrade succeeds. A
    token rotated or revoked on a running member counts at once too."""
    pair = pair_without_tokens
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    upgrade = ("driver", "upgrade", "twitter", "--answers", ANSWERS, "--dms", "DMS_B")
    upgrade += ("--package", str(new), "--yes", "--json")
    refused = run_cli(*upgrade)
    assert refused.exit_code == 2, refused.stderr
    for name in MEMBERS:
        assert (
            f"{name} has no [gsetup-dms] control-token, which a switchover needs: "
            f"gsetup dms token create --app {name}"
        ) in refused.stderr
    assert _post(pair, "DMS_A", "/switchover", "guess").status_code == 403

    for name in MEMBERS:
        ok("dms", "token", "create", "--app", name)
    tokens = {name: control_option(db_url, name) for name in MEMBERS}
    assert all(token is not None and token[1] for token in tokens.values())
    done = run_cli(*upgrade)
    assert done.exit_code == 0, done.stdout + done.stderr
    # Step 4, asked of DMS_A as it started: without a token, and its peer's unknown to it.
    assert done.json()["steps"][3]["action"] == "switchover"
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}

    # Rotated on the running primary: the old token is refused, the new one switches over.
    old = tokens["DMS_B"]
    assert old is not None
    ok("dms", "token", "create", "--app", "DMS_B", "--rotate")
    rotated = control_option(db_url, "DMS_B")
    assert rotated is not None
    assert _post(pair, "DMS_B", "/switchover", old[0]).status_code == 401
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    switched = _post(pair, "DMS_B", "/switchover", rotated[0])
    assert switched.status_code == 200, switched.text
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}

    # Revoked: role changes are refused at once.
    ok("dms", "token", "revoke", "--app", "DMS_A", "--yes")
    token_a = tokens["DMS_A"]
    assert token_a is not None
    revoked = _post(pair, "DMS_A", "/switchover", token_a[0])
    assert revoked.status_code == 403, revoked.text
    assert "DMS_A has no [gsetup-dms] control-token" in revoked.json()["error"]
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    logs = "".join((pair.working(name) / "gsetup-app.log").read_text() for name in MEMBERS)
    for token in (*tokens.values(), rotated):
        assert token is not None and token[0] not in logs
