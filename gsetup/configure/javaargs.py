"""DMS's JavaServerStarter.ini: the ``[JavaArgs]`` UTF-8 arguments emojis need (guide,
"Enabling Emojis in WDE", step 1).

The file lives in the DMS application's working directory, so the change is a plan change
with target ``file``. It is written in the apply's ``before_commit`` hook, after every
database write of the transaction, as its very last step: the new content goes to a
temporary file beside it and replaces the original with one ``os.replace``, after a copy of
the original was kept as ``JavaServerStarter.ini.bak-<UTC timestamp>``. A failure before that
rolls the transaction back and leaves the file as it was.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup import fileio
from gsetup.configure.snapshot import find_app, read_tenant
from gsetup.context import Context
from gsetup.deployment import ConfiguredApplication
from gsetup.errors import BadInputError, GsetupError
from gsetup.plan.model import Action, Change, Plan
from gsetup.plan.run import run_plan
from gsetup.state import DesiredState

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

DMS = "DigitalMessagingServer"
INI_NAME = "JavaServerStarter.ini"
SECTION = "JavaArgs"
# The guide prints them without their leading dash; Java takes system properties as -D.
UTF8_ARGS = (
    "-Dfile.encoding=UTF-8",
    "-Dfile.client.encoding=UTF-8",
    "-Dclient.encoding.override=UTF-8",
)
_HEADER = re.compile(r"\s*\[([^\]]*)\]\s*")


@dataclass
class IniEdit:
    """The file, its content as read, the content wanted and one change per argument."""

    path: Path
    original: bytes
    content: bytes
    changes: list[Change] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """Whether the file would change."""
        return self.content != self.original


def ini_path(app: ConfiguredApplication) -> Path:
    """``JavaServerStarter.ini`` in ``app``'s working directory, which must exist here."""
    working_dir = app.info.working_dir
    if not working_dir:
        raise BadInputError(
            f"application {app.name!r} has no working directory, where {INI_NAME} is: "
            f"record it with `gsetup app update {app.name} --working-dir DIR`"
        )
    directory = Path(working_dir)
    if not directory.is_dir():
        raise BadInputError(
            f"the working directory {directory} of {app.name!r} is not a directory on this "
            f"machine: run gsetup where it is, or mount it there"
        )
    path = directory / INI_NAME
    if not path.is_file():
        raise BadInputError(f"{path} does not exist: is {app.name!r} installed in {directory}?")
    return path


def plan_java_args(path: Path, args: Sequence[str] = UTF8_ARGS) -> IniEdit:
    """Read ``path`` and plan ``args`` into its [JavaArgs] section.

    An argument already there is kept; a system property there with another value is replaced
    in place (and further lines setting the same property are removed: Java would take the
    last one); a missing argument is added after the section's last line. Nothing else of the
    file changes.
    """
    try:
        original = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    # surrogateescape keeps any byte that is not UTF-8 exactly as it was.
    lines = original.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    newline = "\r\n" if any(line.endswith("\r\n") for line in lines) else "\n"
    start, end = _section(lines, path)
    edit = IniEdit(path, original, original)
    added: list[str] = []
    removed: set[int] = set()
    for arg in args:
        found = [i for i in range(start + 1, end) if _same(lines[i], arg)]
        exact = [i for i in found if lines[i].strip() == arg]
        if not found:
            added.append(arg)
            edit.changes.append(_change("create", path, arg, after=arg))
            continue
        kept = exact[0] if exact else found[0]
        if exact:
            edit.changes.append(_change("keep", path, arg))
        else:
            before = lines[kept].strip()
            lines[kept] = arg + lines[kept][len(lines[kept].rstrip("\r\n")) :]
            edit.changes.append(_change("update", path, arg, before=before, after=arg))
        for other in (i for i in found if i != kept):
            removed.add(other)
            line = lines[other].strip()
            edit.changes.append(_change("delete", path, line, before=line))
    if added:
        at = max((i for i in range(start, end) if lines[i].strip()), default=start) + 1
        if not lines[at - 1].endswith(("\n", "\r")):
            lines[at - 1] += newline
        lines[at:at] = [arg + newline for arg in added]
    # Added lines went after the last non-blank line of the section, past every removed one.
    kept_lines = [line for i, line in enumerate(lines) if i not in removed]
    edit.content = "".join(kept_lines).encode("utf-8", "surrogateescape")
    return edit


