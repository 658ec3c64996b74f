"""Shared set-up of routing-runtime tests: a configured tenant, a DMS receiver, stores."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import quick_hash, run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TENANT = "Environment"
DMS = "DMS_1"
CHANNEL = "channel-facebook"


@dataclass(frozen=True)
class Receiver:
    """A running tests.dms_receiver process."""

    url: str
    log: Path
    process: subprocess.Popen[str]

    def delivered(self) -> list[dict[str, Any]]:
        """Requests delivered (repeats dropped), in order."""
        import json

        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def posts(self) -> int:
        """POSTs received, repeats included."""
        path = Path(f"{self.log}.posts")
        return len(path.read_text().splitlines()) if path.exists() else 0


@contextmanager
def receiver(directory: Path, fail_first: int = 0) -> Iterator[Receiver]:
    """Start a DMS receiver on a free loopback port; stopped on exit."""
    log = directory / "delivered.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.dms_receiver", str(log), str(fail_first)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield Receiver(f"http://127.0.0.1:{port}/outbound", log, process)
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def install_facebook_bp(
    db_url: str,
    folder: Path,
    agents: tuple[str, ...],
    dms_options: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """facebook-bp installed in Environment by the CLI from the example answers (its rule
    files under ``folder``), a DMS_1 whose channel-facebook routes to its inbound queue, with
    ``dms_options``' sections too, and ``agents`` with the skill facebook; returns the install
    home. The set-up of ``route replay`` and ``route simulate`` tests."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, object_path, options

    examples = Path(__file__).resolve().parent.parent / "examples"
    previous = Path.cwd()
    os.chdir(folder)
    try:
        result = run_cli(
            "install", "facebook-bp", "--answers", str(examples / "facebook-bp.yaml"), "--yes",
            "--set", "install_home=gsetup-work/facebook-bp",  # the example: the data directory
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
    finally:
        os.chdir(previous)
    sections = {
        "channel-facebook": {"inbound-route": "1:facebook_queue"},
        "endpoints:1": {"facebook_queue": "Facebook Inbound Queue"},
        **(dms_options or {}),
    }
    state = DesiredState("Environment")
    state.add(
        DesiredObject(
            "application",
            object_path("application", "DMS_1"),
            {"app_type": "DigitalMessagingServer", "host": "127.0.0.1", "port": 9},
            options(sections),
        )
    )
    for name in agents:
        state.add(DesiredObject("person", object_path("person", name), {"skills": {"facebook": 5}}))
    db = open_database(db_url)
    try:
        apply_state(db.engine, state, Operation("test set-up", "tests"))
    finally:
        db.engine.dispose()
    return folder / "gsetup-work" / "facebook-bp"


def configure_tenant(
    config_url: str,
    workdir: Path,
    *,
    agents: Mapping[str, int],
    outbound_url: str = "http://127.0.0.1:9/outbound",
    packages: tuple[str, ...] = ("facebook-bp",),
    channel_options: Mapping[str, str] | None = None,
) -> None:
    """Install ``packages`` and add what the runtime needs: a DMS whose Facebook channel
    routes to the inbound queue, and agents (name -> capacity for facebook media types)."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, object_path, options

    previous = Path.cwd()
    os.chdir(workdir)
    try:
        for package in packages:
            result = run_cli(
                "--db",
                config_url,
                "install",
                package,
                "--answers",
                str(EXAMPLES / f"{package}.yaml"),
                "--yes",
            )
            assert result.exit_code == 0, result.stderr
    finally:
        os.chdir(previous)
    state = DesiredState(TENANT)
    channel = {"inbound-route": "1:facebook_queue", **(channel_options or {})}
    state.add(
        DesiredObject(
            "application",
            object_path("application", DMS),
            {"app_type": "DigitalMessagingServer", "host": "127.0.0.1", "port": 9},
            options(
                {
                    CHANNEL: channel,
                    "endpoints:1": {"facebook_queue": "Facebook Inbound Queue"},
                    "gsetup-runtime": {"outbound-url": outbound_url},
                }
            ),
        )
    )
    for capacity in sorted(set(agents.values())):
        state.add(
            DesiredObject(
                "capacity_rule",
                object_path("capacity_rule", f"rule-{capacity}"),
                {
                    "limits": {
                        m: capacity
                        for m in ("facebook", "facebooksession", "facebookprivatemessage")
                    }
                },
            )
        )
    for name, capacity in agents.items():
        state.add(
            DesiredObject(
                "person",
                object_path("person", name),
                {
                    "skills": {"facebook": 5},
                    "capacity_rule": object_path("capacity_rule", f"rule-{capacity}"),
                },
            )
        )
    db = open_database(config_url)
    try:
        apply_state(db.engine, state, Operation("runtime test set-up", "tests"))
    finally:
        db.engine.dispose()


def post(
    n: int, *, post_id: str | None = None, text: str = "great, please help", **udata: Any
) -> dict[str, Any]:
    """A Facebook submission body (a post with comments, FacebookItxType 2)."""
    return {
        "media_type": "facebook",
        "channel": CHANNEL,
        "external_id": f"ext-{n}",
        "text": text,
        "attached_data": {
            "_facebookPostId": post_id or f"post-{n}",
            "_facebookActorId": f"user-{n % 7}",
            "_facebookActorName": f"User {n % 7}",
            "_umsChannel": CHANNEL,
            "FacebookItxType": 2,
            **udata,
        },
    }


@dataclass
class WorkerProcess:
    """A ``python -m gsetup.runtime.worker`` subprocess."""

    args: list[str]
    log: Path
    process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start it and wait until it has loaded its strategies and opened the store."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting for it (start several at once, then wait)."""
        with self.log.open("a") as log:  # a file: a full pipe would block the worker
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gsetup.runtime.worker", *self.args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def wait_ready(self) -> None:
        """Wait for the worker's ``ready`` line."""
        assert self.process is not None and self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "ready", self.log.read_text()

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self._close()

    def terminate(self) -> int:
        """SIGTERM and wait; the exit status."""
        assert self.process is not None
        self.process.terminate()
        code = self.process.wait(timeout=60)
        self._close()
        return code

    def _close(self) -> None:
        assert self.process is not None
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None


def auto_agents(runtime: Any, agents: list[str], *, reply: bool) -> int:
    """One pass of automatic agents: accept every offer, reply if asked, finish. Returns how
    many interactions were handled."""
    handled = 0
    for agent in agents:
        for offer in runtime.offers(TENANT, agent):
            if offer.state == "offered":
                runtime.accept(TENANT, agent, offer.interaction_id)
            if reply:
                runtime.reply(TENANT, agent, offer.interaction_id, f"re: {offer.interaction_id}")
            runtime.done(TENANT, agent, offer.interaction_id)
            handled += 1
    return handled


INTAKE_TOKEN = "intake-token-for-tests"


def intake_config(directory: Path, logins: Mapping[str, str] | None = None) -> Any:
    """A configuration database (its engine) with DMS_1 holding ``INTAKE_TOKEN``, and the
    agents of ``logins`` (name -> password) with their logins: what the in-process HTTP app
    checks a ``POST /interactions`` or an agent's session against."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.runtime.credentials import PASSWORD_KEY, SECTION
    from gsetup.state import DesiredObject, DesiredState, OptionValue, object_path

    db = open_database(f"sqlite:///{directory / 'config.db'}")
    state = DesiredState(TENANT)
    state.add(
        DesiredObject(
            "application",
            object_path("application", DMS),
            {"app_type": "DigitalMessagingServer", "host": "127.0.0.1", "port": 9},
            {("gsetup-runtime", "intake-token"): OptionValue(INTAKE_TOKEN, secret=True)},
        )
    )
    for agent, password in (logins or {}).items():
        login = {(SECTION, PASSWORD_KEY): OptionValue(quick_hash(password), secret=True)}
        state.add(DesiredObject("person", object_path("person", agent), {}, login))
    apply_state(db.engine, state, Operation("intake test set-up", "tests"))
    return db.engine


@contextmanager
def worker_thread(runtime: Any, **settings: Any) -> Iterator[Any]:
    """``runtime``'s worker loop, as ``gsetup route run`` runs it, in a thread; yields the
    thread. On leaving, the worker is stopped (``stop()`` wakes a sleeping loop too) and,
    unless the block failed, must have ended."""
    from gsetup.runtime.worker import Worker

    worker = Worker(runtime, **settings)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        worker.stop()
        thread.join(timeout=60)
    assert not thread.is_alive(), "the worker did not stop"


def stop_mid_run(args: list[str], scratch: Path, signum: int) -> tuple[int, str, str]:
    """Run ``gsetup ARGS`` with ``scratch`` as its TMPDIR, send ``signum`` once its throw-away
    store is in use, and return its exit status, output and errors (bounded waits)."""
    import time

    scratch.mkdir()
    gsetup = str(Path(sys.executable).with_name("gsetup"))
    child = subprocess.Popen(
        [gsetup, *args], env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(scratch.glob("gsetup-replay-*/replay.db")) and child.poll() is None:
            assert time.monotonic() < deadline, "the run never opened its store"
            time.sleep(0.05)
        time.sleep(0.5)  # into the run
        assert child.poll() is None, child.communicate()
        child.send_signal(signum)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    return child.returncode, out, err
