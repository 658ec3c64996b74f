"""Benchmark the routing runtime's engine against a raw replay of the statements it issued.

Run by hand: ``.venv/bin/python -m bench.bench_runtime [--count N] [--store URL] [--profile]``.

The Facebook BP's shipped strategies (rendered from the package templates) run in-process on
a fresh store: N interactions are submitted 100 per transaction, each goes through the full
path (inbound, buffer, classify-screen, calculation, agent delivery with its contact
subroutine and UCS record) to automatic agents that accept and finish it at once; the Stop
strategy then closes it in UCS and ends it. The figure is interactions finished per second.

The baseline replays, with SQLAlchemy Core's ``exec_driver_sql`` on a fresh store and the
same transactions, exactly the statements the engine issued (captured with SQLAlchemy's
cursor events) for the same interactions: engine time / replay time measures the engine's own
work, not the database's, and holds across machines.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import resource
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsetup.installer.strategies import render_strategies
from gsetup.packages.catalogue import get_package
from gsetup.packages.model import Answers
from gsetup.runtime.api import Runtime, open_runtime
from gsetup.runtime.config import AgentConfig, AppConfig, BusinessProcess, Deployment

TENANT = "Environment"
DMS = "DMS_Bench"
CHANNEL = "channel-facebook"
AGENTS = 20
CAPACITY = 10
BATCH = 100
GOAL = 2000.0


def deployment(directory: Path) -> Deployment:
    """The Facebook BP's strategies in ``directory``, a DMS routing to its inbound queue and
    ``AGENTS`` automatic agents."""
    package = get_package("facebook-bp")
    files = render_strategies(package, Answers(TENANT, False, str(directory)))
    for name, content in files.items():
        (directory / name).write_text(content, encoding="utf-8")
    queues = tuple(q.name for q in package.queues)
    bp = BusinessProcess(
        "Facebook BP", package.name, directory, tuple(sorted(directory / n for n in files)), queues
    )
    dms = AppConfig(
        DMS,
        "DigitalMessagingServer",
        "127.0.0.1",
        9,
        {
            CHANNEL: {"inbound-route": "1:facebook"},
            "endpoints:1": {"facebook": package.stage_queue("Inbound")},
        },
    )
    agents = {
        f"agent{n}": AgentConfig(f"agent{n}", {}, {"facebook": CAPACITY}) for n in range(AGENTS)
    }
    return Deployment(TENANT, 1, (bp,), agents, {DMS: dms}, queues, ("facebook",))


def body(n: int) -> dict[str, Any]:
    """A post with two comments."""
    xml = (
        f"<post><comment><id>{n}-1</id><author>a</author><text>love it</text></comment>"
        f"<comment><id>{n}-2</id><author>b</author><text>broken, please fix</text></comment></post>"
    )
    return {
        "media_type": "facebook",
        "channel": CHANNEL,
        "external_id": f"post-{n}",
        "text": "Great product but my order is late, please help",
        "attached_data": {
            "_facebookPostId": f"p{n}",
            "_facebookActorId": f"u{n % 500}",
            "_facebookActorName": f"User {n % 500}",
            "_umsChannel": CHANNEL,
            "FacebookItxType": 2,
            "_facebookXML": xml,
        },
    }


@dataclass
class Recorder:
    """Statements and transactions the engine issued, in order."""

    transactions: list[list[tuple[str, Any, bool]]] = field(default_factory=list)
    current: list[tuple[str, Any, bool]] = field(default_factory=list)

    def attach(self, runtime: Runtime) -> None:
        from sqlalchemy import event

        from gsetup.runtime import sql

        engine = runtime.store.engine
        sql.LISTENERS.append(lambda text, params, many: self.current.append((text, params, many)))

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(
            _c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool
        ) -> None:
            if statement != "BEGIN IMMEDIATE":  # the replay's own transactions begin so too
                self.current.append((statement, params, many))

        @event.listens_for(engine, "commit")
        def _commit(_conn: Any) -> None:
            self.transactions.append(self.current)
            self.current = []


def run_engine(runtime: Runtime, count: int) -> tuple[float, float]:
    """Submit, route and finish ``count`` interactions; (wall, CPU) seconds taken."""
    agents = list(runtime.engine.ctx.deployment.agents)
    for agent in agents:
        runtime.agent_login(TENANT, agent)
        runtime.agent_ready(TENANT, agent)
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    submitted = 0
    while True:
        if submitted < count:
            runtime.submit_many(
                TENANT, DMS, [body(n) for n in range(submitted, min(count, submitted + BATCH))]
            )
            submitted = min(count, submitted + BATCH)
        ran = runtime.run_turn()
        handled = 0
        for agent in agents:
            for offer in runtime.offers(TENANT, agent):
                if offer.state == "offered":
                    runtime.accept(TENANT, agent, offer.interaction_id)
                runtime.done(TENANT, agent, offer.interaction_id)
                handled += 1
        if submitted == count and not ran and not handled:
            break
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    stopped = runtime.status(TENANT).states.get("stopped", 0)
    if stopped != count:
        raise SystemExit(f"only {stopped} of {count} interactions finished")
    return elapsed


def replay(url: str, transactions: list[list[tuple[str, Any, bool]]]) -> tuple[float, float]:
    """Run the recorded statements with the same commits; (wall, CPU) seconds taken."""
    from gsetup.runtime.store import open_store

    store = open_store(url)
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    with store.engine.connect() as conn:
        for statements in transactions:
            with conn.begin():
                for statement, params, many in statements:
                    if many:
                        conn.exec_driver_sql(statement, list(params))
                    else:
                        conn.exec_driver_sql(statement, params)
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    store.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="profile order: cumulative, tottime")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "strategies").mkdir()
        runtime = open_runtime(
            TENANT,
            store_url=f"sqlite:///{root / 'engine.db'}",
            deployment=deployment(root / "strategies"),
        )
        recorder = Recorder()
        recorder.attach(runtime)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        engine_wall, engine_cpu = run_engine(runtime, args.count)
        if profiler:
            profiler.disable()
        runtime.close()
        raw_wall, raw_cpu = replay(f"sqlite:///{root / 'replay.db'}", recorder.transactions)
    n = args.count
    statements = sum(len(t) for t in recorder.transactions)
    print(
        f"interactions: {n}, transactions: {len(recorder.transactions)}, statements: {statements}"
    )
    print(
        f"engine: wall {engine_wall:.2f} s ({n / engine_wall:,.0f}/s), CPU {engine_cpu:.2f} s "
        f"({n / engine_cpu:,.0f}/s; goal >= {GOAL:,.0f}/s: "
        f"{'met' if n / engine_cpu >= GOAL else 'NOT met'})"
    )
    print(
        f"replay: wall {raw_wall:.2f} s ({n / raw_wall:,.0f}/s), "
        f"CPU {raw_cpu:.2f} s ({n / raw_cpu:,.0f}/s)"
    )
    print(f"ratio engine/replay: wall {engine_wall / raw_wall:.2f}, CPU {engine_cpu / raw_cpu:.2f}")
    print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)


if __name__ == "__main__":
    main()
