"""Is Interaction Server stopped? The guide requires it before the scripts run."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

from gsetup.errors import ConflictError, NeedsAnswerError

CONNECT_TIMEOUT = 1.0  # seconds; a listening server on a LAN answers far sooner


@dataclass(frozen=True)
class RegisteredServer:
    """An Interaction Server application registered in the configuration database."""

    name: str
    host: str
    port: int


def is_listening(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether a TCP connection to host:port succeeds within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def running_servers(
    servers: Iterable[tuple[str, str, int]], timeout: float = CONNECT_TIMEOUT
) -> list[RegisteredServer]:
    """The registered servers (name, host, port) that accept connections: they are running."""
    found = [RegisteredServer(name, host, port) for name, host, port in servers]
    return [server for server in found if is_listening(server.host, server.port, timeout)]


def check_stopped(servers: list[tuple[str, str, int]], *, confirmed: bool) -> None:
    """Refuse to go on while a registered Interaction Server runs.

    With none registered gsetup cannot check, so the user must confirm (``--yes``) that they
    stopped it themselves.
    """
    if not servers:
        if not confirmed:
            raise NeedsAnswerError(
                "No Interaction Server is registered in the configuration database, so gsetup "
                "cannot check that it is stopped: stop Interaction Server and DB Server (IXN), "
                "then run again with --yes."
            )
        return
    running = running_servers(servers)
    if running:
        where = ", ".join(f"{s.name} at {s.host}:{s.port}" for s in running)
        raise ConflictError(
            f"Interaction Server is running ({where}): stop it and DB Server "
            "(IXN) before applying the scripts."
        )
