"""The read side (gsetup.deployment) against rows made by real installs, on SQLite and
PostgreSQL: what each query returns, and that its statement count stays the same as the
tenant grows."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from gsetup import deployment
from gsetup.configdb import auth
from gsetup.configdb.database import open_database
from gsetup.configdb.kinds import KINDS
from gsetup.configdb.tenants import tenant_id
from gsetup.packages import get_package
from gsetup.plan.apply import Operation, apply_state
from gsetup.state import DesiredObject, DesiredState, object_path, options
from tests.helpers import run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RULE = "Default_Social_Media_Capacity_rule"


def _install(package: str) -> None:
    result = run_cli("install", package, "--answers", str(EXAMPLES / f"{package}.yaml"), "--yes")
    assert result.exit_code == 0, result.stderr


def _grow(url: str, n: int) -> None:
    """``n`` more of everything: rules, groups, persons, applications with options, history."""
    engine = open_database(url).engine
    state = DesiredState("Environment")
    for i in range(n):
        rule = object_path("capacity_rule", f"Rule {n}-{i}")
        state.add(DesiredObject("capacity_rule", rule, {"limits": {"email": i + 1}}))
        state.add(
            DesiredObject(
                "agent_group",
                object_path("agent_group", f"Group {n}-{i}"),
                {"members": [f"grouped {n}-{i}"], "capacity_rule": rule},
            )
        )
        for name, attrs in (
            (f"own {n}-{i}", {"capacity_rule": rule}),
            (f"grouped {n}-{i}", {}),
            (f"plain {n}-{i}", {}),
        ):
            state.add(
                DesiredObject("person", object_path("person", name), {"skills": {"x": i}, **attrs})
            )
        state.add(
            DesiredObject(
                "application",
                object_path("application", f"App {n}-{i}"),
                {"app_type": "DigitalMessagingServer", "port": 5000 + i},
                options({f"section-{j}": {"k": str(j)} for j in range(20)}),
            )
        )
    apply_state(engine, state, Operation("test grow", "tester"))
    for i in range(n):  # history entries, one per apply
        extra = DesiredState("Environment")
        extra.add(DesiredObject("skill", object_path("skill", f"Skill {n}-{i}")))
        apply_state(engine, extra, Operation("test history", "tester"))


@contextmanager
def _counting(url: str) -> Iterator[tuple[Connection, int, list[str]]]:
    """A connection to the tenant Environment and the statements run on it."""
    engine = open_database(url).engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    with engine.connect() as conn:
        tid = tenant_id(conn, "Environment")
        event.listen(conn, "before_cursor_execute", count)
        yield conn, tid, seen


Query = Callable[[Connection, int], Any]
QUERIES: dict[str, Query] = {
    "installed_packages": deployment.installed_packages,
    "strategies": deployment.strategies,
    "queues": deployment.queues,
    "agents": deployment.agents,
    "agent_groups": deployment.agent_groups,
    "capacity_rules": deployment.capacity_rules,
    "applications": deployment.applications,
    "application": lambda c, t: deployment.application(c, t, "DMS_1"),
    "options": lambda c, t: deployment.application_options(c, t, "DMS_1"),
    "options of a section": lambda c, t: deployment.application_options(
        c, t, "DMS_1", ["endpoints:1"]
    ),
    "options_of by prefix": lambda c, t: deployment.options_of(
        c, t, ["Applications/DMS_1", "Applications/App 1-0"], ["endpoint", "section-1"]
    ),
    "recorded_answers": lambda c, t: deployment.recorded_answers(c, t, "facebook-bp"),
    "default_capacity_rule": deployment.default_capacity_rule,
    "business_attributes": lambda c, t: deployment.business_attributes(c, t, ["Media Type"]),
    "objects": deployment.objects,
    "objects of a kind": lambda c, t: deployment.objects(c, t, "strategy"),
    "configured_object": lambda c, t: deployment.configured_object(c, t, "Applications/DMS_1"),
    "object_id": lambda c, t: deployment.object_id(c, t, "Applications/DMS_1"),
    "option_rows": lambda c, t: deployment.option_rows(c, _id(c, t, "Applications/App 1-0")),
    "history": lambda c, t: deployment.history(c, tenant="Environment", limit=500),
}
# One statement per kind present, beside the objects, references outside them and managers.
PER_KIND = {"objects": 3 + len(KINDS), "objects of a kind": 4, "configured_object": 5}


def _id(conn: Connection, tid: int, path: str) -> int:
    found = deployment.object_id(conn, tid, path)
    assert found is not None
    return found[1]


def _counts(url: str) -> dict[str, int]:
    counts = {}
    with _counting(url) as (conn, tid, seen):
        for name, query in QUERIES.items():
            seen.clear()
            query(conn, tid)
            counts[name] = len(seen)
    return counts


@pytest.fixture
def installed(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """facebook-bp and twitter-bp installed from their examples, a DMS with options, and a
    few persons, groups and rules."""
    monkeypatch.chdir(tmp_path)
    _install("facebook-bp")
    _install("twitter-bp")
    for args in (
        ("app", "create", "DMS_2", "--type", "DigitalMessagingServer"),
        (
            "app",
            "create",
            "DMS_1",
            "--type",
            "DigitalMessagingServer",
            "--host",
            "dms1",
            "--port",
            "4000",
            "--backup",
            "DMS_2",
        ),
        ("options", "set", "endpoints:1/default", "Facebook Inbound Queue", "--app", "DMS_1"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 0, result.stderr
    _grow(db_url, 1)
    return db_url


def test_statement_counts_stay_constant_as_the_tenant_grows(installed: str) -> None:
    small = _counts(installed)
    _grow(installed, 30)
    assert _counts(installed) == small
    assert all(count <= PER_KIND.get(name, 3) for name, count in small.items()), small


def test_every_query_answers_from_a_real_install(installed: str, tmp_path: Path) -> None:
    with _counting(installed) as (conn, tid, _):
        _check_packages(conn, tid, tmp_path)
        _check_routing(conn, tid)
        _check_agents(conn, tid)
        _check_applications(conn, tid)


def _check_packages(conn: Connection, tid: int, tmp_path: Path) -> None:
    found = deployment.installed_packages(conn, tid)
    only = deployment.installed_packages(conn, tid, ["twitter-bp"])
    assert sorted(found) == ["facebook-bp", "twitter-bp"]
    assert list(only) == ["twitter-bp"]
    fb = found["facebook-bp"]
    assert fb.path == "Business Processes/Facebook BP"
    assert fb.version == get_package("facebook-bp").version
    home = Path(os.environ["XDG_DATA_HOME"]) / "gsetup" / "installs" / "Environment" / "facebook-bp"
    assert Path(fb.strategy_dir) == home / "Strategies"  # the examples' default install home
    assert fb.home == str(home)
    on_disk = {p.name for p in Path(fb.strategy_dir).iterdir()}
    assert set(fb.files) == on_disk and all(len(v) == 64 for v in fb.files.values())
    assert fb.answers["capacity_rule"] == RULE
    assert fb.installed_at is not None


def _check_routing(conn: Connection, tid: int) -> None:
    strategies = deployment.strategies(conn, tid)
    fb_strategies = deployment.strategies(conn, tid, "facebook-bp")
    queues = {q.name: q for q in deployment.queues(conn, tid)}
    tw_queues = deployment.queues(conn, tid, "twitter-bp")
    assert {s.package for s in strategies} == {"facebook-bp", "twitter-bp"}
    assert fb_strategies and {s.package for s in fb_strategies} == {"facebook-bp"}
    served = {s.queue for s in fb_strategies if s.queue}
    assert "Facebook Inbound Queue" in served
    for strategy in fb_strategies:
        assert strategy.file.endswith(".yaml")
        assert strategy.active != strategy.subroutine  # subroutines are called, not activated
        if strategy.queue:
            assert queues[strategy.queue].package == "facebook-bp"
    assert queues["Facebook Inbound Queue"].business_process == "Business Processes/Facebook BP"
    assert tw_queues and {q.package for q in tw_queues} == {"twitter-bp"}


def _check_agents(conn: Connection, tid: int) -> None:
    agents = {a.name: a for a in deployment.agents(conn, tid)}
    groups = {g.name: g for g in deployment.agent_groups(conn, tid)}
    rules = {r.name: r for r in deployment.capacity_rules(conn, tid)}
    assert (agents["own 1-0"].capacity_rule, agents["own 1-0"].capacity_source) == (
        "Rule 1-0",
        "own",
    )
    assert (agents["grouped 1-0"].capacity_rule, agents["grouped 1-0"].capacity_source) == (
        "Rule 1-0",
        "group",
    )
    assert agents["grouped 1-0"].groups == ("Group 1-0",)
    # The install made the package's rule the tenant default (the guide's step 8).
    assert (agents["plain 1-0"].capacity_rule, agents["plain 1-0"].capacity_source) == (
        RULE,
        "tenant",
    )
    assert agents["plain 1-0"].skills == {"x": 0}
    assert groups["Group 1-0"].members == ("grouped 1-0",)
    assert groups["Group 1-0"].capacity_rule == "Rule 1-0"
    assert rules["Rule 1-0"].limits == {"email": 1}
    assert rules[RULE].limits.get("facebook") is not None


def _check_applications(conn: Connection, tid: int) -> None:
    dms = deployment.application(conn, tid, "DMS_1")
    missing = deployment.application(conn, tid, "nope")
    typed = deployment.applications(conn, tid, "DigitalMessagingServer")
    opts = deployment.application_options(conn, tid, "DMS_1")
    section = deployment.application_options(conn, tid, "App 1-0", ["section-3"])
    assert missing is None
    assert dms is not None
    assert (dms.app_type, dms.host, dms.port, dms.backup) == (
        "DigitalMessagingServer",
        "dms1",
        4000,
        "DMS_2",
    )
    assert {a.name for a in typed} == {"DMS_1", "DMS_2", "App 1-0"}
    assert opts[("endpoints:1", "default")].value == "Facebook Inbound Queue"
    assert opts[("endpoints:1", "default")].managers == frozenset()
    assert set(section) == {("section-3", "k")}
    by_prefix = deployment.options_of(
        conn, tid, ["Applications/DMS_1", "Applications/App 1-0"], ["endpoint", "section-1"]
    )
    assert set(by_prefix["Applications/DMS_1"]) == {("endpoints:1", "default")}
    assert {s for s, _k in by_prefix["Applications/App 1-0"]} == {
        "section-1",
        *(f"section-1{j}" for j in range(10)),
    }
    media = deployment.business_attributes(conn, tid, ["Media Type", "nope"])
    assert list(media) == ["Media Type"]
    assert {"facebook", "twitter"} <= set(media["Media Type"].values)
    assert deployment.recorded_answers(conn, tid, "twitter-bp")["capacity_rule"] == RULE
    assert deployment.recorded_answers(conn, tid, "rss-bp") == {}


def test_browsing_reads_any_object_lists_without_options(installed: str) -> None:
    with _counting(installed) as (conn, tid, _):
        everything = deployment.objects(conn, tid)
        apps = deployment.objects(conn, tid, "application")
        strategies = {o.path: o for o in deployment.objects(conn, tid, "strategy")}
        dms = deployment.configured_object(conn, tid, "Applications/DMS_1")
        tenant = deployment.configured_object(conn, tid, "")
        bp = deployment.configured_object(conn, tid, "Business Processes/Facebook BP")
        missing = deployment.configured_object(conn, tid, "Applications/nope")
        ids = deployment.object_id(conn, tid, "Applications/DMS_1")
    order = list(KINDS)
    assert [order.index(o.kind) for o in everything] == sorted(
        order.index(o.kind) for o in everything
    )
    assert all(o.options is None for o in everything)
    assert [o.path for o in apps] == [
        "Applications/App 1-0",
        "Applications/DMS_1",
        "Applications/DMS_2",
    ]
    assert {o.path for o in apps} < {o.path for o in everything}
    inbound = strategies["Strategies/Facebook Inbound Strategy"]
    # A reference outside the objects read is still a path.
    assert inbound.attrs["queue"] == "Interaction Queues/Facebook Inbound Queue"
    assert inbound.managers == ("facebook-bp",)
    assert dms is not None and dms.options is not None
    assert dms.attrs["backup"] == "Applications/DMS_2" and dms.attrs["port"] == 4000
    assert dms.managers == ()
    assert dms.options[("endpoints:1", "default")].value == "Facebook Inbound Queue"
    assert tenant is not None and tenant.kind == "tenant"
    assert tenant.attrs["default_capacity_rule"] == f"Capacity Rules/{RULE}"
    assert bp is not None and bp.options is not None
    assert bp.options[(deployment.HOME_SECTION, deployment.HOME_KEY)].value
    assert missing is None
    assert ids is not None and ids[0] == "application"


def test_option_rows_keep_the_order_options_were_added(installed: str) -> None:
    for name in ("zeta/last", "alpha/first", "zeta/again"):
        result = run_cli("options", "set", name, "v", "--app", "DMS_2")
        assert result.exit_code == 0, result.stderr
    with _counting(installed) as (conn, tid, seen):
        dms2 = _id(conn, tid, "Applications/DMS_2")
        seen.clear()
        rows = deployment.option_rows(conn, dms2)
        one = deployment.option_rows(conn, dms2, ("zeta", "again"))
        assert len(seen) == 2
    assert [(s, k) for s, k, _v, _secret in rows] == [
        ("zeta", "last"),
        ("alpha", "first"),
        ("zeta", "again"),
    ]
    assert one == [("zeta", "again", "v", False)]
    exported = run_cli("options", "export", "--app", "DMS_2").stdout
    assert exported.index("[zeta]") < exported.index("[alpha]")


def test_history_newest_first_filtered_in_one_statement(installed: str) -> None:
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    with _counting(installed) as (conn, _tid, seen):
        seen.clear()
        newest = deployment.history(conn, limit=2)
        assert len(seen) == 1
        env = deployment.history(conn, tenant="Environment", limit=1000)
        hidden = deployment.history(conn, visible=lambda tenant: tenant != "Acme", limit=1)
        none = deployment.history(conn, tenant="Nobody")
    assert [(e.tenant, e.operation) for e in newest] == [
        ("Acme", "tenant create"),
        ("Environment", "test history"),
    ]
    assert [e.id for e in env] == sorted((e.id for e in env), reverse=True)
    assert {e.tenant for e in env} == {"Environment"}
    installs = [e for e in env if e.operation == "install"]
    assert [e.package for e in installs] == ["twitter-bp", "facebook-bp"]
    assert installs[0].answers["capacity_rule"] == RULE and installs[0].changes
    assert [e.operation for e in hidden] == ["test history"]
    assert none == []


def test_accounts_are_listed_with_their_roles(db_url: str) -> None:
    engine = open_database(db_url).engine
    with engine.begin() as conn:
        before = auth.list_accounts(conn)  # the server's first admin, on PostgreSQL
        assert auth.has_accounts(conn) == bool(before)
        auth.create_account(conn, "zoe", "long-enough-1", superuser=False)
        auth.create_account(conn, "adam", "long-enough-2", superuser=True)
        auth.grant(conn, "zoe", "Environment", "operator")
    with _counting(db_url) as (conn, _tid, seen):
        seen.clear()
        found = auth.list_accounts(conn)
        assert auth.has_accounts(conn)
        assert len(seen) == 3
    assert [a for a in found if a not in before] == [
        {"name": "adam", "superuser": True, "roles": {}},
        {"name": "zoe", "superuser": False, "roles": {"Environment": "operator"}},
    ]
