"""`gsetup app start|stop|restart|status` with the local and the command adapters, the DMS
stand-in's refusals, and the upgrade's bad input: real processes, bounded waits."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gsetup.process.pids import read_pid_file, start_time
from tests.dms_pair import driver_package
from tests.helpers import free_port, run_cli, snapshot, write_tree

SERVICE_PID = "svc.pid"
# A service driven by command lines, as systemctl or ssh would: a sleep in the background.
COMMANDS = {
    "adapter": "command",
    "start": f"sh -c 'sleep 300 >/dev/null 2>&1 & echo $! > {SERVICE_PID}'",
    "stop": f"sh -c 'kill $(cat {SERVICE_PID}) && rm {SERVICE_PID}'",
    "status": f"sh -c 'test -f {SERVICE_PID} && kill -0 $(cat {SERVICE_PID})'",
    "timeout": "5",
}


def ok(*args: str) -> dict[str, object]:
    result = run_cli(*args)
    assert result.exit_code == 0, (args, result.stderr)
    return result.json() if "--json" in args else {}


def refused(*args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == 2, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def _set(app: str, **options: str) -> None:
    for key, value in options.items():
        ok("options", "set", f"gsetup-process/{key}", value, "--app", app)


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Path]:
    """An Interaction Server application run through the command adapter."""
    working = tmp_path / "svc"
    working.mkdir()
    ok("app", "create", "Svc", "--type", "InteractionServer", "--working-dir", str(working))
    _set("Svc", **COMMANDS)
    yield working
    pid_file = working / SERVICE_PID
    if pid_file.exists():  # the test failed half-way: leave nothing running
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _service_pid(working: Path) -> int:
    return int((working / SERVICE_PID).read_text())


def test_command_adapter_starts_stops_and_asks(service: Path) -> None:
    assert ok("app", "status", "Svc", "--json")["running"] is False
    started = ok("app", "start", "Svc", "--wait", "--json")
    assert started["running"] is True and started["adapter"] == "command"
    first = _service_pid(service)
    assert start_time(first) is not None
    ok("app", "restart", "Svc", "--wait")
    second = _service_pid(service)
    assert second != first and start_time(first) is None and start_time(second) is not None
    assert "Svc: running" in run_cli("app", "status", "Svc").stdout
    assert ok("app", "stop", "Svc", "--json")["running"] is False
    assert start_time(second) is None and not (service / SERVICE_PID).exists()


def test_command_adapter_failures_are_clear(service: Path) -> None:
    _set("Svc", status="sleep 60", timeout="1")
    message = refused("app", "status", "Svc")
    assert "the status command ([gsetup-process] status) did not finish within 1 s" in message
    _set("Svc", start="sh -c 'echo no licence; exit 3'")
    assert "start command exited with status 3: no licence" in refused("app", "start", "Svc")
    _set("Svc", adapter="systemd")
    assert "[gsetup-process] adapter: 'systemd'; allowed: local, command" in refused(
        "app", "status", "Svc"
    )


def test_local_adapter_refusals(db_url: str, tmp_path: Path) -> None:
    working = tmp_path / "w"
    working.mkdir()
    ok("app", "create", "Bare", "--type", "ChatServer")
    assert "has no start command or working directory" in refused("app", "start", "Bare")
    quits = f"{sys.executable} -c \"print('licence expired'); raise SystemExit(1)\""
    ok("app", "create", "Quits", "--type", "ChatServer", "--working-dir", str(working))
    ok("app", "update", "Quits", "--start-cmd", quits)
    message = refused("app", "start", "Quits", "--wait")
    assert "exited right after its start" in message and "licence expired" in message
    assert read_pid_file(working / "gsetup-app.pid") is None


def test_the_stand_in_refuses_a_port_in_use_and_other_hosts(db_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ok(
            "app", "create", "DMS_X", "--type", "DigitalMessagingServer", "--host", "127.0.0.1",
            "--port", str(port), "--working-dir", str(tmp_path),
        )  # fmt: skip
        message = refused("dms", "run", "--app", "DMS_X")
        assert f"127.0.0.1:{port}: the port is in use" in message
    ok("app", "update", "DMS_X", "--host", "192.0.2.10", "--port", str(free_port()))
    assert "loopback addresses only" in refused("dms", "run", "--app", "DMS_X")
    ok("app", "create", "Ixn", "--type", "InteractionServer")
    assert "is a InteractionServer, not a DigitalMessagingServer" in refused(
        "dms", "run", "--app", "Ixn"
    )


def _dms(name: str, working: Path, *extra: str) -> None:
    working.mkdir()
    ok(
        "app", "create", name, "--type", "DigitalMessagingServer", "--host", "127.0.0.1",
        "--port", str(free_port()), "--working-dir", str(working),
        "--start-cmd", f"gsetup dms run --app {name}", *extra,
    )  # fmt: skip


def test_upgrade_bad_input_changes_nothing(db_url: str, tmp_path: Path) -> None:
    package = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    upgrade = ("driver", "upgrade", "twitter", "--package", str(package), "--yes")
    terms = ("--set", "accept_terms=true")
    ok("app", "create", "Ixn", "--type", "InteractionServer")
    _dms("DMS_Alone", tmp_path / "alone")
    _dms("DMS_B", tmp_path / "b")
    _dms("DMS_A", tmp_path / "a", "--backup", "DMS_B")
    before = snapshot(db_url)

    not_dms = refused(*upgrade, *terms, "--dms", "Ixn")
    assert "key 'dms': 'Ixn' is not one of the choices: DMS_A, DMS_Alone, DMS_B" in not_dms
    alone = refused(*upgrade, *terms, "--dms", "DMS_Alone")
    assert "has no backup link" in alone and "--single" in alone
    assert "is paired with 'DMS_A'" in refused(*upgrade, *terms, "--dms", "DMS_B", "--single")
    facebook = tmp_path / "facebook"
    manifest = 'driver: facebook\nversion: "2.0.0"\nfiles:\n  - lib/facebook-driver.jar\n'
    write_tree(facebook, {"manifest.yaml": manifest, "lib/facebook-driver.jar": "PK"})
    assert "the package is the facebook driver, not twitter" in refused(
        "driver", "upgrade", "twitter", "--package", str(facebook), "--yes", *terms,
        "--dms", "DMS_A",
    )  # fmt: skip
    assert "not installed on" in refused(*upgrade, *terms, "--dms", "DMS_A")
    assert "nothing to undo" in refused(*upgrade, "--dms", "DMS_A", "--rollback")
    assert snapshot(db_url) == before
