"""``gsetup agent add|list|remove`` and ``gsetup route token create|revoke``: configuration
objects and secret options written through the plan engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.configdb.database import redact_url
from tests.helpers import option_row, run_cli, snapshot, sql_rows

if TYPE_CHECKING:
    from gsetup.runtime.api import Runtime
    from gsetup.runtime.clock import VirtualClock

PASSWORD = "agent-pass-123"


def _option(url: str, path: str, key: str) -> tuple[str, bool] | None:
    return option_row(url, path, "gsetup-runtime", key)


@pytest.fixture
def agent_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_PW", PASSWORD)


def test_agent_add_list_remove(db_url: str, agent_env: None) -> None:
    added = run_cli(
        "agent", "add", "alice", "--skill", "facebook=5", "--skill", "english",
        "--first-name", "Alice", "--password-from", "env:AGENT_PW", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert added.json()["applied"] is True
    assert PASSWORD not in added.stdout
    stored = _option(db_url, "Persons/alice", "password-hash")
    assert stored is not None and stored[1] is True
    assert stored[0].startswith("scrypt$") and PASSWORD not in stored[0]
    from gsetup.configdb.auth import verify_password

    assert verify_password(PASSWORD, stored[0])

    before = snapshot(db_url)
    again = run_cli(
        "agent", "add", "alice", "--skill", "facebook=5", "--skill", "english",
        "--first-name", "Alice", "--password-from", "env:AGENT_PW",
    )  # fmt: skip
    assert again.exit_code == 0 and "0 to create, 0 to update" in again.stdout
    assert snapshot(db_url) == before  # the same password keeps the same hash

    listed = run_cli("agent", "list", "--json").json()
    assert listed == [
        {
            "name": "alice",
            "first_name": "Alice",
            "last_name": "",
            "skills": {"english": 1, "facebook": 5},
            "capacity_rule": None,
            "login": True,
        }
    ]
    skills = run_cli("object", "list", "--json").json()
    assert {"Environment/Skills/english", "Environment/Skills/facebook"} <= {
        o["path"] for o in skills
    }

    dry = run_cli("agent", "remove", "alice", "--dry-run", "--detailed-exitcode")
    assert dry.exit_code == 3 and snapshot(db_url) == before
    assert run_cli("agent", "remove", "alice", "--yes").exit_code == 0
    assert run_cli("agent", "list", "--json").json() == []
    assert _option(db_url, "Persons/alice", "password-hash") is None


def test_agent_password_from_file_and_change(db_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("first-pass-1\n")
    assert run_cli("agent", "add", "bob", "--password-from", f"file:{secret}").exit_code == 0
    first = _option(db_url, "Persons/bob", "password-hash")
    secret.write_text("second-pass-2\n")
    changed = run_cli("agent", "add", "bob", "--password-from", f"file:{secret}")
    assert changed.exit_code == 0 and "1 to update" in changed.stdout
    assert "second-pass-2" not in changed.stdout and "********" in changed.stdout
    second = _option(db_url, "Persons/bob", "password-hash")
    assert first is not None and second is not None and first[0] != second[0]
    kept = run_cli("agent", "add", "bob", "--no-login")
    assert kept.exit_code == 0
    assert _option(db_url, "Persons/bob", "password-hash") == second


AGENT_BAD_INPUT = [
    (("--skill", "facebook=500"), "level 500 is out of range; use 0 to 100"),
    (("--skill", "=3"), "use NAME=LEVEL"),
    # \d took other scripts' digits (Arabic-Indic 5 was level 5), and int() of thousands of
    # digits failed with a traceback
    (("--skill", "facebook=\u0665"), "use NAME=LEVEL, LEVEL a whole number"),
    (("--skill", "facebook=" + "1" * 5000), "use NAME=LEVEL, LEVEL a whole number"),
    (("--skill", "facebook=1_0"), "use NAME=LEVEL, LEVEL a whole number"),
    # a sign was taken (+5 was level 5, -0 level 0): levels are digits only
    (("--skill", "facebook=+5"), "--skill 'facebook=+5': use NAME=LEVEL, LEVEL a whole number"),
    (("--skill", "facebook=-0"), "--skill 'facebook=-0': use NAME=LEVEL, LEVEL a whole number"),
    (("--skill", "a/b=3"), "invalid skill name"),
    (("--skill", "facebook=5", "--skill", "facebook=6"), "skill 'facebook' is given twice"),
    (("--no-login", "--capacity-rule", "Ghost"), "refers to 'Capacity Rules/Ghost'"),
    (("--password-from", "env:NOT_SET_ANYWHERE"), "environment variable NOT_SET_ANYWHERE"),
    (("--password-from", "plain-text"), "use env:NAME or file:PATH"),
    (("--password-from", "file:/nonexistent/pw"), "secret file /nonexistent/pw: no such file"),
    (("--password-from", "env:SHORT_PW"), "at least 8 characters"),
    ((), "no terminal to ask for it"),
    (("--no-login", "--password-from", "env:AGENT_PW"), "not both"),
]


def test_agent_add_bad_input(db_url: str, agent_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORT_PW", "short")
    before = snapshot(db_url)
    for args, message in AGENT_BAD_INPUT:
        result = run_cli("agent", "add", "carol", *args)
        assert result.exit_code == 2, (args, result.stdout)
        assert message in result.stderr, args
        assert "Traceback" not in result.stderr
    # The value was echoed: one typed where env:NAME belongs is likely the password itself.
    for command in (("add", "carol"), ("login", "carol")):
        typed = run_cli("agent", *command, "--password-from", "Hunter2-typed")
        assert typed.exit_code == 2 and "--password-from: use env:NAME" in typed.stderr
        assert "Hunter2" not in typed.stderr + typed.stdout
    unknown = run_cli("agent", "remove", "ghost")
    assert unknown.exit_code == 2
    assert "no person 'Persons/ghost' in tenant 'Environment'" in unknown.stderr
    assert snapshot(db_url) == before


def test_a_short_agent_password_names_where_it_came_from(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As account passwords: the env variable, the file or the prompt, so the user knows
    which to fix; refused before the second prompt, nothing written."""
    import pexpect

    from tests.test_safety import GSETUP

    monkeypatch.setenv("SHORT_PW", "short")
    short_file = tmp_path / "pw"
    short_file.write_text("short\n")
    before = snapshot(db_url)
    # bytes that are not UTF-8, as os.environ reads them: they failed with exit 1 when hashed
    monkeypatch.setenv("BAD_PW", "\udcff\udcfe-abcdefgh")
    for command in (("add", "carol"), ("login", "carol", "--url", "http://127.0.0.1:9")):
        not_text = run_cli("agent", *command, "--password-from", "env:BAD_PW")
        assert (not_text.exit_code, not_text.stderr) == (
            2,
            "gsetup: error: --password-from: key 'password': in the value, byte 0xFF at "
            "position 1 is not UTF-8; gsetup takes UTF-8 text\n",
        ), command
    for source in ("env:SHORT_PW", f"file:{short_file}"):
        result = run_cli("agent", "add", "carol", "--password-from", source)
        assert result.exit_code == 2, result.stdout
        assert result.stderr == (
            f"gsetup: error: the password from --password-from {source} is too short: a "
            "password must have at least 8 characters\n"
        )
    # At the prompt it is asked again (not "Again:" for one already refused), three tries.
    child = pexpect.spawn(
        GSETUP, ["agent", "add", "carol"], env=dict(os.environ), encoding="utf-8", timeout=60
    )
    try:
        refusals = []
        for _try in range(3):
            child.expect("Agent password: ")
            child.sendline("short")
            child.expect(["Again: ", ".* too short.*\r\n"])
            refusals.append(child.after.strip())
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    too_short = (
        "the password typed at the prompt is too short: a password must have at least 8 characters"
    )
    assert refusals == [
        *[f"{too_short}; type it again"] * 2,
        f"gsetup: error: {too_short}; nothing written",
    ]
    assert child.exitstatus == 2
    assert snapshot(db_url) == before


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_mistyped_agent_password_is_asked_again(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typed differently the second time: asked again, then added with the password."""
    typed = iter(["carol-password-1", "carol-passwrod-1", "carol-password-1", "carol-password-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    monkeypatch.setattr("sys.stdin", _Terminal())
    added = run_cli("agent", "add", "carol")
    assert added.exit_code == 0, added.stderr
    assert "the two passwords differ; type it again" in added.stderr
    assert next(typed, None) is None
    # The password typed twice alike is the one stored: adding it again changes nothing.
    monkeypatch.setenv("CAROL_PW", "carol-password-1")
    again = ("agent", "add", "carol", "--password-from", "env:CAROL_PW")
    assert run_cli(*again, "--dry-run", "--detailed-exitcode").exit_code == 0


def _dms(name: str = "DMS_1", app_type: str = "DigitalMessagingServer") -> None:
    assert run_cli("app", "create", name, "--type", app_type).exit_code == 0


def test_token_create_and_revoke(db_url: str) -> None:
    _dms()
    before = snapshot(db_url)
    dry = run_cli("route", "token", "create", "--app", "DMS_1", "--dry-run", "--json")
    assert dry.exit_code == 0 and dry.json()["token"] is None
    assert dry.json()["summary"]["create"] == 2
    assert snapshot(db_url) == before
    made = run_cli("route", "token", "create", "--app", "DMS_1", "--url", "http://127.0.0.1:9000")
    assert made.exit_code == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    stored = _option(db_url, "Applications/DMS_1", "intake-token")
    assert stored == (token, True)
    url = _option(db_url, "Applications/DMS_1", "intake-url")
    assert url == ("http://127.0.0.1:9000/interactions", False)
    shown = run_cli("app", "show", "DMS_1", "--json")
    assert token not in shown.stdout
    assert shown.json()["options"]["gsetup-runtime"]["intake-token"] == "********"
    history = run_cli("history", "--json")
    assert token not in history.stdout

    before = snapshot(db_url)
    again = run_cli("route", "token", "create", "--app", "DMS_1")
    assert again.exit_code == 2 and "already has an intake token" in again.stderr
    assert snapshot(db_url) == before
    # --if-missing keeps it (a CI job's re-run), and still sets the intake URL given
    kept = run_cli(
        "route", "token", "create", "--app", "DMS_1", "--if-missing", "--url",
        "http://127.0.0.1:9000", "--json",
    )  # fmt: skip
    assert kept.exit_code == 0, kept.stderr
    assert kept.json()["kept"] is True and kept.json()["token"] is None
    assert kept.json()["summary"]["update"] == 0 and snapshot(db_url) == before
    moved = run_cli(
        "route", "token", "create", "--app", "DMS_1", "--if-missing", "--url",
        "http://127.0.0.1:9001",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.stderr
    assert moved.stdout.endswith(
        "DMS_1 already has an intake token: kept (it was shown when made)\n"
    )
    assert token not in moved.stdout
    assert _option(db_url, "Applications/DMS_1", "intake-token") == (token, True)
    assert _option(db_url, "Applications/DMS_1", "intake-url") == (
        "http://127.0.0.1:9001/interactions",
        False,
    )
    rotated = run_cli("route", "token", "create", "--app", "DMS_1", "--rotate", "--json").json()
    assert rotated["token"] != token
    assert _option(db_url, "Applications/DMS_1", "intake-token") == (rotated["token"], True)
    # without --url, a rotation keeps the intake URL
    assert _option(db_url, "Applications/DMS_1", "intake-url") == (
        "http://127.0.0.1:9001/interactions",
        False,
    )

    assert run_cli("route", "token", "revoke", "--app", "DMS_1", "--yes").exit_code == 0
    assert _option(db_url, "Applications/DMS_1", "intake-token") is None
    assert _option(db_url, "Applications/DMS_1", "intake-url") is not None
    twice = run_cli(
        "route", "token", "revoke", "--app", "DMS_1", "--dry-run", "--detailed-exitcode"
    )
    assert twice.exit_code == 0


def test_without_url_token_create_keeps_the_intake_url_set(db_url: str) -> None:
    """An operator's intake URL (a reverse proxy's) stays when a token is made, rotated or
    kept without --url; the default one is written only where none is set."""
    proxy = "https://proxy.example/rt/interactions"
    _dms()
    assert (
        run_cli("options", "set", "--app", "DMS_1", "gsetup-runtime/intake-url", proxy).exit_code
        == 0
    )
    create = ("route", "token", "create", "--app", "DMS_1")
    made = run_cli(*create)
    assert made.exit_code == 0, made.stderr
    assert f"(shown once; sent to {proxy}):" in made.stdout
    assert _option(db_url, "Applications/DMS_1", "intake-url") == (proxy, False)
    before = snapshot(db_url)
    kept = run_cli(*create, "--if-missing", "--json")
    assert kept.exit_code == 0 and kept.json()["kept"] is True, kept.stderr
    assert kept.json()["url"] == proxy  # what the text says: where the DMS sends
    assert snapshot(db_url) == before
    rotated = run_cli(*create, "--rotate")
    assert rotated.exit_code == 0, rotated.stderr
    assert f"(shown once; sent to {proxy}):" in rotated.stdout
    token = rotated.stdout.strip().splitlines()[-1]
    assert _option(db_url, "Applications/DMS_1", "intake-token") == (token, True)
    assert _option(db_url, "Applications/DMS_1", "intake-url") == (proxy, False)
    # --url moves it, as asked
    moved = run_cli(*create, "--rotate", "--url", "http://127.0.0.1:9000")
    assert moved.exit_code == 0, moved.stderr
    assert "sent to http://127.0.0.1:9000/interactions" in moved.stdout
    assert _option(db_url, "Applications/DMS_1", "intake-url") == (
        "http://127.0.0.1:9000/interactions",
        False,
    )
    # none set: no runtime recorded as running, so the default listen address
    _dms("DMS_2")
    fresh = run_cli("route", "token", "create", "--app", "DMS_2")
    assert fresh.exit_code == 0, fresh.stderr
    assert "sent to http://127.0.0.1:8470/interactions" in fresh.stdout
    assert _option(db_url, "Applications/DMS_2", "intake-url") == (
        "http://127.0.0.1:8470/interactions",
        False,
    )


TOKEN_BAD_INPUT = [
    (("--app", "Ghost"), "no application 'Applications/Ghost'"),
    (("--app", "CS_1"), "intake tokens belong to a DigitalMessagingServer"),
    (("--app", "DMS_1", "--url", "ftp://x"), "use http://HOST:PORT"),
    (("--app", "DMS_1", "--url", "http://h:1/interactions"), "names the route /interactions"),
    (("--app", "DMS_1", "--url", "http://[::1"), "use http://HOST:PORT"),
    (("--app", "DMS_1", "--url", "http://h:abc"), "use http://HOST:PORT"),
    (("--app", "DMS_1", "--url", "http://h:99999"), "use http://HOST:PORT"),
    (("--app", "DMS_1", "--tenant", "Nope"), "unknown tenant 'Nope'"),
]


def test_token_bad_input(db_url: str) -> None:
    _dms()
    _dms("CS_1", "ChatServer")
    before = snapshot(db_url)
    for args, message in TOKEN_BAD_INPUT:
        result = run_cli("route", "token", "create", *args)
        assert result.exit_code == 2, args
        assert message in result.stderr, args
    for args, message in TOKEN_BAD_INPUT[:2]:
        result = run_cli("route", "token", "revoke", *args)
        assert result.exit_code == 2 and message in result.stderr, args
    assert snapshot(db_url) == before


def test_a_runtime_url_with_a_password_is_refused_unechoed(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake URL is a plain option (plans, history, ``app show``, the DMS stand-in's
    health): a password in it was stored and shown in clear. Callers of the runtime
    authenticate with tokens, so a URL's user part is refused, its password not echoed."""
    _dms()
    monkeypatch.setenv("AGENT_PW_FOR_TEST", "agent-password")
    before = snapshot(db_url)
    for url in (
        "http://u:pw-in-url@127.0.0.1:8470",
        "ftp://u:pw-in-url@h",
        "http://pw-in-url@h",
        "http://u:pw-in-url@[::1",
    ):
        for args in (
            ("route", "token", "create", "--app", "DMS_1", "--url", url),
            ("agent", "login", "alice", "--password-from", "env:AGENT_PW_FOR_TEST", "--url", url),
            ("agent", "ready", "--url", url),
        ):
            result = run_cli(*args)
            assert result.exit_code == 2, (args, result.stderr)
            assert result.stderr.startswith("gsetup: error: --url"), (args, result.stderr)
            assert "pw-in-url" not in result.stderr, (args, result.stderr)
    assert snapshot(db_url) == before


