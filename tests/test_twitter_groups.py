"""Threaded Routing's Twitter groups, assigned at intake (gsetup.runtime.twitter_groups):
through ``POST /interactions`` (the in-process HTTP app), concurrently and across a restart of
the runtime, on SQLite and PostgreSQL stores; which tweets get a group at all; and the store
upgrade that adds the groups' table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from gsetup.runtime.api import Runtime, open_runtime
from gsetup.runtime.clock import VirtualClock
from gsetup.runtime.errors import StoreError
from gsetup.runtime.http import Api, build_app
from gsetup.runtime.schema import SCHEMA_VERSION, runtime_meta, twitter_groups
from gsetup.runtime.store import open_store
from gsetup.runtime.twitter_groups import group_key, grouping_timeout
from tests.bp_support import TENANT, deployment, store_url
from tests.runtime_support import INTAKE_TOKEN, intake_config

__all__ = ["store_url"]

CHANNEL = "channel-twitter"


def _tweet(n: int, sender: str = "u-1") -> dict[str, Any]:
    return {
        "media_type": "twitter",
        "channel": CHANNEL,
        "external_id": f"t-{n}",
        "text": f"tweet {n}",
        "attached_data": {"TwitterMsgId": f"t-{n}", "_twitterFromUserId": sender},
    }


async def _post(app: Any, bodies: list[dict[str, Any]]) -> list[int]:
    """POST every body at once; the status codes."""
    headers = {"Authorization": f"Bearer {INTAKE_TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
        answers = await asyncio.gather(
            *(client.post("/interactions", json=b, headers=headers) for b in bodies)
        )
    return [a.status_code for a in answers]


def _group_ids(runtime: Runtime) -> dict[str, str | None]:
    """External id -> the twitterGroupId column of its interaction row."""
    store = runtime.store
    table = store.table
    column = table.c[store.columns["twittergroupid"]]
    with store.engine.connect() as conn:
        return {r.external_id: r[1] for r in conn.execute(select(table.c.external_id, column))}


def _group_rows(runtime: Runtime) -> list[tuple[str, str, float]]:
    g = twitter_groups.c
    with runtime.store.engine.connect() as conn:
        rows = conn.execute(select(g.group_key, g.group_id, g.started_at))
        return [(r.group_key, r.group_id, r.started_at) for r in rows]


def test_posted_tweets_group_concurrently_and_across_a_restart(
    store_url: str, tmp_path: Path
) -> None:
    config = intake_config(tmp_path)
    deployed = deployment(
        {"twitter-bp-tr": CHANNEL},
        tmp_path,
        agents={},
        channel_options={CHANNEL: {"grouping-timeout": "60"}},
    )
    clock = VirtualClock()
    start = clock.now()
    runtime = open_runtime(TENANT, store_url=store_url, clock=clock, deployment=deployed)
    try:
        # Six tweets of one sender posted at once: one starts the group, five join it.
        posted = asyncio.run(_post(build_app(Api(runtime, config)), [_tweet(n) for n in range(6)]))
        assert posted == [201] * 6
        groups = _group_ids(runtime)
        assert len(set(groups.values())) == 1
        first = groups["t-0"]
        assert first in {f"u-1:t-{n}" for n in range(6)}
        assert _group_rows(runtime) == [("u-1", first, start)]
    finally:
        runtime.close()
    clock.advance(30)
    runtime = open_runtime(TENANT, store_url=store_url, clock=clock, deployment=deployed)
    app = build_app(Api(runtime, config))
    try:
        # A restarted runtime continues the group from the store.
        # A sender id too long for the group id column: no group.
        batch = [_tweet(6), _tweet(100, sender="u-2"), _tweet(101, sender="x" * 250)]
        assert asyncio.run(_post(app, batch)) == [201, 201, 201]
        clock.advance(30)  # 60 s after the group started: the buffer has released it
        # A repeated submission changes no group; a new tweet starts one.
        assert asyncio.run(_post(app, [_tweet(0)])) == [200]
        assert _group_rows(runtime)[0] == ("u-1", first, start)
        assert asyncio.run(_post(app, [_tweet(7)])) == [201]
        groups = _group_ids(runtime)
        assert (groups["t-6"], groups["t-7"], groups["t-100"]) == (first, "u-1:t-7", "u-2:t-100")
        assert groups["t-101"] is None
        assert sorted(_group_rows(runtime)) == [
            ("u-1", "u-1:t-7", start + 60),
            ("u-2", "u-2:t-100", start + 30),
        ]
    finally:
        runtime.close()
        config.dispose()


def test_which_tweets_get_a_group() -> None:
    # The timeout as Inbound Buffer-TR reads it (jinja2's int filter), 10-3600 s.
    read = {v: grouping_timeout({"grouping-timeout": v}) for v in ("10", "3600", " 60 ", "60.9")}
    assert read == {"10": 10, "3600": 3600, " 60 ": 60, "60.9": 60}
    for bad in ("9", "3601", "", "sixty", "-30"):
        assert grouping_timeout({"grouping-timeout": bad}) is None, bad
    assert grouping_timeout({}) is None
    # A tweet: its sender; a direct message: the sorted pair; nothing without the ids.
    assert group_key("twitter", {"_twitterFromUserId": "u-1", "_twitterToUserId": "u-0"}) == "u-1"
    direct = {"_twitterFromUserId": "u-9", "_twitterToUserId": "u-1"}
    assert group_key("twitterdirect", direct) == "u-1_u-9"
    assert group_key("twitterdirect", {"_twitterFromUserId": "u-9"}) is None
    assert group_key("twitter", {"_twitterFromAddr": "@u-1"}) is None
    assert group_key("facebook", {"_twitterFromUserId": "u-1"}) is None


def test_an_older_store_gets_the_groups_table(store_url: str) -> None:
    store = open_store(store_url)
    with store.begin() as conn:  # the store as schema version 1 made it
        twitter_groups.drop(conn)
        conn.execute(update(runtime_meta).values(value="1"))
    store.dispose()
    store = open_store(store_url)
    try:
        with store.begin() as conn:
            conn.execute(
                twitter_groups.insert().values(
                    tenant=TENANT, channel=CHANNEL, group_key="u", group_id="u:1", started_at=0.0
                )
            )
            assert conn.execute(select(runtime_meta.c.value)).scalar() == str(SCHEMA_VERSION)
            conn.execute(update(runtime_meta).values(value=str(SCHEMA_VERSION + 1)))
    finally:
        store.dispose()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, this gsetup"):
        open_store(store_url)
