"""An agent's sessions end when its password changes or it is removed, and a removed agent
leaves routing, on whatever store the runtime uses: two real ``gsetup route run`` workers
sharing a store of their own (not the default one beside the configuration database), on
SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.helpers import run_cli, snapshot
from tests.route_process import RouteProcess, route_run, wait_for
from tests.runtime_support import DMS, configure_tenant, post

FIRST, SECOND = "agent-pass-123", "agent-pass-456"
ENDED = (
    "session ended: the agent's password changed or the agent was removed; "
    "log in again (POST /agents/login)"
)
OLD_TOKEN = "opened-before-sessions-kept-a-mark"


@pytest.fixture
def own_store(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty store on the configuration database's backend, given to ``route run --store``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'own-store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def workers(
    db_url: str, own_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RouteProcess, RouteProcess]]:
    """Agent alice with a login (and bob, capacity 2, without), and two workers serving the
    tenant on ``own_store``, whose sessions table is the one an older gsetup made (no
    credential column) with a session."""
    configure_tenant(db_url, tmp_path, agents={"alice": 1, "bob": 2})
    _agent_add(monkeypatch, FIRST)
    _old_sessions_table(own_store)
    with ExitStack() as stack:
        served = []
        for name in ("w1", "w2"):
            workdir = tmp_path / name
            workdir.mkdir()
            args = ("--store", own_store, "--worker-id", name)
            served.append(stack.enter_context(route_run({}, *args, cwd=workdir)))
        yield served[0], served[1]


def _agent_add(
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    name: str = "alice",
    rule: str = "rule-1",
    skills: tuple[str, ...] = ("facebook=5",),
) -> str:
    monkeypatch.setenv("AGENT_PW", password)
    added = run_cli(
        "agent", "add", name, *(a for skill in skills for a in ("--skill", skill)),
        "--capacity-rule", rule, "--password-from", "env:AGENT_PW",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    return added.stdout


def _old_sessions_table(store: str) -> None:
    """The sessions table as gsetup made it before sessions kept a credential mark, holding
    a live session of alice."""
    import hashlib

    engine = create_engine(store, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE runtime_sessions (token_hash VARCHAR(64) PRIMARY KEY, "
                    "tenant VARCHAR(255) NOT NULL, agent VARCHAR(255) NOT NULL, "
                    "created_at FLOAT NOT NULL, expires_at FLOAT NOT NULL)"
                )
            )
            conn.execute(
                text("INSERT INTO runtime_sessions VALUES (:h, 'Environment', 'alice', :c, :e)"),
                {
                    "h": hashlib.sha256(OLD_TOKEN.encode()).hexdigest(),
                    "c": time.time(),
                    "e": time.time() + 3600,
                },
            )
    finally:
        engine.dispose()


def _login(runtime: RouteProcess, password: str, agent: str = "alice") -> Any:
    return runtime.request("POST", "/agents/login", body={"agent": agent, "password": password})


def _session(runtime: RouteProcess, password: str, agent: str = "alice") -> str:
    answer = _login(runtime, password, agent)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def _offered(runtime: RouteProcess, session: str) -> list[str]:
    answer = runtime.request("GET", "/agents/offers", token=session)
    assert answer.status_code == 200, answer.text
    return [o["interaction_id"] for o in answer.json()["offers"] if o["state"] == "offered"]


def test_a_password_change_or_removal_ends_the_agents_sessions(
    workers: tuple[RouteProcess, RouteProcess],
    own_store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w1, w2 = workers
    old = w1.request("GET", "/agents/offers", token=OLD_TOKEN)
    assert (old.status_code, old.json()["error"]) == (401, ENDED)  # logs in once more
    made = run_cli("route", "token", "create", "--app", DMS, "--json")
    assert made.exit_code == 0, made.stderr
    intake = str(made.json()["token"])
    # Without --url, a client finds the runtime on the store its workers recorded.
    shown = run_cli("app", "show", DMS, "--json").json()["options"]["gsetup-runtime"]
    assert shown["intake-url"] in (f"{w1.url}/interactions", f"{w2.url}/interactions")

    session = _session(w1, FIRST)
    assert w2.request("POST", "/agents/ready", token=session).status_code == 200
    submitted = w1.request("POST", "/interactions", token=intake, body=post(1))
    assert submitted.status_code == 201, submitted.text
    itx = submitted.json()["id"]
    assert wait_for(lambda: _offered(w2, session), "the offer to alice") == [itx]

    again = _agent_add(monkeypatch, FIRST)  # the same password: changes nothing
    assert "0 to create, 0 to update" in again
    assert _offered(w1, session) == [itx] and _offered(w2, session) == [itx]

    _agent_add(monkeypatch, SECOND)
    for runtime in (w1, w2):  # each worker reads the configuration database itself
        for method, path in (
            ("POST", f"/agents/interactions/{itx}/accept"),
            ("POST", f"/agents/interactions/{itx}/done"),
            ("GET", "/agents/offers"),
            ("GET", "/status"),
            ("POST", "/interactions"),  # not 403 "may not do this": the session is over
        ):
            refused = runtime.request(method, path, token=session, body={})
            assert refused.status_code == 401, (runtime.url, path, refused.text)
            assert refused.json()["error"] == ENDED
            assert refused.headers["www-authenticate"] == "Bearer"
    assert _handled(own_store) == (0, 0)  # no accept, no done

    assert _login(w2, FIRST).status_code == 401
    session = _session(w2, SECOND)  # as after a logout: the offer went back to routing
    assert _rows(own_store, "SELECT state FROM interactions") == [("routing",)]
    assert w1.request("POST", "/agents/ready", token=session).status_code == 200
    # The ended session was no refusal: ready again, the agent is offered it once more.
    assert wait_for(lambda: _offered(w2, session), "the offer to alice") == [itx]
    accepted = w1.request("POST", f"/agents/interactions/{itx}/accept", token=session)
    assert accepted.status_code == 200, accepted.text
    done = w2.request("POST", f"/agents/interactions/{itx}/done", token=session, body={})
    assert done.status_code == 200, done.text

    assert run_cli("agent", "remove", "alice", "--yes").exit_code == 0
    for runtime in (w1, w2):
        gone = runtime.request("POST", "/agents/ready", token=session)
        assert (gone.status_code, gone.json()["error"]) == (401, ENDED)
    assert _login(w1, SECOND).status_code == 401
    assert _handled(own_store) == (1, 1)
    _no_secret_stored(own_store)


def _handled(store: str) -> tuple[int, int]:
    """Offers accepted, and interactions held or finished: what an accept or a done changes
    (the engine may let an offer expire and make it again meanwhile)."""
    [(accepted,)] = _rows(store, "SELECT count(*) FROM runtime_offers WHERE outcome = 'accepted'")
    [(handled,)] = _rows(
        store, "SELECT count(*) FROM interactions WHERE state IN ('agent', 'stopped')"
    )
    return accepted, handled


def _rows(store: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(store, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(statement), params)]
    finally:
        engine.dispose()


def _no_secret_stored(store: str) -> None:
    """The sessions keep a SHA-256 of the password hash, never the hash nor the password."""
    rows = snapshot(store, ("runtime_sessions",))["runtime_sessions"]
    kept = {str(value) for row in rows for value in row}
    assert not any(value.startswith("scrypt$") or value in (FIRST, SECOND) for value in kept)
    assert len(rows) == 3  # the old session and the two of alice's logins


def test_a_changed_agent_gets_its_new_skills_and_capacity_at_its_next_login(
    workers: tuple[RouteProcess, RouteProcess],
    own_store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w1, w2 = workers
    session = _session(w1, FIRST)
    assert w2.request("POST", "/agents/ready", token=session).status_code == 200
    _agent_add(monkeypatch, FIRST, rule="rule-2", skills=("facebook=5", "english=3"))
    ready = w1.request("POST", "/agents/ready", token=session)
    assert (ready.status_code, ready.json()["capacity"]["facebook"]) == (200, 1)
    assert _agent_row(own_store, "alice") == ("ready", {"facebook": 5}, 1)

    again = _login(w2, FIRST)
    assert (again.status_code, again.json()["capacity"]["facebook"]) == (200, 2)
    assert _agent_row(own_store, "alice") == ("not_ready", {"facebook": 5, "english": 3}, 2)


def test_a_removed_agent_is_logged_out_and_its_offers_go_to_another_agent(
    workers: tuple[RouteProcess, RouteProcess],
    own_store: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    w1, w2 = workers
    made = run_cli("route", "token", "create", "--app", DMS, "--json")
    assert made.exit_code == 0, made.stderr
    intake = str(made.json()["token"])
    _agent_add(monkeypatch, SECOND, name="bob", rule="rule-2")
    alice, bob = _session(w1, FIRST), _session(w2, SECOND, "bob")
    assert w2.request("POST", "/agents/ready", token=alice).status_code == 200

    first = w1.request("POST", "/interactions", token=intake, body=post(1))
    assert first.status_code == 201, first.text
    itx1 = first.json()["id"]
    assert wait_for(lambda: _offered(w1, alice), "the offer to alice") == [itx1]
    assert w1.request("POST", "/agents/ready", token=bob).status_code == 200
    _agent_add(monkeypatch, SECOND, name="bob", rule="rule-2", skills=("facebook=5", "english=3"))

    assert run_cli("agent", "remove", "alice", "--yes").exit_code == 0
    # Logged out by the removal itself, its offer routed again well before its reservation
    # (30 s) expires; bob, changed but still an agent, stays ready.
    assert _agent_row(own_store, "alice")[0] == "logged_out"
    assert _agent_row(own_store, "bob") == ("ready", {"facebook": 5}, 2)
    assert wait_for(lambda: _offered(w2, bob), "the offer to bob") == [itx1]

    second = w2.request("POST", "/interactions", token=intake, body=post(2))
    assert second.status_code == 201, second.text
    itx2 = second.json()["id"]
    assert wait_for(lambda: len(_offered(w1, bob)) == 2, "the second offer to bob")
    offers = "SELECT interaction_id, agent, outcome FROM runtime_offers ORDER BY id"
    assert _rows(own_store, offers) == [
        (itx1, "alice", "logged-out"),
        (itx1, "bob", None),
        (itx2, "bob", None),
    ]
    held = "SELECT id, state, assigned_to FROM interactions ORDER BY id"
    assert sorted(_rows(own_store, held)) == sorted(
        [(itx1, "offered", "bob"), (itx2, "offered", "bob")]
    )
    loads = "SELECT agent, load FROM runtime_agent_loads WHERE media_type = 'facebook'"
    assert sorted(_rows(own_store, loads)) == [("alice", 0), ("bob", 2)]
    logged = "event=removed-agent-logged-out tenant='Environment' agent='alice'"
    # by the removal, or by a worker's housekeeping passing as it opened the store; once
    by_workers = sum(w.errors().count(logged) for w in workers)
    assert by_workers + caplog.text.count(logged) == 1


def _agent_row(store: str, agent: str) -> tuple[str, dict[str, int], int]:
    """The agent's presence, skills and facebook capacity in the store."""
    import json

    statement = "SELECT state, skills, capacity FROM runtime_agents WHERE name = :agent"
    [(state, skills, capacity)] = _rows(store, statement, agent=agent)
    return state, json.loads(skills), json.loads(capacity)["facebook"]


