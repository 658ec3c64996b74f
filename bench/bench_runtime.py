"""Benchmark the routing runtime's engine against a raw replay of the statements it issued.

Run by hand: ``.venv/bin/python -m bench.bench_runtime [--count N] [--profile]``;
``--workers N (--start-pg | --store URL) [--rate R]`` runs N worker processes on PostgreSQL
(throughput, and submission-to-offer latency at R submissions/s offered; see
bench/runtime_workers.py); ``--rss-every N`` prints the RSS every N interactions (memory);
``--engine-only`` runs the engine alone, to count its instructions with valgrind's callgrind
(docs/performance.md: a figure that does not drift with the machine's speed).

The Facebook BP's shipped strategies (rendered from the package templates) run in-process on
a fresh store: N interactions are submitted 100 per transaction, each goes through the full
path (inbound, buffer, classify-screen, calculation, agent delivery with its contact
subroutine and UCS record) to automatic agents that accept and finish what they are offered
at once (one transaction for an agent's accepts, one for its dones); the Stop
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
        sql.LISTENERS.append(self._record)

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(
            _c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool
        ) -> None:
            # the replay's own transactions begin so; a read's deferred BEGIN too
            if statement not in ("BEGIN IMMEDIATE", "BEGIN"):
                self.current.append((statement, params, many))

        @event.listens_for(engine, "commit")
        def _commit(_conn: Any) -> None:
            self.transactions.append(self.current)
            self.current = []

    def detach(self) -> None:
        """Stop recording the statements :func:`sql.run` sends (the engine's events go with
        its runtime)."""
        from gsetup.runtime import sql

        sql.LISTENERS.remove(self._record)

    def _record(self, text: str, params: Any, many: bool) -> None:
        self.current.append((text, params, many))


def log_in_agents(runtime: Runtime) -> None:
    """Every automatic agent logged in and ready."""
    for agent in runtime.engine.ctx.deployment.agents:
        runtime.agent_login(TENANT, agent)
        runtime.agent_ready(TENANT, agent)


def serve_agents(runtime: Runtime, agents: list[str], seen: dict[str, float] | None) -> int:
    """Each automatic agent takes everything offered to it and finishes it at once: one
    transaction for its accepts, one for its dones. Every agent looks at its offers first, as
    agents' desktops poll side by side, so ``seen`` (when each offer was first seen, wall
    clock) does not wait for the other agents' transactions. Returns how many interactions
    the agents handled."""
    looked = [(agent, runtime.offers(TENANT, agent)) for agent in agents]
    if seen is not None:
        now = time.time()
        seen.update(
            (o.interaction_id, now)
            for _agent, held in looked
            for o in held
            if o.state == "offered" and o.interaction_id not in seen
        )
    handled = 0
    for agent, held in looked:
        if not held:
            continue
        offered = [o.interaction_id for o in held if o.state == "offered"]
        if offered:
            runtime.accept_many(TENANT, agent, offered)
        runtime.done_many(TENANT, agent, [o.interaction_id for o in held])
        handled += len(held)
    return handled


def rss_mib() -> float:
    """The process's resident memory now."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def run_engine(
    runtime: Runtime, count: int, rss_every: int = 0, first: int = 0
) -> tuple[float, float, list[tuple[int, float]]]:
    """Submit, route and finish ``count`` interactions (numbered from ``first``); (wall, CPU)
    seconds taken and, every ``rss_every`` submitted interactions, the RSS."""
    agents = list(runtime.engine.ctx.deployment.agents)
    log_in_agents(runtime)
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    submitted, curve = 0, []
    while True:
        if submitted < count:
            runtime.submit_many(
                TENANT,
                DMS,
                [body(first + n) for n in range(submitted, min(count, submitted + BATCH))],
            )
            submitted = min(count, submitted + BATCH)
            if rss_every and submitted % rss_every == 0:
                curve.append((submitted, rss_mib()))
                used = time.process_time() - cpu
                print(
                    f"submitted {submitted:>9,}: RSS {curve[-1][1]:6.1f} MiB, "
                    f"CPU {used:,.0f} s ({submitted / used:,.0f}/s so far)",
                    flush=True,
                )
        ran = runtime.run_turn()
        handled = serve_agents(runtime, agents, None)
        if submitted == count and not ran and not handled:
            break
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    stopped = runtime.status(TENANT).states.get("stopped", 0) - first
    if stopped != count:
        raise SystemExit(f"only {stopped} of {count} interactions finished")
    return wall, cpu, curve


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


