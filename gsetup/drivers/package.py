"""Driver packages: their manifest, installation into a DMS directory, and exact removal.

A driver package is a directory or a ``.zip``/``.tar.gz`` archive holding ``manifest.yaml``
(at its top, or inside its single top-level directory)::

    driver: facebook               # facebook or twitter
    version: "9.0.016.07"          # text: quote it so YAML cannot read 9.0 as a number
    description: Genesys Cloud API Driver for Facebook   # optional
    files:                         # the regular files to install, relative POSIX paths
      - driver-for-facebook-options.cfg
      - lib/facebook-driver.jar
    options-file: driver-for-facebook-options.cfg        # optional: one of files

The manifest is installed with the files (``manifest.yaml`` in the driver's directory), so
what is on disk says its own driver and version: Digital Messaging Server (and gsetup's
stand-in, :mod:`gsetup.dms`) reads it when it loads its drivers.

Installing judges the whole package first (manifest, every entry's name, links, devices, the
destination) and writes nothing unless all of it is acceptable. The :class:`InstallRecord` it
returns lists exactly the files and directories written, with a checksum per file, so that
removal (:func:`gsetup.drivers.staging.plan_removal`) deletes exactly those and keeps files
changed since.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from gsetup.drivers.archive import Entry, PackageReader, leaves_package, open_package
from gsetup.drivers.specs import DRIVERS, Driver
from gsetup.errors import BadInputError, GsetupError
from gsetup.fileio import quote_prefix

MANIFEST = "manifest.yaml"
# Far above any real driver deliverable, low enough to stop an archive bomb before writing.
MAX_PACKAGE_BYTES = 512 * 1024 * 1024
_MANIFEST_KEYS = {"driver", "version", "description", "files", "options-file"}


@dataclass(frozen=True)
class Manifest:
    """A validated manifest; ``files`` are relative to the package root."""

    driver: Driver
    version: str
    files: tuple[str, ...]
    description: str = ""
    options_file: str | None = None


@dataclass(frozen=True)
class InstalledFile:
    """A file written by an installation, relative to its target, and its SHA-256."""

    path: str
    sha256: str


@dataclass(frozen=True)
class InstallRecord:
    """What one installation wrote: enough to remove exactly that, and nothing else."""

    driver: Driver
    version: str
    target: str  # absolute directory
    files: tuple[InstalledFile, ...]
    directories: tuple[str, ...]  # created by the installation, parents first
    created_target: bool = False  # the target directory itself was created too

    def to_data(self) -> dict[str, Any]:
        """Plain data for the install history (JSON or YAML)."""
        return {
            "driver": self.driver,
            "version": self.version,
            "target": self.target,
            "files": [{"path": f.path, "sha256": f.sha256} for f in self.files],
            "directories": list(self.directories),
            "created_target": self.created_target,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> InstallRecord:
        """Rebuild a record from :meth:`to_data`'s output, refusing anything malformed."""
        try:
            record = cls(
                driver=_check_driver_name(data["driver"], "install record"),
                version=str(data["version"]),
                target=str(data["target"]),
                files=tuple(InstalledFile(str(f["path"]), str(f["sha256"])) for f in data["files"]),
                directories=tuple(str(d) for d in data["directories"]),
                created_target=bool(data.get("created_target", False)),
            )
        except (KeyError, TypeError) as exc:
            raise BadInputError(f"install record is malformed: missing or wrong {exc}") from exc
        for name in [f.path for f in record.files] + list(record.directories):
            if not _is_plain_relative(name):
                raise BadInputError(f"install record names {name!r}, which is not a safe path")
        return record


@dataclass(frozen=True)
class PackageContents:
    """A judged package, read but not installed: what planning an installation needs."""

    manifest: Manifest
    digests: Mapping[str, str]  # each listed file -> its SHA-256
    options_data: bytes | None  # the manifest's options-file, if it names one


def builtin_package(driver: Driver) -> Path:
    """The package gsetup ships for ``driver``: the options file and a description, no jars."""
    _check_driver_name(driver, "driver")
    return Path(__file__).parent / "data" / driver


def installed_names(manifest: Manifest) -> tuple[str, ...]:
    """What an installation writes: the manifest's files and the manifest itself."""
    return (*manifest.files, MANIFEST)