def _alice_holds_one(runtime: Runtime, clock: VirtualClock) -> str:
    """Agent alice logged in, ready, offered a post and holding it (accepted): its id."""
    from tests.runtime_support import DMS, TENANT, post

    runtime.agent_login(TENANT, "alice")
    runtime.agent_ready(TENANT, "alice")
    itx = runtime.submit(TENANT, DMS, post(1)).interaction_id
    for _ in range(20):  # the inbound strategy buffers a post a few seconds first
        runtime.run_until_idle()
        if runtime.offers(TENANT, "alice"):
            break
        clock.advance(5)
    runtime.accept(TENANT, "alice", itx)
    return itx


def test_an_agent_holding_interactions_is_not_removed(db_url: str, tmp_path: Path) -> None:
    """Removed, an agent could not log in again to finish what it holds, and nobody else
    may: those interactions would stay held for ever."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    try:
        itx = _alice_holds_one(runtime, clock)
        before = snapshot(db_url)
        for args in ((), ("--dry-run",)):
            refused = run_cli("agent", "remove", "alice", "--yes", *args)
            assert refused.exit_code == 2, refused.stdout
            assert f"agent 'alice' holds 1 interaction(s) in the routing runtime ({itx})" in (
                refused.stderr
            )
        assert snapshot(db_url) == before
        runtime.done(TENANT, "alice", itx)
        assert run_cli("agent", "remove", "alice", "--yes").exit_code == 0
    finally:
        runtime.close()


def test_stores_of_the_tenants_runtimes_are_checked_too(db_url: str, tmp_path: Path) -> None:
    """A runtime on another store than the default one (``--store``) records it beside the
    configuration database, without its password: ``agent remove`` checks it there, also
    once the runtime has stopped. A store that cannot be read refuses, naming it (password
    masked), unless told to skip it."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.endpoints import record_store, recorded_stores
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    other = tmp_path / "elsewhere" / "other-store.db"
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, store_url=f"sqlite:///{other}", clock=clock)
    try:
        itx = _alice_holds_one(runtime, clock)
    finally:
        runtime.close()
    before = snapshot(db_url)
    refused = run_cli("agent", "remove", "alice", "--yes")
    assert refused.exit_code == 2, refused.stdout
    assert refused.stderr == (
        f"gsetup: error: agent 'alice' holds 1 interaction(s) in the routing runtime ({itx}) "
        f"in the store sqlite:///{other}: have it finish them (gsetup agent done ID), then "
        "remove it\n"
    )
    # A store nobody can reach (a recorded server store whose password is not at hand).
    unreachable = "postgresql+psycopg://rt:s3cret-pw@127.0.0.1:9/store"
    record_store(default_store_url(db_url), TENANT, unreachable)
    assert recorded_stores(default_store_url(db_url), TENANT) == [
        "postgresql+psycopg://rt@127.0.0.1:9/store",  # never the password
        f"sqlite:///{other}",
    ]
    for given in ((), ("--store", unreachable)):
        refused = run_cli("agent", "remove", "alice", "--yes", "--skip-unreachable", *given)
        assert refused.exit_code == 2 and f"({itx}) in the store sqlite:///{other}" in (
            refused.stderr
        )
    runtime = open_runtime(TENANT, config_url=db_url, store_url=f"sqlite:///{other}", clock=clock)
    try:
        runtime.done(TENANT, "alice", itx)
    finally:
        runtime.close()
    for given in ((), ("--store", unreachable)):
        refused = run_cli("agent", "remove", "alice", "--yes", *given)
        assert refused.exit_code == 2
        assert refused.stderr.startswith(
            "gsetup: error: cannot check the interaction store "
            f"postgresql+psycopg://rt{':***' if given else ''}@127.0.0.1:9/store "
            "for interactions agent 'alice' holds ("
        )
        assert "s3cret-pw" not in refused.stderr
    assert snapshot(db_url) == before
    removed = run_cli("agent", "remove", "alice", "--yes", "--skip-unreachable")
    assert removed.exit_code == 0, removed.stderr
    assert "alice" not in run_cli("agent", "list").stdout


