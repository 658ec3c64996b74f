"""UCS interactions are found by an attribute's value through ucs_attributes (FindInteraction,
the compliance delete of a sent tweet's StatusId), not by reading every interaction of the
tenant; the index follows the attributes merged, and an older store is indexed when upgraded.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

from gsetup.runtime import sql
from gsetup.runtime.api import Runtime, open_runtime
from gsetup.runtime.clock import VirtualClock
from gsetup.runtime.schema import SCHEMA_VERSION, runtime_meta, ucs_attributes
from gsetup.runtime.services.ucs import create_interaction, find_interaction, update_interaction
from gsetup.runtime.store import open_store
from gsetup.runtime.turn import Turn
from tests.bp_support import DMS, TENANT, deployment, replayed
from tests.plan_support import store_walks

STORED = 3000


@pytest.fixture
def runtime(store_url: str, tmp_path: Path) -> Iterator[Runtime]:
    deployed = deployment({"twitter-bp": "channel-twitter"}, tmp_path, agents={})
    opened = open_runtime(TENANT, store_url=store_url, clock=VirtualClock(), deployment=deployed)
    yield opened
    opened.close()


def _record(runtime: Runtime, create: list[dict[str, Any]], merge: list[dict[str, Any]]) -> None:
    """One turn recording ``create`` (CreateInteraction args) and merging ``merge``
    (UpdateInteraction args), as a strategy does."""
    ctx = runtime.engine.ctx
    with ctx.store.begin() as conn:
        turn = Turn(ctx, conn, ctx.clock.now())
        for args in create:
            create_interaction(_run(turn, args["id"]), args)
        for args in merge:
            update_interaction(_run(turn, args["id"]), args)
        turn.flush()


def _run(turn: Turn, ucs_id: str) -> Any:
    itx = SimpleNamespace(
        tenant=TENANT, id=ucs_id, external_id=f"x-{ucs_id}", media_type="twitter", text="t"
    )
    return SimpleNamespace(turn=turn, itx=itx)


def _find(runtime: Runtime, **args: Any) -> str | None:
    ctx = runtime.engine.ctx
    with ctx.store.begin() as conn:
        found = find_interaction(_run(Turn(ctx, conn, ctx.clock.now()), "asking"), args)
    return None if found is None else str(found["id"])


def _indexed(runtime: Runtime, ucs_id: str) -> dict[str, str]:
    a = ucs_attributes.c
    with runtime.store.engine.connect() as conn:
        found = conn.execute(select(a.name, a.value).where(a.ucs_id == ucs_id))
        return {row.name: row.value for row in found}


def test_find_and_compliance_delete_use_the_index(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a store of a few thousand UCS interactions, neither FindInteraction (with or
    without a contact) nor the compliance delete of a StatusId reads the tenant's UCS
    interactions: their plans search ucs_attributes by (tenant, name, value)."""
    stored = [
        {"id": f"u{n}", "contact_id": f"c{n % 50}", "attributes": {"StatusId": str(9000 + n)}}
        for n in range(STORED)
    ]
    _record(runtime, stored, [])
    runtime.store.ensure_statistics()  # as the engine gathers them (PostgreSQL)
    statements: dict[str, Any] = {}

    def capture(text: str, params: Any, many: bool) -> None:
        statements[text] = params[0] if many else params

    def captured(*args: Any) -> None:
        capture(args[2], args[3], args[5])

    monkeypatch.setattr(sql, "LISTENERS", [capture])
    event.listen(runtime.store.engine, "before_cursor_execute", captured)
    assert _find(runtime, attribute="StatusId", value="9007") == "u7"
    assert _find(runtime, attribute="StatusId", value="9057", contact_id="c7") == "u57"
    assert _find(runtime, attribute="StatusId", value="9057", contact_id="c8") is None
    assert _find(runtime, attribute="StatusId", value=9057) is None  # a number: not "9057"
    runtime.event(TENANT, DMS, {"type": "compliance-delete", "external_id": "9042"})
    event.remove(runtime.store.engine, "before_cursor_execute", captured)

    with runtime.store.engine.connect() as conn:
        texts = dict(conn.execute(text("SELECT id, text FROM ucs_interactions")).all())
    assert texts["u42"] is None and texts["u43"] == "t"
    reads = {
        t: p for t, p in statements.items() if t.startswith(("SELECT", "UPDATE")) and "ucs_" in t
    }
    assert sum("ucs_attributes" in t for t in reads) >= 3  # the index was searched
    assert store_walks(runtime.store, reads) == {}


