"""Driver packages: directories and archives install exactly, unsafe ones write nothing."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from gsetup.drivers import package as package_module
from gsetup.drivers.archive import PackageReader
from gsetup.drivers.package import (
    InstalledFile,
    InstallRecord,
    builtin_package,
    install_package,
    read_manifest,
)
from gsetup.errors import BadInputError, GsetupError
from gsetup.options import read_options

LONG = "x" * 3000  # a manifest value quoted in a message is cut to its first 40 characters
CUT = "'" + "x" * 40 + "'... (3000 characters)"
MANIFEST = """\
driver: twitter
version: "9.0.012.09"
description: Genesys Cloud API Driver for Twitter
files:
  - driver-for-twitter-options.cfg
  - lib/twitter-driver.jar
  - lib/ext/oauth.jar
options-file: driver-for-twitter-options.cfg
"""
FILES = {
    "manifest.yaml": MANIFEST,
    "driver-for-twitter-options.cfg": "[channel-twitter]\ncompliance-enabled=true\n",
    "lib/twitter-driver.jar": "PK jar bytes",
    "lib/ext/oauth.jar": "PK more bytes",
    "install.sh": "#!/bin/sh\n",  # not listed: never installed
}
INSTALLED = [
    "driver-for-twitter-options.cfg",
    "lib/twitter-driver.jar",
    "lib/ext/oauth.jar",
    "manifest.yaml",  # installed too: the files on disk say their version
]


def build_dir(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path: text) under ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def build_zip(path: Path, files: dict[str, str], links: dict[str, str] | None = None) -> Path:
    """A zip of ``files``, plus Unix symlink entries ``links`` (name: target)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def build_tar(path: Path, files: dict[str, str], extra: tuple[tarfile.TarInfo, ...] = ()) -> Path:
    """A .tar.gz of ``files`` plus ready-made members ``extra`` (links, devices)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info)
    return path


def member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    """A tar member without data: a link, a device, a pipe."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def assert_installed(record: InstallRecord, target: Path) -> None:
    assert [f.path for f in record.files] == INSTALLED
    assert record.directories == ("lib", "lib/ext")
    assert (target / "lib/ext/oauth.jar").read_text() == "PK more bytes"
    assert not (target / "install.sh").exists()
    assert (target / "manifest.yaml").read_text() == MANIFEST
    assert read_options(target / "driver-for-twitter-options.cfg") == {
        "channel-twitter": {"compliance-enabled": "true"}
    }


def test_directory_package_installs_the_listed_files(tmp_path: Path) -> None:
    source = build_dir(tmp_path / "pkg", FILES)
    target = tmp_path / "SMServer/media-channel-drivers/channel-twitter"
    record = install_package(source, target)
    assert_installed(record, target)
    assert record.driver == "twitter"
    assert record.version == "9.0.012.09"
    assert record.created_target
    assert read_manifest(source).options_file == "driver-for-twitter-options.cfg"


def test_zip_package_with_a_top_directory(tmp_path: Path) -> None:
    files = {f"driver-9.0.012.09/{name}": text for name, text in FILES.items()}
    source = build_zip(tmp_path / "driver.zip", files)
    target = tmp_path / "channel-twitter"
    assert_installed(install_package(source, target), target)


def test_tar_package_with_dot_slash_names(tmp_path: Path) -> None:
    files = {f"./{name}": text for name, text in FILES.items()}
    inside_link = member("./lib/current.jar", tarfile.SYMTYPE, "twitter-driver.jar")
    source = build_tar(tmp_path / "driver.tar.gz", files, (inside_link,))
    target = tmp_path / "channel-twitter"
    assert_installed(install_package(source, target), target)
    assert not (target / "lib/current.jar").exists()  # harmless, not listed, not installed


def test_builtin_packages_install(tmp_path: Path) -> None:
    for driver in ("facebook", "twitter"):
        target = tmp_path / f"channel-{driver}"
        record = install_package(builtin_package(driver), target)
        assert record.version == "gsetup-builtin-1"
        assert read_options(target / f"driver-for-{driver}-options.cfg")[f"channel-{driver}"]
        assert "--package" in (target / "README.txt").read_text()


