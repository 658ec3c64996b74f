"""Simulate a scenario (:mod:`gsetup.runtime.scenario`) through the replay engine
(:mod:`gsetup.runtime.replay`): its arrivals are traffic lines, and its agents answer the
offers the engine makes, each action a traffic line too, at the virtual time it happens.

Every line is checked as a traffic file's line is and kept in order: written out, the lines
are a traffic file that ``gsetup route replay`` runs to the same outcome.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gsetup.runtime.replay import Progress, Replay, ReplayReport
from gsetup.runtime.scenario import REPLY_TEXT, AgentPlan, Scenario, arrivals
from gsetup.runtime.traffic import Checker

if TYPE_CHECKING:
    from gsetup.runtime.api import Runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.config import Deployment
    from gsetup.runtime.traffic import Event


@dataclass
class AgentRecord:
    """What one agent did: ``busy`` spans (virtual seconds) when it held an interaction."""

    ready_at: float
    handled: int = 0
    rejected: int = 0
    replies: int = 0
    busy: list[list[float]] = field(default_factory=list)


@dataclass
class SimulationResult:
    """The replay's report, the traffic lines that made it, when each interaction was first
    accepted, and each agent's record."""

    report: ReplayReport
    lines: list[dict[str, Any]]
    accepted_at: dict[str, float]
    agents: dict[str, AgentRecord]


class Simulation:
    """Runs ``scenario`` through ``runtime`` (on ``clock``) for ``seed``."""

    def __init__(
        self,
        runtime: Runtime,
        clock: VirtualClock,
        deployment: Deployment,
        scenario: Scenario,
        seed: int,
        progress: Progress | None = None,
    ) -> None:
        self.runtime = runtime
        self.replay = Replay(runtime, clock, progress)
        self.replay.end = scenario.duration
        self.checker = Checker(deployment)
        self.scenario = scenario
        self.seed = seed
        self.plans = {plan.name: plan for plan in scenario.agents}
        # One generator per agent: its draws do not depend on the others'.
        self.rngs = {name: random.Random(f"{seed}:agent:{name}") for name in self.plans}
        self.records = {plan.name: AgentRecord(plan.ready_at) for plan in scenario.agents}
        self.pending: list[tuple[float, int, dict[str, Any]]] = []
        self.order = 0
        self.seen: set[tuple[str, float | None]] = set()  # offers answered (or left)
        self.lines: list[dict[str, Any]] = []
        self.accepted_at: dict[str, float] = {}
        self.held: dict[tuple[str, str], float] = {}  # (agent, interaction) -> since

    def run(self) -> SimulationResult:
        """Every line at its time, agents answering offers as they come; the result."""
        for plan in self.scenario.agents:
            for action in ("login", "ready"):
                self._schedule({"at": plan.ready_at, "agent": plan.name, "action": action})
        for line in arrivals(self.scenario, self.seed):
            self._schedule(line)
        self._schedule({"at": self.scenario.duration})  # the clock runs to the end
        start = self.replay.start
        for _step in self.replay.steps():
            self.runtime.run_until_idle()
            self._answer_offers()
            if not self.pending:
                break
            at = self.pending[0][0]
            if self.replay.tick(start + at):
                continue  # a timer ran first: its offers may be answered before the line
            line = heapq.heappop(self.pending)[2]
            self.replay.move(start + at)
            self._apply(line)
        end = self.scenario.duration
        for (agent, _ref), since in self.held.items():
            self.records[agent].busy.append([since, end])
        return SimulationResult(self.replay.report(), self.lines, self.accepted_at, self.records)

    def _schedule(self, line: dict[str, Any]) -> None:
        """Keep ``line`` for its time; one past the scenario's end never happens."""
        if line["at"] > self.scenario.duration:
            return
        self.order += 1
        heapq.heappush(self.pending, (line["at"], self.order, line))

    def _apply(self, line: dict[str, Any]) -> None:
        event = self.checker.check(len(self.lines) + 1, json.dumps(line))
        self.lines.append(line)
        refused = len(self.replay.refused)
        self.replay.apply(event)
        if len(self.replay.refused) == refused and event.kind == "agent":
            self._taken(event)

    def _taken(self, event: Event) -> None:
        """An agent action the runtime took: what the agent does next."""
        agent, ref, at = event.agent, str(event.ref), event.at
        record, plan = self.records[agent], self.plans[agent]
        if event.action == "reject":
            record.rejected += 1
        elif event.action == "accept":
            record.handled += 1
            self.accepted_at.setdefault(ref, at)
            self.held[(agent, ref)] = at
            end = _later(at, plan.handle_time.draw(self.rngs[agent]))
            base = {"at": end, "agent": agent, "interaction": ref}
            if self.rngs[agent].random() < plan.reply_share:
                self._schedule(
                    {**base, "action": "reply", "text": REPLY_TEXT, "as": f"{ref}-reply"}
                )
            self._schedule({**base, "action": "done"})
        elif event.action == "reply":
            record.replies += 1
        elif event.action == "done":
            record.busy.append([self.held.pop((agent, ref)), at])

    def _answer_offers(self) -> None:
        """Each new offer to an agent of the scenario: accepted or rejected after its delay."""
        names = self.replay.names
        now = self.replay.clock.now() - self.replay.start
        for agent, plan in self.plans.items():
            for offer in self.runtime.offers(self.runtime.tenant, agent):
                key = (offer.interaction_id, offer.expires_at)
                if offer.state != "offered" or key in self.seen:
                    continue
                self.seen.add(key)
                ref = names.get(offer.interaction_id)
                if ref is not None:
                    self._schedule(_answer(plan, self.rngs[agent], ref, now))


def _answer(plan: AgentPlan, rng: random.Random, ref: str, now: float) -> dict[str, Any]:
    action = "reject" if rng.random() < plan.reject_share else "accept"
    at = _later(now, plan.accept_delay.draw(rng))
    return {"at": at, "agent": plan.name, "action": action, "interaction": ref}


def _later(now: float, seconds: float) -> float:
    """``now`` plus ``seconds`` to the millisecond, rounded up: a line written rounded down
    would be replayed before what it answers."""
    return math.ceil(round((now + seconds) * 1000, 6)) / 1000
