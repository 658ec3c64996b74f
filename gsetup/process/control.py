"""Start, stop and watch one application with its adapter; wait for a state, bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gsetup.errors import BadInputError
from gsetup.process.config import ProcessConfig
from gsetup.process.health import Health, port_taken, probe

_POLL = 0.1
# A local process still alive this long after its start did not "exit at once".
START_GRACE = 0.5


class Adapter(Protocol):
    """What every process adapter does."""

    def running(self) -> tuple[bool, int | None]:
        """Whether the application runs, and its pid when known."""

    def start(self) -> None:
        """Start it (nothing when it runs already)."""

    def stop(self) -> None:
        """Stop it and return once it is down."""

    def log_tail(self, lines: int = 5) -> str:
        """Recent output, for error messages."""


@dataclass(frozen=True)
class Status:
    """An application's process state and health."""

    app: str
    adapter: str
    running: bool
    pid: int | None
    health: Health

    @property
    def healthy(self) -> bool:
        """Running and, where there is something to probe, answering as healthy."""
        return self.running and self.health.healthy is not False

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data for ``--json``."""
        return {
            "app": self.app,
            "adapter": self.adapter,
            "running": self.running,
            "pid": self.pid,
            "healthy": self.healthy,
            "health": self.health.document,
            "detail": self.health.detail,
        }


def adapter_for(config: ProcessConfig) -> Adapter:
    """The adapter the application is configured with."""
    from gsetup.process.command import CommandAdapter
    from gsetup.process.local import LocalAdapter

    return CommandAdapter(config) if config.adapter == "command" else LocalAdapter(config)


def status(config: ProcessConfig, adapter: Adapter | None = None) -> Status:
    """Whether it runs, and its health when it does."""
    running, pid = (adapter or adapter_for(config)).running()
    health = probe(config) if running else Health(False, detail="not running")
    return Status(config.app, config.adapter, running, pid, health)


def start(
    config: ProcessConfig,
    *,
    wait: bool,
    timeout: float,
    ready: Callable[[Status], bool] | None = None,
) -> Status:
    """Start the application; with ``wait``, return once ``ready`` (default: healthy)."""
    adapter = adapter_for(config)
    if config.adapter == "local" and not adapter.running()[0]:
        # The new process could not listen there, but the one that does would answer its
        # health probe: --wait would report a start that failed as healthy.
        taken = port_holder(config)
        if taken is not None:
            raise BadInputError(
                f"application {config.app!r} is not running and {taken} (nothing was started)"
            )
    adapter.start()
    if config.adapter == "local":
        _check_alive(config, adapter, START_GRACE)
    if not wait:
        return status(config, adapter)
    return wait_for(config, adapter, ready or _healthy, timeout, "become healthy")


def stop(config: ProcessConfig, *, timeout: float) -> Status:
    """Stop the application and wait until it is down."""
    adapter = adapter_for(config)
    adapter.stop()
    return wait_for(config, adapter, lambda s: not s.running, timeout, "stop")


def port_holder(config: ProcessConfig) -> str | None:
    """What stops the application from starting on its address when another process
    listens there (ask only while it is not running); None when the port is free."""
    if config.host and config.port and port_taken(config.host, config.port):
        return (
            f"another process listens on {config.host}:{config.port}, so it could not start "
            "there; stop that process first"
        )
    return None


def _healthy(now: Status) -> bool:
    return now.healthy


def wait_for(
    config: ProcessConfig,
    adapter: Adapter,
    ready: Callable[[Status], bool],
    timeout: float,
    what: str,
) -> Status:
    """Poll the status until ``ready`` says so; a local process that died is reported at once."""
    deadline = time.monotonic() + timeout
    while True:
        now = status(config, adapter)
        if ready(now):
            return now
        if config.adapter == "local" and not now.running and what != "stop":
            raise _exited(config, adapter)
        if time.monotonic() >= deadline:
            raise BadInputError(
                f"application {config.app!r} did not {what} within {timeout:g} s "
                f"({now.health.detail or 'no detail'})"
            )
        time.sleep(_POLL)


def _check_alive(config: ProcessConfig, adapter: Adapter, grace: float) -> None:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not adapter.running()[0]:
            raise _exited(config, adapter)
        time.sleep(_POLL / 2)


def _exited(config: ProcessConfig, adapter: Adapter) -> BadInputError:
    tail = adapter.log_tail()
    return BadInputError(
        f"application {config.app!r} exited right after its start"
        + (f"; its last output:\n{tail}" if tail else " (no output)")
    )
