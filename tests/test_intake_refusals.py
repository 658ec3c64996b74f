"""A running runtime refuses a bad event (attached data of the wrong type), logs it and
goes on serving; nothing of the refused event is stored."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from gsetup.runtime.api import open_runtime
from gsetup.runtime.http import Api, build_app
from gsetup.runtime.sessions import create_session_table
from tests.bp_support import deployment
from tests.runtime_support import INTAKE_TOKEN, intake_config


def test_bad_event_is_logged_and_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = intake_config(tmp_path)
    deployed = deployment({"facebook-bp": "channel-facebook"}, tmp_path, agents={})
    runtime = open_runtime(
        "Environment", store_url=f"sqlite:///{tmp_path / 'store.db'}", deployment=deployed
    )
    body = {
        "media_type": "facebook",
        "channel": "channel-facebook",
        "external_id": "x-1",
        "attached_data": {"_facebookItxType": "two", "_facebookPostId": "p-1"},
    }
    try:
        with caplog.at_level(logging.WARNING, logger="gsetup.runtime"):
            refused, accepted = asyncio.run(_post_twice(build_app(Api(runtime, config)), body))
        assert refused.status_code == 400
        assert refused.json()["error"] == "attached_data._facebookItxType is an integer, not 'two'"
        assert "event=refused method=POST path=/interactions status=400" in caplog.text
        assert accepted.status_code == 201
        states = runtime.status("Environment").states
        assert sum(states.values()) == 1  # only the good one
    finally:
        runtime.close()
        config.dispose()


async def _post_twice(app: Any, body: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
    """The bad body, then the same with the right type, to the ASGI app in-process."""
    headers = {"Authorization": f"Bearer {INTAKE_TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
        refused = await client.post("/interactions", json=body, headers=headers)
        good = {**body, "attached_data": {**body["attached_data"], "_facebookItxType": 2}}
        return refused, await client.post("/interactions", json=good, headers=headers)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e999", "1e999 is past the range of a number"),
        ('"x\\ud800"', "a string holds a lone surrogate (\\ud800); text is UTF-8 characters"),
    ],
)
def test_a_value_json_or_utf8_cannot_hold_is_refused(
    tmp_path: Path, number: str, reason: str
) -> None:
    """Python's json reads NaN, Infinity and lone surrogates; stored in attached data, NaN made
    every offer of the interaction fail to encode (500) afterwards, and a surrogate failed the
    insert (500). Refused, nothing stored."""
    config = intake_config(tmp_path)
    deployed = deployment({"facebook-bp": "channel-facebook"}, tmp_path, agents={})
    runtime = open_runtime(
        "Environment", store_url=f"sqlite:///{tmp_path / 'store.db'}", deployment=deployed
    )
    body = (
        '{"media_type": "facebook", "channel": "channel-facebook", "external_id": "x-1", '
        f'"attached_data": {{"_facebookPostId": "p-1", "score": {number}}}}}'
    )
    try:
        refused = asyncio.run(_post_raw(build_app(Api(runtime, config)), body.encode()))
        assert refused.status_code == 400
        assert refused.json()["error"] == f"the body is not valid JSON ({reason})"
        assert sum(runtime.status("Environment").states.values()) == 0
    finally:
        runtime.close()
        config.dispose()


LONG = "x" * 3000


@pytest.mark.parametrize(
    ("udata", "reason"),
    [
        (
            {"TwitterMsgId": list(range(3000))},
            "attached_data.TwitterMsgId is a string, not an array",
        ),
        (
            {"_facebookPostId": {"a": LONG}},
            "attached_data._facebookPostId is a string, not an object",
        ),
        ({"_facebookPostId": True}, "attached_data._facebookPostId is a string, not true or false"),
        ({"_facebookPostId": 17}, "attached_data._facebookPostId is a string, not 17"),
        (
            {"FacebookItxType": LONG},
            f"attached_data.FacebookItxType is an integer, not '{'x' * 40}'... (3000 characters)",
        ),
        # other scripts' digits: not a number to the rest of the runtime (custom columns)
        (
            {"FacebookItxType": "\u0662"},
            "attached_data.FacebookItxType is an integer, not '\u0662'",
        ),
        (
            {LONG: [1]},
            f"attached_data.'{'x' * 40}'... (3000 characters): a value is a string, a number or "
            "a JSON object (a KV list), not an array",
        ),
    ],
)
def test_attached_data_of_a_wrong_type_is_named_not_echoed(
    tmp_path: Path, udata: dict[str, Any], reason: str
) -> None:
    """The refused value was quoted whole, as Python shows it (a 3,000-item array: a 17 kB
    reason, also logged): text is cut to 40 characters and its length, an array or object
    named by its kind; nothing stored."""
    config = intake_config(tmp_path)
    deployed = deployment({"facebook-bp": "channel-facebook"}, tmp_path, agents={})
    runtime = open_runtime(
        "Environment", store_url=f"sqlite:///{tmp_path / 'store.db'}", deployment=deployed
    )
    body = {"media_type": "facebook", "channel": "channel-facebook", "external_id": "x-1"}
    try:
        content = json.dumps({**body, "attached_data": udata}).encode()
        refused = asyncio.run(_post_raw(build_app(Api(runtime, config)), content))
        assert (refused.status_code, refused.json()["error"]) == (400, reason)
        assert sum(runtime.status("Environment").states.values()) == 0
    finally:
        runtime.close()
        config.dispose()


async def _post_raw(app: Any, content: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {INTAKE_TOKEN}", "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
        return await client.post("/interactions", content=content, headers=headers)


def test_status_and_metrics_refuse_an_unknown_token_naming_both_kinds(tmp_path: Path) -> None:
    """They take an intake token or a session: a revoked intake token was told to log in."""
    config = intake_config(tmp_path)
    deployed = deployment({"facebook-bp": "channel-facebook"}, tmp_path, agents={})
    runtime = open_runtime(
        "Environment", store_url=f"sqlite:///{tmp_path / 'store.db'}", deployment=deployed
    )
    create_session_table(runtime.store.engine)  # as route run does
    try:
        answers = asyncio.run(_get(build_app(Api(runtime, config)), ("/status", "/metrics")))
        assert [a.status_code for a in answers] == [200, 200, 401, 401]
        assert {a.json()["error"] for a in answers[2:]} == {
            "unknown, revoked or expired token: send an intake token or an agent's session of "
            "this tenant"
        }
    finally:
        runtime.close()
        config.dispose()


async def _get(app: Any, paths: tuple[str, ...]) -> list[httpx.Response]:
    """Each path with the intake token, then with a token that is nobody's."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
        return [
            await client.get(path, headers={"Authorization": f"Bearer {token}"})
            for token in (INTAKE_TOKEN, "revoked")
            for path in paths
        ]