def refused(source: Path, target: Path, words: str) -> None:
    with pytest.raises(BadInputError, match=words):
        install_package(source, target)
    assert not target.exists(), "nothing may be written for a refused package"


@pytest.mark.parametrize(
    "bad_name", ["../evil.jar", "lib/../../evil.jar", "/etc/evil.jar", "C:/evil.jar", "a\\..\\b"]
)
def test_zip_entries_leaving_the_package_refuse_it_all(tmp_path: Path, bad_name: str) -> None:
    source = build_zip(tmp_path / "driver.zip", {**FILES, bad_name: "x"})
    refused(source, tmp_path / "target", "points outside the package")


def test_zip_symlink_out_of_the_package_refused(tmp_path: Path) -> None:
    source = build_zip(tmp_path / "driver.zip", FILES, {"lib/passwd": "../../etc/passwd"})
    refused(source, tmp_path / "target", "link 'lib/passwd' points outside the package")


def test_zip_duplicate_entries_refused(tmp_path: Path) -> None:
    source = build_zip(tmp_path / "driver.zip", FILES)
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(source, "a") as archive,
    ):
        archive.writestr("lib/twitter-driver.jar", "other bytes")
    refused(source, tmp_path / "target", "same entry twice")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (member("lib/shadow", tarfile.SYMTYPE, "/etc/shadow"), "points outside the package"),
        (member("lib/up", tarfile.SYMTYPE, "../../up"), "points outside the package"),
        (member("lib/hard", tarfile.LNKTYPE, "../etc/passwd"), "points outside the package"),
        (member("dev/null", tarfile.CHRTYPE), "is a device, pipe or socket"),
        (member("fifo", tarfile.FIFOTYPE), "is a device, pipe or socket"),
        (member("../escape", tarfile.REGTYPE), "points outside the package"),
    ],
)
def test_unsafe_tar_members_refuse_the_package(
    tmp_path: Path, extra: tarfile.TarInfo, words: str
) -> None:
    source = build_tar(tmp_path / "driver.tar.gz", FILES, (extra,))
    refused(source, tmp_path / "target", words)


def test_directory_symlink_out_of_the_package_refused(tmp_path: Path) -> None:
    source = build_dir(tmp_path / "pkg", FILES)
    os.symlink(tmp_path / "elsewhere", source / "lib/outside")
    refused(source, tmp_path / "target", "points outside the package")


def test_a_listed_file_that_is_a_link_refused(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if k != "lib/ext/oauth.jar"}
    source = build_dir(tmp_path / "pkg", files)
    (source / "lib/ext").mkdir()
    os.symlink("../twitter-driver.jar", source / "lib/ext/oauth.jar")
    refused(source, tmp_path / "target", "lists 'lib/ext/oauth.jar', which is a link")


@pytest.mark.parametrize(
    ("manifest", "words"),
    [
        (MANIFEST.replace("twitter\n", "rss\n", 1), "driver: 'rss' is not a driver"),
        (MANIFEST.replace('"9.0.012.09"', "9.0"), "version must be text"),
        (MANIFEST + "colour: blue\n", "unknown key 'colour'"),
        (MANIFEST.replace("lib/ext/oauth.jar", "../oauth.jar"), "files: '../oauth.jar'"),
        (MANIFEST.replace("lib/ext/oauth.jar", "/oauth.jar"), "files: '/oauth.jar'"),
        (MANIFEST.replace("lib/ext/oauth.jar", "lib/missing.jar"), "not in the package"),
        (MANIFEST.replace("lib/ext/oauth.jar", "lib"), "which is a dir"),
        (MANIFEST.replace("lib/ext/oauth.jar", "manifest.yaml"), "other than the manifest"),
        (MANIFEST.replace("lib/ext/oauth.jar", "lib/twitter-driver.jar"), "the same path twice"),
        (
            MANIFEST.replace("options-file: driver-for-twitter-options.cfg", "options-file: x.cfg"),
            "options-file must be one of",
        ),
        ("driver: [twitter\n", "manifest.yaml, line 2: not valid YAML"),
        # YAML's recursion on deep nesting escaped as RecursionError (exit 1)
        ("driver: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply to read"),
        ("- a list\n", "must be a mapping"),
        # A value of the manifest quoted in the message is cut (it was echoed whole).
        (MANIFEST.replace("twitter\n", LONG + "\n", 1), f"driver: {CUT} is not a driver"),
        (MANIFEST.replace('"9.0.012.09"', f'"9 {LONG}"'), "version '9 " + "x" * 38 + "'... (3002"),
        (MANIFEST + f"? {LONG}\n: blue\n", f"unknown key {CUT}; allowed: "),  # a long key
        (MANIFEST.replace("lib/ext/oauth.jar", f"/{LONG}"), "files: '/" + "x" * 39 + "'... (3001"),
        (
            MANIFEST.replace("lib/ext/oauth.jar", f"lib/{LONG}"),
            "lists 'lib/" + "x" * 36 + "'... (3004 characters), which is not in the package",
        ),
    ],
)
def test_manifest_errors_name_the_file_and_key(tmp_path: Path, manifest: str, words: str) -> None:
    source = build_dir(tmp_path / "pkg", {**FILES, "manifest.yaml": manifest})
    with pytest.raises(BadInputError) as caught:
        install_package(source, tmp_path / "target")
    assert "manifest.yaml" in str(caught.value)
    assert words in str(caught.value)
    assert len(str(caught.value)) < 1000
    assert not (tmp_path / "target").exists()


