"""Whether a process is alive, told apart from a later process that reuses its pid."""

from __future__ import annotations

import os
from pathlib import Path

from gsetup.plan.lock import process_alive


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None: no such live process).

    A zombie counts as gone. Without /proc, only whether the pid exists is known ("?").
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "?" if process_alive(pid) else None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def read_pid_file(path: Path) -> int | None:
    """The pid ``path`` records if that very process is still alive, else None."""
    try:
        pid_text, _, started = path.read_text().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    now = start_time(pid)
    return pid if now is not None and now == started.strip() else None


def write_pid_file(path: Path, pid: int) -> None:
    """Record ``pid`` and its start time (written aside, then renamed into place)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"{pid} {start_time(pid) or '?'}\n")
    os.replace(temporary, path)
