"""Two DMS stand-ins on loopback ports with the twitter driver, the intake receiver, and a
client that submits inbound interactions to the pair without pause (upgrade tests)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gsetup.httpclient import tls
from tests.helpers import free_port, run_cli, write_tree

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TOKEN = "intake-T0ken-s3cret"
CONTROL = {name: f"control-{name}-s3cret" for name in ("DMS_A", "DMS_B")}
HUB_API_KEY = "key-Sup3rS3cret"
MEMBERS = ("DMS_A", "DMS_B")  # DMS_A holds the backup link: primary as configured


def jar(version: str) -> bytes:
    """A real (tiny) jar: a zip archive with a manifest."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", f"Implementation-Version: {version}\n")
    return out.getvalue()


def driver_package(
    root: Path, version: str, *, broken: bool = False, added: tuple[str, ...] = ()
) -> Path:
    """A twitter driver package; ``broken``: its jar is not a zip (gsetup cannot tell, the
    DMS can when it loads it); ``added``: options its options file has beside
    ``x-driver-build`` (which every version sets to its own number)."""
    extra = "".join(f"{key}={version}\n" for key in added)
    write_tree(
        root,
        {
            "manifest.yaml": (
                f'driver: twitter\nversion: "{version}"\nfiles:\n'
                "  - driver-for-twitter-options.cfg\n  - lib/twitter-driver.jar\n"
                "options-file: driver-for-twitter-options.cfg\n"
            ),
            "driver-for-twitter-options.cfg": (
                f"[channel-twitter]\nx-driver-build={version}\n{extra}"
            ),
        },
    )
    (root / "lib").mkdir()
    (root / "lib/twitter-driver.jar").write_bytes(b"truncated download" if broken else jar(version))
    return root


