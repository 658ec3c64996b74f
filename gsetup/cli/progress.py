"""Progress of long work on standard error: a bar or spinner on a terminal, plain lines (or
nothing) when piped; and the rolling upgrade's step display (a spinner on the running step, a
line per finished one)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from gsetup.commands.upgrade_report import StepReport

Advance = Callable[[str, int], None]


@contextmanager
def steps(what: str, *, plain: TextIO | None = None) -> Iterator[Advance]:
    """Yield ``advance(label, total)``, called as each step of ``total`` starts.

    The work gives the total as it goes (the plan it carries out may not be the one shown
    before it started). On a terminal (standard error) a progress bar shows ``what`` and the
    current step, from the first step (none started: no bar); piped, each step is one
    ``[i/total] label`` line on ``plain`` (standard output by default), so logs stay readable.
    """
    if not sys.stderr.isatty():
        out = plain or sys.stdout
        count = 0

        def line(label: str, total: int) -> None:
            nonlocal count
            count += 1
            print(f"[{count}/{total}] {label}", file=out, flush=True)

        yield line
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    bar = Progress(*columns, console=Console(stderr=True), transient=True)
    task = bar.add_task(escape(what), total=None)

    def advance(label: str, total: int) -> None:
        bar.start()  # at the first step: work found to be nothing after all draws no bar
        done = bar.tasks[0].completed
        bar.update(task, completed=done + 1, total=total, description=escape(f"{what}: {label}"))

    try:
        yield advance
    finally:
        bar.stop()


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


@contextmanager
def measured(what: str, unit: str) -> Iterator[Callable[[float, float], None]]:
    """Yield ``update(done, total)`` for work measured in ``unit`` (a replay's virtual
    seconds): a bar naming ``what`` on a terminal (standard error), from the first update
    (a spinner may show before, such as a large rule file's), with the time it has taken
    and an estimate of the time left; nothing when piped."""
    if not sys.stderr.isatty():
        yield lambda _done, _total: None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(escape(what)),
        BarColumn(),
        TextColumn(f"{{task.completed:,.0f}}/{{task.total:,.0f}} {escape(unit)}"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
    )
    bar = Progress(*columns, console=Console(stderr=True), transient=True)
    task = bar.add_task("", total=0.0)

    def update(done: float, total: float) -> None:
        bar.start()  # a no-op once started
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        bar.stop()


def show_rule_loading() -> None:
    """A large classification rule file loading shows a spinner naming it (a terminal only)."""
    from gsetup.runtime.classify import rules

    rules.loading = lambda path, size: working(
        f"Loading the rule file {path.name} ({size / 1e6:.1f} MB)"
    )


class StepProgress:
    """Shows each step and member as it runs and how it ended (an ``UpgradeProgress``)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: Any = None

    def __enter__(self) -> StepProgress:
        # Piped, there is no spinner to show, and rich's stop would print an empty line
        # (before an error's one line, after the steps).
        if self._progress.console.is_terminal:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._progress.live.is_started:
            self._progress.stop()

    def step(self, report: StepReport) -> None:
        """A step started (spinner) or ended (a line)."""
        from rich.markup import escape

        label = f"{report.action} {report.dms}"
        if report.total:
            label = f"[{report.number}/{report.total}] {label}"
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
        if report.outcome == "running":
            self._task = self._progress.add_task(escape(label), total=None)
            return
        line = f"{label}: {report.outcome}"
        if report.seconds:
            line += f" ({report.seconds:.1f} s)"
        if report.detail:
            line += f": {report.detail}"
        self._progress.console.print(escape(line))

    def notice(self, text: str) -> None:
        """Anything else to say now."""
        from rich.markup import escape

        self._progress.console.print(escape(text))
