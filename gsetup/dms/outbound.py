"""The runtime's outbound dispatches, recorded once each (by idempotency key)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

OUTBOUND_FILE = "gsetup-dms-outbound.jsonl"


class OutboundLog:
    """``gsetup-dms-outbound.jsonl`` in the working directory: one line per message sent."""

    def __init__(self, working_dir: Path) -> None:
        self.path = working_dir / OUTBOUND_FILE
        self._lock = threading.Lock()
        self._keys: set[str] = set()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._keys.add(str(json.loads(line)["idempotency_key"]))

    def record(self, message: dict[str, Any]) -> bool:
        """Append ``message`` unless its key was recorded; returns whether it is new."""
        key = str(message["idempotency_key"])
        with self._lock:
            if key in self._keys:
                return False
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(message, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            self._keys.add(key)
        return True