def test_a_package_without_a_manifest_refused(tmp_path: Path) -> None:
    source = build_zip(tmp_path / "driver.zip", {"a/x": "1", "b/y": "2"})
    refused(source, tmp_path / "target", "no manifest.yaml")


@pytest.mark.parametrize("name", ["driver.rar", "missing.zip"])
def test_unknown_or_missing_package_refused(tmp_path: Path, name: str) -> None:
    if name == "driver.rar":
        (tmp_path / name).write_bytes(b"Rar!")
    refused(tmp_path / name, tmp_path / "target", "driver package")


def test_not_an_archive_refused(tmp_path: Path) -> None:
    (tmp_path / "driver.zip").write_bytes(b"not a zip")
    refused(tmp_path / "driver.zip", tmp_path / "target", "not a readable .zip archive")


def test_an_existing_destination_file_refuses_before_writing(tmp_path: Path) -> None:
    source = build_dir(tmp_path / "pkg", FILES)
    target = build_dir(tmp_path / "target", {"lib/ext/oauth.jar": "mine"})
    with pytest.raises(BadInputError, match="already exists; uninstall"):
        install_package(source, target)
    assert sorted(p.name for p in target.rglob("*")) == ["ext", "lib", "oauth.jar"]


def test_a_destination_directory_linking_out_refused(tmp_path: Path) -> None:
    source = build_dir(tmp_path / "pkg", FILES)
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", target / "lib")
    with pytest.raises(BadInputError, match="lies behind a link"):
        install_package(source, target)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_failure_half_way_removes_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = build_dir(tmp_path / "pkg", FILES)
    target = tmp_path / "target"
    real_copy = package_module._copy

    def copy_then_fail(reader: PackageReader, entry: str, into: Path, name: str) -> InstalledFile:
        if name == "lib/ext/oauth.jar":
            raise OSError(28, "No space left on device")
        return real_copy(reader, entry, into, name)

    monkeypatch.setattr(package_module, "_copy", copy_then_fail)
    with pytest.raises(GsetupError, match="installing failed, nothing kept"):
        install_package(source, target)
    assert not target.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"driver": "twitter"},
        {
            "driver": "twitter",
            "version": "1",
            "target": "/t",
            "directories": [],
            "files": [{"path": "../../etc/passwd", "sha256": "0"}],
        },
        {"driver": "rss", "version": "1", "target": "/t", "directories": [], "files": []},
    ],
)
def test_malformed_install_records_refused(data: dict[str, object]) -> None:
    with pytest.raises(BadInputError):
        InstallRecord.from_data(data)


def test_install_record_round_trips() -> None:
    record = InstallRecord(
        "facebook", "9.0.016.07", "/opt/dms", (InstalledFile("a/b.jar", "ab" * 32),), ("a",), True
    )
    assert InstallRecord.from_data(record.to_data()) == record
