"""The DMS stand-in as one real process: docs/upgrades.md's examples (a single DMS started,
upgraded with --single, stopped), then its health, spool, forwarding, outbound and a broken
driver."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from gsetup.httpclient import tls
from gsetup.runtime.config import AppConfig
from gsetup.runtime.outbox import Delivery, HttpSender
from tests.dms_pair import HUB_API_KEY, TOKEN, driver_package
from tests.helpers import free_port, run_cli, write_tree
from tests.test_docs import _examples

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def workdir(db_url: str, tmp_path: Path) -> Iterator[Path]:
    """DMS_1's working directory; whatever runs there is stopped at the end."""
    working = tmp_path / "SMServer"
    working.mkdir()
    yield working
    if (working / "gsetup-app.pid").exists():
        run_cli("app", "stop", "DMS_1")


def _health(port: int) -> dict[str, Any]:
    answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5, verify=tls()).json()
    assert isinstance(answer, dict)
    return answer


def _run_doc_examples(tmp_path: Path, workdir: Path, port: int) -> None:
    words = {
        "WORKDIR": str(workdir),
        "4120": str(port),
        "PACKAGE_1": str(driver_package(tmp_path / "twitter-1.0.0", "1.0.0")),
        "PACKAGE_2": str(driver_package(tmp_path / "twitter-2.0.0", "2.0.0")),
        "examples/": str(Path(__file__).resolve().parent.parent / "examples") + "/",
        "'gsetup dms run": f"'{sys.executable} -m gsetup dms run",
    }
    for args, expected in _examples("upgrades.md"):
        line = shlex.join(args)
        for word, value in words.items():
            line = line.replace(word, value)
        result = run_cli(*shlex.split(line))
        assert result.exit_code == expected, (line, result.stdout, result.stderr)
        if "--single" in line and "--json" in line:
            report = result.json()
            assert report["result"] == "upgraded"
            assert [s["action"] for s in report["steps"]] == ["stop", "install", "start"]


@SQLITE_ONLY
def test_docs_examples_then_spool_forwarding_outbound_and_a_broken_driver(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GSETUP_HUB_API_KEY", HUB_API_KEY)
    monkeypatch.setenv("TEST_INTAKE_TOKEN", TOKEN)
    write_tree(Path.home() / ".config/gsetup", {"hub-password": "pw-V3ryS3cret\n"})
    port, intake_port = free_port(), free_port()
    _run_doc_examples(tmp_path, workdir, port)

    # The intake is not up yet: what is accepted waits in the spool.
    url = f"http://127.0.0.1:{intake_port}/interactions"
    assert (
        run_cli("options", "set", "gsetup-runtime/intake-url", url, "--app", "DMS_1").exit_code == 0
    )
    token = ("gsetup-runtime/intake-token", "--secret", "--value-env", "TEST_INTAKE_TOKEN")
    assert run_cli("options", "set", *token, "--app", "DMS_1").exit_code == 0
    assert run_cli("app", "start", "DMS_1", "--wait").exit_code == 0
    health = _health(port)
    assert health["healthy"] and health["role"] == "primary"
    assert health["drivers"] == [{"driver": "twitter", "version": "2.0.0", "error": None}]
    inbound = f"http://127.0.0.1:{port}/interactions"
    sent = [f"x-{n}" for n in range(5)]
    for external_id in sent:
        answer = httpx.post(inbound, json={"channel": "twitter", "external_id": external_id})
        assert answer.status_code == 202
    bad = httpx.post(inbound, json={"channel": "twitter", "externalid": "1"})
    assert bad.status_code == 400 and "unknown key 'externalid'" in bad.json()["error"]
    assert _health(port)["spooled"] == 5

    received = _start_intake_and_drain(tmp_path, intake_port, port)
    assert [item["external_id"] for item in received] == sent  # in order, once each
    assert received[0]["media_type"] == "twitter"

    outbound = f"http://127.0.0.1:{port}/outbound"
    # The routing runtime's request, sent by its own sender; a repeat of its key (a resend
    # after a lost answer) gets the first answer and is not carried out again.
    sender = HttpSender()
    app = AppConfig("DMS_1", "DigitalMessagingServer", "127.0.0.1", port, {})
    item = Delivery("k-1", "i-1", "DMS_1", "channel-twitter", "SendMessage",
                    {"text": "thanks", "to": "@acme"}, 1, 3, 10.0)  # fmt: skip
    ctx = cast(Any, SimpleNamespace(tenant="Environment"))
    first = sender.send(ctx, app, item)
    assert first.ok and first.answer is not None
    assert set(first.answer) == {"StatusId", "ComplianceId"}
    assert sender.send(ctx, app, item) == first
    sender.close()
    lines = (workdir / "gsetup-dms-outbound.jsonl").read_text().splitlines()
    message = json.loads(lines[0])["request"]
    assert len(lines) == 1 and message["method"] == "SendMessage" and message["key"] == "k-1"
    for bad, error in (
        ({**message, "args": "thanks"}, "args: must be a JSON object"),
        ({k: v for k, v in message.items() if k != "method"}, "method: required"),
        ({**message, "text": "x"}, "unknown key 'text'"),
    ):
        refused = httpx.post(outbound, json=bad)
        assert refused.status_code == 400 and error in refused.json()["error"]
    # Bodies are read as the runtime reads its own: within 1 MiB, and strict JSON.
    for route in (outbound, inbound):
        huge = httpx.post(route, content=b'{"text": "' + b"x" * 1024 * 1024 + b'"}')
        assert huge.status_code == 413 and "the limit is 1048576" in huge.json()["error"]
        nan = httpx.post(route, content=b'{"key": NaN}')
        assert nan.status_code == 400 and "NaN is not a JSON number" in nan.json()["error"]
    assert len((workdir / "gsetup-dms-outbound.jsonl").read_text().splitlines()) == 1

    _broken_driver_makes_it_unhealthy(workdir, port, inbound)


def _set_intake(monkeypatch: pytest.MonkeyPatch, url: str, token: str) -> None:
    """DMS_1's intake URL and token, as an operator sets them (the token a secret)."""
    monkeypatch.setenv("TEST_INTAKE_TOKEN", token)
    for args in (
        ("gsetup-runtime/intake-url", url),
        ("gsetup-runtime/intake-token", "--secret", "--value-env", "TEST_INTAKE_TOKEN"),
    ):
        assert run_cli("options", "set", *args, "--app", "DMS_1").exit_code == 0


def _start_intake(tmp_path: Path, intake_port: int) -> subprocess.Popen[bytes]:
    """The test intake (tests/intake_receiver.py) on 127.0.0.1:``intake_port``; the caller
    kills it."""
    record = tmp_path / "intake.jsonl"
    command = [sys.executable, "-m", "tests.intake_receiver", str(record), TOKEN, str(intake_port)]
    root = Path(__file__).resolve().parent.parent
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=root)


