"""`gsetup app start|stop|restart|status` with the local and the command adapters, the DMS
stand-in's refusals, and the upgrade's bad input: real processes, bounded waits."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gsetup.process.config import runs_gsetup
from gsetup.process.pids import read_pid_file, start_time
from tests.dms_pair import driver_package, hub_secrets, install_twitter
from tests.helpers import free_port, run_cli, snapshot, store_unchecked, write_tree

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
    # A value an older gsetup stored unchecked (options set refuses it now).
    store_unchecked(os.environ["GSETUP_DB"], "Svc", "gsetup-process", "adapter", "systemd")
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
    before = snapshot(db_url)
    message = refused("app", "start", "Quits", "--wait")
    assert "exited right after its start" in message and "licence expired" in message
    assert read_pid_file(working / "gsetup-app.pid") is None
    assert snapshot(db_url) == before


class _HealthyDms(BaseHTTPRequestHandler):
    """Another DMS (a stand-in started by hand) answering its health probe as healthy."""

    def do_GET(self) -> None:
        body = json.dumps({"healthy": True, "role": "primary", "drivers": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_app_start_refuses_a_port_a_healthy_dms_holds(db_url: str, tmp_path: Path) -> None:
    """The process started could not listen, but the one that does answers the probe: the
    start is refused first, not reported as healthy with the pid of a process that died."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _HealthyDms) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        port = other.server_address[1]
        _dms("DMS_X", tmp_path, port=port)
        before = snapshot(db_url)
        message = refused("app", "start", "DMS_X", "--wait")
        other.shutdown()
    assert f"another process listens on 127.0.0.1:{port}, so it could not start" in message
    assert not (tmp_path / "gsetup-app.pid").exists()
    assert snapshot(db_url) == before


