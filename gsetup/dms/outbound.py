"""The runtime's outbound requests, carried out once each (by their key).

Each new request is appended to ``gsetup-dms-outbound.jsonl`` with the answer it got: a
``StatusId`` and ``ComplianceId``, as the Hub answers a message it posted. A repeat of a key
(the runtime resends after a lost answer) is answered as the first time and not sent again.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from gsetup.errors import BadInputError
from gsetup.fileio import private

OUTBOUND_FILE = "gsetup-dms-outbound.jsonl"


class OutboundLog:
    """``gsetup-dms-outbound.jsonl`` in the working directory: one line per request sent."""

    def __init__(self, working_dir: Path) -> None:
        self.path = working_dir / OUTBOUND_FILE
        self._lock = threading.Lock()
        self._answers: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):
            # A line cut short by a crash while it was written: its request was not answered
            # (the answer follows the flush), so the runtime sends it again. Drop it, or the
            # next line would be appended to it.
            with self.path.open("r+b") as out:
                out.truncate(len(complete))
                os.fsync(out.fileno())
        for number, line in enumerate(complete.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                answer = record["answer"]
                if not isinstance(answer, dict):  # it is what every repeat of the key gets
                    raise TypeError(f"the answer is {type(answer).__name__}, not an object")
                self._answers[str(record["key"])] = answer
            except (ValueError, KeyError, TypeError) as exc:
                raise BadInputError(
                    f"{self.path}, line {number}: not a record of the DMS stand-in "
                    f"({type(exc).__name__}: {exc}); repair the line or move the file aside "
                    "(the runtime's repeats of those keys would then be carried out again)"
                ) from None

    def answered(self, key: str) -> dict[str, Any] | None:
        """The answer given to ``key`` before, if it was carried out."""
        with self._lock:
            return self._answers.get(key)

    def record(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer to ``request``: a new one, or the first one for a repeat of its key."""
        key = str(request["key"])
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                return answer
            token = secrets.token_hex(8)
            answer = {"StatusId": f"status-{token}", "ComplianceId": f"compliance-{token}"}
            line = {"key": key, "request": request, "answer": answer}
            with open(self.path, "a", encoding="utf-8", opener=private) as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            self._answers[key] = answer
        return answer
