"""The routing runtime's outbound requests to a DMS pair: after a switchover, a reply to an
interaction the former primary submitted reaches the new primary (a client of the pair tries
the other member on a 503 or a refused connection), and goes out once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from gsetup.configdb.database import open_database
from gsetup.runtime.config import read_apps
from gsetup.runtime.outbox import Delivery, HttpSender, _send
from tests.dms_pair import Pair, running_pair

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def pair(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """DMS_A (primary) and DMS_B (backup)."""
    with running_pair(tmp_path, monkeypatch) as started:
        yield started


def _sent(pair: Pair, name: str) -> list[str]:
    log = pair.working(name) / "gsetup-dms-outbound.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line)["key"] for line in lines]


@SQLITE_ONLY
def test_a_reply_after_a_switchover_reaches_the_new_primary_once(pair: Pair) -> None:
    apps = read_apps(open_database(os.environ["GSETUP_DB"]).engine, "Environment")
    ctx = cast(Any, SimpleNamespace(tenant="Environment", deployment=SimpleNamespace(apps=apps)))
    sender = HttpSender()

    def send(key: str) -> Any:  # a reply to an interaction DMS_A submitted
        item = Delivery(key, "i-1", "DMS_A", "channel-twitter", "SendMessage",
                        {"text": f"thanks {key}"}, 1, 3, 10.0)  # fmt: skip
        return _send(ctx, sender, item)

    try:
        first = send("k-1")
        assert first.ok and _sent(pair, "DMS_A") == ["k-1"]
        assert pair.control("DMS_A", "/switchover").status_code == 200
        assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}

        after = send("k-2")  # DMS_A refuses (503): DMS_B carries it out
        assert after.ok and _sent(pair, "DMS_B") == ["k-2"]
        # A resend of a key DMS_A carried out (its answer was lost) gets its first answer
        # from DMS_A, backup now, and does not go out again through DMS_B.
        assert send("k-1") == first
        assert _sent(pair, "DMS_A") == ["k-1"] and _sent(pair, "DMS_B") == ["k-2"]
    finally:
        sender.close()
