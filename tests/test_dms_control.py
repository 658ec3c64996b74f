"""The DMS stand-in's role-changing routes (/switchover, /promote) against a real pair: only
a caller holding the member's control token changes a role, and only with a valid body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dms_pair import CONTROL, Pair, running_pair


@pytest.fixture
def pair(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """DMS_A (primary) and DMS_B (backup)."""
    with running_pair(tmp_path, monkeypatch) as started:
        yield started


def _post(pair: Pair, name: str, path: str, token: str | None, **body: Any) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{pair.ports[name]}{path}"
    return httpx.post(url, headers=headers, timeout=30, **body)


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