def test_agent_remove_refuses_a_store_url_of_another_database(db_url: str, tmp_path: Path) -> None:
    """``--store`` of another database than SQLite or PostgreSQL is bad input, as for ``route
    run``: it was tried as a store (an unreadable one), so ``--skip-unreachable`` removed the
    agent without checking the store meant."""
    from tests.runtime_support import configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    before = snapshot(db_url)
    for url in ("mysql://rt:s3cret-pw@127.0.0.1/store", "nosuch://127.0.0.1/store"):
        refused = run_cli("agent", "remove", "alice", "--yes", "--skip-unreachable", "--store", url)
        assert refused.exit_code == 2, refused.stdout
        assert refused.stderr == (
            f"gsetup: error: --store {redact_url(url)}: unsupported store: the interaction "
            "store is SQLite (sqlite:///PATH) or PostgreSQL through psycopg "
            "(postgresql+psycopg://...)\n"
        )
        assert "s3cret-pw" not in refused.stderr
    assert snapshot(db_url) == before


def test_agent_client_url_is_checked() -> None:
    """``--url`` of the session commands is bad input when it is not a runtime's base URL
    (exit 2), as for ``agent login``; it was sent as is and failed as unreachable (exit 1)."""
    import json

    from gsetup.commands.runtime_client import sessions_path

    path = sessions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"alice": {"url": "http://127.0.0.1:9", "token": "t"}}))
    for args in (("ready",), ("offers",), ("accept", "X"), ("done", "X")):
        for url, reason in (
            ("notaurl", "use http://HOST:PORT"),
            ("http://127.0.0.1:8470/agents", "names the route /agents"),
            ("http://127.0.0.1:8470/openapi.json", "names the route /openapi.json"),
            ("", "use http://HOST:PORT"),  # was taken as no --url: the saved one
            ("http://[::1", "use http://HOST:PORT"),  # these three: exit 1, ValueError
            ("http://127.0.0.1:abc", "use http://HOST:PORT"),
            ("http://127.0.0.1:0", "use http://HOST:PORT"),
        ):
            result = run_cli("agent", *args, "--url", url)
            assert result.exit_code == 2, (args, url, result.stderr)
            assert f"gsetup: error: --url '{url}'" in result.stderr and reason in result.stderr


