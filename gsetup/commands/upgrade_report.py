"""What a rolling driver upgrade is asked, reports as it goes, and reports at the end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gsetup.drivers.specs import Driver

if TYPE_CHECKING:
    from gsetup.commands.drivers import DriverResult
    from gsetup.commands.upgrade_members import MemberState

DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class UpgradeRequest:
    """What ``gsetup driver upgrade`` was asked to do."""

    driver: Driver
    tenant: str
    dms: str
    package: Path | None
    history: Mapping[str, Any] = field(default_factory=dict)
    single: bool = False
    switch_back: bool = False
    rollback: bool = False
    force: bool = False
    dry_run: bool = False
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class StepReport:
    """One step: what, on which DMS, how it went."""

    action: str  # stop, install, start, switchover, switch-back, restore
    dms: str
    outcome: str  # planned, running, done, done before, failed
    detail: str = ""
    seconds: float = 0.0
    number: int = 0
    total: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "step": self.number,
            "action": self.action,
            "dms": self.dms,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class UpgradeReport:
    """The whole upgrade (or rollback): the pair before, each step, the plans, the result.

    ``result``: planned (dry run), upgraded, rolled back (a member failed and got its old
    version back), restored (``--rollback``), failed (stopped half-way: run it again or
    ``--rollback``).
    """

    driver: Driver
    tenant: str
    from_version: str
    to_version: str
    result: str = "planned"
    before: list[MemberState] = field(default_factory=list)
    after: list[MemberState] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)
    plans: list[DriverResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resumed: bool = False  # a half-done upgrade's journal was found
    next_step: str = ""  # after a failure: how to go on

    def refusal(self) -> str:
        """Why the run refuses: the ``problems``, for the run's error and the dry run's."""
        action = "resume" if self.resumed else "start"
        return f"the upgrade cannot {action} (nothing was changed): " + "; ".join(self.problems)

    @property
    def ok(self) -> bool:
        """Whether the command did what it was asked."""
        return self.result in ("planned", "upgraded", "restored")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data for ``--json`` (no secrets: plans mask them)."""
        return {
            "driver": self.driver,
            "tenant": self.tenant,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "result": self.result,
            "problems": self.problems,
            "before": [m.to_json() for m in self.before],
            "after": [m.to_json() for m in self.after],
            "steps": [s.to_json() for s in self.steps],
            "plans": [p.to_json() for p in self.plans],
            "next_step": self.next_step,
        }


class UpgradeProgress(Protocol):
    """Where the upgrade reports as it goes (the CLI shows it with rich)."""

    def step(self, report: StepReport) -> None:
        """A step starts (outcome "running") or ends."""

    def notice(self, text: str) -> None:
        """Anything else worth saying now (waiting for the tenant lock...)."""
