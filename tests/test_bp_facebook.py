"""Facebook BP on recorded traffic (tests/traffic/fb-*.jsonl): each behaviour of the guide's
"Sample Business Process: Facebook BP" page, checked in the store's rows, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gsetup.runtime.schema import (
    SCHEMA_VERSION,
    interactions,
    merges,
    runtime_meta,
    ucs_interactions,
)
from gsetup.runtime.store import open_store
from tests.bp_support import DMS, TENANT, deployment, replayed, store_url
from tests.plan_support import store_walks

__all__ = ["store_url"]

FACEBOOK = {"facebook": 1, "facebooksession": 1, "facebookprivatemessage": 1}


def _facebook(tmp_path: Path, **agents: dict[str, int]) -> object:
    return deployment(
        {"facebook-bp": "channel-facebook"}, tmp_path, agents=agents or {"ann": FACEBOOK}
    )


def test_question_is_ended_never_offered(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-question.jsonl") as run:
        question = run.itx("q-1")
        assert (question["state"], question["stop_reason"]) == ("stopped", "question")
        assert question["offered_to"] == []
        assert run.itx("s-1")["offered_to"] == ["ann"]
        assert run.loads() == {("ann", "facebook"): 1}


def test_facebooksession_skips_inbound_and_buffer(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-session.jsonl") as run:
        row = run.row("chat-1")
        assert (row["state"], row["assigned_to"]) == ("agent", "ann")
        assert row["queue"] == "Facebook Agent Delivery Queue"
        data = row["attached_data"]
        # The inbound stage sets the buffer flag before the buffer; a session never has it.
        assert "_facebookInBufferBeforeTarget" not in data
        assert data["desktop_actionable"] == "actionable"
        assert run.loads() == {("ann", "facebooksession"): 1}


def test_content_created_only_by_admin_is_not_delivered(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-admin.jsonl") as run:
        admin = run.itx("admin-1")
        assert (admin["state"], admin["stop_reason"]) == ("stopped", "created-only-by-admin")
        assert admin["offered_to"] == []
        user = run.row("user-1")
        assert (user["state"], user["assigned_to"]) == ("agent", "ann")
        assert run.history()[user["id"]]["contact_id"] is not None


def test_comment_only_interactions(store_url: str, tmp_path: Path) -> None:
    deployed = deployment(
        {"facebook-bp": "channel-facebook channel-facebook-2"},
        tmp_path,
        agents={"ann": FACEBOOK},
        channel_options={"channel-facebook": {"x-submit-comments-itx": "true"}},
    )
    with replayed(store_url, deployed, "fb-comment-only.jsonl") as run:
        comment = run.itx("comment-51")
        assert (comment["state"], comment["stop_reason"]) == ("stopped", "comment-contact-created")
        assert comment["offered_to"] == []
        assert run.contacts()["_facebookActorId=u-51"]["_facebookActorName"] == "Kim"
        # x-submit-comments-itx false: a post with one comment is never taken as comment-only.
        single = run.row("single-61")
        assert (single["state"], single["assigned_to"]) == ("agent", "ann")


def test_newer_interaction_of_a_post_is_merged(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-merge.jsonl") as run:
        newer = run.itx("post-7b")
        assert (newer["state"], newer["stop_reason"]) == ("stopped", "merged")
        assert newer["offered_to"] == []
        older = run.row("post-7a")
        assert (older["state"], older["assigned_to"]) == ("agent", "ann")
        data = older["attached_data"]
        assert [item["id"] for item in data["_mergedItems"]] == [newer["id"]]
        assert "c-72" in data["_mergedItems"][0]["udata"]["_facebookXML"]
        assert data["_facebookShareCount"] == 4  # a key it lacked is added
        assert data["_facebookNComments"] == 1  # its own is kept: no duplicate keys
        assert run.loads() == {("ann", "facebook"): 1}


def test_compliance_delete_of_a_merged_interaction_removes_its_text_everywhere(
    store_url: str, tmp_path: Path
) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-merge-compliance.jsonl") as run:
        newer, older = run.row("post-7b"), run.row("post-7a")
        assert newer["stop_reason"] == "merged" and newer["text"] is None
        [item] = older["attached_data"]["_mergedItems"]
        assert item["id"] == newer["id"] and item["text"] is None
        assert "555-0100" not in json.dumps(run.rows(interactions) + run.rows(ucs_interactions))
        assert older["text"] == "Our new store opens Monday"  # another message: kept
        assert run.report.refused == []


def test_compliance_delete_finds_the_merged_copies_by_index(store_url: str, tmp_path: Path) -> None:
    """The interactions a message was merged into are found through runtime_merges: on a
    store of thousands of interactions, no statement of the delete walks the tenant's
    interactions (a search of their attached data for the id was a full scan per delete)."""
    from sqlalchemy import event, insert

    with replayed(
        store_url, _facebook(tmp_path), "fb-merge-compliance.jsonl", pause_after=5
    ) as run:
        store = run.runtime.store
        others = [
            {
                "id": f"other-{n}",
                "tenant": TENANT,
                "type": "Inbound",
                "media_type": "facebook",
                "state": "stopped",
                "channel": "channel-facebook",
                "external_id": f"other-{n}",
                "attached_data": "{}",
                "received_at": 0.0,
                "offers": 0,
            }
            for n in range(2000)
        ]
        with store.begin() as conn:
            conn.execute(insert(interactions), others)
        store.ensure_statistics()  # as the engine gathers them (PostgreSQL)
        statements: dict[str, Any] = {}

        def capture(_c: Any, _cur: Any, text: str, params: Any, _x: Any, _many: bool) -> None:
            if " interactions" in text and text.startswith(("SELECT", "UPDATE")):
                statements[text] = params

        event.listen(store.engine, "before_cursor_execute", capture)
        run.runtime.event(TENANT, DMS, {"type": "compliance-delete", "external_id": "post-7b"})
        event.remove(store.engine, "before_cursor_execute", capture)
        newer, older = run.row("post-7b"), run.row("post-7a")
        [item] = older["attached_data"]["_mergedItems"]
        assert item["id"] == newer["id"] and item["text"] is None and newer["text"] is None
        assert older["text"] == "Our new store opens Monday"
        assert len(statements) >= 3 and any("runtime_merges" in text for text in statements)
        assert store_walks(store, statements) == {}


def test_a_store_of_version_3_records_its_merges_when_upgraded(
    store_url: str, tmp_path: Path
) -> None:
    """A store made before runtime_merges: opening it as ``route run`` does records the
    merges it holds, so a compliance delete still blanks the copies merged before."""
    from sqlalchemy import inspect, select, text, update

    version = runtime_meta.c.key == "schema-version"
    with replayed(
        store_url, _facebook(tmp_path), "fb-merge-compliance.jsonl", pause_after=5
    ) as run:
        with run.runtime.store.begin() as conn:  # as schema version 3 left it
            conn.execute(text("DROP TABLE runtime_merges"))
            conn.execute(text("DROP INDEX ix_itx_external"))
            conn.execute(update(runtime_meta).where(version).values(value="3"))
        open_store(store_url).dispose()
        newer, older = run.row("post-7b"), run.row("post-7a")
        with run.runtime.store.engine.connect() as conn:
            found = conn.execute(select(runtime_meta.c.value).where(version)).scalar()
            assert found == str(SCHEMA_VERSION)
            assert "ix_itx_external" in {
                i["name"] for i in inspect(conn).get_indexes("interactions")
            }
            recorded = conn.execute(select(merges.c.merged_id, merges.c.into_id)).all()
        assert recorded == [(newer["id"], older["id"])]
        run.resume()  # the compliance delete
        [item] = run.row("post-7a")["attached_data"]["_mergedItems"]
        assert item["id"] == newer["id"] and item["text"] is None
        assert run.report.refused == []


def test_buffer_holds_for_the_handling_agent_until_it_has_capacity(
    store_url: str, tmp_path: Path
) -> None:
    deployed = _facebook(tmp_path, ann=FACEBOOK, bob={**FACEBOOK, "facebook": 2})
    with replayed(store_url, deployed, "fb-buffer.jsonl", pause_after=7) as run:
        held = run.row("b")
        # bob is free, but b waits for ann, who handles a (the same post) at capacity 1.
        assert held["state"] == "routing" and held["assigned_to"] is None
        assert held["attached_data"]["_facebookPreferredAgent"] == "ann"
        assert run.itx("b")["offered_to"] == []
        run.resume()
        assert run.itx("b")["offered_to"] == ["ann"]
        assert run.row("b")["assigned_to"] == "ann"
        # bob handles c; d (same post) goes to bob at once: he has capacity for both.
        assert run.itx("d")["offered_to"] == ["bob"]
        assert run.row("c")["state"] == run.row("d")["state"] == "agent"
        assert run.loads() == {("ann", "facebook"): 1, ("bob", "facebook"): 2}
        assert run.itx("a")["stop_reason"] == "done"


def test_classification_and_calculation(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-classify.jsonl") as run:
        data = run.row("cl-1")["attached_data"]
        assert (data["ScreenSentiment"], data["ClassifySentiment"]) == ("negative", "negative")
        assert data["ScreenActionability"] == "actionable"
        assert data["CommentScreenSentiment_c-201"] == "positive"
        assert data["CommentClassifySentiment_c-201"] == "positive"
        assert data["CommentScreenActionability_c-202"] == "actionable"
        assert data["CommentClassifyActionability_c-202"] == "actionable"
        # Set, not add: the driver's desktop_sentiment is replaced, and stays one value.
        assert data["desktop_sentiment"] == "negative"
        assert (data["desktop_actionable"], data["desktop_expand"]) == ("actionable", "true")
        calm = run.row("cl-2")["attached_data"]
        assert (calm["desktop_sentiment"], calm["desktop_expand"]) == ("positive", "false")
        assert calm["desktop_actionable"] == "nonactionable"


def test_reply_is_dispatched_with_post_and_comment_ids(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-reply.jsonl") as run:
        [send] = run.sends()
        assert (send["method"], send["state"], send["app"]) == ("SubmitComment", "sent", "DMS_1")
        args = json.loads(send["body"])
        assert (args["post_id"], args["comment_id"]) == ("p-30", "c-301")
        assert args["text"] == "Yes, until 6 pm!"
        reply = run.row("reply-1")
        assert (reply["state"], reply["stop_reason"], reply["type"]) == (
            "stopped",
            "sent",
            "Outbound",
        )
        assert reply["attached_data"]["_facebookCommentId"] == "c-399"
        assert run.itx("r-1")["stop_reason"] == "done"
        assert run.loads() == {("ann", "facebook"): 0}


def test_outbound_init_draft_ends_after_31_days(store_url: str, tmp_path: Path) -> None:
    with replayed(store_url, _facebook(tmp_path), "fb-outbound-init.jsonl", pause_after=7) as run:
        draft = run.row("draft-1")
        assert (draft["state"], draft["queue"]) == ("routing", "Facebook Outbound Init Queue")
        run.resume()
        ended = run.itx("draft-1")
        assert (ended["state"], ended["stop_reason"]) == ("stopped", "outbound-init-expired")
        assert ended["ended_at"] == 2678410
