"""A driver's files in a DMS working directory, changed only once the database has committed.

The files go to ``<working dir>/media-channel-drivers/channel-<driver>`` (the guide's
"...SMServer/media-channel-drivers/channel-facebook"). Installing is one plan with the DMS
options, so the order is:

1. :func:`plan_files` compares the package (checksums only, nothing written) with the disk
   and with the record of the installed driver, and refuses a destination that is taken by a
   file gsetup did not write, before anything is written;
2. :func:`stage` installs the package into a hidden directory inside the working directory
   (same file system, so moving files in later is a rename);
3. the database transaction runs; if it fails, :func:`discard` removes the staging directory
   and the working directory is as it was;
4. after the commit, :func:`finish` deletes the old version's files and renames the staged
   ones into place. Should that fail (a full disk, a permission changed meanwhile), the
   database already records the new files: running the same command again plans the missing
   files as "create" and finishes the job.

The record (an :class:`InstallRecord`) is relative to the working directory, so it also lists
the ``media-channel-drivers`` directories it created: uninstalling removes exactly those.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
from gsetup.errors import BadInputError, GsetupError

DRIVERS_DIR = "media-channel-drivers"
_STAGE_PREFIX = ".gsetup-driver-stage-"

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


def stage(plan: FilePlan, package: Path) -> Path | None:
    """Install the package into a hidden staging directory; None when nothing is written."""
    if not plan.writes:
        return None
    assert plan.record is not None
    staging = Path(tempfile.mkdtemp(prefix=_STAGE_PREFIX, dir=plan.working_dir))
    try:
        prefix = driver_directory(plan.record.driver)
        staged = install_package(package, staging / prefix)
        found = {f"{prefix}/{f.path}": f.sha256 for f in staged.files}
        if found != {f.path: f.sha256 for f in plan.record.files}:
            raise BadInputError(f"{package}: the package changed while it was being installed")
    except BaseException:
        discard(staging)
        raise
    return staging


def discard(staging: Path | None) -> None:
    """Remove a staging directory (the database change failed or was not made)."""
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)


def finish(plan: FilePlan, staging: Path | None) -> None:
    """After the commit: delete replaced files, move the staged ones in, drop empty old dirs."""
    try:
        for step in plan.steps:
            if step.action == "delete":
                (plan.working_dir / step.path).unlink(missing_ok=True)
        for step in plan.steps:
            if step.action in ("create", "update"):
                assert staging is not None
                destination = plan.working_dir / step.path
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / step.path, destination)
        kept = set(plan.record.directories) if plan.record else set()
        for directory in reversed(plan.old.directories if plan.old else ()):
            path = plan.working_dir / directory
            if directory not in kept and path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    except OSError as exc:
        raise GsetupError(
            f"{plan.working_dir}: the database change is committed but placing the driver's "
            f"files failed ({exc}); fix the cause and run the same command again to finish"
        ) from exc
    finally:
        # A re-run stages afresh, so a half-used staging directory is never worth keeping.
        discard(staging)
