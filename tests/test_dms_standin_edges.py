"""The stand-in's outbound log after a crash: a line cut short is dropped (it was never
answered), a damaged line stops the start with one clear message (exit 2). Its HTTP
refusals are JSON, also for an unknown path or method. SIGTERM stops it with status 0.
What it keeps of messages is its owner's only."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from gsetup.dms.forward import Forwarder
from gsetup.dms.outbound import OUTBOUND_FILE, OutboundLog
from gsetup.dms.spool import REASON_SUFFIX, REJECTED_DIR, Spool
from gsetup.errors import BadInputError
from tests.helpers import free_port, run_cli

ANSWER = {"StatusId": "status-1", "ComplianceId": "compliance-1"}
RECORD = json.dumps({"key": "k-1", "request": {"key": "k-1"}, "answer": ANSWER}) + "\n"


def test_a_line_cut_short_is_dropped_and_the_log_goes_on(tmp_path: Path) -> None:
    log_file = tmp_path / OUTBOUND_FILE
    log_file.write_text(RECORD + '{"key": "k-2", "request": {"ke')  # killed while writing
    log = OutboundLog(tmp_path)
    assert log.answered("k-1") == ANSWER and log.answered("k-2") is None
    assert log_file.read_text() == RECORD
    request = {"key": "k-2", "channel": "channel-twitter", "method": "SendMessage"}
    answer = log.record(request)  # the runtime's resend is carried out, once
    assert log.record(request) == answer
    lines = log_file.read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["k-1", "k-2"]
    assert OutboundLog(tmp_path).answered("k-2") == answer


def test_message_texts_are_written_for_the_owner_only(tmp_path: Path) -> None:
    """The outbound log and the spool hold customers' message texts: mode 0600 (0700 for the
    spool's directories), whatever the umask lets through for other files."""
    OutboundLog(tmp_path).record({"key": "k-1", "channel": "c", "method": "SendMessage"})
    spool = Spool(tmp_path)
    spooled = spool.directory / spool.put({"text": "hello"})
    spool.reject(spooled, "HTTP 422: a reason that may quote the text")
    assert stat.S_IMODE((tmp_path / OUTBOUND_FILE).stat().st_mode) == 0o600
    for name in (spooled.name, f"{spooled.stem}{REASON_SUFFIX}"):
        assert stat.S_IMODE((spool.directory / REJECTED_DIR / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((spool.directory / REJECTED_DIR).stat().st_mode) == 0o700


def test_an_intake_url_that_cannot_be_parsed_is_a_forwarding_error(tmp_path: Path) -> None:
    """An intake-url set by hand that httpx cannot parse raised InvalidURL, which is no
    HTTPError: the forwarding thread ended and the spool was never emptied, nothing said.
    It is a failed forward, shown in the health's last error and retried."""
    import httpx

    spool = Spool(tmp_path)
    spooled = spool.directory / spool.put({"text": "hello"})
    forwarder = Forwarder(spool, "http://[::1", "a-token")
    with httpx.Client(timeout=1.0) as client:
        assert forwarder._forward(client, spooled) is False
    assert forwarder.last_error == "http://[::1: InvalidURL"
    assert spooled.exists()  # kept for the next try


@pytest.mark.parametrize(
    "damaged",
    [
        "not json",
        '["k-2"]',
        # an answer that is no object would be sent back to the runtime as the answer of
        # every repeat of the key ("5"), which is no answer of a DMS
        '{"key": "k-2", "request": {}, "answer": 5}',
        '{"key": "k-2", "request": {}, "answer": ["status-1"]}',
    ],
)
def test_a_damaged_line_is_named(tmp_path: Path, damaged: str) -> None:
    (tmp_path / OUTBOUND_FILE).write_text(RECORD + damaged + "\n" + RECORD)
    with pytest.raises(BadInputError, match=rf"{OUTBOUND_FILE}, line 2: not a record"):
        OutboundLog(tmp_path)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dms_run_refuses_a_damaged_log_with_one_line(db_url: str, tmp_path: Path) -> None:
    (tmp_path / OUTBOUND_FILE).write_text('{"key": "k-1"}\n')
    port = str(free_port())
    created = run_cli(
        "app", "create", "DMS_X", "--type", "DigitalMessagingServer", "--host", "127.0.0.1",
        "--port", port, "--working-dir", str(tmp_path),
        "--start-cmd", f"{sys.executable} -m gsetup dms run --app DMS_X",
    )  # fmt: skip
    assert created.exit_code == 0
    result = run_cli("dms", "run", "--app", "DMS_X")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("gsetup: error:") == 1
    assert f"{OUTBOUND_FILE}, line 1: not a record of the DMS stand-in" in result.stderr
    assert "DMS stand-in on" not in result.stderr  # it never said it was up


def test_unknown_paths_and_methods_are_json_refusals(tmp_path: Path) -> None:
    import asyncio

    import httpx

    from gsetup.dms.server import service_for
    from gsetup.dms.settings import DmsSettings

    settings = DmsSettings("DMS_X", "127.0.0.1", 9, tmp_path, "primary", None, "", "", ())
    app = service_for(settings).app()  # no lifespan: no peer asked, no forwarder

    async def ask(method: str, path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dms") as client:
            return await client.request(method, path)

    missing = asyncio.run(ask("GET", "/nope"))
    assert missing.status_code == 404
    assert missing.json() == {"error": "no route /nope: docs/upgrades.md lists the DMS "
                              "stand-in's routes"}  # fmt: skip
    wrong = asyncio.run(ask("DELETE", "/health"))
    # Starlette lists the methods in a set's order, which the hash seed decides.
    allowed = wrong.headers["allow"]
    assert wrong.status_code == 405 and sorted(allowed.split(", ")) == ["GET", "HEAD"]
    assert wrong.json() == {"error": f"/health does not take DELETE, only {allowed}"}


def test_a_long_unknown_key_is_cut_in_the_refusal(tmp_path: Path) -> None:
    """A 3,000-character unknown key of a message or outbound request was echoed whole in
    the 400; it is cut to 40 characters and its length, and nothing is kept."""
    import asyncio

    import httpx

    from gsetup.dms.server import service_for
    from gsetup.dms.settings import DmsSettings

    settings = DmsSettings("DMS_X", "127.0.0.1", 9, tmp_path, "primary", None, "", "", ())
    app = service_for(settings).app()
    long = "x" * 3000
    bodies = {
        "/interactions": {"channel": "c", "external_id": "e-1", long: 1},
        "/outbound": {"key": "k-1", "channel": "c", "method": "SendMessage", long: 1},
    }

    async def post(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dms") as client:
            return await client.post(path, json=bodies[path])

    before = sorted(tmp_path.rglob("*"))
    for path in bodies:
        refused = asyncio.run(post(path))
        assert refused.status_code == 400
        assert refused.json()["error"].startswith(
            "unknown key '" + "x" * 40 + "'... (3000 characters); allowed: "
        )
        assert len(refused.text) < 300
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigterm_is_a_clean_stop(db_url: str, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import time

    import httpx

    port = free_port()
    created = run_cli(
        "app", "create", "DMS_X", "--type", "DigitalMessagingServer", "--host", "127.0.0.1",
        "--port", str(port), "--working-dir", str(tmp_path),
    )  # fmt: skip
    assert created.exit_code == 0
    command = [sys.executable, "-m", "gsetup", "dms", "run", "--app", "DMS_X"]
    process = subprocess.Popen(command, env=os.environ.copy(), stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_a_message_without_media_type_gets_its_drivers(tmp_path: Path) -> None:
    """A message posted without ``media_type`` on a driver's channel section is spooled with
    that driver's media type, as the driver attaches it: the channel's name
    (``channel-facebook``) is no media type, and the routing runtime's intake refused every
    such message (422), set aside after the stand-in had acknowledged it. A channel that is
    no driver's section keeps its name as the media type."""
    import asyncio

    import httpx

    from gsetup.dms.server import service_for
    from gsetup.dms.settings import DmsSettings

    settings = DmsSettings("DMS_X", "127.0.0.1", 9, tmp_path, "primary", None, "", "", ())
    app = service_for(settings).app()
    channels = {
        "channel-facebook": "facebook",
        "channel-Twitter-acme": "twitter",
        "twitter": "twitter",
        "channel-rss": "channel-rss",
    }

    async def post(channel: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dms") as client:
            return await client.post("/interactions", json={"channel": channel, "external_id": "e"})

    for channel in channels:
        assert asyncio.run(post(channel)).status_code == 202
    spooled = [json.loads(path.read_text()) for path in Spool(tmp_path).pending()]
    assert {item["channel"]: item["media_type"] for item in spooled} == channels
