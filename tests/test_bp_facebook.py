"""Facebook BP on recorded traffic (tests/traffic/fb-*.jsonl): each behaviour of the guide's
"Sample Business Process: Facebook BP" page, checked in the store's rows, on SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.bp_support import deployment, replayed, store_url

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
