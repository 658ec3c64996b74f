"""What a check reports: a finding, and the gsetup command line that fixes it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Literal

from gsetup.configdb.tenants import DEFAULT_TENANT
from gsetup.configure.snapshot import Snapshot

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem: the check that found it, how bad it is, what and where, and the fix."""

    check: str
    severity: Severity
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }


def command(snap: Snapshot, *words: str) -> str:
    """A gsetup command line, with --tenant unless it is the default tenant."""
    tenant = [] if snap.tenant == DEFAULT_TENANT else ["--tenant", snap.tenant]
    return shlex.join(["gsetup", *words, *tenant])
