"""A real ``gsetup route run`` subprocess on 127.0.0.1 for tests, and a client for it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gsetup.httpclient import tls

START_TIMEOUT = 120.0  # loading strategies on a busy 2-core machine
STOP_TIMEOUT = 60.0


@dataclass
class RouteProcess:
    """A serving runtime: its base URL and process."""

    url: str
    process: subprocess.Popen[str]
    log: Path  # its standard error

    def errors(self) -> str:
        """What it wrote to standard error."""
        return self.log.read_text(encoding="utf-8")

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """One request with an optional bearer token (JSON ``body`` or raw ``content``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(
            method,
            self.url + path,
            headers=headers,
            json=body if content is None else None,
            content=content,
            timeout=60,
            verify=tls(),
        )

    def stop(self) -> int:
        """SIGTERM, and the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_TIMEOUT)


def _first_line(process: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=START_TIMEOUT)
    except queue.Empty:
        raise AssertionError("gsetup route run did not start in time") from None


@contextmanager
def route_run(env: Mapping[str, str], *args: str, cwd: Path) -> Iterator[RouteProcess]:
    """Start ``gsetup route run --listen 127.0.0.1:0 ARGS``; SIGTERM (then SIGKILL) on exit."""
    log = cwd / "route-run.stderr"
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gsetup", "route", "run", "--listen", "127.0.0.1:0", *args],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        line = _first_line(process)
        if not line:
            process.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(f"route run failed: {log.read_text(encoding='utf-8')}")
        served = RouteProcess(line.rsplit(" at ", 1)[1].strip(), process, log)
        _wait_healthy(served)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        assert process.stdout is not None
        process.stdout.close()


def _wait_healthy(served: RouteProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if served.request("GET", "/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the runtime never answered /healthz")


def wait_for(condition: Any, what: str, timeout: float = 60.0) -> Any:
    """Poll ``condition()`` until it returns something true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
