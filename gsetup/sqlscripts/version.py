"""The installed gsetup version, recorded with each applied script."""

from __future__ import annotations

from importlib import metadata


def gsetup_version() -> str:
    """gsetup's version, or ``unknown`` when running from a tree that is not installed."""
    try:
        return metadata.version("gsetup")
    except metadata.PackageNotFoundError:
        return "unknown"