def ok(*args: str) -> Any:
    """Run gsetup; it must succeed."""
    result = run_cli(*args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


@dataclass
class Pair:
    """The pair's directories and ports, the intake receiver process, helpers to ask them."""

    root: Path
    ports: dict[str, int]
    intake: subprocess.Popen[str]
    intake_port: int
    old: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def working(self, name: str) -> Path:
        """A member's working directory."""
        return self.root / name

    def health(self, name: str) -> dict[str, Any]:
        """A member's health document ({} when it does not answer)."""
        try:
            document = httpx.get(
                f"http://127.0.0.1:{self.ports[name]}/health", timeout=5, verify=tls()
            ).json()
        except httpx.HTTPError:
            return {}
        assert isinstance(document, dict)
        return document

    def control(self, name: str, path: str, **kwargs: Any) -> httpx.Response:
        """POST a role-changing route of ``name`` with its control token."""
        headers = {"Authorization": f"Bearer {CONTROL[name]}"}
        url = f"http://127.0.0.1:{self.ports[name]}{path}"
        return httpx.post(url, headers=headers, timeout=30, verify=tls(), **kwargs)

    def roles(self) -> dict[str, str | None]:
        """Each member's role (None: down)."""
        return {name: self.health(name).get("role") for name in MEMBERS}

    def versions(self) -> dict[str, str | None]:
        """The twitter driver version each member loaded."""
        found = {}
        for name in MEMBERS:
            drivers = self.health(name).get("drivers", [])
            found[name] = next((d["version"] for d in drivers if d["driver"] == "twitter"), None)
        return found

    def received(self) -> list[dict[str, Any]]:
        """What the intake recorded."""
        answer = httpx.get(f"http://127.0.0.1:{self.intake_port}/received", timeout=5)
        received = answer.json()["received"]
        assert isinstance(received, list)
        return received

    def wait_drained(self, timeout: float = 60.0) -> None:
        """Until both spools are empty (everything accepted reached the intake)."""
        deadline = time.monotonic() + timeout
        while any(
            list((self.working(n) / "gsetup-dms-spool").glob("[0-9]*.json")) for n in MEMBERS
        ):
            assert time.monotonic() < deadline, "the spools did not drain"
            time.sleep(0.2)

    def close(self) -> None:
        """Stop both members and the intake; nothing is left running."""
        from gsetup.process.pids import read_pid_file

        for name in MEMBERS:
            pid = read_pid_file(self.working(name) / "gsetup-app.pid")
            if pid is not None:
                os.killpg(pid, signal.SIGKILL)
        for process in [self.intake, *self.processes]:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
            if process.stdout is not None:
                process.stdout.close()


def hub_secrets(monkeypatch: Any) -> None:
    """The Hub secrets the install's answers file reads (environment, file)."""
    monkeypatch.setenv("GSETUP_HUB_API_KEY", HUB_API_KEY)
    write_tree(Path.home() / ".config/gsetup", {"hub-password": "pw-V3ryS3cret\n"})


def install_twitter(name: str, port: int, package: Path) -> None:
    """Install the twitter driver ``package`` on DMS ``name`` (after :func:`hub_secrets`)."""
    ok(
        "driver", "install", "twitter", "--answers", str(EXAMPLES / "driver-twitter.yaml"),
        "--dms", name, "--set", "host=127.0.0.1", "--set", f"port={port}",
        "--package", str(package), "--yes",
    )  # fmt: skip


@contextmanager
def running_pair(root: Path, monkeypatch: Any, *, control: bool = True) -> Iterator[Pair]:
    """Create, install (twitter 1.0.0) and start the pair (with the control tokens of
    :data:`CONTROL` unless not ``control``); start the intake receiver; stop them all at
    the end."""
    hub_secrets(monkeypatch)
    intake = subprocess.Popen(
        [sys.executable, "-m", "tests.intake_receiver", str(root / "intake.jsonl"), TOKEN],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert intake.stdout is not None
    ports = {name: free_port() for name in MEMBERS}
    pair = Pair(root, ports, intake, 0, root / "twitter-1.0.0")
    try:
        pair.intake_port = int(intake.stdout.readline())
        driver_package(pair.old, "1.0.0")
        _create_members(pair, control)
        for name in MEMBERS:
            ok("app", "start", name, "--wait", "--timeout", "60")
        yield pair
    finally:
        pair.close()


def _create_members(pair: Pair, control: bool) -> None:
    """Both applications with their options in one apply (what `gsetup app create` and
    `gsetup options set` would do one by one), then the driver on each through the CLI."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, OptionValue

    state = DesiredState("Environment")
    for name in reversed(MEMBERS):  # the backup exists before the link to it
        pair.working(name).mkdir(parents=True)
        attrs = {
            "app_type": "DigitalMessagingServer",
            "host": "127.0.0.1",
            "port": pair.ports[name],
            "working_dir": str(pair.working(name)),
            "start_cmd": f"{sys.executable} -m gsetup dms run --app {name}",
            "backup": "Applications/DMS_B" if name == "DMS_A" else None,
        }
        options = {
            ("gsetup-process", "timeout"): OptionValue("20"),
            ("gsetup-runtime", "intake-url"): OptionValue(
                f"http://127.0.0.1:{pair.intake_port}/interactions"
            ),
            ("gsetup-runtime", "intake-token"): OptionValue(TOKEN, secret=True),
        }
        if control:
            options["gsetup-dms", "control-token"] = OptionValue(CONTROL[name], secret=True)
        state.add(DesiredObject("application", f"Applications/{name}", attrs, options))
    apply_state(open_database(os.environ["GSETUP_DB"]).engine, state, Operation("test", "t"))
    for name in MEMBERS:
        install_twitter(name, pair.ports[name], pair.old)


class Client(threading.Thread):
    """Submits interactions one after the other without pause, to whichever member is
    primary: on a refused connection or a 503 it tries the other member, as clients of a
    primary/backup pair do. ``acked`` are the external ids the pair acknowledged; ``failed``
    those it never did within ``give_up`` seconds."""

    def __init__(self, pair: Pair, give_up: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.pair = pair
        self.give_up = give_up
        self.halt = threading.Event()
        self.acked: list[str] = []
        self.failed: list[str] = []
        self.retries = 0

    def run(self) -> None:
        """Submit until halted."""
        member, number = 0, 0
        with httpx.Client(timeout=10, verify=tls()) as http:
            while not self.halt.is_set():
                number += 1
                member = self._submit(http, f"tw-{number}", member)

    def _submit(self, http: httpx.Client, external_id: str, member: int) -> int:
        body = {"channel": "twitter", "external_id": external_id, "text": f"hello {external_id}"}
        deadline = time.monotonic() + self.give_up
        while time.monotonic() < deadline:
            port = self.pair.ports[MEMBERS[member]]
            try:
                answer = http.post(f"http://127.0.0.1:{port}/interactions", json=body)
                if answer.status_code == 202:
                    self.acked.append(external_id)
                    return member
            except httpx.TransportError:
                pass
            self.retries += 1
            member = 1 - member
            time.sleep(0.01)
        self.failed.append(external_id)
        return member

    def finish(self) -> None:
        """Stop submitting (after the one in flight)."""
        self.halt.set()
        self.join(timeout=self.give_up + 10)
        assert not self.is_alive()


def assert_nothing_lost(pair: Pair, client: Client) -> None:
    """Zero failed submissions; every acknowledged one reached the intake exactly once."""
    assert client.failed == []
    assert len(client.acked) > 20  # it really submitted throughout
    pair.wait_drained()
    received = [item["external_id"] for item in pair.received()]
    assert len(received) == len(set(received))
    assert set(client.acked) <= set(received)
    assert json.dumps(pair.received()[0]).count(TOKEN) == 0


@contextmanager
def listener(port: int) -> Iterator[subprocess.Popen[str]]:
    """Another process listening on 127.0.0.1:``port`` (accepting nothing); killed at the end.
    SO_REUSEADDR: the connections of a member that just stopped may still be in TIME_WAIT."""
    code = (
        "import socket, sys, time\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
        "s.listen()\n"
        "print('listening', flush=True)\n"
        "time.sleep(300)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "listening\n"
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
