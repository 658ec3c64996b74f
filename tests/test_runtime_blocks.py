"""The interpreter on real stores: every block, function and service, checked in the rows of
the interactions table, the contacts, the outbox and the agents' loads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.runtime import interpreter, sql
from gsetup.runtime.api import AgentActionError, IntakeError, Runtime, open_runtime
from gsetup.runtime.clock import VirtualClock
from gsetup.runtime.config import AgentConfig, AppConfig, BusinessProcess, Deployment
from gsetup.runtime.engine import DEAD_WORKER_KEPT
from gsetup.runtime.services.ucs import (
    ServiceError,
    create_interaction,
    find_interaction,
    update_interaction,
)
from gsetup.runtime.turn import Turn
from tests.runtime_support import CHANNEL, DMS, TENANT, receiver, worker_thread

LONG = "x" * 3000  # a request's value quoted in a refusal is cut to its first 40 characters
# A Facebook monitor section: no channel, though this one has a route (genesys-facts.md).
MONITOR = "channel-facebook-monitor-page"
CUT = "'" + "x" * 40 + "'... (3000 characters)"
CUT_255 = "'" + "m" * 40 + "'... (255 characters)"

STRATEGIES = Path(__file__).resolve().parent / "runtime_strategies"
QUEUES = ("Q In", "Q Deliver", "Q Order", "Test Stop Queue", "Test Outbound Queue")
XML = (
    "<post><comments><comment><id>c1</id><author>ann</author><text>nice</text></comment>"
    "<comment><id>c2</id><author>bob</author><text>bad</text></comment></comments></post>"
)


def deployment(
    agents: dict[str, tuple[int, int]], outbound_url: str = "http://127.0.0.1:9/x"
) -> Deployment:
    """The test Business Process; agents: name -> (facebook skill, capacity)."""
    bp = BusinessProcess(
        "Test BP", "test-bp", STRATEGIES, tuple(sorted(STRATEGIES.glob("*.yaml"))), QUEUES
    )
    dms = AppConfig(
        DMS,
        "DigitalMessagingServer",
        "127.0.0.1",
        9,
        {
            CHANNEL: {"inbound-route": "1:in", "grouping-timeout": "30"},
            "endpoints:1": {"in": "Q In", "nowhere": "No Such Queue"},
            "channel-broken": {"inbound-route": "1:nowhere"},
            MONITOR: {"inbound-route": "1:in"},
            "gsetup-runtime": {"outbound-url": outbound_url},
        },
    )
    return Deployment(
        TENANT,
        1,
        (bp,),
        {n: AgentConfig(n, {"facebook": s}, {"facebook": c}) for n, (s, c) in agents.items()},
        {DMS: dms},
        QUEUES,
        ("facebook", "twitter"),
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def start(
    store_url: str, clock: VirtualClock, agents: dict[str, tuple[int, int]] | None = None, **kw: Any
) -> Runtime:
    runtime = open_runtime(
        TENANT, store_url=store_url, deployment=deployment(agents or {}, **kw), clock=clock
    )
    for name in agents or {}:
        runtime.agent_login(TENANT, name)
        runtime.agent_ready(TENANT, name)
    return runtime


@pytest.fixture
def rows(store_url: str) -> Iterator[Any]:
    engine = create_engine(store_url, poolclass=NullPool)

    def query(sql: str, **params: Any) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    yield query
    engine.dispose()


def body(number: int, **udata: Any) -> dict[str, Any]:
    return {
        "media_type": "facebook",
        "channel": CHANNEL,
        "external_id": f"ext-{number}",
        "text": udata.pop("text", "great, please help"),
        "attached_data": {
            "_facebookActorId": f"user-{number}",
            "_facebookActorName": "Ann",
            **udata,
        },
    }


def udata(rows: Any, interaction_id: str) -> dict[str, Any]:
    found = rows("SELECT attached_data FROM interactions WHERE id = :i", i=interaction_id)
    return json.loads(found[0][0])


def test_blocks_functions_and_services_write_the_store(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock, {"senior": (5, 2), "junior": (1, 2)})
    first = runtime.submit(
        TENANT, DMS, body(1, n=5, _facebookXML=XML, drop_me="x", followers=99, _facebookPostId="p1")
    )
    runtime.run_until_idle()
    (row,) = rows(
        "SELECT state, queue, assigned_to, desktop_sentiment, desktop_actionable, "
        "desktop_influence, facebookInQueueAtTarget, facebookPostId FROM interactions "
        "WHERE id = :i",
        i=first.interaction_id,
    )
    assert tuple(row) == ("offered", "Q Deliver", "senior", "positive", "actionable", 40, 1, "p1")
    data = udata(rows, first.interaction_id)
    assert data["loops"] == 3  # while: limit 3 although n is 5
    assert data["comments"] == 2  # for_each over facebook_comments, through a subroutine
    assert data["grouping"] == "30"  # channel_option
    assert "drop_me" not in data
    assert data["existed"] is False and data["update_failed"] == 1
    assert data["found"] == first.interaction_id
    (contact,) = rows("SELECT id, identity FROM ucs_contacts")
    assert contact.identity == "_facebookActorId=user-1" and data["ContactId"] == contact.id
    (history,) = rows("SELECT id, contact_id, attributes FROM ucs_interactions")
    assert history.contact_id == contact.id
    assert json.loads(history.attributes) == {"StatusId": "st-ext-1", "Status": "seen"}
    assert rows("SELECT agent, media_type, load FROM runtime_agent_loads") == [
        ("senior", "facebook", 1)
    ]
    # The same author again: the contact is found, not created twice.
    runtime.submit(TENANT, DMS, body(2, _facebookActorId="user-1", _facebookPostId="p2"))
    runtime.run_until_idle()
    assert len(rows("SELECT id FROM ucs_contacts")) == 1
    runtime.close()


def test_subroutine_stop_ends_the_caller(store_url: str, clock: VirtualClock, rows: Any) -> None:
    runtime = start(store_url, clock)
    xml = "<p><comment><id>1</id><author>a</author><text>please stop this</text></comment></p>"
    accepted = runtime.submit(TENANT, DMS, body(1, _facebookXML=xml))
    runtime.run_until_idle()
    assert rows(
        "SELECT state, stop_reason FROM interactions WHERE id = :i", i=accepted.interaction_id
    ) == [("stopped", "comment-said-stop")]
    runtime.close()


def test_target_waits_for_capacity_then_times_out(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock, {"senior": (5, 1), "junior": (1, 3)})
    ids = [
        runtime.submit(TENANT, DMS, body(n, _facebookPostId=f"p{n}")).interaction_id
        for n in range(3)
    ]
    runtime.run_until_idle()
    states = dict(rows("SELECT id, state FROM interactions"))
    assert sorted(states.values()) == [
        "offered",
        "routing",
        "routing",
    ]  # capacity 1; junior lacks the skill
    offered = next(i for i in ids if states[i] == "offered")
    runtime.accept(TENANT, "senior", offered)
    runtime.done(TENANT, "senior", offered)  # capacity freed: the oldest waiting one is woken
    runtime.run_until_idle()
    assert rows("SELECT queue, state, stop_reason FROM interactions WHERE id = :i", i=offered) == [
        ("Test Stop Queue", "stopped", "done")
    ]
    ((woken,),) = rows("SELECT id FROM interactions WHERE state = 'offered'")
    runtime.accept(TENANT, "senior", woken)
    clock.advance(121)
    runtime.run_until_idle()
    stopped = rows("SELECT stop_reason FROM interactions WHERE state = 'stopped' ORDER BY 1")
    assert stopped == [
        ("done",),
        ("nobody",),
    ]  # the third never got capacity before its target's timeout
    assert rows("SELECT load FROM runtime_agent_loads WHERE agent = 'senior'") == [(1,)]
    runtime.close()


def test_reservation_timeout_and_reject_offer_the_next_agent(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock, {"a1": (5, 1), "a2": (5, 1)})
    accepted = runtime.submit(TENANT, DMS, body(1))
    clock.advance(0.25)
    runtime.run_until_idle()
    first = rows("SELECT assigned_to FROM interactions")[0][0]
    runtime.reject(TENANT, first, accepted.interaction_id)
    runtime.run_until_idle()
    second = rows("SELECT assigned_to FROM interactions")[0][0]
    assert {first, second} == {"a1", "a2"}
    # /metrics: submission to first offer, once per interaction (not again for the second)
    latency = runtime.engine.ctx.metrics.offer_latency.collect()[0].samples
    observed = {s.name: s.value for s in latency if s.name.endswith(("_count", "_sum"))}
    assert observed == {
        "gsetup_submission_to_offer_seconds_count": 1.0,
        "gsetup_submission_to_offer_seconds_sum": 0.25,
    }
    clock.advance(31)  # the reservation timeout passes
    runtime.run_until_idle()
    outcomes = rows("SELECT agent, outcome FROM runtime_offers ORDER BY id")
    assert outcomes == [(first, "rejected"), (second, "expired")]
    assert rows("SELECT agent, load FROM runtime_agent_loads ORDER BY agent") == [
        ("a1", 0),
        ("a2", 0),
    ]
    runtime.close()


def test_logout_sends_unaccepted_offers_to_the_next_agent(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock, {"a1": (5, 1), "a2": (5, 1)})
    offered = runtime.submit(TENANT, DMS, body(1)).interaction_id
    runtime.run_until_idle()
    assert rows("SELECT assigned_to, state FROM interactions") == [("a1", "offered")]
    status = runtime.agent_logout(TENANT, "a1")
    assert status.state == "logged_out"
    assert rows("SELECT agent, outcome FROM runtime_offers") == [("a1", "logged-out")]
    assert rows(
        "SELECT assigned_to, state, waiting FROM interactions WHERE id = :i", i=offered
    ) == [(None, "routing", "target")]
    assert rows("SELECT load FROM runtime_agent_loads WHERE agent = 'a1'") == [(0,)]
    runtime.run_until_idle()
    assert rows("SELECT assigned_to, state FROM interactions") == [("a2", "offered")]
    runtime.close()


@pytest.mark.parametrize("leave", ["logout", "login again"])
def test_an_agent_back_after_a_logout_is_offered_what_its_logout_sent_back(
    store_url: str, clock: VirtualClock, rows: Any, leave: str
) -> None:
    """A logout (or a login from another desk) is no refusal: unlike a reject or an expired
    offer, it does not keep the interaction from the agent once it is ready again, well
    before the target's timeout."""
    runtime = start(store_url, clock, {"a1": (5, 1)})
    offered = runtime.submit(TENANT, DMS, body(1)).interaction_id
    runtime.run_until_idle()
    assert rows("SELECT assigned_to, state FROM interactions") == [("a1", "offered")]
    if leave == "logout":
        runtime.agent_logout(TENANT, "a1")
    runtime.agent_login(TENANT, "a1")
    runtime.run_until_idle()
    assert rows("SELECT assigned_to, state FROM interactions") == [(None, "routing")]
    runtime.agent_ready(TENANT, "a1")
    runtime.run_until_idle()
    assert rows("SELECT id, assigned_to, state FROM interactions") == [(offered, "a1", "offered")]
    assert rows("SELECT agent, outcome FROM runtime_offers ORDER BY id") == [
        ("a1", "logged-out"),
        ("a1", None),
    ]
    runtime.close()


