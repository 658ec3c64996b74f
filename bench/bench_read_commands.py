"""Benchmark of the read commands against ``python -c "import sqlalchemy"``, side by side.

Run by hand: ``.venv/bin/python -m bench.bench_read_commands [--tenants 1000] [--repeat 7]``.
In one run, each read command (``list``, ``tenant list``, ``object show`` of one object,
``history --limit 20``, ``app show``) is timed as a subprocess on an empty embedded database
and on one populated by :func:`bench.bench_foundation.populate` (``--tenants`` tenants of 500
objects and 5,000 options each). The figure is CPU time (user + system of the child, median),
which contention on a shared machine disturbs less than wall time, as a ratio against the
baseline; the baseline and the command on each database run in turns, so that a change of
load hits all three alike. Goals (issue 11): every command <= 1.5x the baseline, and flat
within 20% between the empty and the populated database.

Both sides run with their bytecode compiled, as after ``pip install .`` (pip compiles the
package): gsetup's modules are compiled first, and PYTHONDONTWRITEBYTECODE is not passed on,
since recompiling gsetup's sources on every run would be measured instead of the command.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import gsetup
from bench.bench_foundation import RESULTS, gsetup_argv, populate

COMMANDS: dict[str, list[str]] = {
    "list": ["list"],
    "tenant list": ["tenant", "list"],
    "object show": ["object", "show", "Environment/Applications/Bench_DMS"],
    "history --limit 20": ["history", "--limit", "20"],
    "app show": ["app", "show", "Bench_DMS"],
}


def child_env(**extra: str) -> dict[str, str]:
    """This environment for a child, with bytecode caching on."""
    env = {**os.environ, **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cpu_seconds(runs: dict[str, tuple[list[str], dict[str, str]]], repeat: int) -> dict[str, float]:
    """The median CPU time (user + system) of each child process of ``runs``, run in turns
    (one of each, ``repeat`` times) so that a change of the machine's load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, (argv, env) in runs.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            times[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {name: statistics.median(found) for name, found in times.items()}


def prepare(url: str, tenants: int) -> None:
    """``tenants`` tenants of bulk, then the same small deployment in Environment."""
    if tenants:
        populate(url, tenants)
    env = child_env(GSETUP_DB=url)
    gsetup = gsetup_argv()
    for args in (
        ["app", "create", "Bench_DMS", "--type", "DigitalMessagingServer"],
        ["options", "set", "channel-facebook/reconnection-timeout", "30", "--app", "Bench_DMS"],
    ):
        subprocess.run([*gsetup, *args], stdout=subprocess.DEVNULL, env=env, check=True)


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    big = RESULTS / f"read-{args.tenants}.db"
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.db"
        prepare(f"sqlite:///{empty}", 0)
        if not big.exists():
            prepare(f"sqlite:///{big}", args.tenants)
        compileall.compile_dir(Path(gsetup.__file__).parent, quiet=1)
        baseline = [sys.executable, "-c", "import sqlalchemy"]
        print(f"{'command':<20} {'baseline':>9} {'empty':>15} {args.tenants:>6} tenants  growth")
        for name, command in COMMANDS.items():
            found = cpu_seconds(
                {
                    "baseline": (baseline, child_env()),
                    "empty": (
                        [*gsetup_argv(), *command],
                        child_env(GSETUP_DB=f"sqlite:///{empty}"),
                    ),
                    "big": ([*gsetup_argv(), *command], child_env(GSETUP_DB=f"sqlite:///{big}")),
                },
                args.repeat,
            )
            base, small, large = found["baseline"], found["empty"], found["big"]
            print(
                f"{name:<20} {base * 1000:>6.0f} ms {small * 1000:>5.0f} ms ({small / base:.2f}x) "
                f"{large * 1000:>5.0f} ms ({large / base:.2f}x)  {large / small - 1:+.0%}"
            )


if __name__ == "__main__":
    main()
