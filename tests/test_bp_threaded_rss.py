"""Twitter BP - Threaded Routing and RSS BP on recorded traffic, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from gsetup.runtime.schema import twitter_groups
from tests.bp_support import deployment, replayed, store_url

__all__ = ["store_url"]


def test_threaded_routing_groups_a_senders_tweets(store_url: str, tmp_path: Path) -> None:
    deployed = deployment(
        {"twitter-bp-tr": "channel-twitter channel-twitter-2"},
        tmp_path,
        agents={"ann": {"twitter": 10, "twitterdirect": 10}},
        channel_options={
            "channel-twitter": {"grouping-timeout": "60"},
            "channel-twitter-2": {"grouping-timeout": "5"},
        },
    )
    # The traffic carries no _twitterGroupId: the runtime's intake assigns it.
    with replayed(store_url, deployed, "tr-grouping.jsonl", pause_after=5) as run:
        # Within the timeout nothing is delivered; the later tweets merge into the first.
        first = run.row("8001")
        assert (first["state"], first["queue"]) == ("routing", "Twitter TR Inbound Buffer Queue")
        assert run.itx("8002")["stop_reason"] == "merged"
        run.resume()
        assert {r: run.row(r)["twittergroupid"] for r in ("8001", "8002", "8003")} == dict.fromkeys(
            ("8001", "8002", "8003"), "u-1:8001"
        )
        group = run.row("8001")
        merged = group["attached_data"]["_mergedItems"]
        assert [m["udata"]["TwitterMsgId"] for m in merged] == ["8002", "8003"]
        assert [run.itx(r)["stop_reason"] for r in ("8002", "8003")] == ["merged", "merged"]
        # One interaction, offered once the 60 s passed, flagged for every post: the angry
        # second tweet makes the group negative.
        assert run.itx("8001")["offered_to"] == ["ann"]
        assert group["attached_data"]["desktop_sentiment"] == "negative"
        assert group["attached_data"]["desktop_expand"] == "true"
        later = run.row("8004")  # 99 s after the group started: a group of its own
        assert (later["state"], later["twittergroupid"]) == ("agent", "u-1:8004")
        assert later["attached_data"]["desktop_sentiment"] == "positive"
        # Direct messages of a pair of users, either way round, form one group keyed by the
        # sorted pair; u-9 wrote first.
        dm = run.row("8101")
        assert (dm["twittergroupid"], run.row("8102")["twittergroupid"]) == (
            "u-1_u-9:8101",
            "u-1_u-9:8101",
        )
        assert [m["udata"]["TwitterMsgId"] for m in dm["attached_data"]["_mergedItems"]] == ["8102"]
        assert run.itx("8102")["stop_reason"] == "merged"
        # A group id the driver attached is kept.
        assert run.row("8301")["twittergroupid"] == "u-7:7000"
        # An out-of-range grouping-timeout: no group id, each tweet delivered by itself.
        for ref in ("8201", "8202"):
            row = run.row(ref)
            assert (row["twittergroupid"], row["state"]) == (None, "agent")
            assert "_twitterGroupId" not in row["attached_data"]
        assert run.itx("8201")["offered_to"] == run.itx("8202")["offered_to"] == ["ann"]
        # The groups, as the store keeps them for the next tweet.
        assert {
            (r["channel"], r["group_key"]): r["group_id"] for r in run.rows(twitter_groups)
        } == {
            ("channel-twitter", "u-1"): "u-1:8004",
            ("channel-twitter", "u-1_u-9"): "u-1_u-9:8101",
        }
        assert {r: run.itx(r)["state"] for r in ("8001", "8101", "8301")} == dict.fromkeys(
            ("8001", "8101", "8301"), "agent"
        )
        assert run.loads() == {("ann", "twitter"): 5, ("ann", "twitterdirect"): 1}


def test_rss_items_are_delivered_and_duplicates_dropped(store_url: str, tmp_path: Path) -> None:
    deployed = deployment(
        {"rss-bp": "channel-rss channel-rss-2"}, tmp_path, agents={"ann": {"rss": 5}}
    )
    with replayed(store_url, deployed, "rss-items.jsonl") as run:
        first, repeat = (i for i in run.report.interactions if i["ref"] == "item-1")
        assert (first["state"], first["agent"], first["queue"]) == (
            "agent",
            "ann",
            "RSS Agent Delivery Queue",
        )
        assert (repeat["state"], repeat["stop_reason"]) == ("stopped", "duplicate")
        assert run.itx("item-2")["offered_to"] == ["ann"]
        assert first["attached_data"]["desktop_sentiment"] == "negative"
        assert list(run.contacts()) == ["_rssItemAuthor=editor@example.com"]
        assert run.loads() == {("ann", "rss"): 2}
