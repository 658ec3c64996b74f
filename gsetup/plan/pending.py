"""An apply's files, all-or-nothing with its database transaction (the pending-files record).

An apply that writes files (strategy directories, SQL scripts) describes them as steps of a
:class:`FileSwap`. Under the tenant lock:

1. the steps are recorded as a ``pending_files`` row in state "staged" (committed at once);
2. the new content is written beside each destination under temporary names, fsync'ed;
3. the row turns "committed" in the apply's own transaction;
4. after the commit, renames put everything in place (a directory by one atomic exchange
   where the system has it, else old aside then new in), the old content is removed last;
5. the row is deleted.

A run that dies before 3 leaves a "staged" row: the next run under the lock removes what was
staged, and the directories staging created (each step lists those missing when it was
planned, ``made``): the database never changed. A run that dies after 3 leaves a "committed"
row: the next run finishes the renames. Every step can be repeated, so a death while resolving is
resolved the same way.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup import fileio

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

STAGED = "staged"
COMMITTED = "committed"


@dataclass
class FileSwap:
    """The file steps of one apply, in the order they are put in place."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    record_id: int | None = None
    # What to stage, by temporary name: a file's text, or a directory's (files, unchanged).
    content: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.steps)

    def replace_directory(
        self,
        directory: Path,
        files: Mapping[str, str],
        *,
        unchanged: Iterable[str] = (),
        backup: Path | None = None,
    ) -> None:
        """Replace ``directory`` by one holding ``files`` (``unchanged`` ones are hard-linked).

        The old directory is removed last, or renamed to ``backup`` and kept.
        """
        new = str(fileio.temp_name(directory, "new"))
        self.content[new] = (dict(files), sorted(unchanged))
        self.steps.append(
            {
                "step": "directory",
                "path": str(directory),
                "new": new,
                "aside": str(backup or fileio.temp_name(directory, "old")),
                "keep_aside": backup is not None,
                "inode": None,
                "made": _made(directory.parent),
            }
        )

    def write_file(self, path: Path, text: str) -> None:
        """Put ``text`` at ``path``, unless it holds that already."""
        if not fileio.same_content(path, text):
            new = str(fileio.temp_name(path))
            self.content[new] = text
            self.steps.append(
                {"step": "file", "path": str(path), "new": new, "made": _made(path.parent)}
            )

    def remove_file(self, path: Path) -> None:
        """Delete ``path``."""
        self.steps.append({"step": "remove", "path": str(path)})

    def stage_tree(
        self, directory: Path, fill: Callable[[Path], None], moves: Sequence[str]
    ) -> None:
        """Files that ``fill(staging)`` writes into a hidden staging directory inside
        ``directory``; each of ``moves`` (relative names) is then renamed to the same name
        under ``directory``. For content produced whole, such as an extracted package."""
        new = str(fileio.temp_name(directory / "files", "stage"))
        self.content[new] = fill
        self.steps.append(
            {
                "step": "tree",
                "path": str(directory),
                "new": new,
                "moves": [*moves],
                "made": _made(directory),
            }
        )

    def remove_directory_if_empty(self, directory: Path) -> None:
        """Remove ``directory`` itself once it holds nothing."""
        self.steps.append({"step": "rmdir", "path": str(directory)})

    def prune(self, directory: Path) -> None:
        """Remove ``directory`` and its subdirectories once they hold no file."""
        self.steps.append({"step": "prune", "path": str(directory)})

    def stage(self) -> None:
        """Write the new content under the temporary names, beside the destinations."""
        for step in self.steps:
            if step["step"] == "directory":
                files, unchanged = self.content[step["new"]]
                _stage_directory(step, files, unchanged)
            elif step["step"] == "file":
                fileio.write_new(Path(step["new"]), self.content[step["new"]], site="stage-file")
            elif step["step"] == "tree":
                Path(step["new"]).mkdir()
                self.content[step["new"]](Path(step["new"]))
                fileio.checkpoint("stage-tree")

    def finish(self) -> None:
        """Put every staged file in place and remove what was replaced (repeatable)."""
        for step in self.steps:
            path = Path(step["path"])
            if step["step"] == "directory":
                _finish_directory(step)
            elif step["step"] == "file" and Path(step["new"]).exists():
                fileio.replace(Path(step["new"]), path, site="file-in")
            elif step["step"] == "remove":
                fileio.remove_file(path, site="remove-file")
            elif step["step"] == "prune":
                fileio.remove_empty_directories(path, site="prune")
            elif step["step"] == "tree":
                _finish_tree(step)
            elif step["step"] == "rmdir":
                fileio.remove_directory_if_empty(path, site="rmdir")

    def undo(self) -> None:
        """Remove whatever was staged; the destinations were not touched yet."""
        for step in self.steps:
            new = Path(step["new"]) if step.get("new") else None
            if new is not None and new.is_dir():
                fileio.remove_tree(new, site="undo-directory")
            elif new is not None:
                fileio.remove_file(new, site="undo-file")
        made = {d for step in self.steps for d in step.get("made", ())}  # older records: none
        for directory in sorted(made, key=lambda d: len(Path(d).parts), reverse=True):
            fileio.remove_directory_if_empty(Path(directory), site="undo-made")


