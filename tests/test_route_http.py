"""The routing runtime's HTTP API, through a real ``gsetup route run`` on 127.0.0.1: every
route, its credentials (401/403 change nothing), bad input, intake idempotence, and the CLI
clients (``route token``, ``route submit``, ``route status``, ``agent ...``)."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.helpers import run_cli, snapshot, sql_rows
from tests.route_process import RouteProcess, route_run, wait_for
from tests.runtime_support import CHANNEL, DMS, TENANT, configure_tenant, post, worker_thread

STORE_TABLES = (
    "interactions",
    "runtime_agents",
    "runtime_agent_loads",
    "runtime_offers",
    "runtime_outbox",
)
AGENT_TABLES = ("runtime_agents", "runtime_agent_loads", "runtime_offers")
PASSWORD = "agent-pass-123"
LONG = "x" * 3000  # a request's value quoted in a refusal is cut to its first 40 characters
CUT = "'" + "x" * 40 + "'... (3000 characters)"


@pytest.fixture
def served(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A configured tenant with agents alice (capacity 1) and bob (2), both with logins,
    served by ``gsetup route run``; yields (runtime, store URL)."""
    from gsetup.runtime.store import default_store_url

    configure_tenant(db_url, tmp_path, agents={"alice": 1, "bob": 2})
    monkeypatch.setenv("AGENT_PW", PASSWORD)
    for name, rule in (("alice", "rule-1"), ("bob", "rule-2")):
        added = run_cli(
            "agent", "add", name, "--skill", "facebook=5", "--capacity-rule", rule,
            "--password-from", "env:AGENT_PW",
        )  # fmt: skip
        assert added.exit_code == 0, added.stderr
    with route_run({}, "--log-level", "debug", cwd=tmp_path) as runtime:
        yield runtime, default_store_url(db_url)


def _token(runtime: RouteProcess) -> str:
    made = run_cli("route", "token", "create", "--app", DMS, "--json")
    assert made.exit_code == 0, made.stderr
    # the default intake URL: the runtime recorded as running for the tenant
    url = run_cli("options", "get", "gsetup-runtime/intake-url", "--app", DMS)
    assert url.stdout.strip() == runtime.url + "/interactions"
    return str(made.json()["token"])


