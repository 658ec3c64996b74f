"""The read side (gsetup.deployment) against rows made by real installs, on SQLite and
PostgreSQL: what each query returns, and that its statement count stays the same as the
tenant grows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from gsetup import deployment
from gsetup.configdb.database import open_database
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
}


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
    assert all(count <= 3 for count in small.values()), small


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
    assert Path(fb.strategy_dir) == tmp_path / "gsetup-work" / "facebook-bp" / "Strategies"
    assert fb.home == str(tmp_path / "gsetup-work" / "facebook-bp")
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
