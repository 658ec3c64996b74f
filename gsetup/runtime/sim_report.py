"""The planner's report of a simulation (docs/simulate.md): counts by state, queue and media
type, waits and their service level, agent occupancy, outbound sends and arrivals and
completions per interval, as one JSON-ready mapping; the charts draw from the same facts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gsetup.runtime.scenario import Scenario
from gsetup.runtime.simulate import AgentRecord, SimulationResult

# The interaction states a planner reads, from the store's.
OUTCOMES = {
    "stopped": "finished",
    "agent": "in_service",
    "queued": "waiting",
    "routing": "waiting",
    "offered": "waiting",
    "error": "error",
}
OUTCOME_NAMES = ("finished", "in_service", "waiting", "error")


def planner_report(scenario: Scenario, seed: int, result: SimulationResult) -> dict[str, Any]:
    """The report of ``result``, a run of ``scenario`` with ``seed``."""
    end = scenario.duration
    inbound = [i for i in result.report.interactions if i["type"] == "Inbound"]
    by_media: dict[str, Counter[str]] = {}
    by_queue: dict[str, Counter[str]] = {}
    for itx in inbound:
        outcome = OUTCOMES[itx["state"]]
        by_media.setdefault(itx["media_type"], Counter())["arrived"] += 1
        by_media[itx["media_type"]][outcome] += 1
        by_queue.setdefault(itx["queue"] or "", Counter())[outcome] += 1
    to_offer = [
        i["first_offer_at"] - i["received_at"] for i in inbound if i["first_offer_at"] is not None
    ]
    to_accept = [
        result.accepted_at[i["ref"]] - i["received_at"]
        for i in inbound
        if i["ref"] in result.accepted_at
    ]
    return {
        "tenant": result.report.tenant,
        "scenario": str(scenario.path),
        "seed": seed,
        "duration": end,
        "interval": scenario.interval,
        "totals": _counts(Counter(OUTCOMES[i["state"]] for i in inbound), len(inbound)),
        "by_media_type": {m: _counts(c, c["arrived"]) for m, c in sorted(by_media.items())},
        "by_queue": {q: _counts(c) for q, c in sorted(by_queue.items())},
        "stop_reasons": dict(
            sorted(Counter(i["stop_reason"] for i in inbound if i["state"] == "stopped").items())
        ),
        "wait_to_offer": _spread(to_offer),
        "wait_to_accept": _spread(to_accept),
        "waits": {
            "wait_to_offer": [round(w, 3) for w in to_offer],
            "wait_to_accept": [round(w, 3) for w in to_accept],
        },
        "service_level": _service_level(inbound, scenario.service_level, end),
        "agents": {name: _agent(r, end) for name, r in sorted(result.agents.items())},
        "outbound": {
            "replies": sum(1 for i in result.report.interactions if i["type"] == "Outbound"),
            "sends": dict(sorted(Counter(o["state"] for o in result.report.outbound).items())),
        },
        "intervals": _intervals(inbound, scenario.interval, end),
        "depth": _depth(inbound, result.accepted_at, end),
        "refused": len(result.report.refused),
    }


def _counts(counter: Mapping[str, int], arrived: int | None = None) -> dict[str, int]:
    counts = {name: counter.get(name, 0) for name in OUTCOME_NAMES}
    return counts if arrived is None else {"arrived": arrived, **counts}


def _percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least ``share`` of them reach."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
    shown = {f"p{round(s * 100)}": round(_percentile(values, s), 3) for s in (0.5, 0.9, 0.99)}
    return {"count": len(values), **shown, "max": round(max(values), 3)}


def _service_level(
    inbound: Iterable[Mapping[str, Any]], threshold: float, end: float
) -> dict[str, Any]:
    """The share offered within ``threshold`` of those offered, or still waiting past it at
    the end: one still waiting within it, or ended without an offer (a question filtered,
    a merge), is not counted either way."""
    within = counted = 0
    for itx in inbound:
        if itx["first_offer_at"] is not None:
            counted += 1
            within += itx["first_offer_at"] - itx["received_at"] <= threshold
        elif OUTCOMES[itx["state"]] == "waiting" and end - itx["received_at"] > threshold:
            counted += 1
    share = round(within / counted, 4) if counted else None
    return {"threshold": threshold, "counted": counted, "within": within, "share": share}


def _agent(record: AgentRecord, end: float) -> dict[str, Any]:
    busy = _union(record.busy)
    logged_in = end - record.ready_at
    return {
        "handled": record.handled,
        "rejected": record.rejected,
        "replies": record.replies,
        "busy": round(busy, 3),
        "logged_in": round(logged_in, 3),
        "occupancy": round(busy / logged_in, 4) if logged_in > 0 else None,
    }


def _union(spans: list[list[float]]) -> float:
    """The seconds covered by ``spans``: an agent holding two at once is busy once."""
    total, reach = 0.0, -math.inf
    for start, stop in sorted(spans):
        if stop > reach:
            total += stop - max(start, reach)
            reach = stop
    return total


def _intervals(
    inbound: Sequence[Mapping[str, Any]], interval: float, end: float
) -> list[dict[str, Any]]:
    count = max(math.ceil(end / interval), 1)
    arrived, finished = [0] * count, [0] * count
    for itx in inbound:
        arrived[min(int(itx["received_at"] // interval), count - 1)] += 1
        if itx["state"] == "stopped" and itx["ended_at"] is not None:
            finished[min(int(itx["ended_at"] // interval), count - 1)] += 1
    return [
        {"start": round(n * interval, 3), "arrived": arrived[n], "finished": finished[n]}
        for n in range(count)
    ]


def _depth(
    inbound: Sequence[Mapping[str, Any]], accepted_at: Mapping[str, float], end: float
) -> list[list[float]]:
    """Interactions waiting (arrived, neither with an agent nor ended) over time, as
    ``[seconds, count]`` steps: each waits from its arrival to its first accept or its end."""
    changes: Counter[float] = Counter()
    for itx in inbound:
        stop = accepted_at.get(itx["ref"], itx["ended_at"])
        changes[itx["received_at"]] += 1
        if stop is not None:
            changes[stop] -= 1
    steps, depth = [[0.0, 0.0]], 0
    for at in sorted(changes):
        depth += changes[at]
        steps.append([at, depth])
    steps.append([end, depth])
    return steps