def _made(directory: Path) -> list[str]:
    """The directories staging will create for a step: ``directory`` and its missing parents."""
    return [str(d) for d in fileio.missing_directories(directory)]


def _stage_directory(step: dict[str, Any], files: dict[str, str], unchanged: list[str]) -> None:
    directory, new = Path(step["path"]), Path(step["new"])
    new.mkdir(parents=True)
    step["inode"] = new.stat().st_ino
    for name in unchanged:
        target = new / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(directory / name, target)  # the same file: an unchanged file is not touched
        fileio.checkpoint("stage-directory-link")
    for name, text in files.items():
        if not (new / name).exists():
            fileio.write_new(new / name, text, site="stage-directory")
    fileio.sync_directory(new)


def _finish_tree(step: dict[str, Any]) -> None:
    directory, new = Path(step["path"]), Path(step["new"])
    for name in step["moves"]:
        if (new / name).exists():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            fileio.replace(new / name, directory / name, site="tree-in")
    fileio.remove_tree(new, site="tree-staging-removed")


def _finish_directory(step: dict[str, Any]) -> None:
    """Old aside, new in, old removed last; each part skipped once done."""
    path, new, aside = Path(step["path"]), Path(step["new"]), Path(step["aside"])
    in_place = path.is_dir() and path.stat().st_ino == step["inode"]
    if not in_place and new.is_dir():
        if not path.exists():
            fileio.replace(new, path, site="directory-in")
        elif fileio.exchange(new, path, site="directory-exchange"):
            fileio.replace(new, aside, site="directory-old-aside")  # new holds the old one now
        else:
            fileio.replace(path, aside, site="directory-aside")
            fileio.replace(new, path, site="directory-in")
    elif in_place and new.is_dir():
        fileio.replace(new, aside, site="directory-old-aside")  # exchanged, then interrupted
    if not step["keep_aside"]:
        fileio.remove_tree(aside, site="directory-old-removed")


def record(conn: Connection, tenant_id: int, swap: FileSwap, holder: str) -> None:
    """Commit the "staged" record before anything is written (``conn`` has no transaction)."""
    from sqlalchemy import insert

    from gsetup.configdb.models import PendingFiles

    with conn.begin():
        swap.record_id = conn.execute(
            insert(PendingFiles)
            .values(
                tenant_id=tenant_id,
                state=STAGED,
                holder=f"{holder} (pid {os.getpid()} on {socket.gethostname()})",
                since=datetime.now(UTC),
                steps=swap.steps,
            )
            .returning(PendingFiles.id)
        ).scalar_one()


def mark_committed(conn: Connection, swap: FileSwap) -> None:
    """Inside the apply's transaction: the steps are to be finished once it commits."""
    from sqlalchemy import update

    from gsetup.configdb.models import PendingFiles

    conn.execute(
        update(PendingFiles)
        .where(PendingFiles.id == swap.record_id)
        .values(state=COMMITTED, steps=swap.steps)
    )


def forget(conn: Connection, swap: FileSwap) -> None:
    """Delete the record once its steps are finished or undone (``conn`` has no transaction)."""
    from sqlalchemy import delete

    from gsetup.configdb.models import PendingFiles

    if swap.record_id is not None:
        with conn.begin():
            conn.execute(delete(PendingFiles).where(PendingFiles.id == swap.record_id))
        swap.record_id = None


def resolve(conn: Connection, tenant_id: int) -> int:
    """Finish or undo what interrupted runs left for ``tenant_id``; returns how many.

    Runs under the tenant lock, on a connection without a transaction.
    """
    from sqlalchemy import select

    from gsetup.configdb.models import PendingFiles

    with conn.begin():
        rows = conn.execute(
            select(PendingFiles.id, PendingFiles.state, PendingFiles.steps)
            .where(PendingFiles.tenant_id == tenant_id)
            .order_by(PendingFiles.id)
        ).all()
    for row_id, state, steps in rows:
        swap = FileSwap(list(steps), row_id)
        if state == COMMITTED:
            swap.finish()
        else:
            swap.undo()
        forget(conn, swap)
    return len(rows)


def pending_records(conn: Connection) -> list[tuple[str, str, str, datetime]]:
    """Unfinished records: (tenant, state, holder, since), for ``gsetup doctor``."""
    from sqlalchemy import select

    from gsetup.configdb.models import PendingFiles, Tenant

    rows = conn.execute(
        select(Tenant.name, PendingFiles.state, PendingFiles.holder, PendingFiles.since)
        .join(Tenant, Tenant.id == PendingFiles.tenant_id)
        .order_by(PendingFiles.id)
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