def test_an_interaction_id_that_names_no_path_segment_is_bad_input() -> None:
    """``''``, ``.`` and ``..`` were sent in the URL path, which made them another route
    (``agent done ''``: POST /agents/done, a 404 saying that the route does not exist, or
    exit 1 with the runtime down); they are refused before anything is sent (exit 2)."""
    import json

    from gsetup.commands.runtime_client import sessions_path

    path = sessions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"alice": {"url": "http://127.0.0.1:9", "token": "t"}}))
    for action in ("accept", "reject", "done"):
        for interaction in ("", ".", ".."):
            result = run_cli("agent", action, interaction)
            assert result.exit_code == 2, (action, interaction, result.stderr)
            assert result.stderr == (
                f"gsetup: error: ID {interaction!r} is not an interaction id: give one that "
                "gsetup agent offers lists\n"
            )
    replied = run_cli("agent", "reply", "..", "--text", "hi")
    assert replied.exit_code == 2 and "ID '..' is not an interaction id" in replied.stderr


def test_logout_forgets_the_session_at_any_url_a_refusal_only_at_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A logout through another spelling of the runtime's URL still forgets the saved
    session; a 401 from a runtime it was not saved for (another --url) keeps it."""
    import json

    from gsetup.commands import runtime_client
    from gsetup.commands.runtime_client import RuntimeRefusedError, sessions_path

    path = sessions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = {"alice": {"url": "http://127.0.0.1:9", "token": "t"}}

    def refuse(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise RuntimeRefusedError(401, "unknown or expired session")

    path.write_text(json.dumps(saved))
    monkeypatch.setattr(runtime_client, "call", refuse)
    refused = run_cli("agent", "ready", "--url", "http://localhost:9")
    assert (refused.exit_code, refused.stderr) == (
        2,
        "gsetup: error: the runtime at http://localhost:9 refused the session of agent 'alice'"
        " (it expired, or the agent was logged out elsewhere): give the --url it logged in at,"
        " or log in again with gsetup agent login alice --url http://localhost:9\n",
    )
    assert json.loads(path.read_text()) == saved
    out = {"name": "alice", "state": "logged_out", "load": {}, "capacity": {}}
    monkeypatch.setattr(runtime_client, "call", lambda *_a, **_k: out)
    assert run_cli("agent", "logout", "--url", "http://localhost:9").exit_code == 0
    assert json.loads(path.read_text())["sessions"] == []


def test_agents_of_the_same_name_at_two_runtimes_keep_their_own_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """alice of one tenant and alice of another, logged in from one account: the second
    login replaced the first's session (kept by name only). Each is kept with its runtime's
    URL and used by ``--url``; a file written before (one session a name) is read."""
    import json
    import stat

    from gsetup.commands import runtime_client
    from gsetup.commands.runtime_client import sessions_path

    first, second = "http://127.0.0.1:9", "http://127.0.0.1:10"
    path = sessions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"alice": {"url": first, "token": "token-a"}}))
    sent: list[tuple[str, str, str | None]] = []

    def answer(base_url: str, _method: str, route: str, *, token: str | None, **_: Any) -> Any:
        sent.append((base_url, route, token))
        status = {"name": "alice", "state": "ready", "load": {}, "capacity": {}}
        return {**status, "token": "token-b"} if route == "/agents/login" else status

    monkeypatch.setattr(runtime_client, "call", answer)
    monkeypatch.setenv("AGENT_PW", "pw-alice")
    login = run_cli("agent", "login", "alice", "--password-from", "env:AGENT_PW", "--url", second)
    assert login.exit_code == 0, login.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ambiguous = run_cli("agent", "ready")
    assert (ambiguous.exit_code, ambiguous.stderr) == (
        2,
        f"gsetup: error: agent 'alice' is logged in here at several runtimes ({second}, "
        f"{first}): give --url, the one it logged in at\n",
    )
    for url, token in ((first, "token-a"), (second, "token-b")):
        assert run_cli("agent", "ready", "--url", url).exit_code == 0
        assert sent[-1] == (url, "/agents/ready", token)
    assert run_cli("agent", "logout", "--url", first).exit_code == 0
    assert run_cli("agent", "ready").exit_code == 0  # the one left, at its own URL
    assert sent[-1] == (second, "/agents/ready", "token-b")
    assert "token-a" not in path.read_text()


def test_the_sessions_file_is_private_whatever_was_left_beside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sessions were written through the fixed name ``agent-sessions.tmp``, opened without
    changing the mode of one already there (a write interrupted by an older gsetup, a copy):
    the tokens ended up in a file every user could read."""
    import stat

    from gsetup.commands import runtime_client
    from gsetup.commands.runtime_client import sessions_path

    path = sessions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    left = path.with_suffix(".tmp")
    left.write_text("{}")
    left.chmod(0o644)

    def answer(*_args: Any, **_kwargs: Any) -> Any:
        return {"name": "alice", "state": "not_ready", "load": {}, "capacity": {}, "token": "t-1"}

    monkeypatch.setattr(runtime_client, "call", answer)
    monkeypatch.setenv("AGENT_PW", "pw-alice")
    login = run_cli(
        "agent", "login", "alice", "--password-from", "env:AGENT_PW", "--url", "http://127.0.0.1:9"
    )
    assert login.exit_code == 0, login.stderr
    assert "t-1" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_recorded_sqlite_store_whose_file_is_gone_is_unreachable(
    db_url: str, tmp_path: Path
) -> None:
    """A recorded store whose file was deleted was taken as one holding nothing: the agent was
    removed unchecked. It cannot be checked, so it refuses as an unreachable store does, and
    looking at it creates no file."""
    from gsetup.runtime.endpoints import record_store
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    gone = tmp_path / "gone" / "store.db"
    gone.parent.mkdir()
    record_store(default_store_url(db_url), TENANT, f"sqlite:///{gone}")
    before = snapshot(db_url)
    for given in ((), ("--store", f"sqlite:///{gone}")):
        refused = run_cli("agent", "remove", "alice", "--yes", *given)
        assert refused.exit_code == 2, refused.stdout
        assert refused.stderr.startswith(
            f"gsetup: error: cannot check the interaction store sqlite:///{gone} for "
            "interactions agent 'alice' holds ("
        ), refused.stderr
        assert "--skip-unreachable" in refused.stderr
        assert list(gone.parent.iterdir()) == []
    assert snapshot(db_url) == before
    removed = run_cli("agent", "remove", "alice", "--yes", "--skip-unreachable")
    assert removed.exit_code == 0, removed.stderr
    assert list(gone.parent.iterdir()) == []
    assert "alice" not in run_cli("agent", "list").stdout


