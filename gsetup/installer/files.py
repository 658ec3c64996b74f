"""The strategy directory: planned like the database, replaced as a whole, edits backed up.

The replacement itself is a step of the apply's :class:`~gsetup.plan.pending.FileSwap`:
staged before the database commit, put in place by renames after it, under the lock.

gsetup records the SHA-256 of every file it writes in the Business Process's annex (section
``gsetup-strategy-files``). A file whose content differs from that record was changed by
someone (or was never gsetup's): the plan says so, and the old directory is kept as a backup
beside the new one instead of being removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from gsetup.errors import BadInputError
from gsetup.fileio import writable
from gsetup.plan.model import Change
from gsetup.plan.pending import FileSwap


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


# What a package does with a directory of its own: places files in it (an install home) or
# replaces it as a whole (a strategy directory); "" for any other destination.
Own = Literal["", "placed", "replaced"]


def check_directory(directory: Path, source: str = "strategy_dir", *, own: Own = "") -> Path:
    """The destination must be a directory (or not exist yet) that this user can write; with
    ``own``, one the package may have (:func:`_check_own`)."""
    try:
        path = directory.expanduser().resolve()
        path.exists()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop, before Python 3.13
        raise BadInputError(
            f"{source}: {directory} cannot be resolved (a symbolic link loop?)"
        ) from None
    if path.exists() and not path.is_dir():
        raise BadInputError(f"{source}: {path} is a file, not a directory")
    if own:
        _check_own(path, source, own)
    parent = path if path.exists() else next(p for p in path.parents if p.exists())
    if not parent.is_dir():  # a file where a directory of the path would be made
        raise BadInputError(f"{source}: {parent} is a file, not a directory")
    if not writable(parent):
        raise BadInputError(f"{source}: {parent} is not writable")
    if path.exists() and not writable(path.parent):
        raise BadInputError(f"{source}: {path.parent} is not writable, so {path} can't be replaced")
    return path


def _check_own(path: Path, source: str, own: Own) -> None:
    """Refuse the filesystem root and the user's home directory, which hold everything else:
    a package's files do not belong at their top; and for a directory ``replaced`` as a whole,
    one holding the home too (the replacement would take the home with it)."""
    if path == Path(path.anchor):
        raise BadInputError(f"{source}: {path} is the filesystem root; give a directory of its own")
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError, OSError):  # no home directory to protect
        return
    if path == home:
        raise BadInputError(
            f"{source}: {path} is the home directory; give a directory of its own in it"
        )
    if own == "replaced" and home.is_relative_to(path):
        raise BadInputError(
            f"{source}: {path} holds the home directory {home}; give a directory of its own"
        )


def plan_files(
    directory: Path,
    files: Mapping[str, str],
    recorded: Mapping[str, str],
    *,
    uninstall: bool = False,
) -> FilePlan:
    """Compare ``files`` with the directory and with what gsetup recorded writing there.

    A replaced directory keeps edited files in its backup; an ``uninstall`` makes no backup
    and leaves them where they are (:func:`add_removal`).
    """
    plan = FilePlan(directory, dict(files))
    present = _present(directory)
    for name in sorted(set(files) | set(present)):
        path = str(directory / name)
        on_disk = present.get(name)
        edited = on_disk is not None and digest(on_disk) != recorded.get(name)
        note = "changed since gsetup wrote it: kept in the backup" if edited else ""
        if edited:
            plan.edited.append(name)
        if name not in files and edited and uninstall:
            note = "changed since gsetup wrote it: left in place"
            plan.changes.append(Change("keep", "file", "file", path, note=note))
        elif name not in files:
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


def add_replacement(swap: FileSwap, plan: FilePlan) -> Path | None:
    """Add replacing the directory to ``swap`` when it differs; returns the backup, if any.

    Unchanged files are carried over as they are (hard links); edited ones make the old
    directory a backup beside the new one instead of being removed.
    """
    if not plan.pending:
        return None
    keep = {
        str(Path(c.path).relative_to(plan.directory)) for c in plan.changes if c.action == "keep"
    }
    backup = None
    if plan.edited:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        backup = plan.directory.with_name(f"{plan.directory.name}.backup-{stamp}")
    swap.replace_directory(
        plan.directory,
        {name: text for name, text in plan.files.items() if name not in keep},
        unchanged=keep,
        backup=backup,
    )
    return backup


def add_removal(swap: FileSwap, directory: Path, recorded: Mapping[str, str]) -> list[str]:
    """Uninstall: remove the files gsetup wrote and nobody changed; return those kept."""
    kept = []
    for name, content in _present(directory).items():
        if recorded.get(name) == digest(content):
            swap.remove_file(directory / name)
        else:
            kept.append(name)
    swap.prune(directory)
    return kept
