"""Step progress for long operations (the rolling upgrade): a spinner on the running step and
one line per finished step, on stderr. Kept apart so one shared display can replace it."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gsetup.commands.upgrade_report import StepReport


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
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
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
