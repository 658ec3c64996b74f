"""What a DMS stand-in runs with, read from the configuration database by the command layer."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("primary", "backup")
ROLE_FILE = "gsetup-dms-role"
# The secret option that guards the routes changing a member's role (/switchover, /promote).
CONTROL_SECTION = "gsetup-dms"
CONTROL_KEY = "control-token"


@dataclass(frozen=True)
class Peer:
    """The other member of the pair."""

    app: str
    host: str
    port: int
    control_token: str  # what its /promote wants; "" when it has none

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class DmsSettings:
    """One DMS application: where it listens, its pair, the runtime's intake, its drivers.

    ``role`` is the configured one (the member holding the backup link is primary); the
    role a member last had, kept in its working directory, wins over it on a restart.
    """

    app: str
    host: str
    port: int
    working_dir: Path
    role: str
    peer: Peer | None
    intake_url: str
    intake_token: str
    drivers: tuple[str, ...]
    control_token: str = ""  # this member's [gsetup-dms] control-token; "": control refused


class RoleState:
    """The member's role, kept in ``gsetup-dms-role`` so that a restart keeps it."""

    def __init__(self, working_dir: Path, configured: str) -> None:
        self.path = working_dir / ROLE_FILE
        stored = self.path.read_text().strip() if self.path.exists() else ""
        self.role = stored if stored in ROLES else configured
        self.switching = False
        self.lock = threading.Lock()

    def set(self, role: str) -> None:
        """Take ``role`` and keep it on disk."""
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(role + "\n")
        temporary.replace(self.path)
        self.role = role

    def to_json(self) -> dict[str, Any]:
        """The role part of the health document."""
        return {"role": self.role, "switching": self.switching}
