"""A driver's files in a DMS working directory, changed only once the database has committed.

The files go to ``<working dir>/media-channel-drivers/channel-<driver>`` (the guide's
"...SMServer/media-channel-drivers/channel-facebook"). Installing is one plan with the DMS
options, so the order is:

1. :func:`plan_files` compares the package (checksums only, nothing written) with the disk
   and with the record of the installed driver, and refuses a destination that is taken by a
   file gsetup did not write, before anything is written;
2. :func:`add_steps` makes them steps of the apply's pending-files record
   (:mod:`gsetup.plan.pending`): the package is extracted into a hidden directory inside the
   working directory (same file system, so moving files in later is a rename);
3. the database transaction runs; if it fails, the staging directory is removed and the
   working directory is as it was;
4. after the commit, the old version's files are deleted and the staged ones renamed into
   place, under the tenant lock. A run killed there leaves the record: the next gsetup run
   on the tenant finishes it.

The record (an :class:`InstallRecord`) is relative to the working directory, so it also lists
the ``media-channel-drivers`` directories it created: uninstalling removes exactly those.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from gsetup.drivers.package import (
    InstalledFile,
    InstallRecord,
    PackageContents,
    file_sha256,
    install_package,
)
from gsetup.drivers.specs import Driver
from gsetup.errors import BadInputError
from gsetup.plan.pending import FileSwap

DRIVERS_DIR = "media-channel-drivers"

FileAction = Literal["create", "update", "delete", "keep"]


def driver_directory(driver: Driver) -> str:
    """Where a driver's files go, relative to the DMS working directory."""
    return f"{DRIVERS_DIR}/channel-{driver}"


@dataclass(frozen=True)
class FileStep:
    """One file's part in a plan, relative to the working directory."""

    action: FileAction
    path: str
    note: str = ""


@dataclass(frozen=True)
class FilePlan:
    """What a driver's files become: the steps, and the record the database keeps afterwards."""

    working_dir: Path
    record: InstallRecord | None  # None: no driver files afterwards (uninstall)
    old: InstallRecord | None
    steps: tuple[FileStep, ...]

    @property
    def writes(self) -> bool:
        """Whether files are to be put in place (and so must be staged first)."""
        return any(step.action in ("create", "update") for step in self.steps)


def check_working_dir(working_dir: str, dms: str) -> Path:
    """The DMS working directory, which must be an existing absolute directory here."""
    if not working_dir:
        raise BadInputError(
            f"application {dms!r} has no working directory; the driver's files go to "
            f"<working directory>/{DRIVERS_DIR}: set it on the application first"
        )
    path = Path(working_dir)
    if not path.is_absolute() or not path.is_dir():
        raise BadInputError(
            f"the working directory of {dms!r}, {working_dir}, is not an existing absolute "
            "directory on this machine; install the driver where the DMS runs"
        )
    return path


def plan_files(contents: PackageContents, working_dir: Path, old: InstallRecord | None) -> FilePlan:
    """Plan installing ``contents`` over the installed driver ``old`` (None: none installed)."""
    prefix = driver_directory(contents.manifest.driver)
    new = {f"{prefix}/{name}": digest for name, digest in sorted(contents.digests.items())}
    old_files = {f.path: f.sha256 for f in old.files} if old else {}
    same = old is not None and old.version == contents.manifest.version and old_files == new
    steps = [
        _new_file_step(working_dir, path, digest, old_files, same) for path, digest in new.items()
    ]
    for path, digest in sorted(old_files.items()):
        if path not in new:
            steps.extend(_removal_step(working_dir, path, digest))
    if same:
        assert old is not None
        return FilePlan(working_dir, old, old, tuple(steps))
    directories = _directories(working_dir, new, old)
    record = InstallRecord(
        contents.manifest.driver,
        contents.manifest.version,
        str(working_dir),
        tuple(InstalledFile(path, digest) for path, digest in new.items()),
        directories,
    )
    return FilePlan(working_dir, record, old, tuple(steps))


def plan_removal(old: InstallRecord) -> FilePlan:
    """Plan removing the files ``old`` lists (uninstall)."""
    working_dir = Path(old.target)
    steps = [s for f in old.files for s in _removal_step(working_dir, f.path, f.sha256)]
    return FilePlan(working_dir, None, old, tuple(steps))


def _new_file_step(
    working_dir: Path, path: str, digest: str, old_files: dict[str, str], same: bool
) -> FileStep:
    on_disk = file_sha256(working_dir / path)
    if on_disk == digest:
        return FileStep("keep", path)
    if on_disk is None and not os.path.lexists(working_dir / path):
        return FileStep("create", path)
    if same and on_disk is not None:
        return FileStep("keep", path, "changed since installed: kept")
    if on_disk is not None and old_files.get(path) == on_disk:
        return FileStep("update", path)
    raise BadInputError(
        f"{working_dir / path}: exists and is not a file of the installed driver, or was "
        "changed since it was installed; move it away first"
    )


def _removal_step(working_dir: Path, path: str, digest: str) -> list[FileStep]:
    on_disk = file_sha256(working_dir / path)
    if on_disk == digest:
        return [FileStep("delete", path)]
    if on_disk is None and not os.path.lexists(working_dir / path):
        return []  # already gone
    return [FileStep("keep", path, "changed since installed: kept")]


def _directories(
    working_dir: Path, files: dict[str, str], old: InstallRecord | None
) -> tuple[str, ...]:
    """The directories the files need that gsetup creates (or created for ``old``)."""
    real = working_dir.resolve()
    ours = set(old.directories) if old else set()
    needed = sorted({p.as_posix() for name in files for p in PurePosixPath(name).parents[:-1]})
    created = []
    for directory in needed:
        path = working_dir / directory
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise BadInputError(f"{path}: is not a plain directory; refused")
        if path.exists() and not path.resolve().is_relative_to(real):
            raise BadInputError(f"{path}: lies behind a link out of {working_dir}; refused")
        if not path.exists() or directory in ours:
            created.append(directory)
    return tuple(created)


def add_steps(swap: FileSwap, plan: FilePlan, package: Path | None) -> None:
    """Add the plan's file steps to the apply's ``swap``: old files deleted, the package
    extracted into a hidden directory of the working directory and its files renamed into
    place after the commit, the directories left empty removed."""
    for step in plan.steps:
        if step.action == "delete":
            swap.remove_file(plan.working_dir / step.path)
    if plan.writes:
        assert plan.record is not None and package is not None
        record = plan.record
        moves = [s.path for s in plan.steps if s.action in ("create", "update")]
        swap.stage_tree(plan.working_dir, lambda staging: _extract(record, package, staging), moves)
    kept = set(plan.record.directories) if plan.record else set()
    for directory in reversed(plan.old.directories if plan.old else ()):
        if directory not in kept:
            swap.remove_directory_if_empty(plan.working_dir / directory)


def _extract(record: InstallRecord, package: Path, staging: Path) -> None:
    prefix = driver_directory(record.driver)
    staged = install_package(package, staging / prefix)
    found = {f"{prefix}/{f.path}": f.sha256 for f in staged.files}
    if found != {f.path: f.sha256 for f in record.files}:
        raise BadInputError(f"{package}: the package changed while it was being installed")
