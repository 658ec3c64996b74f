"""The Facebook and Twitter variants on recorded traffic: Facebook BP - Simplified (with its
known-issue fix), Single Comment Routing, and the two iWD Business Processes, on SQLite and
PostgreSQL stores."""

from __future__ import annotations

import json
from pathlib import Path

from gsetup.packages.stages import IWD_ADAPTER_QUEUE
from tests.bp_support import deployment, replayed, store_url

__all__ = ["store_url"]

FACEBOOK = {"facebook": 2, "facebooksession": 1, "facebookprivatemessage": 2}


def test_simplified_sends_private_messages_and_parks_comments(
    store_url: str, tmp_path: Path
) -> None:
    deployed = deployment(
        {"facebook-bp-simplified": "channel-facebook channel-facebook-2"},
        tmp_path,
        agents={"ann": FACEBOOK},
        channel_options={"channel-facebook-2": {"x-submit-comments-itx": "true"}},
    )
    with replayed(store_url, deployed, "fbs-private-message.jsonl") as run:
        pm = run.row("pm-1")
        # The workaround: the value DMS set is kept (overwriting it broke private messages).
        assert pm["attached_data"]["_umsInboundIxnSubmittedBy"] == "DMS_1:channel-facebook-monitor"
        assert pm["attached_data"]["FromAddress"] == "User pm-1"
        post = run.row("post-2")
        assert post["attached_data"]["_umsInboundIxnSubmittedBy"] == "DMS_1"  # empty: set
        ucs = json.loads(run.history()[post["id"]]["attributes"])
        assert ucs == {"_facebookPostId": "p-2", "_facebookCommentId": "c-21"}
        [send] = run.sends()
        assert (send["method"], send["state"]) == ("SendMessage", "sent")
        assert json.loads(send["body"])["to"] == "u-pm-1"
        assert run.itx("pm-reply")["stop_reason"] == "sent"
        parked = run.itx("comment-3")
        assert (parked["state"], parked["queue"]) == ("queued", "Facebook Simplified Parking Queue")
        assert parked["offered_to"] == []
        assert run.loads() == {("ann", "facebook"): 1, ("ann", "facebookprivatemessage"): 1}


def test_single_comment_routing(store_url: str, tmp_path: Path) -> None:
    deployed = deployment(
        {"facebook-bp-single-comment": "channel-facebook"},
        tmp_path,
        agents={"ann": FACEBOOK},
        channel_options={"channel-facebook": {"x-submit-comments-itx": "true"}},
    )
    with replayed(store_url, deployed, "fbscr-single-comment.jsonl") as run:
        one = run.row("one")
        assert (one["state"], one["assigned_to"]) == ("offered", "ann")
        assert one["attached_data"]["CommentClassifyActionability_c-1"] == "actionable"
        many = run.itx("many")
        assert (many["state"], many["stop_reason"], many["queue"]) == (
            "stopped",
            "done",
            "Facebook SCR Stop Queue",
        )
        assert many["offered_to"] == []
        assert run.itx("question")["stop_reason"] == "question"


def test_facebook_iwd_hands_interactions_to_the_adapter(store_url: str, tmp_path: Path) -> None:
    deployed = deployment({"facebook-bp-iwd": "channel-facebook"}, tmp_path, agents={})
    with replayed(store_url, deployed, "fbiwd-adapter.jsonl") as run:
        for ref in ("iwd-1", "iwd-2"):
            row = run.row(ref)
            assert (row["state"], row["queue"]) == ("queued", IWD_ADAPTER_QUEUE)
            # The iWD custom properties fill their columns, which the adapter reads.
            assert (row["desktop_sentiment"], row["desktop_actionable"]) == (
                "negative",
                "actionable",
            )
            assert int(row["desktop_influence"]) == 0
            # No comment screened negative or actionable: the desktop keeps them folded.
            assert row["attached_data"]["desktop_expand"] == "false"
        assert run.report.agents == {}


def test_twitter_iwd_hands_tweets_to_the_adapter(store_url: str, tmp_path: Path) -> None:
    deployed = deployment(
        {"twitter-bp-iwd": "channel-twitter channel-twitter-2"}, tmp_path, agents={}
    )
    with replayed(store_url, deployed, "twiwd-adapter.jsonl") as run:
        first, repeat = (i for i in run.report.interactions if i["ref"] == "7001")
        assert (repeat["state"], repeat["stop_reason"]) == ("stopped", "duplicate")
        assert (first["state"], first["queue"]) == ("queued", IWD_ADAPTER_QUEUE)
        data = first["attached_data"]
        assert (data["desktop_sentiment"], data["desktop_actionable"]) == ("negative", "actionable")
        assert data["desktop_influence"] == 20  # 9 followers
        assert len(run.contacts()) == 1
