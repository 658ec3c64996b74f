"""``gsetup route simulate`` on an installed Business Process: a scenario's traffic run
through the real engine, its report checked against the store's rows, its saved traffic
replayed, its report directory, and bad scenarios refused."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gsetup.runtime.sim_report import OUTCOME_NAMES
from tests.helpers import run_cli
from tests.runtime_support import install_facebook_bp, stop_mid_run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCENARIO = EXAMPLES / "scenarios" / "facebook-bp.yaml"


@pytest.fixture
def installed(db_url: str, tmp_path: Path) -> Path:
    """facebook-bp installed in Environment, a DMS routing channel-facebook to it and the
    agents ann and bob (the example scenario's)."""
    install_facebook_bp(db_url, tmp_path, ("ann", "bob"))
    return tmp_path


# Busier than two agents of capacity 5 can take: at the end some interactions are still
# waiting, some held, some finished (done, or filtered as questions); bob rejects a share.
BUSY = """\
duration: 1800
interval: 600
service_level: 30
arrivals:
  - channel: channel-facebook
    media_type: facebook
    rate: [40, 80]
    period: 900
    texts: {question: 1, complaint: 2, plain: 2}
agents:
  - name: ann
    handle_time: {exponential: 900}
    reply_share: 0.5
  - name: bob
    ready_at: 600
    accept_delay: {exponential: 8}
    handle_time: {exponential: 600}
    reject_share: 0.5
"""
OUTCOME = {"stopped": "finished", "agent": "in_service", "error": "error"}


def _store_rows(url: str) -> tuple[list[dict[str, object]], Counter[str], Counter[str]]:
    """The store's interactions, its outbound requests per state and its accepted offers per
    agent."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.pool import NullPool

    from gsetup.runtime.schema import interactions, offers, outbox

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(interactions))]
            sends = Counter(r.state for r in conn.execute(select(outbox.c.state)))
            accepted = Counter(
                r.agent
                for r in conn.execute(select(offers.c.agent).where(offers.c.outcome == "accepted"))
            )
    finally:
        engine.dispose()
    return rows, sends, accepted


@pytest.fixture
def replay_store(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty store on ``store_url``'s backend."""
    from tests.conftest import _admin_exec, _new_database

    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'replay.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name, url = _new_database(server)
    yield url
    _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_report_agrees_with_the_store_and_its_traffic_replays_alike(
    installed: Path, tmp_path: Path, store_url: str, replay_store: str
) -> None:
    scenario, traffic, folder = tmp_path / "busy.yaml", tmp_path / "made.jsonl", tmp_path / "out"
    scenario.write_text(BUSY)
    shown = run_cli(
        "route", "simulate", str(scenario), "--store", store_url, "--report", str(folder),
        "--save-traffic", str(traffic),
    )  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    assert "Simulation of Environment: 1800 virtual seconds, seed 1" in shown.stdout
    assert shown.stderr == ""  # piped: no progress bar
    report = json.loads((folder / "report.json").read_text())
    busy = next(iter(report["agents"].values()))["busy"]
    assert f"{busy:,.1f}" in shown.stdout  # seconds to a tenth in the text, not 2928.41
    assert not re.search(r"\d\.\d\d", shown.stdout)

    rows, sends, accepted = _store_rows(store_url)
    inbound = [r for r in rows if r["type"] == "Inbound"]
    outcomes = Counter(OUTCOME.get(str(r["state"]), "waiting") for r in inbound)
    assert report["totals"] == {"arrived": len(inbound), **{k: outcomes[k] for k in OUTCOME_NAMES}}
    # The scenario is busy enough to leave every kind of outcome but errors.
    assert all(outcomes[k] > 0 for k in ("finished", "in_service", "waiting")), outcomes
    per_queue = Counter((r["queue"], OUTCOME.get(str(r["state"]), "waiting")) for r in inbound)
    assert {
        (queue, outcome): n
        for queue, counts in report["by_queue"].items()
        for outcome, n in counts.items()
        if n
    } == dict(per_queue)
    assert report["by_media_type"] == {"facebook": report["totals"]}
    assert report["stop_reasons"] == dict(
        Counter(r["stop_reason"] for r in inbound if r["state"] == "stopped")
    )
    assert {"done", "question"} <= set(report["stop_reasons"])
    # Each kind of text is what docs/simulate.md says the shipped rules make of it.
    from gsetup.runtime.scenario import TEXTS

    screened = [(r["text"], json.loads(str(r["attached_data"]))) for r in inbound]
    judged = {(t, d.get("ScreenSentiment"), d.get("ScreenActionability")) for t, d in screened}
    judged -= {(t, None, None) for t in TEXTS["question"]}  # ended before screening
    assert judged == {(t, "negative", "actionable") for t in TEXTS["complaint"]} | {
        (t, "positive", "nonactionable") for t in TEXTS["plain"]
    }
    assert report["outbound"] == {
        "replies": sum(1 for r in rows if r["type"] == "Outbound"),
        "sends": dict(sends),
    }
    assert report["outbound"]["sends"]["sent"] > 0
    agents = report["agents"]
    assert {name: a["handled"] for name, a in agents.items()} == dict(accepted)
    assert agents["bob"]["rejected"] > 0 and agents["bob"]["logged_in"] == 1200
    assert 0 < agents["ann"]["occupancy"] <= 1 and agents["ann"]["busy"] <= 1800
    assert sum(i["arrived"] for i in report["intervals"]) == len(inbound)
    assert [i["start"] for i in report["intervals"]] == [0, 600, 1200]
    # Each interaction is accepted once: a reject sends it back to routing.
    assert report["wait_to_accept"]["count"] == sum(accepted.values())
    waits = sorted(report["waits"]["wait_to_offer"])
    assert report["wait_to_offer"]["max"] == waits[-1]
    assert report["wait_to_offer"]["p50"] == waits[(len(waits) + 1) // 2 - 1]
    level = report["service_level"]
    assert level["within"] == sum(1 for w in waits if w <= 30) and level["counted"] >= len(waits)

    # The traffic it made, replayed: the same outcome for every interaction.
    replayed = run_cli("route", "replay", str(traffic), "--json", "--store", replay_store)
    assert replayed.exit_code == 0, replayed.stderr
    assert replayed.json()["refused"] == []
    refs = {r["id"]: r["external_id"] for r in inbound}
    again = replayed.json()["interactions"]
    assert Counter((i["ref"], i["state"], i["stop_reason"], i["agent"]) for i in again) == Counter(
        (r["external_id"] or f"{refs[r['parent_id']]}-reply", r["state"], r["stop_reason"],
         r["assigned_to"])
        for r in rows
    )  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_seed_makes_the_same_run_and_the_report_directory_holds_its_charts(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    import pexpect
    from matplotlib.image import imread

    folder = tmp_path / "new" / "report"  # made, with its parent
    first = run_cli("route", "simulate", str(SCENARIO), "--json", "--report", str(folder))
    assert first.exit_code == 0, first.stderr
    report = first.json()
    assert report["seed"] == 1 and report["totals"]["arrived"] > 10
    assert json.loads((folder / "report.json").read_text()) == report
    assert sorted(p.name for p in folder.iterdir()) == [
        "arrivals.png", "depth.png", "report.json", "waits.png",
    ]  # fmt: skip
    for chart in ("arrivals.png", "depth.png", "waits.png"):
        data = (folder / chart).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
        assert imread(folder / chart).shape[:2] == (450, 800)

    # docs/simulate.md shows the example as it is.
    page = (EXAMPLES.parent / "docs" / "simulate.md").read_text()
    assert page.split("```yaml\n", 1)[1].split("```", 1)[0] == SCENARIO.read_text()

    # Again, each step naming the interactions offered from the names made so far, as the
    # replay did before it kept them as it went: the same run.
    from gsetup.runtime.replay import Replay

    def reverse(replay: Replay) -> dict[str, str]:
        return {v: k for k, v in replay.ids.items()}

    with monkeypatch.context() as patched:
        patched.setattr(
            Replay, "names", property(reverse, lambda _replay, _names: None), raising=False
        )
        again = run_cli("route", "simulate", str(SCENARIO), "--json", "--seed", "1")
    assert again.exit_code == 0, again.stderr
    assert again.json() == report

    # Another seed, other arrivals; on a terminal a bar follows the virtual clock (the time
    # taken, an estimate of the time left), piped nothing is added to the report.
    gsetup = str(Path(sys.executable).with_name("gsetup"))
    args = ["route", "simulate", str(SCENARIO), "--seed", "2"]
    child = pexpect.spawn(gsetup, args, encoding="utf-8", timeout=120)
    child.expect(r"Simulating.*virtual seconds.*elapsed, .* left")
    child.expect("Simulation of Environment: 3600 virtual seconds, seed 2")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    piped = subprocess.run(
        [gsetup, *args, "--json"], check=False, capture_output=True, text=True, timeout=120
    )
    assert (piped.returncode, piped.stderr) == (0, "")
    other = json.loads(piped.stdout)
    assert other["seed"] == 2
    assert other["waits"] != report["waits"] and other["intervals"] != report["intervals"]


GOOD = """\
duration: 600
arrivals:
  - {channel: channel-facebook, media_type: facebook, rate: 30}
agents:
  - {name: ann}
"""
KEYS = "agents, arrivals, description, duration, interval, service_level"
BAD_SCENARIOS = [
    ("duration: [600\n", "line 2, column 1: expected ',' or ']', but got '<stream end>'"),
    ("- 1\n", f"a scenario file is a mapping of {KEYS}, not a list"),
    (GOOD + "speed: 3\n", f"key speed: unknown key; the keys are: {KEYS}"),
    (GOOD.replace("600", "soon"), "key duration: a number above 0 to 34,560,000, not 'soon'"),
    (GOOD.replace("600", "0"), "key duration: a number above 0 to 34,560,000, not 0"),
    (GOOD.replace("duration: 600\n", ""), "key duration: missing (it is required)"),
    (
        "interval: 0.01\n" + GOOD,
        "key interval: seconds from 0.06 (the duration / 10,000: at most 10,000 intervals in a "
        "report) to 34,560,000, not 0.01",
    ),
    (
        GOOD.replace("rate: 30", "rate: -5"),
        "key arrivals[0].rate: a number above 0 to 1,000,000, not -5",
    ),
    (
        GOOD.replace("rate: 30", "rate: [0, 0]"),
        "key arrivals[0].rate: all 0: a list of rates per period needs a rate above 0 in one "
        "period at least\n",
    ),
    (
        GOOD.replace("rate: 30", "rate: []"),
        "key arrivals[0].rate: empty: a list of rates per period needs one rate at least\n",
    ),
    (
        GOOD.replace("rate: 30", "rate: 30, texts: {}"),
        "key arrivals[0].texts: empty: the weights need one above 0 at least\n",
    ),
    (
        GOOD.replace("rate: 30", "rate: 30, texts: {question: 0, plain: 0}"),
        "key arrivals[0].texts: all 0: the weights need one above 0 at least\n",
    ),
    (
        GOOD.replace("- {channel", "[]\n  # - {channel"),
        "key arrivals: empty: a scenario needs one arrival stream at least\n",
    ),
    (  # a million an hour for 10 minutes: memory and hours the run cannot have
        GOOD.replace("rate: 30", "rate: 1000000"),
        "key arrivals: rates making at most 100,000 arrivals over the duration (rates per hour "
        "times hours, all streams), not about 166,667",
    ),
    (
        GOOD.replace("rate: 30", "rate: [10, -1]"),
        "key arrivals[0].rate[1]: a number from 0 to 1,000,000, not -1",
    ),
    (
        GOOD.replace("rate: 30", "rate: 30, colour: red"),
        "key arrivals[0].colour: unknown key; the keys are: app, channel,",
    ),
    (
        GOOD.replace("channel-facebook", "channel-x"),
        "key arrivals[0]: unknown channel 'channel-x' of DMS_1; its channels are: channel-facebook",
    ),
    (
        GOOD.replace("media_type: facebook", "media_type: fax"),
        "key arrivals[0]: unknown media type 'fax'; the media types are: facebook,",
    ),
    (
        GOOD.replace("rate: 30", "rate: 30, texts: {jokes: 1}"),
        "key arrivals[0].texts.jokes: unknown key; the keys are: complaint, plain, question",
    ),
    (
        GOOD.replace("rate: 30", "rate: 30, texts: []"),
        "key arrivals[0].texts: empty: a list of texts needs one text at least\n",
    ),
    (
        GOOD.replace("rate: 30", 'rate: 30, texts: [fine, " "]'),
        "key arrivals[0].texts[1]: a text (a string, not blank), not ' '\n",
    ),
    (
        GOOD.replace("rate: 30", 'rate: 30, texts: [fine, "half \\ud800 of a pair"]'),
        "key arrivals[0].texts[1]: a string holds a lone surrogate (\\ud800); text is UTF-8 "
        "characters",
    ),
    (
        GOOD.replace("{name: ann}", "{name: zed}"),
        "key agents[0].name: unknown agent 'zed'; the agents are: ann, bob",
    ),
    (
        GOOD.replace("{name: ann}", "{name: ann, reject_share: 1.5}"),
        "key agents[0].reject_share: a number from 0 to 1, not 1.5",
    ),
    (
        GOOD.replace("{name: ann}", "{name: ann, handle_time: {exponential: 0}}"),
        "key agents[0].handle_time.exponential: a number above 0 to 34,560,000, not 0",
    ),
    (
        GOOD.replace("{name: ann}", "{name: ann, accept_delay: soon}"),
        "key agents[0].accept_delay: seconds from 0 to 34,560,000, or {exponential: MEAN} "
        "(MEAN above 0), not 'soon'",
    ),
    (
        GOOD.replace("{name: ann}", "{name: ann, ready_at: 600}"),
        "key agents[0].ready_at: seconds from 0 to less than the duration (600), not 600",
    ),
    (
        GOOD.replace("{name: ann}", "{name: ann}\n  - {name: ann}"),
        "key agents[1].name: each agent once, not 'ann'",
    ),
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_scenarios_and_places_are_refused_before_anything_runs(
    installed: Path, tmp_path: Path
) -> None:
    scenario, store = tmp_path / "bad.yaml", tmp_path / "kept.db"
    traffic, folder = tmp_path / "made.jsonl", tmp_path / "report"
    outputs = (
        "--store",
        f"sqlite:///{store}",
        "--save-traffic",
        str(traffic),
        "--report",
        str(folder),
    )

    def refused(message: str, *args: str, path: Path = scenario) -> None:
        result = run_cli("route", "simulate", str(path), *args, *outputs)
        assert result.exit_code == 2, (message, result.stdout)
        assert result.stderr.startswith(f"gsetup: error: {message}"), result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert not store.exists() and not traffic.exists() and not folder.exists()

    for text, message in BAD_SCENARIOS:
        scenario.write_text(text)
        refused(f"{scenario}: {message}")
    refused(f"scenario file {tmp_path / 'none.yaml'}: no such file", path=tmp_path / "none.yaml")
    scenario.write_text(GOOD)
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    refused("tenant 'Acme' has no installed Business Process", "--tenant", "Acme")
    # Where the files would go: a report directory that is a file or under one, a traffic
    # file that is a directory or in none.
    blocker = tmp_path / "file.txt"
    blocker.write_text("in the way\n")
    for place, message in (
        (blocker, f"--report {blocker}: {blocker} is a file, not a directory"),
        (blocker / "sub", f"--report {blocker / 'sub'}: {blocker} is a file, not a directory"),
    ):
        result = run_cli("route", "simulate", str(scenario), "--report", str(place))
        assert (result.exit_code, result.stderr) == (2, f"gsetup: error: {message}\n")
    for place, message in (
        (tmp_path, f"--save-traffic {tmp_path} is a directory; give a file name"),
        (
            tmp_path / "no" / "t.jsonl",
            f"--save-traffic {tmp_path / 'no' / 't.jsonl'}: "
            f"the directory {tmp_path / 'no'} does not exist",
        ),
    ):
        result = run_cli("route", "simulate", str(scenario), "--save-traffic", str(place))
        assert (result.exit_code, result.stderr) == (2, f"gsetup: error: {message}\n")
    assert blocker.read_text() == "in the way\n" and not (tmp_path / "no").exists()
    # The scenario good, everything is written.
    result = run_cli("route", "simulate", str(scenario), *outputs)
    assert result.exit_code == 0, result.stderr
    assert store.exists() and traffic.exists() and (folder / "report.json").exists()
    # The store kept is no longer empty: a second run is refused (a simulation's wording).
    again = run_cli("route", "simulate", str(scenario), "--store", f"sqlite:///{store}")
    assert again.exit_code == 2, again.stdout
    assert again.stderr.startswith(f"gsetup: error: --store sqlite:///{store}: the store holds ")
    assert again.stderr.endswith(" interactions; a simulation needs an empty one\n")


def test_only_the_report_directory_imports_matplotlib() -> None:
    """matplotlib takes a quarter of a second to import: neither gsetup's help nor the
    simulate command's own pays for it."""
    import subprocess
    import sys

    for args in (("--help",), ("route", "simulate", "--help")):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "gsetup", *args],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        imported = {line.rpartition("|")[2].strip() for line in done.stderr.splitlines()}
        assert "gsetup" in done.stdout and "matplotlib" not in imported, args


def test_arrivals_cost_what_arrives_not_the_periods_of_the_rates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rate list of short periods over a long run: drawing the arrivals takes a draw per
    arrival, not one per period (400 days of 1 ms periods hung before anything ran)."""
    import random

    from gsetup.runtime.scenario import Scenario, Stream, arrivals

    draws = Counter[str]()
    draw = random.Random.expovariate

    def counted(self: random.Random, rate: float) -> float:
        draws["gaps"] += 1
        return draw(self, rate)

    monkeypatch.setattr(random.Random, "expovariate", counted)

    def run(rates: tuple[float, ...], period: float, duration: float) -> list[float]:
        stream = Stream("channel-facebook", "facebook", "DMS_1", rates, period, {"plain": 1})
        scenario = Scenario(Path("s.yaml"), duration, 900, 60, (stream,), ())
        draws.clear()
        return [line["at"] for line in arrivals(scenario, 7)]

    # 3600 an hour in the even seconds, none in the odd ones: about 1800 in an hour.
    times = run((3600, 0), 1, 3600)
    assert 1600 < len(times) < 2000 and all(t % 2 <= 1 for t in times)  # to the ms
    assert times == sorted(times) and times[-1] < 3600
    assert draws["gaps"] <= len(times) + 1
    # 100,000 periods of a tenth of a second, about 14 arrivals.
    times = run((1, 0), 0.1, 100_000)
    assert 0 < len(times) < 40 and draws["gaps"] <= len(times) + 1


# Nobody answers: every arrival waits, looked at again every 5 minutes; an hour of work.
ENDLESS = """\
duration: 86400
arrivals:
  - {channel: channel-facebook, media_type: facebook, rate: 600}
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigterm_stops_a_run_as_ctrl_c_does(installed: Path, tmp_path: Path) -> None:
    """SIGTERM mid-run: exit 143 and one line, the throw-away store removed and neither the
    report nor the traffic written (as at Ctrl-C: they are written after the run)."""
    import signal

    scenario, traffic, folder = tmp_path / "endless.yaml", tmp_path / "t.jsonl", tmp_path / "r"
    scenario.write_text(ENDLESS)
    args = [
        "route",
        "simulate",
        str(scenario),
        "--report",
        str(folder),
        "--save-traffic",
        str(traffic),
    ]
    scratch = tmp_path / "tmp"
    status, out, err = stop_mid_run(args, scratch, signal.SIGTERM)
    # Said before it starts: nobody answers 14,400 arrivals, each waiting half a day.
    warned = (
        f"gsetup: warning: {scenario}: a long run: the agents can take about 0 of the 14,400 "
        "interactions expected, the others wait and are looked at again every 5 virtual "
        "minutes: some 69 minutes of work (a shorter duration or more agents make it shorter; "
        "Ctrl-C stops it)\n"
    )
    assert (status, out, err) == (143, "", warned + "\ninterrupted: terminated (SIGTERM)\n")
    assert list(scratch.iterdir()) == []
    assert not traffic.exists() and not folder.exists()


def test_the_work_of_a_run_is_estimated_from_the_agents_capacity() -> None:
    """480 arrivals in a day, one agent taking 5 at once for 30 minutes each: some 240 left
    waiting, each looked at every 5 minutes (the run took 80 s, 42,000 steps)."""
    from gsetup.runtime.config import AgentConfig, Deployment
    from gsetup.runtime.scenario import AgentPlan, Delay, Scenario, Stream, workload

    stream = Stream("channel-facebook", "facebook", "DMS_1", (20,), 900, {"plain": 1})
    ann = AgentPlan("ann", handle_time=Delay(1795))
    scenario = Scenario(Path("s.yaml"), 86400, 900, 60, (stream,), (ann,))
    deployment = Deployment("Environment", 1, (), {"ann": AgentConfig("ann", {}, {"facebook": 5})})
    load = workload(scenario, deployment)
    assert (round(load.expected), round(load.served), round(load.seconds)) == (480, 240, 69)
    # Enough agents: no waiting work.
    team = tuple(AgentPlan(name, handle_time=Delay(1795)) for name in ("ann", "bob"))
    agents = {name: AgentConfig(name, {}, {"facebook": 5}) for name in ("ann", "bob")}
    load = workload(Scenario(Path("s.yaml"), 86400, 900, 60, (stream,), team),
                    Deployment("Environment", 1, (), agents))  # fmt: skip
    assert (round(load.served), load.seconds) == (480, 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_run_past_its_step_bound_is_an_error_not_a_report(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that reaches the bound on its timer steps (a strategy looping) stops with one
    line, exit 1, and writes no report: it did not run to its end."""
    from gsetup.runtime import replay

    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folder = tmp_path / "report"
    monkeypatch.setattr(replay, "MAX_STEPS", 3)
    simulated = run_cli("route", "simulate", str(SCENARIO), "--report", str(folder))
    monkeypatch.setattr(replay, "MAX_STEPS", 0)  # a replay's steps are counted between lines
    replayed = run_cli("route", "replay", str(EXAMPLES.parent / "tests/traffic/fb-merge.jsonl"))
    for steps, result in ((3, simulated), (0, replayed)):
        assert (result.exit_code, result.stdout) == (1, ""), result.stderr
        assert re.fullmatch(
            rf"gsetup: error: the run stopped after {steps} steps, at virtual second [0-9,]+: "
            r"does a strategy route or wait in a loop\? Nothing is reported\n",
            result.stderr,
        ), result.stderr
    assert not folder.exists()
    assert list((tmp_path / "tmp").iterdir()) == []