def read_manifest(package: Path) -> Manifest:
    """Open ``package``, judge all of it, and return its manifest."""
    with open_package(package) as reader:
        manifest, _ = _inspect(reader)
    return manifest


def inspect_package(package: Path) -> PackageContents:
    """Judge ``package`` whole, as installing does, and hash its files; write nothing.

    Planning needs the checksums before anything is written: they go into the database record
    in the same transaction as the options, and a re-run compares them with the disk.
    """
    with open_package(package) as reader:
        manifest, root = _inspect(reader)
        digests = {}
        for name in installed_names(manifest):
            with reader.open(_join(root, name)) as stream:
                digests[name] = _digest(stream)
        options_data = None
        if manifest.options_file is not None:
            with reader.open(_join(root, manifest.options_file)) as stream:
                options_data = stream.read()
    return PackageContents(manifest, digests, options_data)


def install_package(package: Path, target: Path) -> InstallRecord:
    """Copy the manifest's files of ``package`` into ``target`` (created if missing).

    Refuses, before writing anything, a package with an unsafe entry (absolute or ``..``
    names, links leaving the package, device files), a listed file that is missing or not a
    regular file, and a destination that exists or lies behind a link. A write that fails
    half-way removes what it wrote.
    """
    with open_package(package) as reader:
        manifest, root = _inspect(reader)
        target = target.absolute()
        directories = _plan_destination(target, installed_names(manifest))
        created_target = not target.exists()
        written: list[InstalledFile] = []
        try:
            target.mkdir(parents=True, exist_ok=True)
            for directory in directories:
                (target / directory).mkdir()
            for name in installed_names(manifest):
                written.append(_copy(reader, _join(root, name), target, name))
        except BaseException as exc:
            _undo(target, written, directories, created_target)
            if isinstance(exc, OSError):
                raise GsetupError(f"{target}: installing failed, nothing kept: {exc}") from exc
            raise
    return InstallRecord(
        manifest.driver, manifest.version, str(target), tuple(written), directories, created_target
    )


def _inspect(reader: PackageReader) -> tuple[Manifest, str]:
    """Judge every entry, find and validate the manifest; return it and the package root."""
    entries = {entry.name: entry for entry in reader.entries()}
    bad = [entry.name for entry in entries.values() if entry.kind == "special"]
    if bad:
        raise BadInputError(
            f"{reader.source}: {quote_prefix(bad[0])} is a device, pipe or socket; a driver "
            "package holds only files and directories"
        )
    root = _find_root(reader.source, entries)
    where = f"{reader.source}: {_join(root, MANIFEST)}"
    with reader.open(_join(root, MANIFEST)) as stream:
        manifest = parse_manifest(stream.read(), where)
    total = 0
    for name in manifest.files:
        entry = entries.get(_join(root, name))
        _check_listed(reader.source, name, entry)
        total += entry.size if entry else 0
    if total > MAX_PACKAGE_BYTES:
        raise BadInputError(
            f"{reader.source}: the files listed add up to {total} bytes, more than the "
            f"{MAX_PACKAGE_BYTES} a driver package may hold"
        )
    return manifest, root


def _find_root(source: Path, entries: Mapping[str, Entry]) -> str:
    if MANIFEST in entries:
        return ""
    tops = {PurePosixPath(name).parts[0] for name in entries}
    if len(tops) == 1:
        top = tops.pop()
        if f"{top}/{MANIFEST}" in entries:
            return top
    raise BadInputError(
        f"{source}: no {MANIFEST} at the top of the package or of its single top directory"
    )


def _check_listed(source: Path, name: str, entry: Entry | None) -> None:
    if entry is None:
        raise BadInputError(
            f"{source}: {MANIFEST} lists {quote_prefix(name)}, which is not in the package"
        )
    if entry.kind != "file":
        raise BadInputError(
            f"{source}: {MANIFEST} lists {quote_prefix(name)}, which is a {entry.kind}, "
            "not a regular file"
        )


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Validate manifest text; errors name ``where`` and the key at fault."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from gsetup.yamlerrors import TOO_DEEP

    try:
        loaded = YAML(typ="safe", pure=True).load(data)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise BadInputError(f"{where}, line {line}: not valid YAML: {exc.problem}") from exc
    except YAMLError as exc:
        raise BadInputError(f"{where}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise BadInputError(f"{where}: {TOO_DEEP}") from None
    if not isinstance(loaded, dict):
        raise BadInputError(f"{where}: the manifest must be a mapping of keys to values")
    unknown = sorted(str(key) for key in loaded if key not in _MANIFEST_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_MANIFEST_KEYS))
        raise BadInputError(f"{where}: unknown key {quote_prefix(unknown[0])}; allowed: {allowed}")
    files = _manifest_files(loaded.get("files"), where)
    options_file = loaded.get("options-file")
    if options_file is not None and (options_file not in files or options_file[-4:] != ".cfg"):
        raise BadInputError(f"{where}: options-file must be one of the .cfg files in files")
    description = loaded.get("description", "")
    if not isinstance(description, str):
        raise BadInputError(f"{where}: description must be text")
    return Manifest(
        driver=_check_driver_name(loaded.get("driver"), f"{where}: driver"),
        version=_manifest_version(loaded.get("version"), where),
        files=files,
        description=description,
        options_file=options_file,
    )


