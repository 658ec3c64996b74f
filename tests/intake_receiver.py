"""A stand-in for the routing runtime's intake: a real process on 127.0.0.1 that records what
it is sent, once per (channel, external id), as the runtime's intake will.

Usage: python -m tests.intake_receiver RECORD_FILE TOKEN [PORT]
Prints its port on stdout, then serves ``POST /interactions`` (201 new, 200 already had it,
401 wrong token, 422 for an external id starting with ``refuse-``) and ``GET /received``
(the recorded interactions) until SIGTERM.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main(record: Path, token: str, port: int = 0) -> None:
    """Serve until killed."""
    lock = threading.Lock()
    seen: set[tuple[str, str]] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._answer(401, {"error": "bad token"})
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body["external_id"].startswith("refuse-"):  # as the runtime refuses for good
                self._answer(422, {"error": f"{body['channel']}: no such channel section"})
                return
            key = (body["channel"], body["external_id"])
            with lock:
                new = key not in seen
                if new:
                    seen.add(key)
                    with record.open("a", encoding="utf-8") as out:
                        out.write(json.dumps(body) + "\n")
            self._answer(201 if new else 200, {"duplicate": not new})

        def do_GET(self) -> None:
            lines = record.read_text().splitlines() if record.exists() else []
            self._answer(200, {"received": [json.loads(line) for line in lines]})

        def _answer(self, status: int, data: object) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