def test_an_unreachable_store_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL restarting under a running runtime fails every request for a while: each
    is answered 500 and logged on one line with the reason, not with a traceback."""
    from sqlalchemy.exc import OperationalError

    config = intake_config(tmp_path)
    deployed = deployment({"facebook-bp": "channel-facebook"}, tmp_path, agents={})
    runtime = open_runtime(
        "Environment", store_url=f"sqlite:///{tmp_path / 'store.db'}", deployment=deployed
    )

    def unreachable(*_args: object) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused\n\tIs the server"))

    monkeypatch.setattr(runtime, "submit", unreachable)
    body = b'{"media_type": "facebook", "channel": "channel-facebook", "external_id": "x-1"}'
    try:
        with caplog.at_level(logging.WARNING, logger="gsetup.runtime"):
            failed = asyncio.run(_post_raw(build_app(Api(runtime, config)), body))
        assert failed.status_code == 500
        assert failed.json()["error"] == "the runtime failed to answer; its log says why"
        assert "event=request-failed method=POST path=/interactions reason=" in caplog.text
        assert "connection refused" in caplog.text
        assert not [r.getMessage() for r in caplog.records if r.exc_info]
    finally:
        runtime.close()
        config.dispose()


def test_healthz_says_when_the_store_does_not_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A load balancer's probe: /healthz answered 200 "ok" while the store was down and every
    other route failed (500). It reads the store: 503 while it cannot be opened, logged on
    one line, and 200 again once it is back."""
    config = intake_config(tmp_path)
    deployed = deployment({"facebook-bp": "channel-facebook"}, tmp_path, agents={})
    path = tmp_path / "store.db"
    runtime = open_runtime("Environment", store_url=f"sqlite:///{path}", deployment=deployed)
    app = build_app(Api(runtime, config))
    try:
        assert asyncio.run(_get(app, ("/healthz",)))[0].json() == {
            "status": "ok",
            "tenant": "Environment",
        }
        runtime.store.engine.dispose()
        path.rename(tmp_path / "away.db")
        path.mkdir()  # SQLite cannot open a directory: the store is gone
        with caplog.at_level(logging.WARNING, logger="gsetup.runtime"):
            down = asyncio.run(_get(app, ("/healthz",)))[0]
        assert down.status_code == 503
        assert down.json() == {"error": "the interaction store does not answer; the log says why"}
        assert "event=request-failed method=GET path=/healthz reason=" in caplog.text
        assert "unable to open database file" in caplog.text
        path.rmdir()
        (tmp_path / "away.db").rename(path)
        back = asyncio.run(_get(app, ("/healthz",)))[0]
        assert (back.status_code, back.json()["status"]) == (200, "ok")
    finally:
        runtime.close()
        config.dispose()
