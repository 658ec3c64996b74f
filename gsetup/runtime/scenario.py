"""Traffic scenarios (docs/simulate.md): a YAML file saying how much traffic arrives on which
channels, with which texts, and how the agents taking part behave; read and checked against a
tenant's deployment before anything runs, and turned into the inbound lines of a traffic file
(:mod:`gsetup.runtime.traffic`) for a given seed.

Arrivals are a Poisson process per stream, its rate piecewise constant: unit exponential
gaps on the scale of the arrivals expected so far, each turned back into a time (time
rescaling, exact), so the work is one draw per arrival however many periods the run has.
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from itertools import accumulate
from pathlib import Path
from typing import Any, NoReturn

from gsetup.errors import BadInputError
from gsetup.fileio import ANSWERS_LIMIT, check_encodable, quote_prefix, read_text, value_kind
from gsetup.runtime.config import Deployment, capacity_for
from gsetup.runtime.traffic import MAX_AT, Checker
from gsetup.yamlerrors import read_yaml

TEXT_KINDS = ("question", "complaint", "plain")
# Texts of each kind: a question (a Facebook question post ends at the inbound strategy), a
# complaint (negative and actionable for the shipped screening and classification rules) and
# a plain remark (positive, not actionable).
TEXTS = {
    "question": (
        "Is the shop open today?",
        "How do I get a refund?",
        "When does the sale end?",
    ),
    "complaint": (
        "The app is broken and support is terrible",
        "My order arrived damaged, it is awful and nobody answers",
        "Worst service ever, I want a refund",
    ),
    "plain": (
        "Lovely photos from the opening, great job",
        "Thanks for the quick delivery",
        "Nice page, keep it up",
    ),
}
# A run keeps every arrival's lines and rows (some 10 kB each) and takes about 20 ms of CPU
# for each: 100,000 make a gigabyte and half an hour; many more never ended.
MAX_ARRIVALS = 100_000
# The report's intervals, each a row and two bars of a chart: a second's over 400 days made
# gigabytes before the report showed.
MAX_INTERVALS = 10_000
REPLY_TEXT = "Thank you for writing to us; we are on it."
# An interaction waiting in a queue is looked at again by its target every 5 virtual minutes
# (docs/traffic.md), each look a step of the run of some 2 ms: a run where many wait for
# long spends its time there (480 arrivals in a day, 240 left waiting: 42,000 steps, 80 s).
RECHECK = 300.0
STEP_SECONDS = 0.002
_TOP = {"description", "duration", "interval", "service_level", "arrivals", "agents"}
_STREAM = {"channel", "media_type", "app", "rate", "period", "texts"}
_AGENT = {"name", "ready_at", "accept_delay", "handle_time", "reject_share", "reply_share"}


@dataclass(frozen=True)
class Delay:
    """A time an agent takes: ``mean`` seconds, every time or drawn from an exponential."""

    mean: float
    exponential: bool = False

    def draw(self, rng: random.Random) -> float:
        """One time, in seconds."""
        if self.exponential:
            return rng.expovariate(1 / self.mean)
        return self.mean


@dataclass(frozen=True)
class Stream:
    """Interactions arriving on one channel: ``rates`` per hour, one a ``period`` (seconds),
    the list starting over when it runs out; ``texts`` weighs the text kinds, or ``literal``
    gives the texts."""

    channel: str
    media_type: str
    app: str
    rates: tuple[float, ...]
    period: float
    texts: Mapping[str, float]
    literal: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentPlan:
    """How an agent behaves: ready from ``ready_at``; each offer accepted (or rejected, a
    ``reject_share`` of them) after ``accept_delay``, handled for ``handle_time``, a
    ``reply_share`` of them answered with a reply."""

    name: str
    ready_at: float = 0.0
    accept_delay: Delay = Delay(5.0)
    handle_time: Delay = Delay(180.0)
    reject_share: float = 0.0
    reply_share: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """A checked scenario file."""

    path: Path
    duration: float
    interval: float
    service_level: float
    streams: tuple[Stream, ...]
    agents: tuple[AgentPlan, ...]


def read_scenario(path: Path, deployment: Deployment) -> Scenario:
    """``path`` read and checked; :class:`BadInputError` names the first bad key."""
    from ruamel.yaml import YAML

    text = read_text(path, ANSWERS_LIMIT, "scenario file")
    data = read_yaml(YAML(typ="safe", pure=True).load, text, str(path))
    return _Reader(path, deployment).scenario(data)


class _Reader:
    """Checks a scenario's keys, one message per bad key."""

    def __init__(self, path: Path, deployment: Deployment) -> None:
        self.path = path
        self.checker = Checker(deployment)

    def fail(self, key: str, allowed: str, value: Any = None, *, shown: bool = True) -> NoReturn:
        what = f", not {_shown(value)}" if shown else ""
        raise BadInputError(f"{self.path}: key {key}: {allowed}{what}")

    def empty(self, key: str, needed: str) -> NoReturn:
        """An empty list or mapping where one item at least is needed (not "not a list": it
        is one)."""
        self.fail(key, f"empty: {needed}", shown=False)

    def mapping(
        self, key: str, data: Any, keys: set[str], required: tuple[str, ...]
    ) -> dict[Any, Any]:
        if not isinstance(data, dict):
            allowed = f"a mapping of {', '.join(sorted(keys))}"
            if not key:
                raise BadInputError(
                    f"{self.path}: a scenario file is {allowed}, not {_shown(data)}"
                )
            self.fail(key, allowed, data)
        unknown = sorted((str(k) for k in set(data) - keys), key=str)
        if unknown:
            name = f"{key}.{unknown[0]}" if key else unknown[0]
            self.fail(name, f"unknown key; the keys are: {', '.join(sorted(keys))}", shown=False)
        for name in required:
            if name not in data:
                where = f"{key}.{name}" if key else name
                self.fail(where, "missing (it is required)", shown=False)
        return data

    def number(self, key: str, value: Any, low: float, high: float, *, above: bool) -> float:
        """A number from ``low`` (excluded when ``above``) to ``high``."""
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value > high
            or (value <= low if above else value < low)
        ):
            bound = f"above {_number(low)}" if above else f"from {_number(low)}"
            self.fail(key, f"a number {bound} to {_number(high)}", value)
        return float(value)

    def share(self, key: str, value: Any) -> float:
        return self.number(key, value, 0, 1, above=False)

    def delay(self, key: str, value: Any) -> Delay:
        allowed = f"seconds from 0 to {_number(MAX_AT)}, or {{exponential: MEAN}} (MEAN above 0)"
        if isinstance(value, dict):
            if set(value) != {"exponential"}:
                self.fail(key, allowed, value)
            mean = self.number(f"{key}.exponential", value["exponential"], 0, MAX_AT, above=True)
            return Delay(mean, exponential=True)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, allowed, value)
        return Delay(self.number(key, value, 0, MAX_AT, above=False))

    def scenario(self, data: Any) -> Scenario:
        data = self.mapping("", data, _TOP, ("duration", "arrivals"))
        if not isinstance(data.get("description", ""), str):
            self.fail("description", "text", data["description"])
        duration = self.number("duration", data["duration"], 0, MAX_AT, above=True)
        interval = self.number("interval", data.get("interval", 900), 0, MAX_AT, above=True)
        if duration / interval > MAX_INTERVALS:
            shortest = _number(duration / MAX_INTERVALS)
            self.fail(
                "interval",
                f"seconds from {shortest} (the duration / {MAX_INTERVALS:,}: at most "
                f"{MAX_INTERVALS:,} intervals in a report) to {_number(MAX_AT)}",
                interval,
            )
        level = self.number("service_level", data.get("service_level", 60), 0, MAX_AT, above=False)
        arrivals = data["arrivals"]
        if not isinstance(arrivals, list):
            self.fail(
                "arrivals", "a list of arrival streams (channel, media_type, rate...)", arrivals
            )
        if not arrivals:
            self.empty("arrivals", "a scenario needs one arrival stream at least")
        streams = tuple(self.stream(f"arrivals[{n}]", s, interval) for n, s in enumerate(arrivals))
        expected = sum(_Profile(s).expected(duration) for s in streams)
        if expected > MAX_ARRIVALS:
            self.fail(
                "arrivals",
                f"rates making at most {MAX_ARRIVALS:,} arrivals over the duration (rates per hour "
                f"times hours, all streams), not about {expected:,.0f}",
                shown=False,
            )
        agents = data.get("agents", [])
        if not isinstance(agents, list):
            self.fail("agents", "a list of agents (name, accept_delay, handle_time...)", agents)
        plans = tuple(self.agent(f"agents[{n}]", a, duration) for n, a in enumerate(agents))
        names = [p.name for p in plans]
        for n, name in enumerate(names):
            if name in names[:n]:
                self.fail(f"agents[{n}].name", "each agent once", name)
        return Scenario(self.path, duration, interval, level, streams, plans)

    def stream(self, key: str, data: Any, interval: float) -> Stream:
        data = self.mapping(key, data, _STREAM, ("channel", "media_type", "rate"))
        line: dict[str, Any] = {
            "at": 0,
            "inbound": {
                "media_type": data["media_type"],
                "channel": data["channel"],
                "external_id": "scenario",
            },
        }
        if "app" in data:
            line["app"] = data["app"]
        try:  # the traffic file's own check: what it refuses, a scenario refuses
            app = self.checker.check(0, json.dumps(line)).app
        except (ValueError, TypeError) as exc:
            self.fail(key, str(exc), shown=False)
        rate = data["rate"]
        if isinstance(rate, list):
            if not rate:
                self.empty(f"{key}.rate", "a list of rates per period needs one rate at least")
            rates = tuple(
                self.number(f"{key}.rate[{n}]", r, 0, 1e6, above=False) for n, r in enumerate(rate)
            )
            if not any(rates):
                self.fail(
                    f"{key}.rate",
                    "all 0: a list of rates per period needs a rate above 0 in one period at least",
                    shown=False,
                )
        elif isinstance(rate, bool) or not isinstance(rate, int | float):
            allowed = (
                "a rate per hour above 0, or a list of rates per period (0 or more, not all 0)"
            )
            self.fail(f"{key}.rate", allowed, rate)
        else:
            rates = (self.number(f"{key}.rate", rate, 0, 1e6, above=True),)
        period = self.number(f"{key}.period", data.get("period", interval), 0, MAX_AT, above=True)
        texts = data.get("texts", {"question": 1, "complaint": 1, "plain": 2})
        if isinstance(texts, list):
            if not texts:
                self.empty(f"{key}.texts", "a list of texts needs one text at least")
            for n, text in enumerate(texts):
                if not isinstance(text, str) or not text.strip():
                    self.fail(f"{key}.texts[{n}]", "a text (a string, not blank)", text)
                try:  # the traffic line's check: refused at its arrival, it stopped the run
                    check_encodable(text)
                except ValueError as exc:
                    self.fail(f"{key}.texts[{n}]", str(exc), shown=False)
            return Stream(data["channel"], data["media_type"], app, rates, period, {}, tuple(texts))
        texts = self.mapping(f"{key}.texts", texts, set(TEXT_KINDS), ())
        weights = {
            kind: self.number(f"{key}.texts.{kind}", weight, 0, 1e6, above=False)
            for kind, weight in texts.items()
        }
        if not weights:
            self.empty(f"{key}.texts", "the weights need one above 0 at least")
        if not any(weights.values()):
            self.fail(f"{key}.texts", "all 0: the weights need one above 0 at least", shown=False)
        return Stream(data["channel"], data["media_type"], app, rates, period, weights)

    def agent(self, key: str, data: Any, duration: float) -> AgentPlan:
        data = self.mapping(key, data, _AGENT, ("name",))
        try:
            self.checker.check(0, json.dumps({"at": 0, "agent": data["name"], "action": "ready"}))
        except (ValueError, TypeError) as exc:
            self.fail(f"{key}.name", str(exc), shown=False)
        ready = data.get("ready_at", 0)
        if (
            isinstance(ready, bool)
            or not isinstance(ready, int | float)
            or not 0 <= ready < duration
        ):
            self.fail(
                f"{key}.ready_at",
                f"seconds from 0 to less than the duration ({_number(duration)})",
                ready,
            )
        return AgentPlan(
            str(data["name"]),
            float(ready),
            self.delay(f"{key}.accept_delay", data.get("accept_delay", 5)),
            self.delay(f"{key}.handle_time", data.get("handle_time", 180)),
            self.share(f"{key}.reject_share", data.get("reject_share", 0)),
            self.share(f"{key}.reply_share", data.get("reply_share", 0)),
        )