def _start_intake_and_drain(tmp_path: Path, intake_port: int, port: int) -> list[dict[str, Any]]:
    intake = _start_intake(tmp_path, intake_port)
    try:
        deadline = time.monotonic() + 60
        while _health(port)["spooled"]:
            assert time.monotonic() < deadline, "the spool was not forwarded"
            time.sleep(0.1)
        answer = httpx.get(f"http://127.0.0.1:{intake_port}/received", timeout=5).json()
    finally:
        intake.kill()
        intake.wait(timeout=30)
    received = answer["received"]
    assert isinstance(received, list)
    return received


def _broken_driver_makes_it_unhealthy(workdir: Path, port: int, inbound: str) -> None:
    jar = workdir / "media-channel-drivers/channel-twitter/lib/twitter-driver.jar"
    jar.write_bytes(b"not a jar")
    assert run_cli("app", "restart", "DMS_1").exit_code == 0
    deadline = time.monotonic() + 60
    while True:
        try:
            health = _health(port)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert health["healthy"] is False
    assert "lib/twitter-driver.jar is not a jar (zip) archive" in health["problems"][0]
    assert health["problems"][0].startswith("twitter: ")
    refused = httpx.post(inbound, json={"channel": "twitter", "external_id": "late"})
    assert refused.status_code == 503 and "unhealthy" in refused.json()["error"]
    status = run_cli("app", "status", "DMS_1", "--json").json()
    assert status["running"] and not status["healthy"]