def test_the_stand_in_refuses_a_port_in_use_and_other_hosts(db_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _dms("DMS_X", tmp_path, port=port)
        before = snapshot(db_url)
        message = refused("dms", "run", "--app", "DMS_X")
        assert f"127.0.0.1:{port}: the port is in use" in message
        started = refused("app", "start", "DMS_X", "--wait")
        assert f"another process listens on 127.0.0.1:{port}, so it could not start" in started
        assert not (tmp_path / "gsetup-app.pid").exists()
        assert snapshot(db_url) == before
    ok("app", "update", "DMS_X", "--host", "192.0.2.10", "--port", str(free_port()))
    assert "loopback addresses only" in refused("dms", "run", "--app", "DMS_X")
    ok("app", "create", "Ixn", "--type", "InteractionServer")
    assert "is of type InteractionServer, not DigitalMessagingServer" in refused(
        "dms", "run", "--app", "Ixn"
    )


def _dms(name: str, working: Path, *extra: str, port: int | None = None) -> int:
    """A DigitalMessagingServer run by the stand-in (on ``port``, else a free one); returns
    its port."""
    working.mkdir(exist_ok=True)
    port = port or free_port()
    ok(
        "app", "create", name, "--type", "DigitalMessagingServer", "--host", "127.0.0.1",
        "--port", str(port), "--working-dir", str(working),
        "--start-cmd", f"{sys.executable} -m gsetup dms run --app {name}", *extra,
    )  # fmt: skip
    return port


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its content."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_upgrade_bad_input_changes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    upgrade = ("driver", "upgrade", "twitter", "--package", str(package), "--yes")
    terms = ("--set", "accept_terms=true")
    ok("app", "create", "Ixn", "--type", "InteractionServer")
    _dms("DMS_Alone", tmp_path / "alone")
    ports = {"DMS_B": _dms("DMS_B", tmp_path / "b")}
    ports["DMS_A"] = _dms("DMS_A", tmp_path / "a", "--backup", "DMS_B")
    before = snapshot(db_url)

    not_dms = refused(*upgrade, *terms, "--dms", "Ixn")
    assert "key 'dms': 'Ixn' is not one of the choices: DMS_A, DMS_Alone, DMS_B" in not_dms
    assert len(not_dms.splitlines()) == 1  # one line, also when standard error is no terminal
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
    assert [_tree(tmp_path / d) for d in ("alone", "a", "b")] == [{}, {}, {}]

    # A status command that hangs: the checks ask each member, and stop there.
    hub_secrets(monkeypatch)
    old = driver_package(tmp_path / "twitter-1.0.0", "1.0.0")
    for name, port in ports.items():
        install_twitter(name, port, old)
    _set("DMS_B", adapter="command", start="true", stop="true", status="sleep 60", timeout="1")
    before, files = snapshot(db_url), _tree(tmp_path)
    hangs = refused(*upgrade, *terms, "--dms", "DMS_A")
    assert (
        "application 'DMS_B': the status command ([gsetup-process] status) did not finish "
        "within 1 s and was killed"
    ) in hangs
    assert snapshot(db_url) == before and _tree(tmp_path) == files


def test_an_upgrade_held_on_another_host_is_refused_until_released(
    db_url: str, tmp_path: Path
) -> None:
    """A host cannot see another's processes: an upgrade recorded as held by a process on
    another host was taken for a dead one, so a second operator's same command (or
    --rollback) resumed it while the first still ran it, both stopping and starting the
    members. It is refused, naming the process and host and how to release it once gone."""
    _dms("DMS_B", tmp_path / "b")
    _dms("DMS_A", tmp_path / "a", "--backup", "DMS_B")
    journal = {"from-version": "1.0.0", "to-version": "2.0.0", "order": "DMS_B DMS_A"}
    journal |= {"primary": "DMS_A", "done": "stop:DMS_B", "holder": "4242@ops-host-2"}
    for key, value in journal.items():
        ok("options", "set", f"gsetup-upgrade-twitter/{key}", value, "--app", "DMS_A")
    before = snapshot(db_url)
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    package = ("--package", str(new), "--set", "accept_terms=true")
    for extra in (package, ("--rollback",)):
        message = refused("driver", "upgrade", "twitter", "--dms", "DMS_B", "--yes", *extra)
        assert message == (
            "gsetup: error: an upgrade of the twitter driver on 'DMS_A' is held by process 4242 "
            "on host ops-host-2, which this host cannot see: wait for it to finish, or run the "
            "command on ops-host-2 (it resumes an upgrade whose process is gone); if that host "
            "is gone, release the upgrade with `gsetup options unset "
            "gsetup-upgrade-twitter/holder --app DMS_A --tenant Environment --yes`, then run "
            "the command again\n"
        )
    assert snapshot(db_url) == before
    ok("options", "unset", "gsetup-upgrade-twitter/holder", "--app", "DMS_A", "--yes")
    released = run_cli("driver", "upgrade", "twitter", "--dms", "DMS_B", "--rollback", "--dry-run")
    assert "held by process" not in released.stderr, released.stderr


def test_an_upgrade_claimed_while_this_one_checked_the_pair_is_named(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two upgrades started close together: the second read no upgrade running, then found
    the backup the first had just stopped, and was refused "DMS_B is not running" as if the
    pair were broken. It is refused naming the first's process, as when both wait to claim."""
    from gsetup.commands import upgrade

    hub_secrets(monkeypatch)
    old = driver_package(tmp_path / "twitter-1.0.0", "1.0.0")
    for name, extra in (("DMS_B", ()), ("DMS_A", ("--backup", "DMS_B"))):
        install_twitter(name, _dms(name, tmp_path / name, *extra), old)
    first = subprocess.Popen(["sleep", "60"])  # the first upgrade's process, still running
    try:
        journal = {"from-version": "1.0.0", "to-version": "2.0.0", "order": "DMS_B DMS_A"}
        journal |= {"primary": "DMS_A", "done": "stop:DMS_B"}
        journal["holder"] = f"{first.pid}@{socket.gethostname()}"
        for key, value in journal.items():
            ok("options", "set", f"gsetup-upgrade-twitter/{key}", value, "--app", "DMS_A")
        before = snapshot(db_url)
        read, reads = upgrade._journal, []

        def before_the_claim_first(*args: Any) -> Any:
            reads.append(args)  # the first read came before the first upgrade's claim
            return None if len(reads) == 1 else read(*args)

        monkeypatch.setattr(upgrade, "_journal", before_the_claim_first)
        new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
        message = refused(
            "driver", "upgrade", "twitter", "--dms", "DMS_A", "--package", str(new), "--yes",
            "--set", "accept_terms=true",
        )  # fmt: skip
    finally:
        first.kill()
        first.wait()
    assert message == (
        "gsetup: error: an upgrade of the twitter driver on 'DMS_A' is running in process "
        f"{first.pid}@{socket.gethostname()}; wait for it to finish\n"
    )
    assert snapshot(db_url) == before


def _channel_option(name: str, key: str) -> str | None:
    shown = ok("app", "show", name, "--json")["options"]
    assert isinstance(shown, dict)
    value = shown.get("channel-twitter", {}).get(key)
    return value if isinstance(value, str) else None


def test_single_upgrade_refuses_a_taken_port_and_rolls_back_a_start_that_exits(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--single: a port another process holds is refused before anything changes; a start
    command that exits at once mid-upgrade gets the old version back (the member stays
    down), and --rollback finishes once the start command is fixed."""
    hub_secrets(monkeypatch)
    working = tmp_path / "one"
    port = _dms("DMS_1", working)
    install_twitter("DMS_1", port, driver_package(tmp_path / "twitter-1.0.0", "1.0.0"))
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0", added=("x-added-option",))
    single = ("driver", "upgrade", "twitter", "--dms", "DMS_1", "--package", str(new), "--yes")
    single += ("--set", "accept_terms=true", "--single")
    before, files = snapshot(db_url), _tree(working)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        message = refused(*single)
    assert f"DMS_1 is not running and another process listens on 127.0.0.1:{port}" in message
    assert snapshot(db_url) == before and _tree(working) == files

    quits = f"{sys.executable} -c \"print('licence expired'); raise SystemExit(1)\""
    good = ok("app", "show", "DMS_1", "--json")["attrs"]
    assert isinstance(good, dict)
    ok("app", "update", "DMS_1", "--start-cmd", quits)
    result = run_cli(*single, "--json")
    assert result.exit_code == 1, result.stderr
    steps = result.json()["steps"]
    assert [(s["action"], s["outcome"]) for s in steps] == [
        ("stop", "done"),
        ("install", "done"),
        ("start", "failed"),
        ("restore", "failed"),
    ]
    assert "exited right after its start" in steps[2]["detail"]
    assert "licence expired" in steps[3]["detail"]
    assert _channel_option("DMS_1", "x-driver-build") == "1.0.0"  # the old options are back
    assert _channel_option("DMS_1", "x-added-option") is None
    drivers = working / "media-channel-drivers"
    assert _tree(drivers) == {k.split("/", 1)[1]: v for k, v in files.items() if "/" in k}

    ok("app", "update", "DMS_1", "--start-cmd", str(good["start_cmd"]))
    try:
        rolled = ok("driver", "upgrade", "twitter", "--dms", "DMS_1", "--rollback", "--single",
                    "--yes", "--json")  # fmt: skip
        assert rolled["result"] == "restored"
        status = ok("app", "status", "DMS_1", "--json")
        assert status["healthy"] is True
        assert isinstance(status["health"], dict)
        assert status["health"]["drivers"][0]["version"] == "1.0.0"
        assert snapshot(db_url) == before  # the journal is gone too
        assert not (working / ".gsetup-upgrade").exists()
    finally:
        ok("app", "stop", "DMS_1")


def _launchers(working: Path) -> list[int]:
    """The pids of gsetup.process.launch processes starting something in ``working``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gsetup.process.launch" in argv and str(working).encode() in argv:
            found.append(int(entry.name))
    return found


def _kill_in(working: Path) -> None:
    """SIGKILL whatever runs in ``working`` (an application gsetup lost track of)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cwd").resolve() == working.resolve():
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_app_start_interrupted_while_launching_keeps_track_of_the_process(
    db_url: str, tmp_path: Path, how: str
) -> None:
    """Ctrl-C (SIGINT to gsetup's process group, as a terminal sends it) or SIGTERM while the
    launcher runs: the application it started is recorded in the pid file all the same, so
    `app status` sees it and `app stop` stops it (it ran on with no pid file: "not running",
    its port taken by "another process", a resumed upgrade refused)."""
    working = tmp_path / "w"
    working.mkdir()
    listens = f'{sys.executable} -c "import time; time.sleep(300)"'
    ok("app", "create", "Slow", "--type", "ChatServer", "--working-dir", str(working))
    ok("app", "update", "Slow", "--start-cmd", listens)
    gsetup = subprocess.Popen(
        [sys.executable, "-m", "gsetup", "app", "start", "Slow"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell's foreground job
    )
    try:
        deadline = time.monotonic() + 30
        while not _launchers(working):
            assert gsetup.poll() is None and time.monotonic() < deadline
            time.sleep(0.001)
        if how == "ctrl-c":
            os.killpg(gsetup.pid, signal.SIGINT)
        else:
            gsetup.terminate()
        _out, said = gsetup.communicate(timeout=30)
        assert gsetup.returncode in (0, 130, -signal.SIGTERM), said
        while _launchers(working):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        status = ok("app", "status", "Slow", "--json")
        assert status["running"] is True, said
        pid = status["pid"]
        assert isinstance(pid, int) and Path(f"/proc/{pid}/cwd").resolve() == working.resolve()
        assert ok("app", "stop", "Slow", "--json")["running"] is False
        assert start_time(pid) is None
    finally:
        if gsetup.poll() is None:
            gsetup.kill()
            gsetup.wait()
        _kill_in(working)


def test_health_probes_and_runtime_requests_share_one_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each httpx client made a TLS context, reading the CA bundle (30-50 ms of CPU), even
    for http://: a health probe polling a starting DMS paid it at every probe."""
    import ssl

    from gsetup.commands.runtime_client import RuntimeUnreachableError, call
    from gsetup.httpclient import tls
    from gsetup.process.config import ProcessConfig
    from gsetup.process.health import DMS_TYPE, probe

    made: list[object] = []
    create = ssl.create_default_context
    monkeypatch.setattr(
        ssl, "create_default_context", lambda *a, **k: made.append(1) or create(*a, **k)
    )
    tls.cache_clear()
    port = free_port()  # nothing listens there
    config = ProcessConfig("DMS_1", DMS_TYPE, "127.0.0.1", port, None, "local")
    for _ in range(3):
        assert probe(config).healthy is False
        with pytest.raises(RuntimeUnreachableError):
            call(f"http://127.0.0.1:{port}", "GET", "/status", token=None, timeout=1)
    assert len(made) == 1


# An application that is not gsetup: it writes its environment to argv[1] as JSON, then runs
# a while (a local application) or ends (a command adapter's start line, with "once").
ENV_DUMPER = """\
import json, os, sys, time
with open(sys.argv[1] + ".part", "w") as out:
    json.dump(dict(os.environ), out)
os.replace(sys.argv[1] + ".part", sys.argv[1])
if sys.argv[2:] != ["once"]:
    time.sleep(60)
"""


def _dumped(path: Path) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.05)
    environment = json.loads(path.read_text())
    assert isinstance(environment, dict)
    return environment


def test_only_gsetup_itself_is_given_the_configuration_database(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GSETUP_DB holds the database's password: an application that is not gsetup gets it
    neither from gsetup nor from gsetup's own environment; the DMS stand-in gets it."""
    dumper = tmp_path / "dump_env.py"
    dumper.write_text(ENV_DUMPER)
    working = tmp_path / "chat"
    working.mkdir()
    ok("app", "create", "Chat", "--type", "ChatServer", "--working-dir", str(working))
    ok("app", "update", "Chat", "--start-cmd", f"{sys.executable} {dumper} {working / 'env'}")
    service = tmp_path / "svc"
    service.mkdir()
    ok("app", "create", "Svc", "--type", "InteractionServer", "--working-dir", str(service))
    once = f"{sys.executable} {dumper} {service / 'env'} once"
    _set("Svc", adapter="command", start=once, stop="true", status="true")
    gsetup_variables = {"GSETUP_DB", "GSETUP_USER", "GSETUP_PASSWORD"}
    try:
        ok("app", "start", "Chat")
        ok("app", "start", "Svc")
        for environment in (_dumped(working / "env"), _dumped(service / "env")):
            assert environment["PATH"] == os.environ["PATH"]  # the rest is inherited
            assert gsetup_variables & set(environment) == set()
            assert all(db_url not in value for value in environment.values())
    finally:
        ok("app", "stop", "Chat")

    # The stand-in, started by a gsetup given --db (none in its environment), reads the same
    # database: it could not find its application otherwise.
    _dms("DMS_1", tmp_path / "dms")
    monkeypatch.delenv("GSETUP_DB")
    try:
        assert run_cli("--db", db_url, "app", "start", "DMS_1", "--wait").exit_code == 0
        pid = read_pid_file(tmp_path / "dms" / "gsetup-app.pid")
        assert pid is not None
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"GSETUP_DB={db_url}".encode() in environ
    finally:
        assert run_cli("--db", db_url, "app", "stop", "DMS_1").exit_code == 0


@pytest.mark.parametrize(
    ("line", "is_gsetup"),
    [
        ("gsetup dms run --app DMS_1", True),
        ("/opt/venv/bin/gsetup dms run --app DMS_1", True),
        ("/usr/bin/python3.11 -m gsetup dms run --app DMS_1", True),
        ("python3 -m gsetupx run", False),
        ("sh -c 'gsetup dms run --app DMS_1'", False),  # a shell: what it runs is not known
        ("/opt/genesys/ChatServer/chat_server -app Chat", False),
    ],
)
def test_which_start_commands_run_gsetup(line: str, is_gsetup: bool) -> None:
    assert runs_gsetup(shlex.split(line)) is is_gsetup