@dataclass(frozen=True)
class Workload:
    """An estimate, before a run: the ``expected`` arrivals, those the agents can take
    (``served``), and the ``seconds`` of work the others make waiting to the end."""

    expected: float
    served: float
    seconds: float


def workload(scenario: Scenario, deployment: Deployment) -> Workload:
    """The arrivals spread evenly over the run; each agent taking as many at once as its
    capacity allows (of the scenario's media types, the largest), one after the other from
    its ``ready_at`` (accept delay and handle time, their means). Those beyond wait,
    rechecked: on average for half the run (their queue grows from the start to the end)."""
    expected = sum(_Profile(s).expected(scenario.duration) for s in scenario.streams)
    media = {stream.media_type for stream in scenario.streams}
    served = 0.0
    for plan in scenario.agents:
        agent = deployment.agents[plan.name]
        at_once = max(capacity_for(agent, m) for m in media)
        cycle = max(plan.accept_delay.mean + plan.handle_time.mean, 0.001)
        served += at_once * (scenario.duration - plan.ready_at) / cycle
    served = min(served, expected)
    steps = (expected - served) * scenario.duration / 2 / RECHECK
    return Workload(expected, served, steps * STEP_SECONDS)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return quote_prefix(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return _number(value)
    return value_kind(value)


def _number(value: float) -> str:
    """``value`` as a message shows it: 34,560,000, 0.5."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"


def arrivals(scenario: Scenario, seed: int) -> list[dict[str, Any]]:
    """The inbound lines of a traffic file for ``scenario`` and ``seed``, in time order,
    named ``sim-1``, ``sim-2``... Each stream draws from a generator of its own, so a
    stream added to a scenario leaves the others' arrivals as they were."""
    timed: list[tuple[float, int, Stream, tuple[str, str]]] = []
    for index, stream in enumerate(scenario.streams):
        rng = random.Random(f"{seed}:arrivals:{index}")
        for at in _times(stream, scenario.duration, rng):
            timed.append((round(at, 3), index, stream, _text(stream, rng)))
    timed.sort(key=lambda item: (item[0], item[1]))
    lines = []
    for number, (at, _index, stream, (kind, text)) in enumerate(timed, start=1):
        lines.append({"at": at, "inbound": _body(stream, number, kind, text), "app": stream.app})
    return lines


def _times(stream: Stream, duration: float, rng: random.Random) -> list[float]:
    profile = _Profile(stream)
    times: list[float] = []
    expected, total = 0.0, profile.expected(duration)
    while True:
        expected += rng.expovariate(1)
        at = profile.time(expected)
        if expected >= total or at >= duration:
            return times
        times.append(at)


class _Profile:
    """A stream's rates as arrivals expected by a time, and back: the rates of ``period``
    seconds each, starting over when they run out."""

    def __init__(self, stream: Stream) -> None:
        self.period = stream.period
        self.each = [rate / 3600 * stream.period for rate in stream.rates]
        self.starts = [0.0, *accumulate(self.each)]  # expected by each period's start
        self.cycle = self.starts[-1]

    def expected(self, at: float) -> float:
        """The arrivals expected from 0 to ``at`` seconds."""
        cycles, rest = divmod(at, self.period * len(self.each))
        index = min(int(rest // self.period), len(self.each) - 1)
        part = (rest - index * self.period) / self.period
        return cycles * self.cycle + self.starts[index] + self.each[index] * part

    def time(self, expected: float) -> float:
        """When ``expected`` arrivals are expected (the inverse of :meth:`expected`)."""
        cycles, rest = divmod(expected, self.cycle)
        # The last period starting at or before ``rest``: one with a rate above 0.
        index = min(bisect_right(self.starts, rest) - 1, len(self.each) - 1)
        into = (rest - self.starts[index]) / self.each[index] if self.each[index] else 0.0
        return (cycles * len(self.each) + index + into) * self.period


def _text(stream: Stream, rng: random.Random) -> tuple[str, str]:
    if stream.literal:
        return "literal", rng.choice(stream.literal)
    kinds = [k for k in TEXT_KINDS if stream.texts.get(k)]
    kind = rng.choices(kinds, weights=[stream.texts[k] for k in kinds])[0]
    return kind, rng.choice(TEXTS[kind])


def _body(stream: Stream, number: int, kind: str, text: str) -> dict[str, Any]:
    """A submission as the stream's media type's driver makes it: each from a sender of its
    own, so that no two are merged or grouped."""
    external = f"sim-{number}"
    sender, name = f"u-{number}", f"Sender {number}"
    data: dict[str, Any] = {"_umsChannel": stream.channel}
    media = stream.media_type
    if media.startswith("facebook"):
        data |= {"_facebookActorId": sender, "_facebookActorName": name}
    if media == "facebook":
        post_type = "question" if kind == "question" else "status"
        data |= {
            "_facebookPostId": f"p-{number}",
            "_facebookItxType": 2,
            "_facebookXML": (
                f"<post><type>{post_type}</type><message>{escape(text)}</message></post>"
            ),
        }
    elif media == "facebooksession":
        data["_facebookItxType"] = 10
    elif media.startswith("twitter"):
        data |= {
            "TwitterMsgId": str(10_000_000 + number),
            "_twitterFromUserId": sender,
            "_twitterFromAddr": f"@sender{number}",
        }
    elif media == "rss":
        data["_rssItemAuthor"] = name
    return {
        "media_type": media,
        "channel": stream.channel,
        "external_id": external,
        "text": text,
        "attached_data": data,
    }