def _alice_offered_one(runtime: Runtime, clock: VirtualClock, n: int = 1) -> str:
    """Agent alice logged in, ready and offered post ``n`` (not accepted): its id."""
    from tests.runtime_support import DMS, TENANT, post

    runtime.agent_login(TENANT, "alice")
    runtime.agent_ready(TENANT, "alice")
    itx = runtime.submit(TENANT, DMS, post(n)).interaction_id
    for _ in range(20):  # the inbound strategy buffers a post a few seconds first
        runtime.run_until_idle()
        if runtime.offers(TENANT, "alice"):
            return itx
        clock.advance(5)
    raise AssertionError("alice was never offered the post")


BEING_REMOVED = (
    "agent 'alice' is being removed (gsetup agent remove): it can neither log in nor take "
    "interactions"
)


AGENT = "SELECT state FROM runtime_agents WHERE name = 'alice'"
ROWS = "SELECT id, state, assigned_to FROM interactions ORDER BY id"
MARKS = "SELECT COUNT(*) FROM runtime_removals"


def test_an_accept_between_the_check_and_the_removal_is_refused(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``agent remove`` marks the agent in each store as it checks it holds nothing: an
    accept (or a login, a ready) landing after that check, before the person is removed, is
    refused, so no interaction stays held by an agent that no longer exists."""
    import gsetup.commands.agents
    from gsetup.configdb.database import open_database
    from gsetup.errors import BadInputError
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    refusals: list[tuple[int, str]] = []
    apply = gsetup.commands.agents.run_plan

    def accept_first(*args: Any, dry_run: bool, **kwargs: Any) -> Any:
        """The removal, with the agent's actions in the window before it."""
        if not dry_run:
            for act in (
                lambda: runtime.accept(TENANT, "alice", itx),
                lambda: runtime.agent_login(TENANT, "alice"),
                lambda: runtime.agent_ready(TENANT, "alice"),
            ):
                try:
                    act()
                except BadInputError as exc:
                    refusals.append((getattr(exc, "status", 0), str(exc)))
        return apply(*args, dry_run=dry_run, **kwargs)

    try:
        itx = _alice_offered_one(runtime, clock)
        monkeypatch.setattr(gsetup.commands.agents, "run_plan", accept_first)
        removed = run_cli("agent", "remove", "alice", "--yes")
        assert removed.exit_code == 0, removed.stderr
        assert refusals == [(409, BEING_REMOVED)] * 3
        # logged out by the removal itself, its offer back to routing: no mark is left
        assert sql_rows(store, AGENT) == [("logged_out",)]
        assert sql_rows(store, ROWS) == [(itx, "routing", None)]
        outcomes = "SELECT agent, outcome FROM runtime_offers"
        assert sql_rows(store, outcomes) == [("alice", "logged-out")]
        assert sql_rows(store, MARKS) == [(0,)]
        config = open_database(db_url)
        try:
            assert runtime.log_out_removed_agents(config.engine) == []
        finally:
            config.engine.dispose()
    finally:
        runtime.close()


def test_an_agent_added_again_after_its_removal_logs_in(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A removal done while the agent had an offer left it marked ``removing`` for the
    workers to log out: added again before that (or with no runtime running), it could never
    log in to that store again. The removal logs it out itself, its offer back to routing,
    and the agent added again logs in and accepts."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    try:
        first = _alice_offered_one(runtime, clock)
        removed = run_cli("agent", "remove", "alice", "--yes")
        assert removed.exit_code == 0, removed.stderr
        assert sql_rows(store, AGENT) == [("logged_out",)]
        assert sql_rows(store, ROWS) == [(first, "routing", None)]
        monkeypatch.setenv("ALICE_PASSWORD", PASSWORD)
        add = ("agent", "add", "alice", "--skill", "facebook=5", "--skill", "english")
        added = run_cli(*add, "--password-from", "env:ALICE_PASSWORD")
        assert added.exit_code == 0, added.stderr
        second = _alice_offered_one(runtime, clock, 2)
        assert runtime.accept(TENANT, "alice", second).state == "agent"
        assert sql_rows(store, AGENT) == [("ready",)]
    finally:
        runtime.close()


# ``agent remove alice`` in a process of its own: argv ``WHEN GO HOST RENEWALS``. It says
# ``marked`` before applying its plan (WHEN ``before``), or ``applied`` after (``after``), then
# waits (at most 60 s) for the file GO to exist. HOST not empty: a remover on that host, its
# lease two seconds (GSETUP_LOCK_TIMEOUT=1 and a margin of one), renewed RENEWALS times a lease.
_REMOVER = """
import socket, sys, time
from pathlib import Path
import gsetup.commands.agents as agents
import gsetup.runtime.removal as removal
from gsetup.cli.app import app
from gsetup.cli.errors import run

when, go, host = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
if host:
    socket.gethostname = lambda: host
    removal.MARK_MARGIN = 1.0
    removal.RENEWALS_PER_LEASE = float(sys.argv[4])
apply = agents.run_plan

def wait(said):
    print(said, flush=True)
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

def paused(*args, dry_run, **kwargs):
    if not dry_run and when == "before":
        wait("marked")
    plan = apply(*args, dry_run=dry_run, **kwargs)
    if not dry_run and when == "after":
        wait("applied")
    return plan

agents.run_plan = paused
sys.exit(run(app, ["agent", "remove", "alice", "--yes"]))
"""


def _remover(
    go: Path, when: str = "before", host: str = "", renewals: float = 3
) -> subprocess.Popen[str]:
    """``agent remove alice`` started in a process of its own (see ``_REMOVER``)."""
    env = {**os.environ, "GSETUP_LOCK_TIMEOUT": "1"} if host else None
    command = [sys.executable, "-c", _REMOVER, when, str(go), host, str(renewals)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_a_mark_whose_remover_was_killed_is_no_mark(db_url: str, tmp_path: Path) -> None:
    """A removal killed (SIGKILL) while it held the agent's mark could not take it off: the
    agent could never log in or accept in that store again. A mark names its remover (host,
    pid): while it lives the agent is refused; once it is gone, the agent's next action takes
    the mark off (the agent as it was: its offer still its own)."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.errors import AgentActionError
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    try:
        itx = _alice_offered_one(runtime, clock)
        with _remover(tmp_path / "never") as remover:
            try:
                said = remover.stdout.readline()
                assert said == "marked\n", remover.stderr.read()
                with pytest.raises(AgentActionError, match="is being removed") as refused:
                    runtime.accept(TENANT, "alice", itx)
                assert refused.value.status == 409
            finally:
                remover.kill()
        assert remover.returncode == -9
        assert sql_rows(store, AGENT) == [("removing",)]  # left behind
        assert runtime.accept(TENANT, "alice", itx).state == "agent"
        assert sql_rows(store, AGENT) == [("ready",)]
        assert sql_rows(store, MARKS) == [(0,)]
        runtime.done(TENANT, "alice", itx)
        assert runtime.agent_login(TENANT, "alice").state == "not_ready"
        assert "alice" in run_cli("agent", "list").stdout  # never removed
    finally:
        runtime.close()


def test_a_refused_or_failed_removal_leaves_the_agent_working(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marks ``agent remove`` set in the stores it checked first are taken off when a
    later store refuses (the agent holds interactions there) or the removal fails: the agent
    is as it was, and accepts its offer."""
    import gsetup.commands.agents
    from gsetup.errors import BadInputError
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store, other = default_store_url(db_url), f"sqlite:///{tmp_path / 'other-store.db'}"
    clock = VirtualClock()
    elsewhere = open_runtime(TENANT, config_url=db_url, store_url=other, clock=clock)
    try:
        held = _alice_holds_one(elsewhere, clock)
    finally:
        elsewhere.close()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    try:
        itx = _alice_offered_one(runtime, clock)
        before = snapshot(db_url)
        refused = run_cli("agent", "remove", "alice", "--yes")
        assert refused.exit_code == 2, refused.stdout
        assert f"holds 1 interaction(s) in the routing runtime ({held})" in refused.stderr
        assert sql_rows(store, AGENT) == [("ready",)]

        def fail(*args: Any, dry_run: bool, **kwargs: Any) -> Any:
            if not dry_run:
                raise BadInputError("the plan failed")
            return apply(*args, dry_run=dry_run, **kwargs)

        elsewhere = open_runtime(TENANT, config_url=db_url, store_url=other, clock=clock)
        try:
            elsewhere.done(TENANT, "alice", held)
        finally:
            elsewhere.close()
        apply = gsetup.commands.agents.run_plan
        monkeypatch.setattr(gsetup.commands.agents, "run_plan", fail)
        failed = run_cli("agent", "remove", "alice", "--yes")  # marked in both, then failed
        assert (failed.exit_code, failed.stderr) == (2, "gsetup: error: the plan failed\n")
        assert sql_rows(store, AGENT) == [("ready",)]
        assert sql_rows(other, AGENT) == [("ready",)]
        assert snapshot(db_url) == before
        assert runtime.accept(TENANT, "alice", itx).state == "agent"
    finally:
        runtime.close()


def test_a_mark_from_another_host_holds_until_its_lease() -> None:
    """A remover on this host holds its mark while its pid lives; one on another host, whose
    processes cannot be seen, until its lease runs out."""
    import os
    import socket
    import time

    from gsetup.plan.lock import holder_alive

    here, now = socket.gethostname(), time.time()
    assert holder_alive(here, os.getpid(), None)
    assert holder_alive("elsewhere.invalid", 1, now + 60)
    assert not holder_alive("elsewhere.invalid", 1, now - 1)
    assert not holder_alive("elsewhere.invalid", 1, None)


def test_a_second_removal_is_refused_while_the_first_holds_the_mark(
    db_url: str, tmp_path: Path
) -> None:
    """A second ``agent remove`` of an agent whose mark a live removal holds took that mark
    over: failing after the first removal was done, it put the removed agent back. It is
    refused (exit 2, naming the agent and the other remover, nothing written), the first
    one's mark left as it is; the first then removes the agent."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    go = tmp_path / "go"
    try:
        itx = _alice_offered_one(runtime, clock)
        with _remover(go) as first:
            try:
                assert first.stdout.readline() == "marked\n", first.stderr.read()
                before = snapshot(db_url)
                second = run_cli("agent", "remove", "alice", "--yes")
                assert second.exit_code == 2, second.stdout
                assert second.stderr.startswith(
                    "gsetup: error: agent 'alice' is being removed by another gsetup agent "
                    f"remove (pid {first.pid} on {socket.gethostname()}) in the store "
                ), second.stderr
                assert snapshot(db_url) == before
                assert sql_rows(store, "SELECT pid FROM runtime_removals") == [(first.pid,)]
                assert sql_rows(store, AGENT) == [("removing",)]
                go.touch()
                assert first.wait(60) == 0, first.stderr.read()
            finally:
                first.kill()
        assert sql_rows(store, AGENT) == [("logged_out",)]
        assert sql_rows(store, ROWS) == [(itx, "routing", None)]
        assert sql_rows(store, MARKS) == [(0,)]
        assert "alice" not in run_cli("agent", "list").stdout
    finally:
        runtime.close()


def test_a_removal_failing_after_another_was_done_does_not_undo_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A removal killed (SIGKILL) after its plan was applied, before it logged the agent out,
    leaves its mark; a second removal started before that takes the mark over and then
    fails: it put the agent back as it was before the first mark (ready, in the store), a
    removed agent. The agent removed, the failure finishes the mark instead: logged out,
    its offer back to routing."""
    import gsetup.commands.agents
    from gsetup.errors import BadInputError
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    show = gsetup.commands.agents.show_object

    def first_removal_applied(*args: Any, **kwargs: Any) -> Any:
        """The agent found, then removed by another removal that is killed before its end."""
        found = show(*args, **kwargs)
        with _remover(tmp_path / "never", "after") as first:
            try:
                assert first.stdout.readline() == "applied\n", first.stderr.read()
            finally:
                first.kill()
        assert sql_rows(store, AGENT) == [("removing",)]
        return found

    def fail(*args: Any, dry_run: bool, **kwargs: Any) -> Any:
        raise BadInputError("the plan failed")

    try:
        itx = _alice_offered_one(runtime, clock)
        monkeypatch.setattr(gsetup.commands.agents, "show_object", first_removal_applied)
        monkeypatch.setattr(gsetup.commands.agents, "run_plan", fail)
        failed = run_cli("agent", "remove", "alice", "--yes")
        assert (failed.exit_code, failed.stderr) == (2, "gsetup: error: the plan failed\n")
        assert sql_rows(store, AGENT) == [("logged_out",)]
        assert sql_rows(store, ROWS) == [(itx, "routing", None)]
        assert sql_rows(store, MARKS) == [(0,)]
    finally:
        runtime.close()


def test_a_removal_on_another_host_keeps_its_marks_past_its_lease(
    db_url: str, tmp_path: Path
) -> None:
    """A removal on another host is seen alive only until its lease: one running longer
    (a long wait for the tenant's lock) let its mark lapse, and the agent could accept
    before the removal was applied. The lease is renewed while the removal runs."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.errors import AgentActionError
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    go, lease = tmp_path / "go", "SELECT host, until FROM runtime_removals"
    try:
        itx = _alice_offered_one(runtime, clock)
        with _remover(go, "before", "elsewhere.invalid") as remover:
            try:
                assert remover.stdout.readline() == "marked\n", remover.stderr.read()
                [(host, until)] = sql_rows(store, lease)
                assert host == "elsewhere.invalid"
                time.sleep(max(0.0, float(until) + 1.5 - time.time()))  # past its first lease
                with pytest.raises(AgentActionError, match="is being removed") as refused:
                    runtime.accept(TENANT, "alice", itx)
                assert refused.value.status == 409
                [(_, renewed)] = sql_rows(store, lease)
                assert float(renewed) > time.time()
                go.touch()
                assert remover.wait(60) == 0, remover.stderr.read()
            finally:
                remover.kill()
        assert sql_rows(store, AGENT) == [("logged_out",)]
        assert sql_rows(store, ROWS) == [(itx, "routing", None)]
        assert sql_rows(store, MARKS) == [(0,)]
    finally:
        runtime.close()


def test_a_hung_removal_on_another_host_is_taken_over_once_its_lease_lapses(
    db_url: str, tmp_path: Path
) -> None:
    """A removal on another host that hangs (SIGSTOP) holding its mark: a second removal is
    refused until the mark's lease lapses, then takes the mark over and removes the agent
    (logged out, its offer back to routing). The hung one, resumed, undoes nothing."""
    import signal

    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    go = tmp_path / "go"
    try:
        itx = _alice_offered_one(runtime, clock)
        # renewed every 20 s: stopped before its first renewal, never inside one
        with _remover(go, "before", "elsewhere.invalid", renewals=0.1) as hung:
            try:
                assert hung.stdout.readline() == "marked\n", hung.stderr.read()
                hung.send_signal(signal.SIGSTOP)
                [(until,)] = sql_rows(store, "SELECT until FROM runtime_removals")
                refused = run_cli("agent", "remove", "alice", "--yes")
                assert refused.exit_code == 2, refused.stdout
                assert f"(pid {hung.pid} on elsewhere.invalid)" in refused.stderr
                assert sql_rows(store, AGENT) == [("removing",)]
                time.sleep(max(0.0, float(until) + 0.5 - time.time()))
                second = run_cli("agent", "remove", "alice", "--yes")
                assert second.exit_code == 0, second.stderr
                assert "alice" not in run_cli("agent", "list").stdout
                assert sql_rows(store, AGENT) == [("logged_out",)]
                assert sql_rows(store, ROWS) == [(itx, "routing", None)]
                assert sql_rows(store, MARKS) == [(0,)]
                go.touch()
                hung.send_signal(signal.SIGCONT)
                assert hung.wait(60) == 0, hung.stderr.read()  # nothing left to change
            finally:
                hung.kill()
        assert "alice" not in run_cli("agent", "list").stdout
        assert sql_rows(store, AGENT) == [("logged_out",)]
        assert sql_rows(store, ROWS) == [(itx, "routing", None)]
        assert sql_rows(store, MARKS) == [(0,)]
    finally:
        runtime.close()


def test_a_store_marked_by_an_older_gsetup_gets_the_token_column(
    db_url: str, tmp_path: Path
) -> None:
    """``runtime_removals`` made by an older gsetup has no ``token``: the first mark adds
    it, and the removal is done."""
    from sqlalchemy import inspect

    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.store import default_store_url
    from tests.runtime_support import TENANT, configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    store = default_store_url(db_url)
    clock = VirtualClock()
    runtime = open_runtime(TENANT, config_url=db_url, clock=clock)
    try:
        itx = _alice_offered_one(runtime, clock)
    finally:
        runtime.close()
    engine = create_engine(store, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE runtime_removals (tenant VARCHAR(255) NOT NULL, agent "
                    "VARCHAR(255) NOT NULL, host VARCHAR(255) NOT NULL, pid INTEGER NOT NULL, "
                    "until FLOAT NOT NULL, before VARCHAR(16), PRIMARY KEY (tenant, agent))"
                )
            )
        removed = run_cli("agent", "remove", "alice", "--yes")
        assert removed.exit_code == 0, removed.stderr
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("runtime_removals")}
        assert "token" in columns
    finally:
        engine.dispose()
    assert sql_rows(store, AGENT) == [("logged_out",)]
    assert sql_rows(store, ROWS) == [(itx, "routing", None)]
    assert sql_rows(store, MARKS) == [(0,)]
