"""Benchmark of the read commands against ``python -c "import sqlalchemy"``, side by side.

Run by hand: ``.venv/bin/python -m bench.bench_read_commands [--tenants 1000] [--repeat 7]``.
In one run, each read command (``list``, ``tenant list``, ``object show`` of one object,
``history --limit 20``, ``app show``) is timed as a subprocess on an empty embedded database
and on one populated by :func:`bench.bench_foundation.populate` (``--tenants`` tenants of 500
objects and 5,000 options each). The figure is CPU time (user + system of the child, median),
which contention on a shared machine disturbs less than wall time, as a ratio against the
baseline of the same run. Goals (issue 11): every command <= 1.5x the baseline, and flat
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


def cpu_seconds(argv: list[str], env: dict[str, str], repeat: int) -> float:
    """The median CPU time (user + system) of ``argv`` as a child process."""
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times)


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
        baseline = cpu_seconds(
            [sys.executable, "-c", "import sqlalchemy"], child_env(), args.repeat
        )
        print(f"python -c 'import sqlalchemy': {baseline * 1000:.0f} ms CPU (baseline)")
        for name, command in COMMANDS.items():
            figures = []
            for db in (empty, big):
                env = child_env(GSETUP_DB=f"sqlite:///{db}")
                figures.append(cpu_seconds([*gsetup_argv(), *command], env, args.repeat))
            small, large = figures
            print(
                f"{name}: empty {small * 1000:.0f} ms ({small / baseline:.2f}x), "
                f"{args.tenants} tenants {large * 1000:.0f} ms ({large / baseline:.2f}x), "
                f"growth {large / small - 1:+.0%}"
            )


if __name__ == "__main__":
    main()
