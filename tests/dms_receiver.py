"""A small DMS stand-in that receives the runtime's outbound requests (tests only).

Usage: python -m tests.dms_receiver LOG_FILE [FAIL_FIRST]

Listens on 127.0.0.1 on a free port and prints it. Each POST /outbound is answered with a
StatusId and ComplianceId; a repeat of an Idempotency-Key already received gets the same
answer and is not delivered again. Every delivered request is appended to LOG_FILE as one
JSON line (flushed and fsynced), every POST received to LOG_FILE.posts. The first FAIL_FIRST
POSTs of each key are answered 503, to exercise retries.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_answers: dict[str, dict[str, Any]] = {}
_failures: dict[str, int] = {}


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class Handler(BaseHTTPRequestHandler):
    """POST /outbound."""

    log_file: Path
    fail_first: int = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        key = self.headers.get("Idempotency-Key", "")
        with _lock:
            _append(Path(f"{self.log_file}.posts"), {"key": key})
            if _failures.get(key, 0) < self.fail_first:
                _failures[key] = _failures.get(key, 0) + 1
                self._answer(503, {"error": "try again"})
                return
            answer = _answers.get(key)
            if answer is None:
                n = len(_answers) + 1
                answer = {"StatusId": f"status-{n}", "ComplianceId": f"compliance-{n}"}
                _answers[key] = answer
                _append(self.log_file, {"key": key, "body": body, "answer": answer})
        self._answer(200, answer)

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def main() -> None:
    """Serve until killed."""
    Handler.log_file = Path(sys.argv[1])
    Handler.fail_first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
