"""Read-only views of a driver package: a directory, a .zip or a .tar.gz archive.

Every entry is listed with its kind, so that the package can be judged as a whole before
anything is written. Entry names are relative POSIX paths; names that could escape (absolute,
``..``, backslashes, drive letters) are refused here, whatever the entry is.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Literal, Protocol, Self

from gsetup.errors import BadInputError

EntryKind = Literal["file", "dir", "link", "special"]


@dataclass(frozen=True)
class Entry:
    """One entry of a package; ``link_target`` is package-relative and normalised for links."""

    name: str
    kind: EntryKind
    size: int = 0
    link_target: str | None = None


class PackageReader(Protocol):
    """What installing needs from a package: its entries and the bytes of a regular file.

    A reader is a context manager: archives stay open until it is closed.
    """

    source: Path

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def entries(self) -> list[Entry]:
        """Every entry, in the package's order."""

    def open(self, name: str) -> AbstractContextManager[IO[bytes]]:
        """Open the regular file ``name`` for reading."""


def open_package(source: Path) -> PackageReader:
    """A reader for ``source`` by what it is: a directory, ``.zip``, ``.tar.gz`` or ``.tgz``."""
    if source.is_dir():
        return DirectoryPackage(source)
    name = source.name.lower()
    if not source.is_file():
        raise BadInputError(f"{source}: no such driver package")
    if name.endswith(".zip"):
        return ZipPackage(source)
    if name.endswith((".tar.gz", ".tgz")):
        return TarPackage(source)
    raise BadInputError(f"{source}: a driver package is a directory, a .zip or a .tar.gz")


def leaves_package(raw: str) -> bool:
    """Whether the entry name ``raw`` could point outside the package directory."""
    path = PurePosixPath(raw)
    return bool(
        path.is_absolute()
        or "\\" in raw
        or "\0" in raw
        or ".." in path.parts
        or (path.parts and ":" in path.parts[0])  # C:foo, a Windows drive
    )


def safe_name(source: Path, raw: str) -> str:
    """The normalised relative name of an entry; BadInputError if it could leave the package."""
    if leaves_package(raw):
        raise BadInputError(f"{source}: entry {raw!r} points outside the package; refused")
    path = PurePosixPath(raw)
    return path.as_posix() if path.parts else ""


def _link_target(source: Path, name: str, target: str, *, relative_to_entry: bool) -> str:
    """Where a link entry points, package-relative; refuse links that leave the package."""
    base = posixpath.dirname(name) if relative_to_entry else ""
    joined = posixpath.normpath(posixpath.join(base, target))
    if target.startswith("/") or joined == ".." or joined.startswith("../"):
        raise BadInputError(
            f"{source}: link {name!r} points outside the package ({target!r}); refused"
        )
    return joined


class _Reader:
    """The context manager side of a package reader: leaving ``with`` closes it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release what the reader holds open: nothing, for a directory."""


class DirectoryPackage(_Reader):
    """A package unpacked in a directory; links are listed, never followed."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def entries(self) -> list[Entry]:
        """Every file, directory, link and special file under the directory."""
        found: list[Entry] = []
        for top, dirs, files in os.walk(self.source, followlinks=False):
            for item in sorted(dirs) + sorted(files):
                path = Path(top, item)
                name = path.relative_to(self.source).as_posix()
                found.append(self._entry(path, name))
        return found

    def _entry(self, path: Path, name: str) -> Entry:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            target = _link_target(self.source, name, os.readlink(path), relative_to_entry=True)
            return Entry(name, "link", 0, target)
        if stat.S_ISDIR(mode):
            return Entry(name, "dir")
        if stat.S_ISREG(mode):
            return Entry(name, "file", path.lstat().st_size)
        return Entry(name, "special")

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """Open a regular file of the directory (O_NOFOLLOW: a swapped-in link fails)."""
        fd = os.open(self.source / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as stream:
            yield stream


class ZipPackage(_Reader):
    """A .zip package; Unix mode bits (when the archive has them) reveal links and devices."""

    def __init__(self, source: Path) -> None:
        self.source = source
        try:
            self._archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BadInputError(f"{source}: not a readable .zip archive ({exc})") from exc
        infos = self._archive.infolist()
        self._infos = {safe_name(source, info.filename.rstrip("/")): info for info in infos}
        if len(self._infos) != len(infos):
            self._archive.close()
            raise BadInputError(f"{source}: the archive holds the same entry twice; refused")
        # A zip link is an entry with the link mode bits whose content is the target.
        self._links = {
            name: self._archive.read(info).decode("utf-8", "replace")
            for name, info in self._infos.items()
            if stat.S_ISLNK(info.external_attr >> 16)
        }

    def close(self) -> None:
        """Close the archive."""
        self._archive.close()

    def entries(self) -> list[Entry]:
        """Every entry of the archive."""
        return [self._entry(name, info) for name, info in self._infos.items() if name]

    def _entry(self, name: str, info: zipfile.ZipInfo) -> Entry:
        mode = info.external_attr >> 16
        if name in self._links:
            target = _link_target(self.source, name, self._links[name], relative_to_entry=True)
            return Entry(name, "link", 0, target)
        if info.is_dir():
            return Entry(name, "dir")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: the archive records no type
            return Entry(name, "special")
        return Entry(name, "file", info.file_size)

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """Open a regular file of the archive."""
        with self._archive.open(self._infos[name]) as stream:
            yield stream


class TarPackage(_Reader):
    """A gzip-compressed tar package; hard links are judged by the member they name."""

    def __init__(self, source: Path) -> None:
        self.source = source
        try:
            self._archive = tarfile.open(source, "r:gz")  # noqa: SIM115 - closed by __exit__
        except (tarfile.TarError, OSError) as exc:
            raise BadInputError(f"{source}: not a readable .tar.gz archive ({exc})") from exc
        try:
            members = self._archive.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            self._archive.close()
            raise BadInputError(f"{source}: not a readable .tar.gz archive ({exc})") from exc
        self._members = {safe_name(source, member.name): member for member in members}
        if len(self._members) != len(members):
            self._archive.close()
            raise BadInputError(f"{source}: the archive holds the same entry twice; refused")

    def close(self) -> None:
        """Close the archive."""
        self._archive.close()

    def entries(self) -> list[Entry]:
        """Every member of the archive."""
        return [self._entry(name, member) for name, member in self._members.items() if name]

    def _entry(self, name: str, member: tarfile.TarInfo) -> Entry:
        if member.issym() or member.islnk():
            target = _link_target(
                self.source, name, member.linkname, relative_to_entry=member.issym()
            )
            return Entry(name, "link", 0, target)
        if member.isdir():
            return Entry(name, "dir")
        if member.isreg():
            return Entry(name, "file", member.size)
        return Entry(name, "special")

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """Open a regular file of the archive."""
        stream = self._archive.extractfile(self._members[name])
        if stream is None:  # only for non-regular members, which are never opened
            raise BadInputError(f"{self.source}: {name!r} is not a regular file")
        with stream:
            yield stream
