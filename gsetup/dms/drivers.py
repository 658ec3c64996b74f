"""Load the channel drivers of a DMS working directory, as Digital Messaging Server does.

A driver is ``media-channel-drivers/channel-<driver>`` holding the ``manifest.yaml`` its
installation put there and every file it lists; a ``.jar`` must be a real jar (zip)
archive. Anything else makes the driver, and so the DMS, unhealthy.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gsetup.drivers.package import MANIFEST, parse_manifest
from gsetup.drivers.specs import DRIVERS
from gsetup.drivers.staging import DRIVERS_DIR
from gsetup.errors import BadInputError


@dataclass(frozen=True)
class LoadedDriver:
    """One driver as loaded: its version, or why it could not be loaded."""

    driver: str
    version: str | None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data for the health document."""
        return {"driver": self.driver, "version": self.version, "error": self.error or None}


def load_drivers(working_dir: Path, expected: Iterable[str]) -> list[LoadedDriver]:
    """The drivers found under ``working_dir`` and those ``expected`` (installed per the
    configuration database) that must be there."""
    base = working_dir / DRIVERS_DIR
    found = {d for d in DRIVERS if (base / f"channel-{d}").is_dir()}
    return [_load(base / f"channel-{name}", name) for name in sorted(found | set(expected))]


def _load(directory: Path, driver: str) -> LoadedDriver:
    where = f"{DRIVERS_DIR}/{directory.name}"
    manifest_path = directory / MANIFEST
    if not directory.is_dir():
        return LoadedDriver(driver, None, f"{where} is missing")
    try:
        manifest = parse_manifest(manifest_path.read_bytes(), f"{where}/{MANIFEST}")
    except FileNotFoundError:
        return LoadedDriver(driver, None, f"{where}/{MANIFEST} is missing")
    except BadInputError as exc:
        return LoadedDriver(driver, None, str(exc))
    if manifest.driver != driver:
        return LoadedDriver(driver, manifest.version, f"{where} holds the {manifest.driver} driver")
    for name in manifest.files:
        path = directory / name
        if not path.is_file():
            return LoadedDriver(driver, manifest.version, f"{where}/{name} is missing")
        if name.endswith(".jar") and not zipfile.is_zipfile(path):
            return LoadedDriver(
                driver, manifest.version, f"{where}/{name} is not a jar (zip) archive"
            )
    return LoadedDriver(driver, manifest.version)