def test_the_index_follows_merged_attributes(runtime: Runtime) -> None:
    """An attribute merged is found by its new value, not its old one; one set to a value
    the index does not hold (a list) is found by reading; a repeated CreateInteraction
    indexes nothing."""
    _record(runtime, [{"id": "u1", "attributes": {"Status": "open", "StatusId": "7"}}], [])
    assert _indexed(runtime, "u1") == {"Status": '"open"', "StatusId": '"7"'}
    _record(runtime, [], [{"id": "u1", "attributes": {"Status": "done", "Seen": True}}])
    assert _indexed(runtime, "u1") == {"Status": '"done"', "StatusId": '"7"', "Seen": "true"}
    assert _find(runtime, attribute="Status", value="done") == "u1"
    assert _find(runtime, attribute="Status", value="open") is None
    assert _find(runtime, attribute="Seen", value=True) == "u1"
    assert _find(runtime, attribute="Seen", value=1) is None  # JSON 1 is not true
    # created and merged in one turn; again created, with other attributes: ignored
    _record(
        runtime,
        [{"id": "u2", "attributes": {"Status": "open"}}],
        [{"id": "u2", "attributes": {"Status": ["a", "b"]}}],
    )
    _record(runtime, [{"id": "u2", "attributes": {"Other": "x", "Status": "new"}}], [])
    assert _indexed(runtime, "u2") == {}
    assert _find(runtime, attribute="Status", value=["a", "b"]) == "u2"
    assert _find(runtime, attribute="Status", value="open") is None
    assert _find(runtime, attribute="Other", value="x") is None


def test_an_older_store_is_indexed_when_upgraded(store_url: str, tmp_path: Path) -> None:
    """A store made before ucs_attributes: opening it as ``route run`` does indexes the UCS
    interactions it holds, so a reply to a tweet sent before is threaded under it and the
    compliance delete of that tweet's StatusId finds it."""
    deployed = deployment(
        {"twitter-bp": "channel-twitter channel-twitter-2"},
        tmp_path,
        agents={"ann": {"twitter": 5, "twitterdirect": 5}},
    )
    version = runtime_meta.c.key == "schema-version"
    with replayed(store_url, deployed, "tw-thread.jsonl", pause_after=7) as run:
        reply = run.row("reply-3")
        assert json.loads(run.history()[reply["id"]]["attributes"])["StatusId"] == "3900"
        with run.runtime.store.begin() as conn:  # as schema version 4 left it
            conn.execute(text("DROP TABLE ucs_attributes"))
            conn.execute(update(runtime_meta).where(version).values(value="4"))
        open_store(store_url).dispose()
        with run.runtime.store.engine.connect() as conn:
            assert conn.execute(select(runtime_meta.c.value).where(version)).scalar() == str(
                SCHEMA_VERSION
            )
        assert _indexed(run.runtime, reply["id"]) == {
            "StatusId": '"3900"',
            "ComplianceId": '"cmp-3900"',
        }
        run.resume()  # the customer's answer to 3900
        history = run.history()
        assert history[run.row("3002")["id"]]["parent_id"] == reply["id"]
        run.runtime.event(TENANT, DMS, {"type": "compliance-delete", "external_id": "3900"})
        assert run.history()[reply["id"]]["text"] is None