def test_a_long_poll_waiting_when_the_password_changes_answers_401(
    workers: tuple[RouteProcess, RouteProcess],
    own_store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ``GET /agents/offers?wait=`` checks the session when it starts and again when it
    answers: one waiting while the password changes (``gsetup agent add`` with another one)
    hands the offers made since to nobody."""
    from concurrent.futures import ThreadPoolExecutor

    w1, w2 = workers
    made = run_cli("route", "token", "create", "--app", DMS, "--json")
    assert made.exit_code == 0, made.stderr
    intake = str(made.json()["token"])
    session = _session(w1, FIRST)
    assert w1.request("POST", "/agents/ready", token=session).status_code == 200
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(w1.request, "GET", "/agents/offers?wait=60", token=session)
        time.sleep(1)
        _agent_add(monkeypatch, SECOND)
        assert not poll.done()  # it began before the change: still waiting
        submitted = w2.request("POST", "/interactions", token=intake, body=post(1))
        assert submitted.status_code == 201, submitted.text
        answer = poll.result(timeout=60)
    assert (answer.status_code, answer.json()) == (401, {"error": ENDED})
    # The offer was made (to alice, still ready in the store); the poll told nobody of it.
    [(state, agent)] = _rows(own_store, "SELECT state, assigned_to FROM interactions")
    assert (state, agent) == ("offered", "alice")


def test_a_login_while_logged_in_sends_the_offers_not_accepted_back_to_routing(
    workers: tuple[RouteProcess, RouteProcess],
    own_store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Logging in again (another desk, a restarted client) starts not ready, as a logout
    and a login would: the offers not yet accepted go to another agent at once, not after
    their reservation timeout; what the agent accepted it keeps."""
    w1, w2 = workers
    made = run_cli("route", "token", "create", "--app", DMS, "--json")
    assert made.exit_code == 0, made.stderr
    intake = str(made.json()["token"])
    _agent_add(monkeypatch, FIRST, rule="rule-2")
    _agent_add(monkeypatch, SECOND, name="bob", rule="rule-2")
    alice, bob = _session(w1, FIRST), _session(w2, SECOND, "bob")
    assert w1.request("POST", "/agents/ready", token=alice).status_code == 200
    itxs = []
    for n in (1, 2):
        submitted = w1.request("POST", "/interactions", token=intake, body=post(n))
        assert submitted.status_code == 201, submitted.text
        itxs.append(submitted.json()["id"])
        assert wait_for(lambda: len(_offered(w1, alice)) == 1, f"the offer of post {n}")
        if n == 1:
            accepted = w2.request("POST", f"/agents/interactions/{itxs[0]}/accept", token=alice)
            assert accepted.status_code == 200, accepted.text
    held, offered = itxs

    again = _login(w2, FIRST)
    assert again.status_code == 200, again.text
    assert (again.json()["state"], again.json()["load"]) == ("not_ready", {"facebook": 1})
    assert _agent_row(own_store, "alice")[0] == "not_ready"
    states = "SELECT id, state, assigned_to FROM interactions ORDER BY id"
    assert sorted(_rows(own_store, states)) == sorted(
        [(held, "agent", "alice"), (offered, "routing", None)]
    )
    assert w1.request("POST", "/agents/ready", token=bob).status_code == 200
    assert wait_for(lambda: _offered(w2, bob), "the offer to bob") == [offered]
    offers = "SELECT interaction_id, agent, outcome FROM runtime_offers ORDER BY id"
    assert _rows(own_store, offers) == [
        (held, "alice", "accepted"),
        (offered, "alice", "logged-out"),
        (offered, "bob", None),
    ]
    loads = "SELECT agent, load FROM runtime_agent_loads WHERE media_type = 'facebook'"
    assert sorted(_rows(own_store, loads)) == [("alice", 1), ("bob", 1)]
    # Both sessions of alice still work: the one it had holds the accepted interaction.
    done = w1.request("POST", f"/agents/interactions/{held}/done", token=alice, body={})
    assert done.status_code == 200, done.text
