"""The rolling driver upgrade against two real DMS stand-in processes on loopback ports, with
a client submitting inbound interactions to the pair the whole time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dms_pair import Client, Pair, assert_nothing_lost, driver_package, make_pair
from tests.helpers import run_cli

UPGRADE = ("driver", "upgrade", "twitter", "--dms", "DMS_B", "--set", "accept_terms=true")


@pytest.fixture
def pair(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """DMS_A (primary) and DMS_B (backup) running the twitter driver 1.0.0."""
    started = make_pair(tmp_path, monkeypatch)
    try:
        yield started
    finally:
        started.close()


def test_rolling_upgrade_loses_nothing(pair: Pair, tmp_path: Path) -> None:
    new = driver_package(tmp_path / "twitter-2.0.0", "2.0.0")
    assert pair.roles() == {"DMS_A": "primary", "DMS_B": "backup"}
    client = Client(pair)
    client.start()
    try:
        result = run_cli(*UPGRADE, "--package", str(new), "--yes", "--json")
    finally:
        client.finish()
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["result"] == "upgraded"
    assert [(s["action"], s["dms"]) for s in report["steps"]] == [
        ("stop", "DMS_B"),
        ("install", "DMS_B"),
        ("start", "DMS_B"),
        ("switchover", "DMS_B"),
        ("stop", "DMS_A"),
        ("install", "DMS_A"),
        ("start", "DMS_A"),
    ]
    assert pair.versions() == {"DMS_A": "2.0.0", "DMS_B": "2.0.0"}
    assert pair.roles() == {"DMS_A": "backup", "DMS_B": "primary"}
    print(len(client.acked), client.retries, [(s["action"], s["seconds"]) for s in report["steps"]])
    assert_nothing_lost(pair, client)