def _create_dms(port: int, workdir: Path) -> None:
    created = run_cli(
        "app", "create", "DMS_1", "--type", "DigitalMessagingServer", "--host", "127.0.0.1",
        "--port", str(port), "--working-dir", str(workdir),
        "--start-cmd", f"{sys.executable} -m gsetup dms run --app DMS_1",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr


def _wait_health(port: int, done: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while not done(health := _health(port)):
        assert time.monotonic() < deadline, f"{what}: {health}"
        time.sleep(0.1)
    return health


def test_a_running_stand_in_follows_a_rotated_token_and_a_moved_intake(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake's URL and token changed while the stand-in runs (`route token create
    --rotate`, a runtime moved): it forwards with the new ones, without a restart. It kept
    sending the old ones until restarted: the spool waited, 401 after 401."""
    port, intake_port, nobody = free_port(), free_port(), free_port()
    _create_dms(port, workdir)

    _set_intake(monkeypatch, f"http://127.0.0.1:{nobody}/interactions", "old-T0ken")
    assert run_cli("app", "start", "DMS_1", "--wait").exit_code == 0
    inbound = f"http://127.0.0.1:{port}/interactions"
    accepted = httpx.post(inbound, json={"channel": "twitter", "external_id": "r-1"})
    assert accepted.status_code == 202
    intake = _start_intake(tmp_path, intake_port)
    try:
        url = f"http://127.0.0.1:{intake_port}/interactions"
        _set_intake(monkeypatch, url, "old-T0ken")  # the runtime moved; the token not rotated yet
        health = _wait_health(port, lambda h: "HTTP 401" in h["intake_error"], "moved intake")
        assert health["intake"] == url and health["spooled"] == 1
        _set_intake(monkeypatch, url, TOKEN)  # rotated
        health = _wait_health(port, lambda h: h["spooled"] == 0, "rotated token")
        assert health["forwarded"] == 1 and health["intake_error"] == ""
        received = httpx.get(f"http://127.0.0.1:{intake_port}/received", timeout=5).json()
        assert [item["external_id"] for item in received["received"]] == ["r-1"]
    finally:
        intake.kill()
        intake.wait(timeout=30)
    assert "old-T0ken" not in json.dumps(_health(port))


@SQLITE_ONLY  # the forwarder's reading of the database runs on both in the test above
def test_a_stand_in_started_without_an_intake_forwards_once_one_is_set(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No intake-url when it started: what it accepts waits, and the health says why; the
    URL and token set later are read (within the 5 seconds of a re-read) and the spool is
    forwarded without a restart. It never forwarded until restarted."""
    port, intake_port = free_port(), free_port()
    _create_dms(port, workdir)
    assert run_cli("app", "start", "DMS_1", "--wait").exit_code == 0
    pid = (workdir / "gsetup-app.pid").read_text()
    inbound = f"http://127.0.0.1:{port}/interactions"
    accepted = httpx.post(inbound, json={"channel": "twitter", "external_id": "n-1"})
    assert accepted.status_code == 202
    health = _wait_health(port, lambda h: "intake-url is not set" in h["intake_error"], "no url")
    assert health["intake"] is None and health["spooled"] == 1

    intake = _start_intake(tmp_path, intake_port)
    try:
        url = f"http://127.0.0.1:{intake_port}/interactions"
        _set_intake(monkeypatch, url, TOKEN)
        health = _wait_health(port, lambda h: h["spooled"] == 0, "intake set later")
        assert health["forwarded"] == 1 and health["intake"] == url
        assert health["intake_error"] == ""
        received = httpx.get(f"http://127.0.0.1:{intake_port}/received", timeout=5).json()
        assert [item["external_id"] for item in received["received"]] == ["n-1"]
    finally:
        intake.kill()
        intake.wait(timeout=30)
    assert (workdir / "gsetup-app.pid").read_text() == pid  # the same process: no restart


@SQLITE_ONLY  # the spool and its health are files: the same on both backends
def test_refused_interactions_are_counted_with_the_last_reason(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interaction the intake refuses for good (422) is set aside in rejected/: the health
    counts it and gives the intake's reason, after a later success (which clears
    intake_error) and after a restart too. It was not in the health at all."""
    port, intake_port = free_port(), free_port()
    _create_dms(port, workdir)
    url = f"http://127.0.0.1:{intake_port}/interactions"
    _set_intake(monkeypatch, url, TOKEN)
    assert run_cli("app", "start", "DMS_1", "--wait").exit_code == 0
    inbound = f"http://127.0.0.1:{port}/interactions"
    for external_id in ("refuse-1", "ok-1"):
        accepted = httpx.post(inbound, json={"channel": "shop", "external_id": external_id})
        assert accepted.status_code == 202
    intake = _start_intake(tmp_path, intake_port)
    try:
        health = _wait_health(port, lambda h: h["spooled"] == 0, "forwarded")
    finally:
        intake.kill()
        intake.wait(timeout=30)
    assert health["forwarded"] == 1 and health["intake_error"] == ""  # ok-1 went through
    assert health["rejected"] == 1
    assert health["last_rejection"] == f"{url}: HTTP 422: shop: no such channel section"
    rejected = workdir / "gsetup-dms-spool/rejected"
    assert [json.loads(p.read_text())["external_id"] for p in rejected.glob("*.json")] == [
        "refuse-1"
    ]
    assert TOKEN not in json.dumps(health)
    assert run_cli("app", "restart", "DMS_1", "--wait").exit_code == 0
    again = _health(port)
    assert (again["rejected"], again["last_rejection"]) == (1, health["last_rejection"])