def test_a_wake_up_the_oldest_cannot_use_passes_to_the_next(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """An agent getting ready (or freeing capacity) wakes the oldest interactions waiting for
    its media type. One it rejected cannot go to it: the wake-up passes on to the next one
    waiting, which is offered at once, not at the target's recheck (300 s) minutes later."""
    runtime = start(store_url, clock, {"a1": (5, 1)})
    rejected = []
    for number in (1, 2, 3):  # more than the extra ones a wake-up takes for other skills
        rejected.append(runtime.submit(TENANT, DMS, body(number)).interaction_id)
        runtime.run_until_idle()
        runtime.reject(TENANT, "a1", rejected[-1])
        runtime.run_until_idle()
        clock.advance(1)
    runtime.agent_not_ready(TENANT, "a1")
    waiting = [runtime.submit(TENANT, DMS, body(n)).interaction_id for n in (4, 5)]
    runtime.run_until_idle()
    assert rows("SELECT waiting, COUNT(*) FROM interactions GROUP BY waiting") == [("target", 5)]
    clock.advance(1)
    runtime.agent_ready(TENANT, "a1")
    runtime.run_until_idle()
    offered = rows("SELECT id, assigned_to FROM interactions WHERE state = 'offered'")
    assert len(offered) == 1 and offered[0][0] in waiting and offered[0][1] == "a1"
    waits = "SELECT id FROM interactions WHERE waiting = 'target' ORDER BY id"
    left = [w for w in waiting if w != offered[0][0]]
    assert rows(waits) == sorted((i,) for i in [*rejected, *left])
    runtime.close()


def test_agents_removed_from_the_configuration_are_logged_out_once(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """The worker loop's housekeeping logs out the logged-in agents the configuration
    database no longer has, their offers routed again as at a logout. Each is looked up
    again under its row lock: one added back meanwhile stays, and one another worker logged
    out meanwhile is not logged out twice."""
    from gsetup.runtime.agents import log_out_removed

    runtime = start(store_url, clock, {"a1": (5, 1), "a2": (5, 1), "a3": (5, 1)})
    runtime.agent_login(TENANT, "a3")  # logged in, not ready: logged out too when removed
    offered = runtime.submit(TENANT, DMS, body(1)).interaction_id
    runtime.run_until_idle()
    assert rows("SELECT assigned_to FROM interactions") == [("a1",)]
    asked: list[list[str]] = []

    def a3_added_back(names: list[str]) -> set[str]:
        asked.append(sorted(names))
        return {"a2", *(["a3"] if len(asked) > 1 else [])} & set(names)

    assert log_out_removed(runtime.engine.ctx, a3_added_back) == ["a1"]
    assert asked == [["a1", "a2", "a3"], ["a1"], ["a3"]]
    agents = "SELECT name, state FROM runtime_agents ORDER BY name"
    assert rows(agents) == [("a1", "logged_out"), ("a2", "ready"), ("a3", "not_ready")]
    assert rows("SELECT agent, outcome FROM runtime_offers") == [("a1", "logged-out")]
    runtime.run_until_idle()
    assert rows("SELECT id, assigned_to FROM interactions") == [(offered, "a2")]

    def logged_out_elsewhere(names: list[str]) -> set[str]:
        assert sorted(names) == ["a2", "a3"]  # a2 is not looked up again: it is logged out
        runtime.agent_logout(TENANT, "a2")  # by another worker, between the read and the lock
        return {"a3"}

    assert log_out_removed(runtime.engine.ctx, logged_out_elsewhere) == []
    assert rows("SELECT agent, outcome FROM runtime_offers ORDER BY id") == [
        ("a1", "logged-out"),
        ("a2", "logged-out"),
    ]
    runtime.close()


def test_the_worker_wakes_on_work_this_process_commits(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """``gsetup route run``'s worker sleeps a poll only while nothing is due: a submission,
    an agent's done or reject in the same process wakes it at once."""

    runtime = start(store_url, clock, {"a1": (5, 1)})

    def offered_to(agent: str, state: str = "offered") -> list[str]:
        deadline = time.monotonic() + 60
        while True:
            found = [o.interaction_id for o in runtime.offers(TENANT, agent) if o.state == state]
            if found:
                return found
            assert time.monotonic() < deadline, "the worker slept through the work"
            time.sleep(0.02)

    def suspended_at_target(interaction: str) -> None:
        deadline = time.monotonic() + 60
        query = "SELECT due_at FROM interactions WHERE id = :i AND waiting = 'target'"
        while not [r for r in rows(query, i=interaction) if r[0] > clock.now()]:
            assert time.monotonic() < deadline, "the worker slept through the work"
            time.sleep(0.02)

    with worker_thread(runtime, poll=120.0):  # a poll far longer than the deadlines
        time.sleep(0.2)  # the worker's first turn found nothing: it is asleep
        first = runtime.submit(TENANT, DMS, body(1)).interaction_id
        assert offered_to("a1") == [first]
        second = runtime.submit(TENANT, DMS, body(2)).interaction_id  # waits: capacity 1
        suspended_at_target(second)  # so that the done below is what offers it
        runtime.accept(TENANT, "a1", first)
        runtime.done(TENANT, "a1", first)  # frees capacity: the waiting one is offered
        assert offered_to("a1") == [second]
        runtime.reject(TENANT, "a1", second)  # due now: the target runs again, finds no one
        suspended_at_target(second)
    assert rows("SELECT state FROM interactions WHERE id = :i", i=first) == [("stopped",)]
    runtime.close()


def test_the_worker_looks_again_at_once_only_when_a_turn_left_work_due(
    store_url: str, clock: VirtualClock, rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a turn that ran a few interactions the worker sleeps (no empty turn to find
    out there is nothing left), unless the turn made others due now: here an expired
    reservation frees the agent, which wakes the interaction waiting for it."""
    from gsetup.runtime.engine import Engine

    claims: list[float] = []
    claim = Engine._claim

    def counted(engine: Engine, turn: Any) -> list[object]:
        claims.append(turn.now)
        return claim(engine, turn)

    monkeypatch.setattr(Engine, "_claim", counted)
    runtime = start(store_url, clock, {"a1": (5, 1)})
    query = "SELECT assigned_to, state FROM interactions WHERE id = :i"
    with worker_thread(runtime, poll=120.0):  # a poll far longer than the deadlines
        time.sleep(0.5)  # idle: its first turns (at start; PostgreSQL: once listening) ran
        idle = len(claims)
        first = runtime.submit(TENANT, DMS, body(1)).interaction_id
        deadline = time.monotonic() + 60
        while rows(query, i=first) != [("a1", "offered")]:
            assert time.monotonic() < deadline, "the worker slept through the submission"
            time.sleep(0.02)
        time.sleep(0.3)
        assert len(claims) == idle + 1  # the submission's turn, and no empty turn after it
        second = runtime.submit(TENANT, DMS, body(2)).interaction_id  # waits: capacity 1
        while rows("SELECT waiting FROM interactions WHERE id = :i", i=second) != [("target",)]:
            assert time.monotonic() < deadline, "the worker slept through the submission"
            time.sleep(0.02)
        clock.advance(31)  # the first one's reservation expires
        runtime.work.set()  # as the poll would, but at once
        while rows(query, i=second) != [("a1", "offered")]:  # woken by that turn, run by the next
            assert time.monotonic() < deadline, "the woken interaction waited for the poll"
            time.sleep(0.02)
    runtime.close()


def test_wait_is_a_due_time_that_survives_a_restart(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock)
    accepted = runtime.submit(TENANT, DMS, body(1, mode="wait"))
    runtime.run_until_idle()
    assert rows("SELECT state, waiting, due_at FROM interactions") == [
        ("routing", "wait", clock.now() + 60)
    ]
    runtime.close()
    clock.advance(60)
    again = start(store_url, clock)
    again.run_until_idle()
    assert udata(rows, accepted.interaction_id)["waited"] == 1
    assert rows("SELECT queue FROM interactions") == [("Q Deliver",)]
    again.close()


def test_outbound_init_waits_31_days_in_milliseconds(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock)
    accepted = runtime.submit(TENANT, DMS, body(1, mode="wait"))
    for _ in range(3):
        runtime.run_until_idle()
        clock.advance(31 * 24 * 3600)
    runtime.run_until_idle()
    assert udata(rows, accepted.interaction_id)["waited"] == 1
    runtime.close()


def test_dms_send_goes_through_the_outbox_once(
    store_url: str, clock: VirtualClock, rows: Any, tmp_path: Path
) -> None:
    with receiver(tmp_path) as dms:
        runtime = start(store_url, clock, outbound_url=dms.url)
        first = runtime.submit(TENANT, DMS, body(1, mode="send", _facebookActorId="fan"))
        runtime.run_until_idle()
        assert rows("SELECT state, stop_reason FROM interactions") == [("stopped", "sent")]
        assert udata(rows, first.interaction_id)["StatusId"] == "status-1"
        # The same message to the same recipient within the RPC cache timeout: not sent again.
        clock.advance(30)
        second = runtime.submit(TENANT, DMS, body(2, mode="send", _facebookActorId="fan"))
        runtime.run_until_idle()
        assert udata(rows, second.interaction_id)["StatusId"] == "status-1"
        assert dms.posts() == 1
        assert sorted(r[0] for r in rows("SELECT state FROM runtime_outbox")) == ["cached", "sent"]
        clock.advance(91)  # past the timeout (restarted by the repeat): sent again
        third = runtime.submit(TENANT, DMS, body(3, mode="send", _facebookActorId="fan"))
        runtime.run_until_idle()
        assert udata(rows, third.interaction_id)["StatusId"] == "status-2"
        delivered = dms.delivered()
        assert [d["body"]["method"] for d in delivered] == ["SendMessage", "SendMessage"]
        assert delivered[0]["body"]["args"] == {
            "channel": CHANNEL,
            "text": "great, please help",
            "to": "fan",
        }
        runtime.close()


def test_a_stopping_worker_sends_no_more_of_the_requests_it_claimed(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """SIGTERM while a worker sends its claimed DMS requests, one after the other: it sent
    them all first, each up to its block's timeout (30 s) with a DMS that hangs, holding the
    stop for minutes. It stops after the request in flight; the others go back as they were
    (no attempt spent, no lease held) for the next worker."""
    from gsetup.runtime.outbox import SendResult

    stopping = threading.Event()
    sent: list[str] = []

    class StopAfterOne:
        def send(self, _ctx: Any, _app: Any, item: Any) -> SendResult:
            sent.append(item.id)
            stopping.set()  # SIGTERM arrives while this request is in flight
            return SendResult(True, answer={"StatusId": "s-1"})

        def close(self) -> None:
            pass

    runtime = open_runtime(
        TENANT, store_url=store_url, deployment=deployment({}), clock=clock, sender=StopAfterOne()
    )
    for n in range(3):
        runtime.submit(TENANT, DMS, body(n, mode="send", text=f"message {n}"))
    runtime.run_turn()
    assert runtime.engine.deliver(stopping) == 1
    assert len(sent) == 1
    outbox = "SELECT id, state, attempts, lease_owner, lease_until FROM runtime_outbox ORDER BY id"
    states = {r[0]: r[1:] for r in rows(outbox)}
    assert states.pop(sent[0]) == ("sent", 1, None, None)
    assert sorted(states.values()) == [("pending", 0, None, None)] * 2
    runtime.run_until_idle()  # the next delivery sends them
    assert len(sent) == 3 and {r[1] for r in rows(outbox)} == {"sent"}


def test_dms_send_retried_then_on_error(
    store_url: str, clock: VirtualClock, rows: Any, tmp_path: Path
) -> None:
    with receiver(tmp_path, fail_first=2) as dms:
        runtime = start(store_url, clock, outbound_url=dms.url)
        runtime.submit(TENANT, DMS, body(1, mode="send"))
        runtime.run_until_idle()  # the first attempt fails: due again later
        clock.advance(10)
        waiting = runtime.status(TENANT).outbox
        assert (dict(waiting.states), waiting.oldest_pending) == ({"pending": 1}, 10.0)
        for _ in range(3):
            runtime.run_until_idle()
            clock.advance(10)
        assert rows("SELECT stop_reason FROM interactions") == [("sent",)]
        assert rows("SELECT attempts, state FROM runtime_outbox") == [(3, "sent")]
        assert dms.posts() == 3 and len(dms.delivered()) == 1
        runtime.close()
    runtime = start(store_url, clock, outbound_url="http://127.0.0.1:9/outbound")  # nobody listens
    runtime.submit(TENANT, DMS, body(2, mode="send", text="another"))
    for _ in range(4):
        runtime.run_until_idle()
        clock.advance(10)
    assert rows("SELECT stop_reason FROM interactions WHERE external_id = 'ext-2'") == [
        ("send-failed",)
    ]
    ended = runtime.status(TENANT).outbox
    assert (dict(ended.states), ended.oldest_pending) == ({"failed": 1, "sent": 1}, None)
    runtime.close()


def test_a_strategy_error_parks_only_that_interaction(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock)
    bad = runtime.submit(TENANT, DMS, body(1, mode="bad"))
    good = runtime.submit(TENANT, DMS, body(2))
    long = runtime.submit(TENANT, DMS, body(3, mode="bad", seconds="9" * 3000 + "s"))
    runtime.run_until_idle()
    ((state, error),) = rows(
        "SELECT state, error FROM interactions WHERE id = :i", i=bad.interaction_id
    )
    assert state == "error"
    assert "main.yaml: blocks[" in error and "wait needs a number of seconds, not 'soon'" in error
    # a value from the message is quoted cut, as every refusal quotes one
    ((error,),) = rows("SELECT error FROM interactions WHERE id = :i", i=long.interaction_id)
    assert error.endswith(
        "wait needs a number of seconds, not '" + "9" * 40 + "'... (3001 characters)"
    )
    assert rows("SELECT queue FROM interactions WHERE id = :i", i=good.interaction_id) == [
        ("Q Deliver",)
    ]
    runtime.close()


def test_for_each_over_text_names_it_in_yaml_words(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock)
    bad = runtime.submit(TENANT, DMS, body(1, mode="text loop"))
    runtime.run_until_idle()
    ((state, error),) = rows(
        "SELECT state, error FROM interactions WHERE id = :i", i=bad.interaction_id
    )
    assert state == "error" and "for_each needs a list, not text" in error  # was: a str
    runtime.close()


@pytest.mark.parametrize(
    ("mode", "value", "reason"),
    [
        ("bad key", {"k": "x" * 3000}, "a user data key is a non-empty string, not {cut}"),
        ("bad state", "x" * 3000, "state is one of queued, routing, agent, not {cut}"),
        ("bad column", "x" * 3000, "{cut} is not a custom column of the interactions table"),
    ],
)
def test_a_refused_value_from_a_message_is_quoted_cut(
    store_url: str, clock: VirtualClock, rows: Any, mode: str, value: Any, reason: str
) -> None:
    """A function refusing a value that came from the message quotes its first 40
    characters and its length (a 3,000-character one was written whole into the error)."""
    from gsetup.fileio import quote_prefix

    runtime = start(store_url, clock)
    key = {"bad key": "key", "bad state": "state", "bad column": "column"}[mode]
    bad = runtime.submit(TENANT, DMS, body(1, mode=mode, **{key: value}))
    runtime.run_until_idle()
    ((state, error),) = rows(
        "SELECT state, error FROM interactions WHERE id = :i", i=bad.interaction_id
    )
    assert state == "error" and reason.format(cut=quote_prefix(value)) in error
    assert len(error) < 1000 and "x" * 41 not in error
    runtime.close()


@pytest.mark.parametrize(
    ("mode", "block"),
    [("unstorable variable", "blocks[27].then[1]"), ("unstorable data", "blocks[28].then[0]")],
)
def test_a_value_that_cannot_be_stored_parks_only_that_interaction(
    store_url: str, clock: VirtualClock, rows: Any, mode: str, block: str
) -> None:
    """A variable or user data value that is not JSON (a generator, dict items) failed the
    turn when it was written: the whole batch rolled back and `route run` stopped, again at
    each start. It now parks the interaction, naming the block."""
    runtime = start(store_url, clock)
    bad = runtime.submit(TENANT, DMS, body(1, mode=mode))
    good = runtime.submit(TENANT, DMS, body(2))
    runtime.run_until_idle()
    ((state, error),) = rows(
        "SELECT state, error FROM interactions WHERE id = :i", i=bad.interaction_id
    )
    assert state == "error"
    assert error == (
        f"{STRATEGIES / 'main.yaml'}: {block}: a value of another kind cannot be stored in an "
        "interaction: it holds text, numbers, true/false, none, lists and mappings "
        "(`| list` makes a list)"
    )
    assert rows("SELECT queue FROM interactions WHERE id = :i", i=good.interaction_id) == [
        ("Q Deliver",)
    ]
    runtime.close()


def test_subroutines_nest_at_most_100_deep(store_url: str, clock: VirtualClock, rows: Any) -> None:
    """A subroutine calling itself without end ran in one turn for ever, its stack growing
    until the worker ran out of memory; past 100 nested calls the interaction is parked."""
    runtime = start(store_url, clock)
    deep = runtime.submit(TENANT, DMS, body(1, nest=99))  # 100 calls
    too_deep = runtime.submit(TENANT, DMS, body(2, nest=100))
    runtime.run_until_idle()
    assert udata(rows, deep.interaction_id)["nested"] is True
    ((state, error),) = rows(
        "SELECT state, error FROM interactions WHERE id = :i", i=too_deep.interaction_id
    )
    assert state == "error"
    assert error == (
        f"{STRATEGIES / 'nest.yaml'}: blocks[0].then[0]: subroutines nest at most 100 deep "
        "(does Nest call itself without end?)"
    )
    runtime.close()


@pytest.mark.parametrize(
    ("udata", "place", "reason"),
    [
        (
            {"weight": "heavy"},
            "main.yaml: variables.weight",
            "cannot use '+' on text and a whole number (`~` joins values as text)",
        ),
        (
            {"nest": "deep"},
            "nest.yaml: variables.deeper",
            "cannot use '-' on text and a whole number",
        ),
    ],
)
def test_a_variable_that_fails_parks_only_that_interaction(
    store_url: str, clock: VirtualClock, rows: Any, udata: dict[str, str], place: str, reason: str
) -> None:
    """A strategy's `variables` failing at its start (attached data of an unexpected kind)
    failed the whole turn, and with it `route run`; it parks the interaction, naming the file
    and the variable, as a subroutine's variables now do instead of naming its caller."""
    runtime = start(store_url, clock)
    bad = runtime.submit(TENANT, DMS, body(1, **udata))
    good = runtime.submit(TENANT, DMS, body(2))
    runtime.run_until_idle()
    assert rows("SELECT state, error FROM interactions WHERE id = :i", i=bad.interaction_id) == [
        ("error", f"{STRATEGIES / place}: {reason}")
    ]
    assert rows("SELECT queue FROM interactions WHERE id = :i", i=good.interaction_id) == [
        ("Q Deliver",)
    ]
    runtime.close()


NUMBER, JOIN = "a whole number", "(`~` joins values as text)"
CONTAINERS = "text, a list or a mapping"


@pytest.mark.parametrize(
    ("fail", "value", "place", "reason"),
    [
        ("add", "a", "blocks[0].then[0]", f"cannot use '+' on text and {NUMBER} {JOIN}"),
        ("compare", 0, "blocks[1].then[0]", f"cannot use '<' on nothing (null) and {NUMBER}"),
        ("length", 5, "blocks[2].then[0]", f"{NUMBER} has no length ({CONTAINERS} has)"),
        ("missing", 1, "blocks[3].then[0]", "a mapping has no key 'missing'"),
        (
            "keys",
            0,
            "blocks[4].then[0]",
            "for_each needs a list, not a value of another kind (`| list` makes one)",
        ),
    ],
)
def test_an_expression_error_is_named_in_the_words_of_strategy_files(
    store_url: str, clock: VirtualClock, rows: Any, fail: str, value: Any, place: str, reason: str
) -> None:
    """Python's words (`can only concatenate str (not "int") to str`, 'NoneType', `'dict
    object' has no attribute`) named values by Python types; they are named as YAML does."""
    runtime = start(store_url, clock)
    bad = runtime.submit(TENANT, DMS, body(1, fail=fail, value=value))
    runtime.run_until_idle()
    assert rows("SELECT state, error FROM interactions WHERE id = :i", i=bad.interaction_id) == [
        ("error", f"{STRATEGIES / 'fail.yaml'}: {place}: {reason}")
    ]
    runtime.close()


def test_an_interaction_runs_a_budget_of_blocks_a_turn(
    store_url: str, clock: VirtualClock, rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nested whiles at their 1,000,000 limit ran 10^12 blocks in one turn, holding the
    worker (and SQLite's write lock) for days; past the budget (patched from 100,000 to 1,000
    here) the interaction is parked and the others go on."""
    monkeypatch.setattr(interpreter, "MAX_STEPS", 1000)
    runtime = start(store_url, clock)
    fits = runtime.submit(TENANT, DMS, body(1, outer=3, inner=100))
    endless = runtime.submit(TENANT, DMS, body(2, outer=50, inner=100))
    good = runtime.submit(TENANT, DMS, body(3))
    runtime.run_until_idle()
    assert udata(rows, fits.interaction_id)["runs"] == 300
    ((state, error, position),) = rows(
        "SELECT state, error, position FROM interactions WHERE id = :i", i=endless.interaction_id
    )
    assert (state, error) == (
        "error",
        f"{STRATEGIES / 'loops.yaml'}: blocks[0].do[1].do[0]: more than 1,000 blocks in one "
        "turn, the most an interaction runs before its strategy waits or ends (a while or "
        "for_each without end?)",
    )
    runs = json.loads(position)["vars"][-1]["runs"]  # the blocks of main.yaml ran first
    assert 900 < runs < 1000
    assert rows(
        "SELECT queue FROM interactions WHERE id IN (:a, :b) ORDER BY external_id",
        a=fits.interaction_id,
        b=good.interaction_id,
    ) == [("Q Deliver",), ("Q Deliver",)]
    runtime.close()


def test_the_budget_of_blocks_is_the_documented_one() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    assert interpreter.MAX_STEPS == 100_000
    for page in ("runtime.md", "strategy-format.md"):
        words = " ".join((docs / page).read_text().split())
        assert "runs at most 100,000 blocks in one turn" in words, page


def test_merge_and_find_interaction(store_url: str, clock: VirtualClock, rows: Any) -> None:
    runtime = start(store_url, clock)  # no agents: the first waits at its target
    first = runtime.submit(TENANT, DMS, body(1, _facebookPostId="same", extra="a"))
    runtime.run_until_idle()
    second = runtime.submit(TENANT, DMS, body(2, _facebookPostId="same", other="b"))
    runtime.run_until_idle()
    assert rows("SELECT stop_reason FROM interactions WHERE id = :i", i=second.interaction_id) == [
        ("merged",)
    ]
    merged = udata(rows, first.interaction_id)
    assert [item["id"] for item in merged["_mergedItems"]] == [second.interaction_id]
    assert merged["other"] == "b" and merged["extra"] == "a"  # keys it lacked, none replaced
    runtime.close()
    runtime = start(store_url, clock, {"a1": (5, 1)})
    runtime.run_until_idle()
    runtime.accept(TENANT, "a1", first.interaction_id)
    third = runtime.submit(TENANT, DMS, body(3, _facebookPostId="same"))
    runtime.run_until_idle()
    assert udata(rows, third.interaction_id)["handled_by"] == "a1"  # find_interaction
    runtime.close()


def test_merge_sees_what_an_earlier_interaction_of_the_same_turn_changed(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """Both posts run in one turn: the first one's flag, set after the turn first asked about
    the post id, is written before the second one's query."""
    runtime = start(store_url, clock)
    first = runtime.submit(TENANT, DMS, body(1, _facebookPostId="same"))
    second = runtime.submit(TENANT, DMS, body(2, _facebookPostId="same"))
    assert runtime.run_turn() == 2
    assert rows("SELECT id, stop_reason FROM interactions ORDER BY id") == sorted(
        [(first.interaction_id, None), (second.interaction_id, "merged")]
    )
    merged = udata(rows, first.interaction_id)
    assert [item["id"] for item in merged["_mergedItems"]] == [second.interaction_id]
    runtime.close()


def test_keep_order_holds_a_later_message_of_the_same_sender(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock)
    first = runtime.submit(TENANT, DMS, body(1, mode="order", sender="s"))
    second = runtime.submit(TENANT, DMS, body(2, mode="order", sender="s"))
    runtime.run_until_idle()
    assert rows("SELECT waiting FROM interactions WHERE id = :i", i=second.interaction_id) == [
        ("order",)
    ]
    clock.advance(5)
    runtime.run_until_idle()
    assert rows("SELECT state FROM interactions WHERE id = :i", i=first.interaction_id) == [
        ("stopped",)
    ]
    clock.advance(5)
    runtime.run_until_idle()
    clock.advance(5)
    runtime.run_until_idle()
    assert rows("SELECT state FROM interactions WHERE id = :i", i=second.interaction_id) == [
        ("stopped",)
    ]
    runtime.close()


@pytest.mark.parametrize(
    ("app", "submission", "status", "reason"),
    [
        (DMS, ["not", "an", "object"], 400, "a submission is a JSON object, not an array"),
        (DMS, {**body(1), "attached_data": {"blob": "x" * 2_000_000}}, 413, "at most 1048576"),
        ("DMS_9", body(1), 404, "no Digital Messaging Server application 'DMS_9'"),
        (DMS, {**body(1), "channel": "channel-broken"}, 422, "not a queue of an installed"),
        (DMS, {**body(1), "channel": "channel-nope"}, 422, "no channel section 'channel-nope'"),
        # A section that is no channel is not routed, whatever it holds (doctor checks channels).
        (DMS, {**body(1), "channel": MONITOR}, 422, "a channel section is channel-<name>"),
        (DMS, {**body(1), "media_type": "fax"}, 422, "unknown media type 'fax'"),
        (DMS, {**body(1), "extra": 1}, 400, "unknown field 'extra'"),
        (DMS, {**body(1), "external_id": ""}, 400, "external_id must be a non-empty string"),
        # Values of the request quoted in a reason are cut (they were echoed whole).
        (LONG, body(1), 404, f"no Digital Messaging Server application {CUT} in tenant"),
        (DMS, {**body(1), LONG: 1}, 400, f"unknown field {CUT}; the fields are: "),
        (DMS, {**body(1), "media_type": "m" * 255}, 422, f"unknown media type {CUT_255};"),
        (DMS, {**body(1), "channel": "m" * 255}, 422, f"no channel section {CUT_255}"),
    ],
)
def test_bad_submissions_store_nothing(
    store_url: str,
    clock: VirtualClock,
    rows: Any,
    app: str,
    submission: Any,
    status: int,
    reason: str,
) -> None:
    runtime = start(store_url, clock)
    with pytest.raises(IntakeError) as caught:
        runtime.submit(TENANT, app, submission)
    assert caught.value.status == status and reason in caught.value.reason
    assert len(caught.value.reason) < 200
    assert rows("SELECT count(*) FROM interactions") == [(0,)]
    runtime.close()


def test_an_outbound_result_for_an_ended_request(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """A driver's outbound-result completes a pending request once. Repeating the outcome
    recorded (a driver retrying) answers as the first did and changes nothing; the other
    outcome for an ended request was answered 200 too, and ignored: 409, nothing changed."""
    runtime = start(store_url, clock, outbound_url="http://127.0.0.1:9/outbound")  # nobody listens
    for number in (1, 2):
        runtime.submit(TENANT, DMS, body(number, mode="send", text=f"message {number}"))
    runtime.run_until_idle()  # the first attempts fail: both wait, pending
    query = (
        "SELECT o.id FROM runtime_outbox o JOIN interactions i ON i.id = o.interaction_id "
        "ORDER BY i.external_id"
    )
    sent, failed = (row[0] for row in rows(query))
    result = {"type": "outbound-result", "answer": {"StatusId": "s-1"}}
    assert runtime.event(TENANT, DMS, {**result, "key": sent, "ok": True}) == sent
    refused = {**result, "key": failed, "ok": False, "error": "e"}
    assert runtime.event(TENANT, DMS, refused) == failed
    outbox = "SELECT id, state, answer, error, sent_at FROM runtime_outbox ORDER BY id"
    ended = rows(outbox)
    assert sorted(r[1] for r in ended) == ["failed", "sent"]
    for key, ok in ((sent, True), (failed, False)):
        assert runtime.event(TENANT, DMS, {**result, "key": key, "ok": ok, "error": "x"}) == key
    assert rows(outbox) == ended
    for key, ok, state in ((sent, False, "sent"), (failed, True, "failed")):
        with pytest.raises(IntakeError) as caught:
            runtime.event(TENANT, DMS, {**result, "key": key, "ok": ok})
        assert (caught.value.status, caught.value.reason) == (
            409,
            f"outbound request {key!r} is {state} already; an outbound-result with ok "
            f"{str(ok).lower()} contradicts it (nothing changed)",
        )
    assert rows(outbox) == ended
    runtime.close()


def test_an_event_with_a_field_its_type_does_not_take_is_refused(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """A misspelt field went unread: `eror` failed the request with 'failed' as its error,
    `external-id` was refused as a missing external_id. 400 naming the field, nothing changed;
    so is an outbound result's answer that is no object, or error that is no text."""
    runtime = start(store_url, clock, outbound_url="http://127.0.0.1:9/outbound")  # nobody listens
    runtime.submit(TENANT, DMS, body(1, mode="send", text="message 1"))
    runtime.run_until_idle()  # the first attempt fails: the request waits, pending
    ((key,),) = rows("SELECT id FROM runtime_outbox")
    outbox = "SELECT id, state, answer, error, sent_at FROM runtime_outbox"
    pending = rows(outbox)
    cases = [
        (
            {"type": "outbound-result", "key": key, "ok": False, "eror": "quota"},
            "an outbound-result event: unknown field 'eror'; the fields are: type, key, ok, "
            "answer, error",
        ),
        (
            {"type": "compliance-delete", "external-id": "m-1"},
            "a compliance-delete event: unknown field 'external-id'; the fields are: type, "
            "external_id",
        ),
        # stored, the strategy's result was not the object a synchronous answer always is,
        # and the error was Python's text of it
        (
            {"type": "outbound-result", "key": key, "ok": True, "answer": ["s-1"]},
            "an outbound-result event's answer is a JSON object, not an array",
        ),
        (
            {"type": "outbound-result", "key": key, "ok": False, "error": {"code": 4}},
            "an outbound-result event's error is a string, not an object",
        ),
    ]
    for event, reason in cases:
        with pytest.raises(IntakeError) as caught:
            runtime.event(TENANT, DMS, event)
        assert (caught.value.status, caught.value.reason) == (400, reason)
    assert rows(outbox) == pending
    assert pending[0][1] == "pending"
    runtime.close()


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({}, "an event needs a 'type': outbound-result or compliance-delete"),
        ({"type": None}, "an event needs a 'type': outbound-result or compliance-delete"),
        ({"type": 3}, "an event's 'type' is a string, not a number"),
        (
            {"type": "x"},
            "unknown event type 'x'; the types are: outbound-result, compliance-delete",
        ),
    ],
)
def test_an_event_without_a_known_type_is_refused(
    store_url: str, clock: VirtualClock, event: dict[str, Any], reason: str
) -> None:
    """A missing type was refused as "unknown event type null"."""
    runtime = start(store_url, clock)
    with pytest.raises(IntakeError) as caught:
        runtime.event(TENANT, DMS, event)
    assert (caught.value.status, caught.value.reason) == (400, reason)
    runtime.close()


def test_a_long_tenant_or_agent_is_cut_in_the_refusal(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """The tenant and agent of an in-process call, quoted in its refusal, are cut (they were
    echoed whole); nothing is stored."""
    runtime = start(store_url, clock)
    with pytest.raises(IntakeError) as tenant:
        runtime.submit(LONG, DMS, body(1))
    assert (tenant.value.status, tenant.value.reason) == (
        404,
        f"this runtime serves tenant {TENANT!r}, not {CUT}",
    )
    with pytest.raises(AgentActionError) as agent:
        runtime.offers(TENANT, LONG)
    assert (agent.value.status, agent.value.reason) == (
        404,
        f"no agent {CUT} in tenant {TENANT!r}",
    )
    with pytest.raises(AgentActionError) as login:
        runtime.agent_login(TENANT, LONG)
    assert login.value.reason == f"no agent {CUT} in tenant {TENANT!r}"
    assert rows("SELECT count(*) FROM interactions") == [(0,)]
    assert rows("SELECT count(*) FROM runtime_agents") == [(0,)]
    runtime.close()


def test_intake_is_idempotent_on_channel_and_external_id(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock)
    first = runtime.submit(TENANT, DMS, body(1))
    again = runtime.submit(TENANT, DMS, body(1, text="changed"))
    assert (again.interaction_id, again.duplicate, first.duplicate) == (
        first.interaction_id,
        True,
        False,
    )
    results: list[str] = []
    barrier = threading.Barrier(2)

    def client() -> None:
        other = open_runtime(TENANT, store_url=store_url, deployment=deployment({}), clock=clock)
        barrier.wait(timeout=30)
        results.append(other.submit(TENANT, DMS, body(2)).interaction_id)
        other.close()

    threads = [threading.Thread(target=client) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2 and results[0] == results[1]
    assert rows(
        "SELECT external_id, count(*) FROM interactions GROUP BY external_id ORDER BY external_id"
    ) == [
        ("ext-1", 1),
        ("ext-2", 1),
    ]
    runtime.close()


def test_agent_actions_on_what_is_not_theirs_change_nothing(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock, {"a1": (5, 1), "a2": (5, 1)})
    accepted = runtime.submit(TENANT, DMS, body(1))
    runtime.run_until_idle()
    holder = rows("SELECT assigned_to FROM interactions")[0][0]
    other = "a2" if holder == "a1" else "a1"
    before = rows("SELECT state, assigned_to, due_at FROM interactions")
    itx = accepted.interaction_id
    not_yet = f"interaction {itx} is offered to {holder!r}, not accepted yet: accept it first"
    for action, status, reason in [
        (
            lambda: runtime.accept(TENANT, other, itx),
            403,
            f"interaction {itx} is not offered to or held by {other!r}",
        ),
        (lambda: runtime.done(TENANT, holder, itx), 409, not_yet),
        (
            lambda: runtime.accept(TENANT, "nobody", itx),
            404,
            f"no agent 'nobody' in tenant {TENANT!r}",
        ),
        (lambda: runtime.accept(TENANT, holder, "no-such-id"), 404, "no interaction 'no-such-id'"),
        (lambda: runtime.reply(TENANT, holder, itx, "hi"), 409, not_yet),
    ]:
        with pytest.raises(AgentActionError) as caught:
            action()
        assert (caught.value.status, caught.value.reason) == (status, reason)
    assert rows("SELECT state, assigned_to, due_at FROM interactions") == before
    runtime.accept(TENANT, holder, accepted.interaction_id)
    for again in (runtime.accept, runtime.reject):  # held by the agent already: not an offer
        with pytest.raises(AgentActionError) as caught:
            again(TENANT, holder, itx)
        assert (caught.value.status, caught.value.reason) == (
            409,
            f"interaction {itx} is already accepted by {holder!r}",
        )
    reply = runtime.reply(TENANT, holder, accepted.interaction_id, "thanks")
    assert rows("SELECT type, queue, parent_id, text FROM interactions WHERE id = :i", i=reply) == [
        ("Outbound", "Test Outbound Queue", accepted.interaction_id, "thanks")
    ]
    runtime.done(TENANT, holder, accepted.interaction_id)
    runtime.run_until_idle()  # the Stop queue's strategy ends it
    with pytest.raises(AgentActionError) as caught:
        runtime.reply(TENANT, holder, accepted.interaction_id, "late")
    assert caught.value.status == 409 and "has ended" in caught.value.reason
    runtime.close()


def test_actions_on_an_interaction_offered_to_nobody_are_409(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """Rejected by its only agent, it is routing and offered to nobody: not another agent's
    (403) but in a state that allows no accept, reject, reply or done (409)."""
    runtime = start(store_url, clock, {"a1": (5, 1)})
    itx = runtime.submit(TENANT, DMS, body(1)).interaction_id
    runtime.run_until_idle()
    runtime.reject(TENANT, "a1", itx)
    runtime.run_until_idle()
    routing = "SELECT state, assigned_to, due_at, offers FROM interactions"
    before = rows(routing)
    assert [r[:2] for r in before] == [("routing", None)]
    [(queue,)] = rows("SELECT queue FROM interactions")
    for action in (
        lambda: runtime.accept(TENANT, "a1", itx),
        lambda: runtime.reject(TENANT, "a1", itx),
        lambda: runtime.reply(TENANT, "a1", itx, "hi"),
        lambda: runtime.done(TENANT, "a1", itx),
    ):
        with pytest.raises(AgentActionError) as caught:
            action()
        assert caught.value.status == 409
        assert caught.value.reason.startswith(
            f"interaction {itx} is still being routed (queue {queue!r}), not "
        )
    assert rows(routing) == before
    runtime.close()


def test_batched_agent_actions_are_all_or_nothing(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    runtime = start(store_url, clock, {"a1": (5, 3)})
    ids = [runtime.submit(TENANT, DMS, body(n)).interaction_id for n in range(3)]
    runtime.run_until_idle()
    held = "SELECT id, state FROM interactions WHERE assigned_to = 'a1' ORDER BY id"
    assert rows(held) == [(i, "offered") for i in sorted(ids)]
    with pytest.raises(AgentActionError) as caught:  # the last one is not offered to a1
        runtime.accept_many(TENANT, "a1", [*ids[:2], "no-such-id"])
    assert caught.value.status == 404
    assert rows(held) == [(i, "offered") for i in sorted(ids)]
    with pytest.raises(AgentActionError) as caught:
        runtime.accept_many(TENANT, "a1", [ids[0], ids[1], ids[0]])
    assert caught.value.status == 400
    assert rows("SELECT count(*) FROM runtime_offers WHERE outcome IS NOT NULL") == [(0,)]
    taken = runtime.accept_many(TENANT, "a1", ids)
    assert [o.state for o in taken] == ["agent"] * 3
    with pytest.raises(AgentActionError) as caught:  # twice the same: held, not offered
        runtime.accept_many(TENANT, "a1", ids[:1])
    assert caught.value.status == 409
    runtime.done_many(TENANT, "a1", ids)
    assert rows("SELECT load FROM runtime_agent_loads WHERE agent = 'a1'") == [(0,)]
    runtime.run_until_idle()
    assert rows("SELECT state, count(*) FROM interactions GROUP BY state") == [("stopped", 3)]
    runtime.close()


def test_accept_and_done_leave_the_attached_data_as_stored(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """An agent's accept and done change the state: the attached data (a post's XML can be
    large) is neither decoded for the write nor written back."""
    runtime = start(store_url, clock, {"a1": (5, 3)})
    ids = [runtime.submit(TENANT, DMS, body(n)).interaction_id for n in range(2)]
    runtime.run_until_idle()
    # Spaced as another writer may have left it: encoded again, it would read differently.
    engine = create_engine(store_url, poolclass=NullPool)
    with engine.begin() as conn:
        for stored_id, stored in conn.execute(text("SELECT id, attached_data FROM interactions")):
            conn.execute(
                text("UPDATE interactions SET attached_data = :a WHERE id = :i"),
                {"a": json.dumps(json.loads(stored), indent=1), "i": stored_id},
            )
    engine.dispose()
    data = "SELECT id, attached_data FROM interactions ORDER BY id"
    spaced = rows(data)
    taken = runtime.accept_many(TENANT, "a1", ids)
    assert [o.attached_data["_facebookActorName"] for o in taken] == ["Ann", "Ann"]
    assert rows("SELECT DISTINCT state FROM interactions") == [("agent",)]
    runtime.done_many(TENANT, "a1", ids)
    assert rows("SELECT DISTINCT state FROM interactions") == [("queued",)]
    assert rows(data) == spaced
    runtime.close()


def test_an_integer_column_takes_only_a_plain_whole_number(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """Python's int() stored '1_0' as 10, ' 7 ' as 7, and 7.9 as 7 in an integer
    custom column, and a number past INTEGER's 32 bits failed the turn on PostgreSQL; a
    plain whole number is stored, anything else leaves the column NULL, the attached data
    keeping the value."""
    given = ["-7", 42, "+3", 8.0, "1_0", " 7 ", "\u0663", 7.9, "2147483648", 2**31, 10**400, "1e3"]
    runtime = start(store_url, clock)
    ids = [
        runtime.submit(TENANT, DMS, body(n, _twitterInAfterBeforeTarget=value)).interaction_id
        for n, value in enumerate(given)
    ]
    runtime.run_until_idle()
    found = dict(rows("SELECT id, twitterInBufferAfterTarget FROM interactions"))
    assert [found[i] for i in ids] == [-7, 42, 3, 8, *[None] * 8]
    assert [udata(rows, i)["_twitterInAfterBeforeTarget"] for i in ids] == given
    assert rows("SELECT DISTINCT error FROM interactions") == [(None,)]
    runtime.close()


def test_status_shows_queues_agents_and_workers(store_url: str, clock: VirtualClock) -> None:
    runtime = start(store_url, clock, {"a1": (5, 2)})
    for n in range(3):
        runtime.submit(TENANT, DMS, body(n))
    clock.advance(2)
    runtime.run_until_idle()
    status = runtime.status(TENANT)
    assert [(q.name, q.depth, q.oldest_wait) for q in status.queues] == [("Q Deliver", 3, 0.0)]
    assert [(a.name, a.state, dict(a.load), dict(a.capacity)) for a in status.agents] == [
        ("a1", "ready", {"facebook": 2}, {"facebook": 2})
    ]
    assert [(w.processed, w.alive) for w in status.workers] == [(3, True)]
    assert status.states == {"offered": 2, "routing": 1}
    runtime.close()


def test_two_tenants_workers_of_one_id_share_a_store(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """A worker id names a worker of its tenant (``route run`` checks it per tenant): each
    tenant's worker ``w1`` has its own row, shown in its tenant's status, and one stopping
    leaves the other's."""
    mine, theirs = (
        open_runtime(t, store_url=store_url, deployment=d, clock=clock, worker_id="w1")
        for t, d in ((TENANT, deployment({})), ("Other", replace(deployment({}), tenant="Other")))
    )
    mine.submit(TENANT, DMS, body(1))
    mine.run_until_idle()
    theirs.run_until_idle()
    workers = "SELECT tenant, worker_id, processed FROM runtime_workers ORDER BY tenant"
    assert rows(workers) == [(TENANT, "w1", 1), ("Other", "w1", 0)]
    assert [(w.worker_id, w.processed) for w in mine.status(TENANT).workers] == [("w1", 1)]
    assert [(w.worker_id, w.processed) for w in theirs.status("Other").workers] == [("w1", 0)]
    theirs.engine.retire()
    assert rows("SELECT tenant, worker_id FROM runtime_workers") == [(TENANT, "w1")]
    mine.close()
    theirs.close()


def test_a_starting_worker_forgets_workers_dead_for_a_day(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """A killed worker's row stays for ``route status``, but not for ever: with host:pid ids
    each restart adds one. The next worker to start after a day drops it, and keeps the
    rows of workers dead for less, and of other tenants."""
    assert DEAD_WORKER_KEPT == 86_400  # docs/runtime.md says a day
    ids = ("killed", "other-tenant", "recent", "new")
    old, theirs, recent, new = (
        open_runtime(t, store_url=store_url, deployment=d, clock=clock, worker_id=worker)
        for worker, t, d in zip(
            ids,
            (TENANT, "Other", TENANT, TENANT),
            (deployment({}), replace(deployment({}), tenant="Other"), *[deployment({})] * 2),
            strict=True,
        )
    )
    old.run_until_idle()
    theirs.run_until_idle()
    clock.advance(DEAD_WORKER_KEPT - 10)
    recent.run_until_idle()
    clock.advance(20)  # "killed" and "other-tenant" are now dead for more than a day
    listed = "SELECT worker_id FROM runtime_workers ORDER BY worker_id"
    assert rows(listed) == [("killed",), ("other-tenant",), ("recent",)]
    new.run_until_idle()
    assert rows(listed) == [("new",), ("other-tenant",), ("recent",)]
    new.run_until_idle()  # a running worker's later heartbeats delete nothing more
    assert [w.worker_id for w in new.status(TENANT).workers] == ["new", "recent"]


def test_a_database_error_is_raised_as_sqlalchemy_raises_it_and_parks_nothing(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    from sqlalchemy.exc import DBAPIError

    from gsetup.runtime import sql

    runtime = start(store_url, clock)
    runtime.submit(TENANT, DMS, body(1))
    with runtime.store.begin() as conn:
        conn.execute(text("DROP TABLE ucs_contacts"))
    with pytest.raises(DBAPIError):  # the turn fails as a whole; the worker loop retries
        runtime.run_until_idle()
    assert rows("SELECT state, error FROM interactions") == [("queued", None)]
    with runtime.store.begin() as conn, pytest.raises(DBAPIError):
        sql.run(conn, sql.CONTACT_BY_IDENTITY, {"b_tenant": TENANT, "b_identity": "x"})
    runtime.close()


def _paused_flush(monkeypatch: pytest.MonkeyPatch, pause: dict[str, Any]) -> None:
    """Make ``turn.flush`` (the last step before a commit) of the threads named in ``pause``
    call that thread's hook before it returns, to play a race step by step."""
    from gsetup.runtime import agents

    original = agents.flush_loads

    def flush_loads(turn: Any) -> None:
        original(turn)
        hook = pause.get(threading.current_thread().name)
        if hook is not None:
            hook()

    monkeypatch.setattr(agents, "flush_loads", flush_loads)


@pytest.mark.parametrize("commits", ["done-first", "turn-first"])
def test_capacity_freed_while_a_turn_decides_is_not_missed(
    store_url: str, clock: VirtualClock, rows: Any, monkeypatch: pytest.MonkeyPatch, commits: str
) -> None:
    """PostgreSQL runs a done and a worker's turn at once: the turn reads the agent as full,
    the done frees it and commits before or after the turn suspends the interaction at its
    target. Either way the interaction is offered at once, not after the 300 s recheck.
    (SQLite runs one writer at a time: the race cannot happen there.)"""
    if store_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers")
    pause: dict[str, Any] = {}
    _paused_flush(monkeypatch, pause)
    runtime = start(store_url, clock, {"a1": (5, 1)})
    first = runtime.submit(TENANT, DMS, body(1)).interaction_id
    runtime.run_until_idle()
    runtime.accept(TENANT, "a1", first)
    second = runtime.submit(TENANT, DMS, body(2)).interaction_id

    flushed, resume = threading.Event(), threading.Event()

    def hold_done() -> None:
        flushed.set()
        assert resume.wait(60)

    def let_done_commit() -> None:
        resume.set()
        done.join(60)

    pause["done"] = hold_done
    done = threading.Thread(target=runtime.done, args=(TENANT, "a1", first), name="done")
    done.start()
    assert flushed.wait(60)  # the done has freed a1 but not committed
    if commits == "done-first":
        # The done commits after the turn has read a1 as full, before the turn commits.
        pause[threading.current_thread().name] = let_done_commit
    assert runtime.engine.run_turn() == 1  # a1 looked full: the second waits at its target
    resume.set()
    done.join(60)
    assert not done.is_alive()
    assert rows("SELECT waiting FROM interactions WHERE id = :i", i=second) == [("target",)]
    runtime.run_until_idle()  # the virtual clock has not moved: no recheck is due
    assert rows("SELECT state, assigned_to FROM interactions WHERE id = :i", i=second) == [
        ("offered", "a1")
    ]
    runtime.close()


def test_a_store_made_without_the_wake_function_gets_it_when_opened(
    store_url: str, clock: VirtualClock, rows: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL: the after-commit bump and wake-up is one call of the store's function. A
    store an older gsetup made (no function), or one with an outdated function, gets the
    current one when opened."""
    from gsetup.runtime.sql import bump_and_wake_function

    if store_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite needs no wake-up after commit")
    body_of_current = bump_and_wake_function().split("$function$")[1].strip()

    def defined() -> str:
        found = rows("SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname = :n", n=_WAKE)
        return str(found[0][0]) if found else ""

    runtime = start(store_url, clock)
    assert body_of_current in defined()
    with runtime.store.begin() as conn:
        conn.execute(text(f"DROP FUNCTION {_WAKE}"))
        conn.execute(text("DELETE FROM runtime_meta WHERE key = 'functions'"))
    runtime.close()
    runtime = start(store_url, clock, {"a1": (5, 1)})
    assert body_of_current in defined()
    first = runtime.submit(TENANT, DMS, body(1)).interaction_id
    runtime.run_until_idle()
    runtime.accept(TENANT, "a1", first)  # a1 left ready with room: bump and wake-up called
    runtime.done(TENANT, "a1", first)
    assert "wake-after-commit-failed" not in caplog.text
    outdated = (
        f"CREATE OR REPLACE FUNCTION {_WAKE}(varchar, varchar, integer, float) "
        "RETURNS integer LANGUAGE sql AS 'SELECT -1'"
    )
    with runtime.store.begin() as conn:
        conn.execute(text(outdated))
        conn.execute(text("UPDATE runtime_meta SET value = 'old' WHERE key = 'functions'"))
    runtime.close()
    runtime = start(store_url, clock)
    assert body_of_current in defined()
    runtime.close()


_WAKE = "gsetup_bump_and_wake"


def test_room_left_on_an_agent_another_turn_held_is_not_missed(
    store_url: str, clock: VirtualClock, rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, two workers' turns at once: one offers the first interaction to a1
    (capacity 2) and holds a1's row until it commits; the other skips the locked a1 and
    suspends the second interaction. a1 still has room after the first turn commits, so the
    second is offered to it at once, not after the 300 s recheck."""
    from gsetup.runtime.context import Settings

    if store_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers")
    pause: dict[str, Any] = {}
    _paused_flush(monkeypatch, pause)
    runtime = open_runtime(
        TENANT,
        store_url=store_url,
        deployment=deployment({"a1": (5, 2)}),
        clock=clock,
        settings=Settings(batch_size=1),
    )
    runtime.agent_login(TENANT, "a1")
    runtime.agent_ready(TENANT, "a1")
    first = runtime.submit(TENANT, DMS, body(1)).interaction_id
    second = runtime.submit(TENANT, DMS, body(2)).interaction_id

    flushed, resume = threading.Event(), threading.Event()

    def hold() -> None:
        flushed.set()
        assert resume.wait(60)

    pause["offering"] = hold
    offering = threading.Thread(target=runtime.engine.run_turn, name="offering")
    offering.start()
    assert flushed.wait(60)  # the first is offered to a1, not committed: a1's row is locked
    assert runtime.engine.run_turn() == 1  # the second: a1 is locked, so it waits
    resume.set()
    offering.join(60)
    assert not offering.is_alive()
    assert rows("SELECT waiting FROM interactions WHERE id = :i", i=second) == [("target",)]
    runtime.run_until_idle()  # the virtual clock has not moved: no recheck is due
    offered = rows("SELECT id, state FROM interactions WHERE assigned_to = 'a1' ORDER BY id")
    assert offered == sorted([(first, "offered"), (second, "offered")])
    runtime.close()


def test_a_turn_asks_for_an_agent_another_transaction_holds_once(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """PostgreSQL: a1's row is locked elsewhere (another worker offering to it). The turn
    asks for it once, not once an interaction: the others go to a2 without a round trip to
    a1 each (the holder's commit wakes whatever still waits: see the test above)."""
    if store_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers")
    runtime = start(store_url, clock, {"a1": (5, 3), "a2": (5, 3)})
    ids = [runtime.submit(TENANT, DMS, body(n)).interaction_id for n in range(3)]
    asked: list[Any] = []

    def record(text: str, params: Any, _many: bool) -> None:
        if "FROM runtime_agents" in text and "FOR UPDATE" in text:
            asked.append(params["b_agent"])

    holder = create_engine(store_url, poolclass=NullPool)
    sql.LISTENERS.append(record)
    try:
        with holder.begin() as conn:
            conn.execute(text("SELECT 1 FROM runtime_agents WHERE name = 'a1' FOR UPDATE"))
            assert runtime.engine.run_turn() == 3
    finally:
        sql.LISTENERS.remove(record)
        holder.dispose()
    assert asked.count("a1") == 1
    offered = "SELECT id, assigned_to FROM interactions WHERE state = 'offered' ORDER BY id"
    assert rows(offered) == [(i, "a2") for i in sorted(ids)]
    runtime.close()


def test_an_agent_logged_in_through_another_runtime_acts_through_this_one(
    store_url: str, clock: VirtualClock, rows: Any
) -> None:
    """Runtimes sharing a store: an agent that logged in through one of them (added to the
    configuration after the other started, so unknown to its start-up reading) is offered
    interactions and acts through the other. An agent no runtime knows is still 404."""
    first = start(store_url, clock, {"a1": (5, 1)})  # logs a1 in, ready
    other = open_runtime(TENANT, store_url=store_url, deployment=deployment({}), clock=clock)
    accepted = other.submit(TENANT, DMS, body(1)).interaction_id
    other.run_until_idle()
    assert [o.interaction_id for o in other.offers(TENANT, "a1")] == [accepted]
    other.accept(TENANT, "a1", accepted)
    other.done(TENANT, "a1", accepted)
    other.run_until_idle()
    assert rows("SELECT state FROM interactions WHERE id = :i", i=accepted) == [("stopped",)]
    other.agent_not_ready(TENANT, "a1")
    assert rows("SELECT state FROM runtime_agents WHERE name = 'a1'") == [("not_ready",)]
    for action in (lambda: other.agent_ready(TENANT, "nobody"), lambda: other.offers(TENANT, "x")):
        with pytest.raises(AgentActionError) as caught:
            action()
        assert caught.value.status == 404
    other.close()
    first.close()


def test_an_agent_action_stands_when_the_wake_up_after_its_commit_fails(
    store_url: str, clock: VirtualClock, rows: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The wake-up after a commit (PostgreSQL) is best effort: if it fails, the committed
    action is still answered as done, and the failure is logged."""
    from sqlalchemy.exc import OperationalError

    if store_url.startswith("sqlite"):
        pytest.skip("no wake-up after commit on SQLite")
    runtime = start(store_url, clock, {"a1": (5, 1)})
    runtime.agent_not_ready(TENANT, "a1")

    def lost(*_args: Any) -> Any:
        raise OperationalError("SELECT nextval(...)", {}, Exception("server closed the connection"))

    runtime.store.autocommit = lost  # type: ignore[method-assign]
    assert runtime.agent_ready(TENANT, "a1").state == "ready"
    assert rows("SELECT state FROM runtime_agents WHERE name = 'a1'") == [("ready",)]
    assert "event=wake-after-commit-failed" in caplog.text
    assert "server closed the connection" in caplog.text
    runtime.close()


def test_a_failed_configuration_read_keeps_the_worker_running(
    tmp_path: Path, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's periodic configuration read (``route run`` reads the applications every
    10 s) is logged when it fails (the database unreachable, the tenant deleted); the worker
    goes on with the configuration it has."""
    from gsetup.errors import NotFoundError

    runtime = start(f"sqlite:///{tmp_path / 'store.db'}", clock)
    calls: list[int] = []

    def refresh() -> None:
        calls.append(1)
        raise NotFoundError("unknown tenant 'Environment'")

    with worker_thread(runtime, refresh=refresh, refresh_every=0.01) as thread:
        deadline = time.monotonic() + 30
        while len(calls) < 3:
            assert time.monotonic() < deadline, "the worker stopped reading the configuration"
            time.sleep(0.01)
        assert thread.is_alive()
    runtime.close()
    assert "event=refresh-failed reason=\"unknown tenant 'Environment'\"" in caplog.text


def test_a_store_down_backs_off_the_turns(
    tmp_path: Path, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Turns failing in a row (PostgreSQL restarting) wait longer each time, up to a second:
    the log gets a turn-failed line a second, not one every 50 ms poll; a turn that works
    again runs at once."""
    from sqlalchemy.exc import OperationalError

    runtime = start(f"sqlite:///{tmp_path / 'store.db'}", clock)
    run_turn, failed = runtime.engine.run_turn, threading.Event()

    def down() -> None:
        if not failed.is_set():
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        run_turn()

    runtime.engine.run_turn = down  # type: ignore[method-assign]
    with worker_thread(runtime, poll=0.05, retry_max=0.4):
        time.sleep(2.0)
        failures = caplog.text.count("event=turn-failed")
        failed.set()
        runtime.submit(TENANT, DMS, body(1))
        deadline = time.monotonic() + 30
        while runtime.status(TENANT).states.get("queued"):
            assert time.monotonic() < deadline, "the worker did not recover"
            time.sleep(0.01)
    runtime.close()
    assert 3 <= failures <= 8  # 0.1, 0.2, 0.4, 0.4...; without the back-off, 40


def _ucs_run(turn: Turn, number: int) -> Any:
    """What the UCS methods read of the running strategy: its turn and interaction."""
    itx = SimpleNamespace(
        tenant=TENANT, id=f"i{number}", external_id=f"e{number}", media_type="facebook", text="t"
    )
    return SimpleNamespace(turn=turn, itx=itx)


def _ucs_attributes(rows: Any, ucs_id: str) -> dict[str, Any]:
    found = rows("SELECT attributes FROM ucs_interactions WHERE id = :i", i=ucs_id)
    return {} if not found else dict(json.loads(found[0][0]))


def test_ucs_writes_are_batched_per_turn_with_the_same_outcome(
    store_url: str, rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UCS interactions recorded and attributes merged in a turn are written together at
    its end (one executemany each) or before anything reads them, with the outcome of
    writing each at once: a repeated CreateInteraction changes nothing, an update merges into
    the stored row, FindInteraction sees the turn's writes, an unknown id is an error."""
    clock = VirtualClock()
    runtime = start(store_url, clock)
    ctx = runtime.engine.ctx
    sent: list[tuple[str, bool]] = []
    monkeypatch.setattr(sql, "LISTENERS", [lambda text, _args, many: sent.append((text, many))])

    with ctx.store.begin() as conn:
        turn = Turn(ctx, conn, clock.now())
        for n in range(3):
            create_interaction(_ucs_run(turn, n), {"id": f"u{n}", "attributes": {"a": n}})
        assert sent == []  # nothing written yet
        update_interaction(_ucs_run(turn, 0), {"id": "u0", "attributes": {"b": 2}})  # written first
        update_interaction(_ucs_run(turn, 0), {"id": "u0", "attributes": {"c": 3}})
        turn.flush()
    inserts = [many for text, many in sent if text.startswith("INSERT INTO ucs_interactions")]
    assert inserts == [True]  # the three rows in one executemany
    assert _ucs_attributes(rows, "u0") == {"a": 0, "b": 2, "c": 3}
    assert _ucs_attributes(rows, "u2") == {"a": 2}

    with ctx.store.begin() as conn:
        turn = Turn(ctx, conn, clock.now())
        run = _ucs_run(turn, 0)
        create_interaction(run, {"id": "u0", "attributes": {"x": 9}})  # a repeat: ignored
        update_interaction(run, {"id": "u0", "attributes": {"d": 4}})
        update_interaction(run, {"id": "u1", "attributes": {"e": 5}})
        update_interaction(run, {"id": "u1", "attributes": {"f": 6}})  # merges the pending one
        found = find_interaction(run, {"attribute": "e", "value": 5})  # sees the pending one
        assert found is not None and found["id"] == "u1"
        with pytest.raises(ServiceError, match="UCS has no interaction 'nowhere'"):
            update_interaction(run, {"id": "nowhere", "attributes": {"g": 7}})
        turn.flush()
    assert _ucs_attributes(rows, "u0") == {"a": 0, "b": 2, "c": 3, "d": 4}
    assert _ucs_attributes(rows, "u1") == {"a": 1, "e": 5, "f": 6}
    assert not rows("SELECT id FROM ucs_interactions WHERE id = 'nowhere'")
    runtime.close()