def replay_sqlite3(path: Path, transactions: list[list[tuple[str, Any, bool]]]) -> float:
    """The same statements through the sqlite3 module alone (no SQLAlchemy), with the store's
    settings: what SQLite itself takes, the ceiling of any engine issuing them. CPU seconds."""
    import sqlite3

    from gsetup.runtime.store import open_store

    open_store(f"sqlite:///{path}").dispose()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    gc.collect()
    cpu = time.process_time()
    for statements in transactions:
        conn.execute("BEGIN IMMEDIATE")
        for statement, params, many in statements:
            if many:
                conn.executemany(statement, list(params))
            else:
                conn.execute(statement, params).fetchall()
        conn.execute("COMMIT")
    cpu = time.process_time() - cpu
    conn.close()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="profile order: cumulative, tottime")
    parser.add_argument("--store", help="a store URL for --workers (an empty database)")
    parser.add_argument(
        "--start-pg", action="store_true", help="--workers on a throwaway local PostgreSQL"
    )
    parser.add_argument(
        "--pg-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="--start-pg: a server setting (repeatable), e.g. synchronous_commit=off to diagnose",
    )
    parser.add_argument("--workers", type=int, default=0, help="worker processes on --store")
    parser.add_argument("--rate", type=float, default=0, help="--workers: submissions/s offered")
    parser.add_argument(
        "--rss-every", type=int, default=0, help="no replay; print the RSS every N interactions"
    )
    parser.add_argument(
        "--engine-only", action="store_true", help="no recording, no replay: the engine alone"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "strategies").mkdir()
        if args.workers:
            _bench_workers(args, root / "strategies")
        elif args.rss_every:
            _bench_memory(args.count, args.rss_every, root)
        elif args.engine_only:
            _bench_engine(args.count, root)
        else:
            _bench_replay(args, root)


def _bench_replay(args: argparse.Namespace, root: Path) -> None:
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
    engine_wall, engine_cpu, _ = run_engine(runtime, args.count)
    if profiler:
        profiler.disable()
    runtime.close()
    raw_wall, raw_cpu = replay(f"sqlite:///{root / 'replay.db'}", recorder.transactions)
    sqlite_cpu = replay_sqlite3(root / "sqlite3.db", recorder.transactions)
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
    print(
        f"the same statements through sqlite3 alone: CPU {sqlite_cpu:.2f} s "
        f"({n / sqlite_cpu:,.0f}/s, the ceiling of any engine issuing them)"
    )
    print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)


def _bench_engine(count: int, root: Path) -> None:
    runtime = open_runtime(
        TENANT,
        store_url=f"sqlite:///{root / 'engine.db'}",
        deployment=deployment(root / "strategies"),
    )
    wall, cpu, _ = run_engine(runtime, count)
    runtime.close()
    rates = f"wall {wall:.2f} s ({count / wall:,.0f}/s), CPU {cpu:.2f} s ({count / cpu:,.0f}/s)"
    print(f"engine: {rates}")


def _bench_memory(count: int, every: int, root: Path) -> None:
    runtime = open_runtime(
        TENANT,
        store_url=f"sqlite:///{root / 'engine.db'}",
        deployment=deployment(root / "strategies"),
    )
    wall, cpu, curve = run_engine(runtime, count, every)
    finished = rss_mib()
    runtime.close()
    print(f"interactions: {count}, wall {wall:.0f} s, CPU {cpu:.0f} s ({count / cpu:,.0f}/s)")
    with open("/proc/self/status", encoding="ascii") as status:
        high = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    print(f"RSS once all finished: {finished:.1f} MiB; highest over the run: {high:.1f} MiB")
    base = curve[0][1]
    for done, rss in curve:
        print(f"after {done:>9,}: RSS {rss:6.1f} MiB ({(rss / base - 1) * 100:+.1f}%)")


def _bench_workers(args: argparse.Namespace, strategies: Path) -> None:
    from contextlib import nullcontext

    from bench.pg_server import throwaway_postgresql
    from bench.runtime_workers import percentile, run_workers

    if not args.store and not args.start_pg:
        raise SystemExit("--workers needs --store URL (an empty database) or --start-pg")
    server = throwaway_postgresql(*args.pg_setting) if args.start_pg else nullcontext(args.store)
    profile = str(strategies.parent / "worker.prof") if args.profile else None
    with server as url:
        outcome = run_workers(url, strategies, args.count, args.workers, args.rate, profile)
    n, lat = outcome.count, outcome.latencies
    offered = f"{args.rate:,.0f}/s offered" if args.rate else "submitted at once"
    print(f"interactions: {n}, workers: {args.workers}, {offered}")
    print(
        f"finished: wall {outcome.wall:.2f} s ({n / outcome.wall:,.0f}/s); CPU of each worker "
        + ", ".join(f"{c:.1f} s" for c in outcome.worker_cpu)
        + f"; of the submitter {outcome.submitter_cpu:.1f} s"
    )
    print(
        f"submission-to-offer ({len(lat)} seen): p50 {percentile(lat, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(lat, 0.99) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms"
    )
    if profile:  # the workers' turns and agents together, in CPU time
        stats = pstats.Stats(*(f"{profile}.{i}" for i in range(args.workers)))
        stats.sort_stats(args.sort).print_stats(40)


if __name__ == "__main__":
    main()