def _change(
    action: Action, path: Path, arg: str, *, before: str | None = None, after: str | None = None
) -> Change:
    return Change(action, "file", "file", str(path), (SECTION, arg), before=before, after=after)


def _section(lines: list[str], path: Path) -> tuple[int, int]:
    """The index of the [JavaArgs] header and the index just past its last line."""
    headers = [
        (i, m.group(1).strip()) for i, line in enumerate(lines) if (m := _HEADER.fullmatch(line))
    ]
    ours = [n for n, (_index, name) in enumerate(headers) if name.lower() == SECTION.lower()]
    if not ours:
        raise BadInputError(f"{path} has no [{SECTION}] section: is it DMS's {INI_NAME}?")
    if len(ours) > 1:
        lines_of = " and ".join(str(headers[n][0] + 1) for n in ours)
        raise BadInputError(
            f"{path} has [{SECTION}] more than once (lines {lines_of}): merge them into one "
            "section first, so that gsetup edits the arguments DMS reads"
        )
    n = ours[0]
    end = headers[n + 1][0] if n + 1 < len(headers) else len(lines)
    return headers[n][0], end


def _same(line: str, arg: str) -> bool:
    """Whether ``line`` holds ``arg`` or, for ``-Dname=value``, another value of ``name``."""
    text = line.strip()
    if arg.startswith("-D") and "=" in arg:
        name = arg.split("=", 1)[0]
        return text == name or text.startswith(name + "=")
    return text == arg


def write_edit(edit: IniEdit, now: datetime) -> Path:
    """Back the file up, then replace it all at once (temporary file, fsync, rename; its
    permissions kept); returns the backup's path. A failure leaves the file as it was."""
    backup = _write_backup(edit, now)
    try:
        fileio.write_atomic(edit.path, edit.content)
    except OSError as exc:
        raise GsetupError(f"cannot write {edit.path}: {exc.strerror or exc}") from exc
    return backup


def _write_backup(edit: IniEdit, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        mode = stat.S_IMODE(edit.path.stat().st_mode)
    except OSError as exc:
        raise GsetupError(f"cannot back up {edit.path}: {exc.strerror}") from exc

    def as_private_as_the_file(path: str, flags: int) -> int:
        return os.open(path, flags, mode)  # it may hold a key store's password

    for n in range(1, 100):
        suffix = "" if n == 1 else f".{n}"
        backup = edit.path.with_name(f"{INI_NAME}.bak-{stamp}{suffix}")
        try:
            # "xb": never over an earlier backup.
            with open(backup, "xb", opener=as_private_as_the_file) as out:
                out.write(edit.original)
            return backup
        except FileExistsError:
            continue
        except OSError as exc:
            raise GsetupError(f"cannot back up {edit.path} as {backup}: {exc.strerror}") from exc
    raise GsetupError(f"cannot back up {edit.path}: too many backups named *.bak-{stamp}")


def add_utf8_java_args(ctx: Context, tenant: str, *, dms: str | None, dry_run: bool) -> Plan:
    """Add the UTF-8 arguments to the [JavaArgs] section of the DMS's JavaServerStarter.ini."""
    snap = read_tenant(ctx, tenant)
    path = ini_path(find_app(snap, DMS, dms, "--dms"))
    edit = plan_java_args(path)  # a file gsetup cannot edit is refused before anything

    def write_last(_conn: Connection, plan: Plan) -> None:
        # Read again: the tenant lock is held now, and the file may have changed meanwhile.
        fresh = plan_java_args(path)
        plan.changes.extend(fresh.changes)
        if fresh.pending:
            write_edit(fresh, datetime.now(UTC))

    state = DesiredState(tenant)
    if dry_run:
        plan = run_plan(ctx, state, "configure dms-utf8", dry_run=True)
        plan.changes.extend(edit.changes)
        return plan
    return run_plan(ctx, state, "configure dms-utf8", dry_run=False, before_commit=write_last)
