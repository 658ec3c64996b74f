"""The durable spool of accepted interactions, in the DMS working directory.

One file per interaction, named so that names sort in arrival order, written aside, flushed
to disk and renamed into place before the sender is told "accepted": what was acknowledged
survives a stop, a kill or a crash, and is forwarded in order when the runtime is reachable.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from gsetup.fileio import private, sync_directory

SPOOL_DIR = "gsetup-dms-spool"
REJECTED_DIR = "rejected"
REASON_SUFFIX = ".reason"


class Spool:
    """Accepted interactions waiting to be forwarded."""

    def __init__(self, working_dir: Path) -> None:
        self.directory = working_dir / SPOOL_DIR
        self.directory.mkdir(mode=0o700, exist_ok=True)  # message texts: the owner's only
        self._lock = threading.Lock()
        self._counter = 0

    def put(self, item: dict[str, Any]) -> str:
        """Store ``item`` durably; returns its name."""
        with self._lock:
            self._counter += 1
            name = f"{time.time_ns():020d}-{self._counter:06d}.json"
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "w", encoding="utf-8", opener=private) as out:
            json.dump(item, out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.directory / name)
        sync_directory(self.directory)
        return name

    def pending(self) -> list[Path]:
        """The spooled interactions, oldest first."""
        return sorted(self.directory.glob("[0-9]*.json"))

    def done(self, path: Path) -> None:
        """Forget a forwarded interaction."""
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str) -> None:
        """Set aside an interaction the runtime refused for good (kept for people to look at),
        with why beside it."""
        rejected = self.directory / REJECTED_DIR
        rejected.mkdir(mode=0o700, exist_ok=True)
        with open(rejected / f"{path.stem}{REASON_SUFFIX}", "w", opener=private) as out:
            out.write(reason + "\n")
        os.replace(path, rejected / path.name)

    def rejections(self) -> tuple[int, str]:
        """How many interactions were set aside, and why the last one was ("" when none)."""
        rejected = self.directory / REJECTED_DIR
        count = len(list(rejected.glob("[0-9]*.json")))
        reasons = sorted(rejected.glob(f"[0-9]*{REASON_SUFFIX}"))
        return count, reasons[-1].read_text().strip() if reasons else ""
