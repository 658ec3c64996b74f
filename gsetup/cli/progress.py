"""Progress of long work: a rich progress bar on a terminal, plain numbered lines when piped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Advance = Callable[[str], None]


@contextmanager
def steps(total: int, what: str, *, plain: TextIO | None = None) -> Iterator[Advance]:
    """Yield ``advance(label)``, called as each of ``total`` steps starts.

    On a terminal (standard error) a progress bar shows ``what`` and the current step; piped,
    each step is one ``[i/total] label`` line on ``plain`` (standard output by default), so
    logs stay readable.
    """
    if not sys.stderr.isatty():
        out = plain or sys.stdout
        count = 0

        def line(label: str) -> None:
            nonlocal count
            count += 1
            print(f"[{count}/{total}] {label}", file=out, flush=True)

        yield line
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(escape(what), total=total)

        def advance(label: str) -> None:
            done = bar.tasks[0].completed
            bar.update(task, completed=done + 1, description=escape(f"{what}: {label}"))

        yield advance


@contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner naming ``what`` on a terminal (standard error) while one long step runs;
    nothing when piped. It stops before anything asks or prints a plan."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.markup import escape

    with Console(stderr=True).status(escape(what)):
        yield