def _manifest_version(version: object, where: str) -> str:
    if not isinstance(version, str) or not version.strip():
        raise BadInputError(
            f'{where}: version must be text such as "9.0.016.07" (quote it, or YAML reads '
            "9.0 as a number)"
        )
    if any(ch.isspace() for ch in version):
        raise BadInputError(f"{where}: version {quote_prefix(version)} may not contain spaces")
    return version


def _manifest_files(files: object, where: str) -> tuple[str, ...]:
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise BadInputError(f"{where}: files must be a non-empty list of relative paths")
    names = cast(list[str], files)
    for name in names:
        if not _is_plain_relative(name) or name == MANIFEST:
            raise BadInputError(
                f"{where}: files: {quote_prefix(name)} is not allowed; use a relative path "
                "inside the package, without '..', './', '//' or a trailing '/', other than the "
                "manifest"
            )
    if len(set(names)) != len(names):
        raise BadInputError(f"{where}: files lists the same path twice")
    return tuple(names)


def _is_plain_relative(name: str) -> bool:
    """A non-empty relative path inside the package, written the one normal way."""
    return bool(name) and not leaves_package(name) and PurePosixPath(name).as_posix() == name


def _check_driver_name(driver: object, where: str) -> Driver:
    for name in DRIVERS:
        if driver == name:
            return name
    raise BadInputError(
        f"{where}: {quote_prefix(driver)} is not a driver; use one of: {', '.join(DRIVERS)}"
    )


def _plan_destination(target: Path, files: tuple[str, ...]) -> tuple[str, ...]:
    """The directories to create, parents first; refuse destinations that are taken or unsafe."""
    if target.exists() and not target.is_dir():
        raise BadInputError(f"{target}: exists and is not a directory")
    real_target = target.resolve()
    directories: list[str] = []
    for name in files:
        destination = target / name
        if os.path.lexists(destination):
            raise BadInputError(
                f"{destination}: already exists; uninstall the installed driver first"
            )
        if not destination.parent.resolve().is_relative_to(real_target):
            raise BadInputError(f"{destination}: lies behind a link out of {target}; refused")
        for parent in reversed(PurePosixPath(name).parents[:-1]):
            if not (target / parent).exists() and parent.as_posix() not in directories:
                directories.append(parent.as_posix())
    return tuple(directories)


def _copy(reader: PackageReader, entry: str, target: Path, name: str) -> InstalledFile:
    digest = hashlib.sha256()
    # "xb" creates the file and fails if anything, even a dangling link, took its place.
    with reader.open(entry) as source, (target / name).open("xb") as out:
        while chunk := source.read(1 << 16):
            digest.update(chunk)
            out.write(chunk)
    return InstalledFile(name, digest.hexdigest())


def _undo(
    target: Path, written: list[InstalledFile], directories: tuple[str, ...], created: bool
) -> None:
    for item in written:
        (target / item.path).unlink(missing_ok=True)
    # The file being copied when the failure came is not in written yet: rmtree takes it.
    for directory in reversed(directories):
        shutil.rmtree(target / directory, ignore_errors=True)
    if created:
        shutil.rmtree(target, ignore_errors=True)


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return _digest(stream)


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of the regular file at ``path``; None when there is none (or a link)."""
    if path.is_symlink() or not path.is_file():
        return None
    return _sha256(path)


def _digest(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 16):
        digest.update(chunk)
    return digest.hexdigest()


def _join(root: str, name: str) -> str:
    return f"{root}/{name}" if root else name
