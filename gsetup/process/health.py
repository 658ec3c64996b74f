"""Health probes: a Digital Messaging Server's health document, or a TCP connect."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from gsetup.httpclient import tls
from gsetup.process.config import ProcessConfig

DMS_TYPE = "DigitalMessagingServer"
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Health:
    """A probe's answer: ``healthy`` is None when the application has nothing to probe."""

    healthy: bool | None
    document: dict[str, Any] | None = None
    detail: str = ""


def probe(config: ProcessConfig) -> Health:
    """Ask the application how it is: DMS ``GET /health``, others a TCP connect to host:port."""
    if not config.host or not config.port:
        return Health(None, detail="no host and port to probe")
    if config.app_type == DMS_TYPE:
        return _dms_health(config.host, config.port)
    try:
        with socket.create_connection((config.host, config.port), timeout=PROBE_TIMEOUT):
            return Health(True, detail=f"accepts connections on {config.host}:{config.port}")
    except OSError as exc:
        return Health(False, detail=f"{config.host}:{config.port}: {exc.strerror or exc}")


def port_taken(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port`` (a process there already)."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def _dms_health(host: str, port: int) -> Health:
    import httpx

    try:
        answer = httpx.get(f"http://{host}:{port}/health", timeout=PROBE_TIMEOUT, verify=tls())
        document = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Health(False, detail=f"{host}:{port}/health: {exc or type(exc).__name__}")
    if not isinstance(document, dict):
        return Health(False, detail=f"{host}:{port}/health: not a health document")
    healthy = document.get("healthy") is True
    return Health(healthy, document, "" if healthy else str(document.get("problems", "")))
