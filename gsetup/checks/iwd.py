"""The iWD packages hand interactions to Standard Genesys to iWD Adapter Queue, which they
create (an install by an older gsetup did not)."""

from __future__ import annotations

from collections.abc import Iterator

from gsetup.checks.findings import Finding, command
from gsetup.configure.snapshot import Snapshot
from gsetup.packages.catalogue import catalogue
from gsetup.packages.stages import IWD_ADAPTER


def iwd_adapter_queue(snap: Snapshot) -> Iterator[Finding]:
    """With an iWD package installed, the adapter's entry queue exists."""
    installed = [p.name for p in catalogue() if IWD_ADAPTER in p.shared_queues]
    installed = [name for name in installed if name in snap.installed()]
    if not installed or IWD_ADAPTER.name in snap.queues:
        return
    yield Finding(
        "iwd-adapter-queue",
        "error",
        f"{', '.join(installed)} route(s) to {IWD_ADAPTER.name!r}, which is not in the tenant: "
        "interactions handed to iWD are never routed",
        command(snap, "install", installed[0]),
    )
