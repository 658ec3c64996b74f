"""Several worker processes on one store: throughput and submission-to-offer latency.

Each worker is a real process (spawned, so it shares no connection with this one) running
the engine's turns for the tenant, as ``gsetup route run`` does, and playing the automatic
agents assigned to it (agent ``i`` belongs to worker ``i % workers``). This process submits
the interactions (as fast as it can, or at ``rate`` per second in 10 ms ticks) and notes when
each submission started; a worker notes when its agent first sees each offer. Workers sleep
as ``gsetup route run``'s do (a 50 ms poll, woken by the other processes' notifications:
``gsetup.runtime.wakeups``), and a worker's agents look at their offers after each of its
turns and whenever an offer to one of them is notified, as desks waiting on
``GET /agents/offers?wait=`` do. Latency is the difference: intake, the notification, claim,
the strategy path up to the target, the commit and the offer's notification.
"""

from __future__ import annotations

import cProfile
import multiprocessing
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import bench_runtime as b

POLL = 0.05  # seconds a worker with nothing to do waits, as in ``gsetup route run``
DESK_RECHECK = 1.0  # seconds between two looks of an agent told of no offer (http.py's)


@dataclass
class Outcome:
    """One multi-worker run."""

    count: int
    wall: float
    worker_cpu: list[float]
    submitter_cpu: float
    latencies: list[float]  # seconds, one per interaction


def _worker(
    url: str,
    strategies: str,
    index: int,
    workers: int,
    stop: Any,
    out: Any,
    ready: Any,
    profile: str | None,
) -> None:
    # CPU time, not wall clock: what the worker spends, not its waits for the server
    profiler = cProfile.Profile(time.process_time) if profile else None
    runtime = b.open_runtime(
        b.TENANT,
        store_url=url,
        deployment=b.deployment(Path(strategies)),
        worker_id=f"bench-{index}",
    )
    names = sorted(runtime.engine.ctx.deployment.agents)
    mine = frozenset(name for n, name in enumerate(names) if n % workers == index)
    seen: dict[str, float] = {}
    # Woken as gsetup route run's worker is (another process's work, by notification), and
    # as desks waiting for offers are: an offer to one of its agents, made anywhere. The
    # agents look at their offers when told of one, and all of them every DESK_RECHECK.
    told: set[str] = set()
    lock = threading.Lock()

    def offered(agents: frozenset[str] | None) -> None:
        with lock:
            told.update(mine if agents is None else agents & mine)
        runtime.work.set()

    runtime.listen()
    runtime.watch_offers(offered)
    ready.wait(timeout=300)  # every worker up before the first submission
    cpu, recheck_at = time.process_time(), time.monotonic() + DESK_RECHECK
    if profiler:
        profiler.enable()
    while not stop.is_set():
        runtime.work.clear()
        runtime.run_turn()
        if time.monotonic() >= recheck_at:
            offered(None)
            recheck_at = time.monotonic() + DESK_RECHECK
        with lock:
            looking = sorted(told)
            told.clear()
        handled = b.serve_agents(runtime, looking, seen)
        if not handled and not runtime.engine.more_due:
            runtime.work.wait(POLL)
    if profiler:
        profiler.disable()
        profiler.dump_stats(f"{profile}.{index}")
    runtime.close()
    out.put((time.process_time() - cpu, seen))


def run_workers(
    url: str, strategies: Path, count: int, workers: int, rate: float, profile: str | None = None
) -> Outcome:
    """Start ``workers`` processes, submit ``count`` interactions (at ``rate``/s; 0: at
    once, 100 per transaction), wait until all are stopped; the workers' figures. With
    ``profile`` (a path prefix), worker ``i`` writes its cProfile stats to ``PROFILE.i``."""
    context = multiprocessing.get_context("spawn")
    stop, out, ready = context.Event(), context.Queue(), context.Barrier(workers + 1)
    runtime = b.open_runtime(b.TENANT, store_url=url, deployment=b.deployment(strategies))
    b.log_in_agents(runtime)
    procs = [
        context.Process(
            target=_worker,
            args=(url, str(strategies), i, workers, stop, out, ready, profile),
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        ready.wait(timeout=300)
        started, cpu = time.perf_counter(), time.process_time()
        submitted_at = _submit(runtime, count, rate)
        submitter_cpu = time.process_time() - cpu
        _wait_stopped(runtime, count, procs)
        wall = time.perf_counter() - started
        stop.set()
        results = [out.get(timeout=120) for _ in procs]
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
        runtime.close()
    seen = {k: v for _, s in results for k, v in s.items()}
    latencies = [seen[i] - t for i, t in submitted_at.items() if i in seen]
    return Outcome(count, wall, [c for c, _ in results], submitter_cpu, latencies)


def _submit(runtime: b.Runtime, count: int, rate: float) -> dict[str, float]:
    """Submit; interaction id -> when its submission started (wall clock)."""
    submitted_at: dict[str, float] = {}
    start, n = time.perf_counter(), 0
    while n < count:
        due = count if rate <= 0 else min(count, int((time.perf_counter() - start) * rate) + 1)
        due = min(due, n + b.BATCH)
        if due > n:
            now = time.time()
            bodies = [b.body(k) for k in range(n, due)]
            for accepted in runtime.submit_many(b.TENANT, b.DMS, bodies):
                submitted_at[accepted.interaction_id] = now
            n = due
        if rate > 0:
            time.sleep(0.01)
    return submitted_at


def _wait_stopped(
    runtime: b.Runtime, count: int, procs: list[Any], timeout: float = 3600.0
) -> None:
    from sqlalchemy import func, select

    table = runtime.store.table
    query = select(func.count()).where(table.c.tenant == b.TENANT, table.c.state == "stopped")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(not proc.is_alive() for proc in procs):
            raise SystemExit("a worker process ended before the run finished")
        with runtime.store.engine.connect() as conn:
            if conn.execute(query).scalar() == count:
                return
        time.sleep(0.1)
    raise SystemExit(f"not all {count} interactions stopped within {timeout:.0f} s")


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]
