"""Twitter BP on recorded traffic (tests/traffic/tw-*.jsonl): each behaviour of the guide's
"Sample Business Process: Twitter BP" page, checked in the store's rows, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from gsetup.runtime.config import Deployment
from gsetup.runtime.schema import offers
from tests.bp_support import deployment, replayed, store_url

__all__ = ["store_url"]

TWITTER = {"twitter": 5, "twitterdirect": 5}


def _twitter(tmp_path: Path) -> Deployment:
    return deployment(
        {"twitter-bp": "channel-twitter channel-twitter-2"}, tmp_path, agents={"ann": TWITTER}
    )


def test_tweets_reach_agents_in_creation_order(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _twitter(tmp_path), "tw-order.jsonl") as run:
        ids = {run.itx(ref)["id"]: ref for ref in ("1001", "1002", "1003", "1004")}
        offered = [r["interaction_id"] for r in sorted(run.rows(offers), key=lambda r: r["id"])]
        # 1001 was created first but submitted a second later: within the window it goes
        # first. 1003 came ten seconds after 1004: past the window, it is not waited for.
        assert [ids[i] for i in offered] == ["1001", "1002", "1004", "1003"]
        assert run.loads() == {("ann", "twitter"): 4}


def test_tweet_already_stored_is_dropped(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _twitter(tmp_path), "tw-duplicate.jsonl") as run:
        first = [i for i in run.report.interactions if i["ref"] == "2001"]
        assert [(i["state"], i["stop_reason"]) for i in first] == [
            ("offered", None),
            ("stopped", "duplicate"),
        ]
        assert len(run.history()) == 1


def test_contacts_threads_and_influence(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _twitter(tmp_path), "tw-thread.jsonl") as run:
        contacts = run.contacts()
        assert list(contacts) == ["_twitterFromUserId=u-3"]  # created once, then identified
        history = run.history()
        first, reply = run.row("3001"), run.row("reply-3")
        answer, direct = run.row("3002"), run.row("d-3003")
        contact = first["attached_data"]["ContactId"]
        # The outbound tweet is kept with its StatusId under the contact and the thread.
        sent = history[reply["id"]]
        assert (sent["contact_id"], sent["parent_id"]) == (contact, first["id"])
        assert json.loads(sent["attributes"])["StatusId"] == "3900"
        [request] = run.sends()
        assert json.loads(request["body"])["in_reply_to"] == "3001"
        # The customer's answer (inReplyToStatusId 3900) is threaded under it; the direct
        # message, which has no inReplyToStatusId, starts a thread of its own.
        assert history[answer["id"]]["parent_id"] == reply["id"]
        assert history[answer["id"]]["contact_id"] == contact
        assert history[direct["id"]]["parent_id"] is None
        assert first["attached_data"]["desktop_influence"] == 40  # 99 followers
        assert answer["attached_data"]["_twitterKloutScore"] == 40
        assert direct["attached_data"]["desktop_influence"] == 0
        assert run.loads() == {("ann", "twitter"): 1, ("ann", "twitterdirect"): 1}


def test_outbound_retries_and_keeps_the_ids(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _twitter(tmp_path), "tw-retry.jsonl") as run:
        ok, failed = run.sends()
        assert (ok["state"], ok["attempts"]) == ("sent", 3)
        assert (failed["state"], failed["attempts"], failed["max_attempts"]) == ("failed", 5, 5)
        sent = run.row("sent-ok")
        assert sent["stop_reason"] == "sent"
        assert sent["attached_data"]["TwitterMsgId"] == "4900"
        assert sent["attached_data"]["ComplianceId"] == "cmp-4900"
        attributes = json.loads(run.history()[sent["id"]]["attributes"])
        assert attributes == {"StatusId": "4900", "ComplianceId": "cmp-4900"}
        lost = run.row("sent-failed")
        assert lost["stop_reason"] == "send-failed"
        assert "5 attempts" in lost["attached_data"]["_umsSendError"]


def test_compliance_delete_removes_the_text(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _twitter(tmp_path), "tw-compliance.jsonl") as run:
        deleted, kept = run.row("5001"), run.row("5002")
        assert deleted["text"] is None and kept["text"] == "another tweet"
        history = run.history()
        assert history[deleted["id"]]["text"] is None
        assert history[kept["id"]]["text"] == "another tweet"
        assert history[deleted["id"]]["contact_id"] == history[kept["id"]]["contact_id"]
        assert run.report.refused == []


def test_rpc_cache_timeout_sends_a_repeat_once(store_url: str, tmp_path: Path) -> None:
    deployed = deployment(
        {"twitter-bp": "channel-twitter channel-twitter-2"},
        tmp_path,
        agents={"ann": TWITTER},
        channel_options={"channel-twitter-2": {"rpc-cache-timeout": "0"}},
    )
    with replayed(store_url, deployed, "rpc-cache.jsonl") as run:
        states = {
            run.report.outbound[n]["interaction"]: row["state"] for n, row in enumerate(run.sends())
        }
        # 30 s after the first: cached (not sent again); 190 s after: past 90 s, sent.
        assert states == {
            "first": "sent",
            "repeat": "cached",
            "later": "sent",
            "uncached-1": "sent",
            "uncached-2": "sent",
        }
        for ref in ("first", "repeat", "later"):
            assert run.row(ref)["stop_reason"] == "sent"
