"""The strategy directory: planned like the database, replaced as a whole, edits backed up.

gsetup records the SHA-256 of every file it writes in the Business Process's annex (section
``gsetup-strategy-files``). A file whose content differs from that record was changed by
someone (or was never gsetup's): the plan says so, and the old directory is kept as a backup
beside the new one instead of being removed.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gsetup.errors import BadInputError
from gsetup.plan.model import Change


def digest(text: str) -> str:
    """The checksum recorded for a file's content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class FilePlan:
    """What replacing ``directory`` with ``files`` changes."""

    directory: Path
    files: dict[str, str]
    changes: list[Change] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """Whether the directory differs from ``files``."""
        return any(c.action != "keep" for c in self.changes)


def check_directory(directory: Path, source: str = "strategy_dir") -> Path:
    """The destination must be a directory (or not exist yet) that this user can write."""
    path = directory.expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise BadInputError(f"{source}: {path} is a file, not a directory")
    parent = path if path.exists() else next(p for p in path.parents if p.exists())
    if not parent.is_dir() or not _writable(parent):
        raise BadInputError(f"{source}: {parent} is not writable")
    if path.exists() and not _writable(path.parent):
        raise BadInputError(f"{source}: {path.parent} is not writable, so {path} can't be replaced")
    return path


def _writable(directory: Path) -> bool:
    """Try it: permission bits say nothing for root or on read-only file systems."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def plan_files(directory: Path, files: Mapping[str, str], recorded: Mapping[str, str]) -> FilePlan:
    """Compare ``files`` with the directory and with what gsetup recorded writing there."""
    plan = FilePlan(directory, dict(files))
    present = _present(directory)
    for name in sorted(set(files) | set(present)):
        path = str(directory / name)
        on_disk = present.get(name)
        edited = on_disk is not None and digest(on_disk) != recorded.get(name)
        note = "changed since gsetup wrote it: kept in the backup" if edited else ""
        if edited:
            plan.edited.append(name)
        if name not in files:
            plan.changes.append(Change("delete", "file", "file", path, note=note))
        elif on_disk is None:
            plan.changes.append(Change("create", "file", "file", path))
        elif on_disk == files[name] and not edited:
            plan.changes.append(Change("keep", "file", "file", path))
        else:
            plan.changes.append(Change("update", "file", "file", path, note=note))
    return plan


def _present(directory: Path) -> dict[str, str]:
    """Files now in the directory, by relative name (unreadable ones count as edited)."""
    if not directory.is_dir():
        return {}
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            try:
                found[str(path.relative_to(directory))] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                found[str(path.relative_to(directory))] = "\0unreadable"
    return found


def stage(plan: FilePlan) -> Path:
    """Write the new directory beside the destination; :func:`swap` puts it in place."""
    plan.directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{plan.directory.name}.new-", dir=plan.directory.parent)
    )
    for name, content in plan.files.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8", newline="\n")
    return staging


def swap(plan: FilePlan, staging: Path) -> Path | None:
    """Replace the destination by ``staging``; returns the backup of edited files, if any."""
    backup = None
    if plan.directory.exists():
        if plan.edited:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            backup = plan.directory.with_name(f"{plan.directory.name}.backup-{stamp}")
            plan.directory.rename(backup)
        else:
            shutil.rmtree(plan.directory)
    staging.rename(plan.directory)
    return backup


def discard(staging: Path) -> None:
    """Remove a staging directory after a failed apply."""
    shutil.rmtree(staging, ignore_errors=True)


def remove_written(directory: Path, recorded: Mapping[str, str]) -> list[str]:
    """Uninstall: delete the files gsetup wrote and nobody changed; return those kept."""
    kept = []
    for name, content in _present(directory).items():
        if recorded.get(name) == digest(content):
            (directory / name).unlink()
        else:
            kept.append(name)
    for path in sorted(directory.rglob("*"), reverse=True) if directory.is_dir() else []:
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
    return kept
