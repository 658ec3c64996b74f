"""Shared set-up of the Business Process traffic tests: the shipped strategy files of real
packages, rendered as an install renders them, a deployment in memory (DMS channels, agents)
and a store on SQLite or PostgreSQL; traffic from tests/traffic/ replayed through the engine."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gsetup.installer.strategies import render_strategies
from gsetup.packages import get_package
from gsetup.packages.attributes import MEDIA_TYPE
from gsetup.packages.model import Answers
from gsetup.packages.stages import IWD_ADAPTER_QUEUE
from gsetup.runtime.api import Runtime, open_runtime
from gsetup.runtime.clock import VirtualClock
from gsetup.runtime.config import AgentConfig, AppConfig, BusinessProcess, Deployment
from gsetup.runtime.replay import Replay, ReplayReport
from gsetup.runtime.schema import agent_loads, contacts, outbox, ucs_interactions
from gsetup.runtime.traffic import Event, read_traffic

TRAFFIC = Path(__file__).resolve().parent / "traffic"
TENANT = "Environment"
DMS = "DMS_1"
# Channel section -> (access point, the package whose inbound queue it routes to).
CHANNELS = {
    "channel-facebook": "facebook_queue",
    "channel-facebook-2": "facebook2_queue",
    "channel-twitter": "twitter_queue",
    "channel-twitter-2": "twitter2_queue",
    "channel-rss": "rss_queue",
    "channel-rss-2": "rss2_queue",
}


def deployment(
    packages: Mapping[str, str],
    directory: Path,
    *,
    agents: Mapping[str, Mapping[str, int]],
    channel_options: Mapping[str, Mapping[str, str]] | None = None,
) -> Deployment:
    """``packages``: package name -> the channel sections routed to its inbound queue.
    ``agents``: name -> capacity per media type. Strategy files are rendered into
    ``directory``, as ``gsetup install`` renders them."""
    processes, media_types, endpoints = [], set(), {}
    options: dict[str, dict[str, str]] = {}
    for name, channels in packages.items():
        package = get_package(name)
        strategy_dir = directory / name
        strategy_dir.mkdir(parents=True)
        answers = Answers(TENANT, False, str(strategy_dir))
        for file, text in render_strategies(package, answers).items():
            (strategy_dir / file).write_text(text, encoding="utf-8")
        processes.append(
            BusinessProcess(
                package.title,
                name,
                strategy_dir,
                tuple(sorted(strategy_dir / s.file_name for s in package.strategies)),
                tuple(q.name for q in package.queues),
            )
        )
        media_types |= {v.name for v in package.values if v.attribute == MEDIA_TYPE}
        for channel in channels.split():
            access_point = CHANNELS[channel]
            endpoints[access_point] = package.stage_queue("Inbound")
            options[channel] = {"inbound-route": f"1:{access_point}"}
    for channel, extra in (channel_options or {}).items():
        options.setdefault(channel, {}).update(extra)
    options["endpoints:1"] = endpoints
    queues = {q for p in processes for q in p.queues} | {IWD_ADAPTER_QUEUE}
    return Deployment(
        TENANT,
        1,
        tuple(processes),
        {n: AgentConfig(n, {"social": 5}, dict(c)) for n, c in agents.items()},
        {DMS: AppConfig(DMS, "DigitalMessagingServer", "127.0.0.1", 9, options)},
        tuple(sorted(queues)),
        tuple(sorted(media_types)),
    )


@dataclass
class Replayed:
    """A replay: the runtime (still open), its report, and the events not yet applied."""

    runtime: Runtime
    report: ReplayReport
    replay: Replay
    rest: list[Event]

    def resume(self) -> None:
        """Apply the remaining events; the report is refreshed."""
        self.report, self.rest = self.replay.run(self.rest), []

    def itx(self, ref: str) -> dict[str, Any]:
        """The report's entry of the interaction ``ref`` (external id or ``as`` name)."""
        found = [i for i in self.report.interactions if i["ref"] == ref]
        assert len(found) == 1, (ref, [i["ref"] for i in self.report.interactions])
        return found[0]

    def row(self, ref: str) -> dict[str, Any]:
        """The interaction's row of the store, attached data parsed; column names in lower
        case (PostgreSQL folds the unquoted custom columns of the Alter scripts)."""
        table = self.runtime.store.table
        with self.runtime.store.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.id == self.itx(ref)["id"])).one()
        values = {k.lower(): v for k, v in row._mapping.items()}
        values["attached_data"] = json.loads(values["attached_data"])
        return values

    def rows(self, table: Any) -> list[dict[str, Any]]:
        """Every row of a store table (contacts, ucs_interactions, outbox, agent loads)."""
        with self.runtime.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table))]

    def contacts(self) -> dict[str, dict[str, Any]]:
        """UCS contacts by identity."""
        return {r["identity"]: json.loads(r["attributes"]) for r in self.rows(contacts)}

    def history(self) -> dict[str, dict[str, Any]]:
        """UCS interactions by id."""
        return {r["id"]: r for r in self.rows(ucs_interactions)}

    def sends(self) -> list[dict[str, Any]]:
        """Outbox rows, oldest first."""
        return sorted(self.rows(outbox), key=lambda r: (r["created_at"], r["id"]))

    def loads(self) -> dict[tuple[str, str], int]:
        """(agent, media type) -> interactions reserved or held."""
        return {(r["agent"], r["media_type"]): r["load"] for r in self.rows(agent_loads)}


@contextmanager
def replayed(
    store_url: str,
    deployment_: Deployment,
    traffic: str,
    *,
    classifier: Any = None,
    pause_after: int | None = None,
) -> Iterator[Replayed]:
    """Replay ``tests/traffic/<traffic>`` on a fresh runtime (up to line ``pause_after``:
    ``resume()`` does the rest); closed on exit."""
    clock = VirtualClock()
    runtime = open_runtime(
        TENANT, store_url=store_url, clock=clock, deployment=deployment_, classifier=classifier
    )
    try:
        events = read_traffic(TRAFFIC / traffic, deployment_)
        now = [e for e in events if pause_after is None or e.line <= pause_after]
        replay = Replay(runtime, clock)
        yield Replayed(runtime, replay.run(now), replay, events[len(now) :])
    finally:
        runtime.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh interaction store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))
