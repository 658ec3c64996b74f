"""Workspace Desktop Edition and the Social Media plug-in ("Social Media Plugin for
Workspace Desktop Edition"): the contact history's media filters."""

from __future__ import annotations

from collections.abc import Iterator

from gsetup.checks.findings import Finding, command
from gsetup.configure.snapshot import Snapshot, has_stages
from gsetup.configure.workspace import (
    FAMILIES,
    MEDIA_FILTERS,
    QUEUE_STAGES,
    WORKSPACE,
    merge_media_filters,
)
from gsetup.deployment import ConfiguredApplication
from gsetup.packages.catalogue import catalogue


def family_bps(snap: Snapshot) -> dict[str, list[str]]:
    """Per family, the installed BPs whose queues the plug-in's queue options name."""
    installed = snap.installed()
    return {
        family: sorted(
            p.name
            for p in catalogue()
            if p.family == family and p.name in installed and has_stages(p, QUEUE_STAGES)
        )
        for family in FAMILIES
    }


def workspace_fix(snap: Snapshot, wde: ConfiguredApplication, *extra: str) -> str:
    """``gsetup configure workspace`` for ``wde``; with several BPs of a family installed,
    it must be told which one."""
    choose = [
        word
        for family, names in family_bps(snap).items()
        if len(names) > 1
        for word in (f"--{family}-bp", names[0])
    ]
    return command(snap, "configure", "workspace", "--workspace", wde.name, *choose, *extra)


def media_filters(snap: Snapshot) -> Iterator[Finding]:
    """With a Facebook or Twitter BP installed, each WDE's contact history lists every
    social media type (guide, "Media Filters in WDE", Important)."""
    if not any(family_bps(snap).values()):
        return
    for wde in snap.apps(WORKSPACE):
        option = wde.options.get(MEDIA_FILTERS)
        current = option.value if option is not None else None
        if current is not None and merge_media_filters(current) == current:
            continue
        have = f"is {current!r}" if current is not None else "is not set"
        yield Finding(
            "media-filters",
            "warning",
            f"{wde.name} [{MEDIA_FILTERS[0]}] {MEDIA_FILTERS[1]} {have}: agents cannot "
            "filter the contact history by every Facebook and Twitter media type",
            workspace_fix(snap, wde),
        )