def _login(runtime: RouteProcess, agent: str) -> str:
    answer = runtime.request("POST", "/agents/login", body={"agent": agent, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "not_ready"
    return str(answer.json()["token"])


def _stored(store: str) -> Any:
    """What a refused request must not add to: the ids of interactions, offers and outbound
    requests, and the agents' rows. (Rows the engine works on change on their own.)"""
    tables = snapshot(store, STORE_TABLES)
    return {t: rows if t in AGENT_TABLES else {r[0] for r in rows} for t, rows in tables.items()}


def _agent_side(store: str, itx: str) -> Any:
    """The agents' tables, the interaction ``itx`` and how many interactions there are."""
    tables = snapshot(store, ("interactions", *AGENT_TABLES))
    rows = tables.pop("interactions")
    return tables, len(rows), [r for r in rows if r[0] == itx]


def _offered(runtime: RouteProcess, session: str) -> list[dict[str, Any]]:
    answer = runtime.request("GET", "/agents/offers", token=session)
    assert answer.status_code == 200, answer.text
    return [o for o in answer.json()["offers"] if o["state"] == "offered"]


def test_http_api_end_to_end(served: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, store = served
    token = _intake(runtime, store, tmp_path)
    _errors_and_bodies(runtime, store, token)
    _agents_over_http(runtime, store, token)
    _agent_added_while_running(runtime, store)
    _dms_added_while_running(runtime, store)
    _agent_cli_clients_and_status(runtime, token, monkeypatch)
    _revoked(runtime, store, token, tmp_path / "inbound.jsonl")

    # SIGTERM answers a request waiting for offers at once (as its wait would end): uvicorn
    # waits for open requests, and this one would hold the exit for its 30 s
    session = _login(runtime, "bob")  # not ready: nothing is offered to him
    polled: list[Any] = []
    path = "/agents/offers?wait=30"
    poll = threading.Thread(
        target=lambda: polled.append(runtime.request("GET", path, token=session))
    )
    poll.start()
    time.sleep(0.5)  # the request is waiting
    started = time.monotonic()
    assert runtime.stop() == 0
    poll.join(timeout=10)
    assert time.monotonic() - started < 10
    assert polled[0].status_code == 200 and polled[0].json() == {"offers": []}
    logged = runtime.errors()
    assert "Traceback" not in logged
    # --log-level debug: the state changes, one key=value line each, never a credential
    offered = r"^time=\S+Z level=DEBUG event=offered tenant='Environment' interaction=\w+ "
    assert re.search(offered + r"state=offered queue='[^']+' agent='alice'$", logged, re.M)
    assert re.search(r"^time=\S+Z level=DEBUG event=done .* agent='alice'$", logged, re.M)
    assert token not in logged and session not in logged and PASSWORD not in logged
    # A stopped worker leaves the status at once (a killed one stays alive there until its
    # heartbeat is a lease old).
    stopped = run_cli("route", "status", "--json")
    assert stopped.exit_code == 0 and stopped.json()["workers"] == []
    # no longer recorded as running: the default address is used again
    down = run_cli("agent", "login", "bob", "--password-from", "env:AGENT_PW", "--url", runtime.url)
    assert down.exit_code == 1 and "cannot reach the routing runtime" in down.stderr
    # a rotation changes the token, not where the DMS sends it
    assert run_cli("route", "token", "create", "--app", DMS, "--rotate").exit_code == 0
    intake = run_cli("options", "get", "gsetup-runtime/intake-url", "--app", DMS)
    assert intake.stdout.strip() == runtime.url + "/interactions"


def _intake(runtime: RouteProcess, store: str, tmp_path: Path) -> str:
    """Intake credentials, bad bodies, idempotence (also concurrent), status, metrics, events
    and ``route submit``; returns the intake token."""
    assert runtime.request("GET", "/healthz").json() == {"status": "ok", "tenant": TENANT}
    before = _stored(store)
    refused = [
        runtime.request("POST", "/interactions", body=post(1)),
        runtime.request("POST", "/interactions", token="not-a-token", body=post(1)),
        runtime.request("POST", "/events", body={"type": "outbound-result"}),
        runtime.request("GET", "/status"),
        runtime.request("GET", "/metrics", token="wrong"),
        runtime.request("POST", "/agents/ready"),
        runtime.request("GET", "/agents/offers", token="not-a-session"),
    ]
    assert [r.status_code for r in refused] == [401] * len(refused)
    assert refused[0].headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in refused[0].json()["error"]
    assert _stored(store) == before

    token = _token(runtime)
    bad = {
        "not an object": runtime.request("POST", "/interactions", token=token, body=[post(1)]),
        "not JSON": runtime.request("POST", "/interactions", token=token, content=b"{nope"),
        "empty": runtime.request("POST", "/interactions", token=token, content=b""),
        "10 MB": runtime.request(
            "POST", "/interactions", token=token, body=post(1, blob="x" * 10_000_000)
        ),
        "no channel": runtime.request(
            "POST", "/interactions", token=token, body={**post(1), "channel": None}
        ),
    }
    codes = {k: r.status_code for k, r in bad.items()}
    assert codes == {
        "not an object": 400,
        "not JSON": 400,
        "empty": 400,
        "10 MB": 413,
        "no channel": 400,
    }
    assert bad["not an object"].json()["error"] == "the body must be a JSON object, not an array"
    assert _stored(store) == before

    first = runtime.request("POST", "/interactions", token=token, body=post(1))
    assert first.status_code == 201, first.text
    assert first.json()["duplicate"] is False
    assert first.json()["queue"] == "Facebook Inbound Queue"
    again = runtime.request("POST", "/interactions", token=token, body=post(1))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is True

    # the same new submission from two clients at once: one interaction
    answers: list[Any] = []
    start = threading.Barrier(2)

    def client() -> None:
        start.wait(timeout=30)
        answers.append(runtime.request("POST", "/interactions", token=token, body=post(2)))

    threads = [threading.Thread(target=client) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    rows = snapshot(store, ("interactions",))["interactions"]
    assert len(rows) == 2

    status = runtime.request("GET", "/status", token=token)
    assert status.status_code == 200 and status.json()["tenant"] == TENANT
    metrics = runtime.request("GET", "/metrics", token=token)
    assert metrics.status_code == 200
    assert "gsetup_interactions_submitted_total 2.0" in metrics.text
    assert "gsetup_submissions_duplicate_total 2.0" in metrics.text

    event = runtime.request("POST", "/events", token=token, body={"type": "nonsense"})
    assert event.status_code == 400, event.text
    deleted = {"type": "compliance-delete", "external_id": "ext-2"}
    event = runtime.request("POST", "/events", token=token, body=deleted)
    assert event.status_code == 200 and event.json() == {"matched": "ext-2"}
    texts = {r[8]: r[10] for r in snapshot(store, ("interactions",))["interactions"]}
    assert texts == {"ext-1": post(1)["text"], "ext-2": None}
    unknown = runtime.request("POST", "/events", token=token, body={**deleted, "external_id": "x"})
    assert unknown.status_code == 404

    # route submit: a bad line is named and nothing is sent; a good file is posted in order
    lines = tmp_path / "inbound.jsonl"
    lines.write_text(json.dumps(post(3)) + "\n\n[1, 2]\n")
    stored = _stored(store)
    refused_file = run_cli("route", "submit", str(lines), "--app", DMS)
    assert refused_file.exit_code == 2
    assert "inbound.jsonl: line 3: a submission must be a JSON object" in refused_file.stderr
    assert _stored(store) == stored
    lines.write_text(json.dumps(post(3)) + "\n" + json.dumps(post(1)) + "\n")
    # one client for the file: one made a request built a TLS context each time (0.2 s)
    with mock.patch("httpx.request", side_effect=AssertionError("a client per request")):
        submitted = run_cli("route", "submit", str(lines), "--app", DMS)
    assert submitted.exit_code == 0, submitted.stderr
    assert submitted.stdout.strip() == "2 submitted: 1 new, 1 already stored"
    assert len(snapshot(store, ("interactions",))["interactions"]) == 3

    return token


def _errors_and_bodies(runtime: RouteProcess, store: str, token: str) -> None:
    """An unknown path or method is a JSON error like any other; every POST route reads its
    body the same way, so one that takes none refuses one that is not a JSON object (400)
    or too large (413) too, before acting. Nothing changes."""
    session = _login(runtime, "bob")
    before = _stored(store)
    unknown = runtime.request("GET", "/nope", token=session)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no route /nope: docs/runtime.md lists the routes"}
    wrong = runtime.request("GET", "/agents/ready", token=session)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json() == {"error": "/agents/ready does not take GET, only POST"}

    posts = [r.path.replace("{id}", "nope") for r in _routes() if "POST" in (r.methods or ())]
    assert len(posts) == 10
    too_large = b"{" + b" " * (1024 * 1024) + b"}"
    for path in posts:
        credential = token if path in ("/interactions", "/events") else session
        for content, status in ((b"{bad", 400), (b"[1]", 400), (too_large, 413)):
            answer = runtime.request("POST", path, token=credential, content=content)
            assert answer.status_code == status, (path, content[:4], answer.text)
            assert answer.json()["error"]
    assert _stored(store) == before


def _agents_over_http(runtime: RouteProcess, store: str, token: str) -> None:
    """Agent logins, sessions of another tenant, offers, and actions on others' offers."""
    from gsetup.runtime.sessions import open_session

    before = _stored(store)
    wrong = [
        runtime.request("POST", "/agents/login", body={"agent": "alice", "password": "nope-nope"}),
        runtime.request("POST", "/agents/login", body={"agent": "ghost", "password": PASSWORD}),
        runtime.request(
            "POST",
            "/agents/login",
            body={"agent": "alice", "password": PASSWORD, "tenant": "Other"},
        ),
    ]
    assert [r.status_code for r in wrong] == [401, 401, 401]
    assert runtime.request("POST", "/agents/login", body={"agent": "alice"}).status_code == 400
    # a tenant that is not a name was told "wrong agent or password"
    for tenant in (5, "", ["Environment"]):
        login = {"agent": "alice", "password": PASSWORD, "tenant": tenant}
        answer = runtime.request("POST", "/agents/login", body=login)
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": "'tenant' must be a non-empty string"},
        ), tenant
    # a session opened for another tenant's agent (a runtime of that tenant shares the store)
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(store, poolclass=NullPool)
    try:
        other, _ = open_session(engine, "Other", "eve", "0" * 64)
    finally:
        engine.dispose()
    forbidden = runtime.request("POST", "/agents/ready", token=other)
    assert forbidden.status_code == 403
    assert "of tenant 'Other' may not act on this tenant" in forbidden.json()["error"]
    assert _stored(store) == before

    alice, bob = _login(runtime, "alice"), _login(runtime, "bob")
    # a real credential of the other kind is 403 (forbidden), not 401 (unknown)
    before = _stored(store)
    kinds = [
        runtime.request("POST", "/interactions", token=alice, body=post(99)),
        runtime.request("POST", "/events", token=alice, body={"type": "outbound-result"}),
        runtime.request("GET", "/agents/offers", token=token),
        runtime.request("POST", "/agents/ready", token=token),
    ]
    assert [r.status_code for r in kinds] == [403] * 4
    assert "the session of agent 'alice'" in kinds[0].json()["error"]
    assert "the intake token of 'DMS_1'" in kinds[2].json()["error"]
    assert _stored(store) == before
    ready = runtime.request("POST", "/agents/ready", token=alice)
    assert ready.status_code == 200 and ready.json()["state"] == "ready"
    # the interactions submitted so far wait for an agent; alice (capacity 1) gets one
    offer = wait_for(lambda: _offered(runtime, alice), "an offer to alice", timeout=120)[0]
    itx = offer["interaction_id"]
    assert offer["media_type"] == "facebook" and offer["attached_data"]["_facebookPostId"]

    # bob may not accept, reject or finish alice's offer; nothing changes
    held = _agent_side(store, itx)
    for action in ("accept", "reject", "done"):
        answer = runtime.request("POST", f"/agents/interactions/{itx}/{action}", token=bob)
        assert answer.status_code == 403, (action, answer.text)
    assert runtime.request("POST", "/agents/interactions/nope/accept", token=bob).status_code == 404
    assert _agent_side(store, itx) == held

    accepted = runtime.request("POST", f"/agents/interactions/{itx}/accept", token=alice)
    assert accepted.status_code == 200 and accepted.json()["state"] == "agent"
    twice = runtime.request("POST", f"/agents/interactions/{itx}/accept", token=alice)
    assert twice.status_code == 409  # no longer offered: held
    empty = runtime.request("POST", f"/agents/interactions/{itx}/reply", token=alice, body={})
    assert empty.status_code == 400
    replied = runtime.request(
        "POST", f"/agents/interactions/{itx}/reply", token=alice, body={"text": "Thanks!"}
    )
    assert replied.status_code == 201, replied.text
    reply_id = replied.json()["reply_id"]
    done = runtime.request("POST", f"/agents/interactions/{itx}/done", token=alice)
    assert done.status_code == 200
    # its Stop Queue's strategy ends it; the reply itself is being sent meanwhile
    wait_for(lambda: _agent_side(store, itx)[2][0][4] == "stopped", "the end", timeout=120)
    ended = _agent_side(store, itx)
    late = runtime.request(
        "POST", f"/agents/interactions/{itx}/reply", token=alice, body={"text": "again"}
    )
    assert late.status_code == 409 and "has ended" in late.json()["error"]
    assert _agent_side(store, itx) == ended

    rows = {r[0]: r for r in snapshot(store, ("interactions",))["interactions"]}
    assert reply_id in rows
    status = runtime.request("GET", "/status", token=alice).json()
    loads = {a["name"]: a for a in status["agents"]}
    # done freed her capacity (1), which the next waiting interaction may take at once
    assert loads["alice"]["state"] == "ready" and loads["alice"]["load"].get("facebook", 0) <= 1
    assert loads["alice"]["capacity"]["facebook"] == 1

    # she refuses the next offer: it goes back to routing
    nxt = wait_for(lambda: _offered(runtime, alice), "a second offer to alice", timeout=120)[0]
    path = f"/agents/interactions/{nxt['interaction_id']}/reject"
    rejected = runtime.request("POST", path, token=alice)
    assert rejected.json() == {"id": nxt["interaction_id"], "rejected": True}
    outcomes = snapshot(store, ("runtime_offers",))["runtime_offers"]
    assert (nxt["interaction_id"], "alice", "rejected") in {(r[2], r[3], r[5]) for r in outcomes}
    # routing again, offered to nobody (bob is not ready): not another agent's, so 409, not 403
    late = runtime.request(
        "POST", f"/agents/interactions/{nxt['interaction_id']}/accept", token=alice
    )
    assert late.status_code == 409, late.text
    assert late.json()["error"].startswith(
        f"interaction {nxt['interaction_id']} is still being routed"
    )
    paused = runtime.request("POST", "/agents/not-ready", token=alice)
    assert paused.status_code == 200 and paused.json()["state"] == "not_ready"

    out = runtime.request("POST", "/agents/logout", token=alice)
    assert out.status_code == 200 and out.json()["state"] == "logged_out"
    assert runtime.request("POST", "/agents/ready", token=alice).status_code == 401


def _agent_cli_clients_and_status(
    runtime: RouteProcess, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gsetup agent ...`` clients, ``route status`` and a port already taken."""
    url = ("--url", runtime.url)
    unknown = run_cli("agent", "login", "ghost", "--password-from", "env:AGENT_PW", *url)
    assert unknown.exit_code == 2
    assert "the runtime refused (401): login failed" in unknown.stderr
    elsewhere = run_cli("agent", "login", "bob", "--password-from", "env:AGENT_PW", "-t", "Nope")
    assert elsewhere.exit_code == 2 and "unknown tenant 'Nope'" in elsewhere.stderr
    logged = run_cli("agent", "login", "bob", "--password-from", "env:AGENT_PW", "--json")
    assert logged.exit_code == 0, logged.stderr  # the URL recorded as running for the tenant
    assert logged.json()["state"] == "not_ready" and "token" not in logged.json()
    assert run_cli("agent", "ready").stdout.startswith("agent bob: ready")
    assert runtime.request("POST", "/interactions", token=token, body=post(20)).status_code == 201

    # answered once the offer is made (the runtime holds the request), not polled for
    waited = run_cli("agent", "offers", "--wait", "60", "--json")
    assert waited.exit_code == 0, waited.stderr
    itx = next(o["interaction_id"] for o in waited.json() if o["state"] == "offered")
    too_long = run_cli("agent", "offers", "--wait", "61")
    assert too_long.exit_code == 2 and "--wait" in too_long.stderr
    # sent as the plain decimal it was given (``:g`` wrote 1e-05, which the runtime refused)
    tiny = run_cli("agent", "offers", "--wait", "0.00001", "--json")
    assert tiny.exit_code == 0, tiny.stderr
    assert itx in [o["interaction_id"] for o in tiny.json()]
    assert run_cli("agent", "accept", itx).exit_code == 0
    never = run_cli("agent", "accept", "no-such-interaction")
    assert never.exit_code == 2 and "(404)" in never.stderr
    replied = run_cli("agent", "reply", itx, "--text", "On it", "--json")
    assert replied.exit_code == 0 and replied.json()["id"] == itx
    assert run_cli("agent", "done", itx).exit_code == 0
    status = run_cli("route", "status", "--json")
    assert status.exit_code == 0, status.stderr
    agents = {a["name"]: a for a in status.json()["agents"]}
    assert agents["bob"]["state"] == "ready"
    assert [w["alive"] for w in status.json()["workers"]] == [True]
    # The replies' sends: nobody listens at the DMS's address, so they wait or have failed.
    outbox = status.json()["outbox"]
    assert set(outbox["states"]) <= {"pending", "failed"} and sum(outbox["states"].values())
    assert (outbox["oldest_pending"] is None) == ("pending" not in outbox["states"])
    text = run_cli("route", "status")
    assert text.exit_code == 0 and "Queues" in text.stdout and "bob" in text.stdout
    assert "Requests to DMS applications" in text.stdout
    taken = run_cli("route", "run", "--listen", runtime.url.removeprefix("http://"))
    assert taken.exit_code == 2 and "cannot listen there" in taken.stderr
    assert run_cli("agent", "logout").exit_code == 0
    gone = run_cli("agent", "ready")
    assert gone.exit_code == 2 and "no agent is logged in here" in gone.stderr
    # Logged out from another desk: this desk's saved session is refused, then forgotten.
    again = run_cli("agent", "login", "bob", "--password-from", "env:AGENT_PW")
    assert again.exit_code == 0, again.stderr
    other_desk = _login(runtime, "bob")
    assert runtime.request("POST", "/agents/logout", token=other_desk).status_code == 200
    # Told in the agent's words, with the command that logs in again (not the API's words for
    # programs: "log in again (POST /agents/login)").
    login = f"gsetup agent login bob --url {runtime.url}"
    stale = run_cli("agent", "offers")
    assert (stale.exit_code, stale.stderr) == (
        2,
        f"gsetup: error: the session of agent 'bob' at {runtime.url} ended (it expired, or the"
        f" agent was logged out elsewhere), and is forgotten here: log in again with {login}\n",
    )
    gone = run_cli("agent", "logout")
    assert gone.exit_code == 2 and "no agent is logged in here" in gone.stderr
    # Its password changed (and changed back): the runtime's why is kept.
    assert run_cli("agent", "login", "bob", "--password-from", "env:AGENT_PW").exit_code == 0
    monkeypatch.setenv("NEW_PW", "a-new-password-456")
    for password in ("env:NEW_PW", "env:AGENT_PW"):
        changed = run_cli(
            "agent", "add", "bob", "--skill", "facebook=5", "--capacity-rule", "rule-2",
            "--password-from", password,
        )  # fmt: skip
        assert changed.exit_code == 0, changed.stderr
    ended = run_cli("agent", "ready")
    assert (ended.exit_code, ended.stderr) == (
        2,
        f"gsetup: error: the session of agent 'bob' at {runtime.url} ended (the agent's password"
        f" changed or the agent was removed), and is forgotten here: log in again with {login}\n",
    )


def _revoked(runtime: RouteProcess, store: str, token: str, lines: Path) -> None:
    """A revoked token is refused at once, and nothing is stored."""
    assert run_cli("route", "token", "revoke", "--app", DMS, "--yes").exit_code == 0
    stored = _stored(store)
    revoked = runtime.request("POST", "/interactions", token=token, body=post(4))
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "unknown or revoked intake token"
    assert _stored(store) == stored
    assert run_cli("route", "submit", str(lines), "--app", DMS).exit_code == 2


def _agent_added_while_running(runtime: RouteProcess, store: str) -> None:
    """An agent added (or removed) after ``route run`` started is known at its login: its
    skills and capacity are read then, not at the runtime's start."""
    added = run_cli(
        "agent", "add", "carol", "--skill", "facebook=5", "--capacity-rule", "rule-2",
        "--password-from", "env:AGENT_PW",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    session = _login(runtime, "carol")
    ready = runtime.request("POST", "/agents/ready", token=session)
    assert ready.status_code == 200, ready.text
    assert ready.json()["state"] == "ready" and ready.json()["capacity"]["facebook"] == 2
    assert (TENANT, "carol", "ready") in {
        row[:3] for row in snapshot(store, ("runtime_agents",))["runtime_agents"]
    }
    assert runtime.request("POST", "/agents/logout", token=session).status_code == 200
    changed = run_cli(
        "agent", "add", "carol", "--skill", "facebook=5", "--capacity-rule", "rule-1",
        "--no-login",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.stderr
    session = _login(runtime, "carol")  # the capacity as configured now, not at the first login
    status = runtime.request("POST", "/agents/ready", token=session).json()
    assert status["capacity"]["facebook"] == 1
    assert runtime.request("POST", "/agents/logout", token=session).status_code == 200
    assert run_cli("agent", "remove", "carol", "--yes").exit_code == 0
    gone = runtime.request("POST", "/agents/login", body={"agent": "carol", "password": PASSWORD})
    assert gone.status_code == 401


def _dms_added_while_running(runtime: RouteProcess, store: str) -> None:
    """A Digital Messaging Server application created after ``route run`` started submits at
    once: the runtime reads the applications again when a valid token names one it does not
    know, and when the options it read route nowhere (they may have been set since: the
    periodic read is every 10 s)."""
    made = run_cli("app", "create", "DMS_2", "--type", "DigitalMessagingServer", "--port", "9")
    assert made.exit_code == 0, made.stderr
    created = run_cli("route", "token", "create", "--app", "DMS_2", "--json")
    assert created.exit_code == 0, created.stderr
    token, body = created.json()["token"], post(60, post_id="post-dms-2")
    unrouted = runtime.request("POST", "/interactions", token=token, body=body)
    assert unrouted.status_code == 422  # read now, but it has no route yet
    assert "DMS_2 has no channel section" in unrouted.json()["error"]
    routed = [
        run_cli("options", "set", f"{CHANNEL}/inbound-route", "1:fb", "--app", "DMS_2"),
        run_cli("options", "set", "endpoints:1/fb", "Facebook Inbound Queue", "--app", "DMS_2"),
    ]
    assert [m.exit_code for m in routed] == [0, 0], [m.stderr for m in routed]
    answer = runtime.request("POST", "/interactions", token=token, body=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["queue"] == "Facebook Inbound Queue"
    stored = snapshot(store, ("interactions",))["interactions"]
    assert [r for r in stored if r[0] == answer.json()["id"] and "DMS_2" in r]


def test_long_request_values_are_cut_in_refusals(served: Any) -> None:
    """A request's value quoted in a 4xx reason is cut to 40 characters and its length (a
    3,000-character one was echoed whole); nothing is stored."""
    runtime, store = served
    token = _token(runtime)
    session = _login(runtime, "alice")
    before = _stored(store)
    outbound = {"type": "outbound-result", "key": LONG, "ok": True}
    deleted = {"type": "compliance-delete", "external_id": LONG}
    for path, credential, body, status, reason in (
        ("/interactions", token, {**post(1), LONG: 1}, 400, f"unknown field {CUT}; the fields"),
        ("/events", token, {"type": LONG}, 400, f"unknown event type {CUT}; the types are: "),
        ("/events", token, outbound, 404, f"no outbound request {CUT}"),
        ("/events", token, deleted, 404, f"no stored message {CUT}"),
        (f"/agents/interactions/{LONG}/accept", session, None, 404, f"no interaction {CUT}"),
        ("/agents/interactions/x/done", session, {"queue": LONG}, 404, f"no queue {CUT}"),
    ):
        answer = runtime.request("POST", path, token=credential, body=body)
        assert answer.status_code == status, (path, answer.text[:300])
        assert answer.json()["error"].startswith(reason), answer.text[:300]
        assert len(answer.text) < 200
    assert _stored(store) == before


def test_a_nul_character_is_refused_on_either_store(served: Any, tmp_path: Path) -> None:
    """U+0000 in a body's string (JSON allows it, escaped) or an interaction id (%00) was
    stored on SQLite and failed the request on PostgreSQL (500: its text cannot hold it):
    refused on both, 400 (404 for an id: no interaction has it), nothing stored; ``route
    submit`` names the line before sending anything."""
    runtime, store = served
    token = _token(runtime)
    session = _login(runtime, "alice")
    before = _stored(store)
    nul = "a string holds U+0000 (NUL), which PostgreSQL text cannot hold"
    for path, credential, body in (
        ("/interactions", token, {**post(1), "text": "a\u0000b"}),
        ("/interactions", token, {**post(2), "attached_data": {"k\u0000": "v"}}),
        ("/events", token, {"type": "compliance-delete", "external_id": "\u0000"}),
        ("/events", token, {"type": "outbound-result", "key": "k\u0000", "ok": True}),
        ("/agents/login", None, {"agent": "alice\u0000", "password": PASSWORD}),
        ("/agents/interactions/x/reply", session, {"text": "\u0000"}),
    ):
        answer = runtime.request("POST", path, token=credential, body=body)
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": f"the body is not valid JSON ({nul})"},
        ), path
    for action in ("accept", "reject", "reply", "done"):
        body = {"text": "hi"} if action == "reply" else None
        path = f"/agents/interactions/x%00y/{action}"
        answer = runtime.request("POST", path, token=session, body=body)
        assert (answer.status_code, answer.json()) == (404, {"error": "no interaction 'x\\x00y'"})
    lines = tmp_path / "nul.jsonl"
    lines.write_text(json.dumps(post(3)) + "\n" + json.dumps({**post(4), "text": "\u0000"}) + "\n")
    submitted = run_cli("route", "submit", str(lines), "--app", DMS)
    assert (submitted.exit_code, submitted.stderr) == (
        2,
        f"gsetup: error: {lines}: line 2: not valid JSON ({nul})\n",
    )
    assert _stored(store) == before
    assert "Traceback" not in runtime.errors()


def test_a_query_parameter_a_route_does_not_take_is_refused(served: Any) -> None:
    """A query parameter was ignored: a misspelt ``?wiat=30`` answered the offers at once (a
    desk long-polling would poll in a busy loop), and of ``?wait=0&wait=30`` the last counted.
    400 naming it, on every route, nothing stored, as an unknown body field is."""
    runtime, store = served
    token = _token(runtime)
    session = _login(runtime, "alice")
    before = _stored(store)
    takes_none = "it takes none"
    for method, path, credential, body, reason in (
        ("GET", "/agents/offers?wiat=30", session, None, "'wiat'; the parameters are: wait"),
        ("GET", "/status?tenant=x", token, None, f"'tenant'; {takes_none}"),
        ("GET", "/healthz?x", None, None, f"'x'; {takes_none}"),
        ("POST", "/interactions?dry_run=1", token, post(1), f"'dry_run'; {takes_none}"),
        ("POST", "/agents/ready?agent=bob", session, None, f"'agent'; {takes_none}"),
    ):
        started = time.monotonic()
        answer = runtime.request(method, path, token=credential, body=body)
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": f"unknown query parameter {reason}"},
        ), path
        assert time.monotonic() - started < 10
    twice = runtime.request("GET", "/agents/offers?wait=0&wait=30", token=session)
    assert (twice.status_code, twice.json()) == (400, {"error": "wait is given twice"})
    assert _stored(store) == before
    assert runtime.request("GET", "/agents/offers?wait=0", token=session).status_code == 200


def test_agent_action_bodies_refuse_unknown_fields(served: Any) -> None:
    """An agent action's body with a field the route does not take (a misspelt ``queeu`` on
    ``done``, any field on ``ready``) was ignored and the action done: 400 naming the field,
    nothing changed, as a submission's unknown field is."""
    runtime, store = served
    session = _login(runtime, "alice")
    before = _stored(store)
    login = {"agent": "alice", "password": PASSWORD, "pasword": PASSWORD}
    for path, body, reason in (
        ("/agents/login", login, "'pasword'; the fields are: agent, password, tenant"),
        ("/agents/ready", {"state": "ready"}, "'state'; it takes no fields"),
        ("/agents/logout", {"all": True}, "'all'; it takes no fields"),
        ("/agents/interactions/x/accept", {"a": 1}, "'a'; it takes no fields"),
        ("/agents/interactions/x/reply", {"text": "hi", "to": "x"}, "'to'; the fields are: text"),
        ("/agents/interactions/x/done", {"queeu": "Q"}, "'queeu'; the fields are: queue"),
        ("/agents/interactions/x/done", {LONG: 1}, f"{CUT}; the fields are: queue"),
    ):
        answer = runtime.request("POST", path, token=session, body=body)
        assert (answer.status_code, answer.json()) == (400, {"error": f"unknown field {reason}"})
    assert _stored(store) == before
    assert runtime.request("POST", "/agents/ready", token=session).json()["state"] == "ready"


def test_a_request_the_http_server_cannot_parse_gets_its_own_400(served: Any) -> None:
    """A byte that is not ASCII in the request line is refused by uvicorn before the runtime
    sees it, in plain text: docs/runtime.md promised JSON for every error, and says so now."""
    import socket
    from urllib.parse import urlsplit

    runtime, _store = served
    address = urlsplit(runtime.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(b"GET /h\xe9althz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := conn.recv(4096):  # the server closes the connection
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"text/plain" in head
    assert body == b"Invalid HTTP request received."
    page = " ".join((DOCS / "runtime.md").read_text().split())
    assert f"its own `400`, plain text `{body.decode()}`" in page
    assert runtime.request("GET", "/healthz").status_code == 200


def test_route_run_refusals(db_url: str, tmp_path: Path) -> None:
    assert run_cli("tenant", "create", "Empty").exit_code == 0
    empty = run_cli("route", "run", "--tenant", "Empty", "--listen", "127.0.0.1:0")
    assert empty.exit_code == 2
    assert "tenant 'Empty' has no installed Business Process" in empty.stderr
    bad = run_cli("route", "run", "--listen", "localhost")
    assert bad.exit_code == 2 and "use HOST:PORT" in bad.stderr


DOCS = Path(__file__).resolve().parent.parent / "docs"


def _routes() -> list[Any]:
    """The API's routes, from the application ``route run`` serves."""
    from starlette.routing import Route

    from gsetup.runtime.http import Api, build_app

    app = build_app(Api(None, None))  # type: ignore[arg-type]
    return [r for r in app.routes if isinstance(r, Route)]


def test_every_route_is_documented() -> None:
    page = (DOCS / "runtime.md").read_text()
    routes = _routes()
    assert len(routes) == 17
    for route in routes:
        path = route.path.replace("{id}", "ID").replace("{name}", "FILE")
        for method in sorted((route.methods or set()) - {"HEAD"}):
            assert f"| `{method} {path}` |" in page


def test_runtime_page_commands_exist() -> None:
    import re

    page = (DOCS / "runtime.md").read_text()
    commands = set(re.findall(r"^gsetup ((?:route token|route|agent) [a-z-]+)", page, re.M))
    assert len(commands) >= 15
    for command in sorted(commands):
        result = run_cli(*command.split(), "--help")
        assert result.exit_code == 0, (command, result.stderr)


def test_a_running_worker_reads_changed_application_options(db_url: str, tmp_path: Path) -> None:
    """The worker of ``route run`` reads the applications again every 10 s (here 50 ms): a
    channel's inbound route changed in the configuration applies without a restart."""
    import time

    from gsetup.configdb.database import open_database
    from gsetup.runtime.api import IntakeError, open_runtime

    configure_tenant(db_url, tmp_path, agents={})
    runtime = open_runtime(TENANT, config_url=db_url, store_url=f"sqlite:///{tmp_path / 's.db'}")
    config = open_database(db_url).engine

    def refresh() -> None:
        runtime.refresh_applications(config)

    with worker_thread(runtime, refresh=refresh, refresh_every=0.05):
        assert runtime.submit(TENANT, DMS, post(1)).queue == "Facebook Inbound Queue"
        changed = run_cli("options", "set", f"{CHANNEL}/inbound-route", "1:gone", "--app", DMS)
        assert changed.exit_code == 0, changed.stderr
        deadline, number = time.monotonic() + 30, 2
        while True:
            try:
                runtime.submit(TENANT, DMS, post(number))
            except IntakeError as refused:
                assert refused.status == 422 and "gone" in refused.reason
                break
            assert time.monotonic() < deadline, "the changed route was never read"
            number += 1
            time.sleep(0.02)
    runtime.close()
    config.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_route_run_rides_out_its_store_going_down(db_url: str, pg_url: str, tmp_path: Path) -> None:
    """The on-call case: the PostgreSQL store goes away under a running ``route run``.
    Meanwhile /healthz is 503 and a submission 500 (nothing acknowledged); once it is back the
    worker carries on with every interaction; a SIGTERM while it is down still exits 0."""
    configure_tenant(db_url, tmp_path, agents={})
    with route_run({}, "--store", pg_url, cwd=tmp_path) as runtime:
        made = run_cli("route", "token", "create", "--app", DMS, "--url", runtime.url, "--json")
        token = made.json()["token"]
        assert (
            runtime.request("POST", "/interactions", token=token, body=post(1)).status_code == 201
        )
        with _store_down(pg_url):
            assert runtime.request("GET", "/healthz").status_code == 503
            refused = runtime.request("POST", "/interactions", token=token, body=post(2))
            assert refused.status_code == 500
        wait_for(lambda: runtime.request("GET", "/healthz").status_code == 200, "the store back")
        assert (
            runtime.request("POST", "/interactions", token=token, body=post(2)).status_code == 201
        )
        wait_for(lambda: _states(pg_url) == {"routing": 2}, "both interactions routed")
        with _store_down(pg_url):
            assert runtime.stop() == 0
        logged = runtime.errors()
        assert "event=forget-failed tenant=" in logged and "gsetup: error" not in logged


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigterm_is_bounded_while_a_lock_holds_the_turn(
    db_url: str, pg_url: str, tmp_path: Path
) -> None:
    """Another session holds a lock every turn needs: the turn's wait ends after
    GSETUP_STORE_TIMEOUT (here 2 s), is rolled back and retried like any failed turn, and a
    SIGTERM meanwhile exits 0 within that bound instead of waiting for the lock for ever.
    Nothing is half-written: the interaction is as it was, the worker row and record gone."""
    import subprocess

    import psycopg

    configure_tenant(db_url, tmp_path, agents={})
    env = {"GSETUP_STORE_TIMEOUT": "2"}
    with route_run(env, "--store", pg_url, "--log-level", "info", cwd=tmp_path) as runtime:
        _, before = _one_routing(runtime, pg_url)
        dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as holder:
            holder.execute("LOCK TABLE interactions IN ACCESS EXCLUSIVE MODE")
            wait_for(lambda: _waiting_for_lock(pg_url), "a turn waiting for the lock")
            runtime.process.send_signal(signal.SIGTERM)
            try:
                status = runtime.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                raise AssertionError("route run still waits for the lock after SIGTERM") from None
            holder.rollback()
        assert status == 0, runtime.errors()
    assert "event=turn-failed reason='canceling statement due to" in runtime.errors()
    assert sql_rows(pg_url, "SELECT * FROM interactions") == before
    assert sql_rows(pg_url, "SELECT count(*) FROM runtime_workers") == [(0,)]
    assert sql_rows(pg_url, "SELECT count(*) FROM runtime_endpoints") == [(0,)]


def _one_routing(runtime: RouteProcess, pg_url: str) -> tuple[str, list[tuple[Any, ...]]]:
    """One post submitted and routing (a turn holds it): the intake token, and the
    interactions rows then."""
    made = run_cli("route", "token", "create", "--app", DMS, "--url", runtime.url, "--json")
    token = str(made.json()["token"])
    submitted = runtime.request("POST", "/interactions", token=token, body=post(1))
    assert submitted.status_code == 201
    wait_for(lambda: _states(pg_url) == {"routing": 1}, "the interaction routed")
    return token, sql_rows(pg_url, "SELECT * FROM interactions")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigterm_is_bounded_while_the_store_answers_nothing(
    db_url: str, pg_url: str, tmp_path: Path
) -> None:
    """The store's server processes are stopped (SIGSTOP): no timeout of theirs can end the
    turn's wait. A SIGTERM still exits 0 within 2 x GSETUP_STORE_TIMEOUT + 5 s, saying it
    gave up on the turn; the turn, never committed, left nothing once the server resumes."""
    import os
    import subprocess

    configure_tenant(db_url, tmp_path, agents={})
    with route_run({"GSETUP_STORE_TIMEOUT": "1"}, "--store", pg_url, cwd=tmp_path) as runtime:
        _, before = _one_routing(runtime, pg_url)
        backends = [pid for (pid,) in sql_rows(pg_url, _BACKENDS)]
        assert backends
        try:
            for pid in backends:
                os.kill(pid, signal.SIGSTOP)
            time.sleep(0.5)  # the worker's next turn is sent to a stopped backend
            runtime.process.send_signal(signal.SIGTERM)
            try:
                status = runtime.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                raise AssertionError("route run still waits for its store after SIGTERM") from None
        finally:
            for pid in backends:
                os.kill(pid, signal.SIGCONT)
        assert status == 0, runtime.errors()
    assert "event=stop-abandoned" in runtime.errors()
    assert sql_rows(pg_url, "SELECT * FROM interactions") == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigterm_is_bounded_with_requests_in_flight_on_a_store_that_answers_nothing(
    db_url: str, pg_url: str, tmp_path: Path
) -> None:
    """HTTP requests wait in the threadpool for the stopped store (SIGSTOP) when SIGTERM
    comes: uvicorn waited for them for ever. The process exits 0 within the same bound
    (2 x GSETUP_STORE_TIMEOUT + 5 s), saying it gave up on them."""
    import os
    import subprocess

    import httpx

    configure_tenant(db_url, tmp_path, agents={})
    with route_run({"GSETUP_STORE_TIMEOUT": "1"}, "--store", pg_url, cwd=tmp_path) as runtime:
        token, _ = _one_routing(runtime, pg_url)
        backends = [pid for (pid,) in sql_rows(pg_url, _BACKENDS)]
        answered: list[int | str] = []

        def submit(number: int) -> None:
            try:
                answered.append(
                    runtime.request(
                        "POST", "/interactions", token=token, body=post(number)
                    ).status_code
                )
            except httpx.HTTPError as exc:  # the connection closed as the process exits
                answered.append(type(exc).__name__)

        clients = [threading.Thread(target=submit, args=(n,), daemon=True) for n in (2, 3, 4)]
        try:
            for pid in backends:
                os.kill(pid, signal.SIGSTOP)
            for client in clients:
                client.start()
            time.sleep(1.0)  # the requests reach the stopped backends
            assert len(answered) < len(clients), answered  # some wait for the store
            started = time.monotonic()
            runtime.process.send_signal(signal.SIGTERM)
            try:
                status = runtime.process.wait(timeout=2 * 1 + 5 + 5)
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    "route run still waits for its requests after SIGTERM"
                ) from None
            waited = time.monotonic() - started
        finally:
            for pid in backends:
                os.kill(pid, signal.SIGCONT)
        for client in clients:
            client.join(10)
    logged = runtime.errors()
    assert status == 0, logged
    assert waited < 2 * 1 + 5 + 3, logged  # the bound, and a margin for a loaded machine
    assert re.search(
        r"event=stop-abandoned tenant='Environment' waited=7 requests=[1-3]$", logged, re.M
    ), logged


_FAIL_HEARTBEATS = """
CREATE FUNCTION refuse_heartbeat() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION 'heartbeat refused'; END $$;
CREATE TRIGGER refuse_heartbeat BEFORE UPDATE ON runtime_workers
FOR EACH ROW EXECUTE FUNCTION refuse_heartbeat();
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("stuck", [False, True], ids=["alone", "with-requests-stuck"])
def test_a_failed_loop_ends_route_run_with_its_error(
    db_url: str, pg_url: str, tmp_path: Path, stuck: bool
) -> None:
    """The engine's loop fails (its heartbeat refused by the store: not a lost connection,
    which it rides out): the server stops and the process exits 1 with the failure's
    ``gsetup: error:`` line. Also when requests wait on store backends that answer nothing
    (SIGSTOP) as it stops: the stop is abandoned after the bound, and that exited 0, the
    failure unreported."""
    import os
    import subprocess

    import httpx
    import psycopg

    configure_tenant(db_url, tmp_path, agents={})
    made = run_cli("route", "token", "create", "--app", DMS, "--json")
    assert made.exit_code == 0, made.stderr
    token = str(made.json()["token"])
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    env = {"GSETUP_STORE_TIMEOUT": "3"}
    stopped: list[int] = []
    clients: list[threading.Thread] = []

    def submit(runtime: RouteProcess, number: int) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the connection closes as it exits
            runtime.request("POST", "/interactions", token=token, body=post(number))

    with route_run(env, "--store", pg_url, cwd=tmp_path) as runtime:
        try:
            if stuck:
                # The submissions wait for a lock the turns do not need; their backends are
                # stopped while they wait, and stay stopped once it is released.
                with psycopg.connect(dsn) as holder:
                    holder.execute("LOCK TABLE interactions IN SHARE MODE")
                    clients = [
                        threading.Thread(target=submit, args=(runtime, n), daemon=True)
                        for n in (1, 2)
                    ]
                    for client in clients:
                        client.start()
                    wait_for(lambda: _waiting_for_lock(pg_url), "a submission waiting")
                    stopped = [pid for (pid,) in sql_rows(pg_url, _WAITING)]
                    for pid in stopped:
                        os.kill(pid, signal.SIGSTOP)
                    holder.rollback()
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute(_FAIL_HEARTBEATS)  # type: ignore[arg-type]
            try:
                status = runtime.process.wait(timeout=5 + 2 * 3 + 5 + 10)
            except subprocess.TimeoutExpired:
                raise AssertionError("route run still runs after its loop failed") from None
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
    for client in clients:
        client.join(10)
    logged = runtime.errors()
    assert status == 1, logged
    # One line: the statement's table and the server's reason, not its CONTEXT, SQL, link.
    assert re.search(
        r"^gsetup: error: unexpected ProgrammingError on UPDATE runtime_workers: heartbeat "
        r"refused \(run with --debug for details\)$",
        logged,
        re.M,
    ), logged
    assert not re.search(r"CONTEXT|\[SQL|sqlalche\.me", logged), logged
    assert ("event=stop-abandoned" in logged) == stuck, logged


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_standalone_workers_sigterm_is_bounded_while_the_store_answers_nothing(
    db_url: str, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for ``python -m gsetup.runtime.worker``, whose loop runs in its main thread:
    it waited for its stopped store for ever. It gives up after the same bound, exit 0."""
    import os

    from gsetup.runtime.api import open_runtime
    from tests.runtime_support import WorkerProcess

    monkeypatch.setenv("GSETUP_STORE_TIMEOUT", "1")
    configure_tenant(db_url, tmp_path, agents={})
    runtime = open_runtime(TENANT, config_url=db_url, store_url=pg_url)
    try:
        runtime.submit_many(TENANT, DMS, [post(1)])
    finally:
        runtime.close()
    worker = WorkerProcess(["--config", db_url, "--store", pg_url], tmp_path / "worker.log")
    worker.start()
    try:
        wait_for(lambda: _states(pg_url) == {"routing": 1}, "the interaction routed")
        before = sql_rows(pg_url, "SELECT * FROM interactions")
        backends = [pid for (pid,) in sql_rows(pg_url, _BACKENDS)]
        try:
            for pid in backends:
                os.kill(pid, signal.SIGSTOP)
            started = time.monotonic()
            status = worker.terminate()  # waits 60 s at most
            waited = time.monotonic() - started
        finally:
            for pid in backends:
                os.kill(pid, signal.SIGCONT)
    finally:
        worker.kill()
    log = (tmp_path / "worker.log").read_text()
    assert status == 0, log
    assert waited < 2 * 1 + 5 + 3, log  # the bound, and a margin for a loaded machine
    assert "event=stop-abandoned" in log
    assert sql_rows(pg_url, "SELECT * FROM interactions") == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_standalone_workers_failed_loop_is_one_line(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest, store: str
) -> None:
    """``python -m gsetup.runtime.worker`` whose loop fails as ``route run``'s above: exit 1
    with the same one line, not Python's traceback with the SQL text and the driver's
    CONTEXT."""
    import subprocess

    from tests.runtime_support import WorkerProcess

    store_url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if store == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    configure_tenant(db_url, tmp_path, agents={})
    worker = WorkerProcess(["--config", db_url, "--store", store_url], tmp_path / "worker.log")
    worker.start()
    try:
        _fail_heartbeats(store_url)
        assert worker.process is not None
        try:
            status = worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError("the worker still runs after its loop failed") from None
    finally:
        worker.kill()
    log = (tmp_path / "worker.log").read_text()
    kind = "IntegrityError" if store == "sqlite" else "ProgrammingError"
    assert status == 1, log
    assert log.splitlines() == [
        f"gsetup: error: unexpected {kind} on UPDATE runtime_workers: heartbeat refused"
    ], log


def _fail_heartbeats(store_url: str) -> None:
    """The store refuses every worker's heartbeat from now on."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    if store_url.startswith("sqlite"):
        statements = [
            "CREATE TRIGGER refuse_heartbeat BEFORE UPDATE ON runtime_workers "
            "BEGIN SELECT RAISE(ABORT, 'heartbeat refused'); END"
        ]
    else:
        statements = [_FAIL_HEARTBEATS]
    engine = create_engine(store_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid()"
)


_WAITING = (
    "SELECT DISTINCT pid FROM pg_locks WHERE NOT granted AND relation = 'interactions'::regclass"
)


@contextlib.contextmanager
def _store_down(url: str) -> Iterator[None]:
    """No connection to the store's database is possible, and its open ones are cut."""
    import psycopg

    server, name = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(server + "/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # type: ignore[arg-type]
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # type: ignore[arg-type]


def _waiting_for_lock(url: str) -> bool:
    waiting = (
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'interactions'::regclass"
    )
    return bool(sql_rows(url, waiting)[0][0])


def _states(url: str) -> dict[object, object]:
    return dict(sql_rows(url, "SELECT state, count(*) FROM interactions GROUP BY state"))


def test_route_reads_refuse_a_mistyped_database_and_create_nothing(tmp_path: Path) -> None:
    """``route check``, ``status``, ``submit`` and ``replay`` and ``agent list`` only read the
    configuration: a ``--db`` path that does not exist is a typo, not an empty deployment
    (they made the file, then said the tenant had no Business Process)."""
    missing = tmp_path / "typo.db"
    lines = tmp_path / "in.jsonl"
    lines.write_text("{}\n", encoding="utf-8")
    for args in (
        ("route", "check"),
        ("route", "status"),
        ("route", "submit", str(lines), "--app", DMS, "--url", "http://127.0.0.1:9"),
        ("route", "replay", str(lines)),
        ("agent", "list"),
    ):
        result = run_cli("--db", f"sqlite:///{missing}", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert "does not exist (check --db or GSETUP_DB)" in result.stderr, args
    assert not missing.exists()


def test_an_interaction_id_is_one_path_segment_whatever_it_holds(served: Any) -> None:
    """An id with ``/``, ``..``, ``?``, ``#`` or ``%`` reaches the interaction routes as the id
    it is (percent-encoded by the client): an unknown one is "no interaction ID" (404, exit
    2), never another route nor "no route"."""
    runtime, store = served
    logged = run_cli("agent", "login", "alice", "--password-from", "env:AGENT_PW")
    assert logged.exit_code == 0, logged.stderr
    before = _stored(store)
    for itx in ("x/../../status", "../../status", "a/b", "x?y=1", "x#y", "100%", "x%2F..%2Fy"):
        for args in (
            ("accept", itx),
            ("reject", itx),
            ("done", itx),
            ("reply", itx, "--text", "hi"),
        ):
            result = run_cli("agent", *args, "--url", runtime.url)
            assert (result.exit_code, result.stderr) == (
                2,
                f"gsetup: error: the runtime refused (404): no interaction {itx!r}\n",
            ), args
    assert _stored(store) == before
    assert run_cli("agent", "logout").exit_code == 0
