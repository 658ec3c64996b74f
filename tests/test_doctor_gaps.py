"""The guide's requirements doctor once missed: each gap is opened, in turn, on a healthy
tenant built with gsetup's own commands; doctor exits 3 naming the check, and the fix it
prints (its placeholders filled in) brings it back to exit 0."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.drivers.package import builtin_package
from gsetup.drivers.specs import Driver
from tests.helpers import run_cli, write_tree

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# What a fix leaves to the user (gsetup guesses none of them), and flags of a scripted run.
FILLED = {"SECONDS": "30", "VERSION": "8.5.400.86", "PATH": "{new}"}
SCRIPTED = {"driver": ["--set", "accept_terms=true", "--yes"]}


def ok(*args: str) -> None:
    """Run a gsetup command that must succeed."""
    result = run_cli(*args)
    assert result.exit_code == 0, f"{shlex.join(args)}: {result.stdout}{result.stderr}"


def driver_package(root: Path, driver: Driver, version: str) -> Path:
    """A driver package of ``version``: the built-in options file and a jar."""
    options = f"driver-for-{driver}-options.cfg"
    write_tree(
        root,
        {
            "manifest.yaml": f'driver: {driver}\nversion: "{version}"\nfiles:\n'
            f"  - {options}\n  - lib/{driver}.jar\noptions-file: {options}\n",
            options: (builtin_package(driver) / options).read_text(),
            f"lib/{driver}.jar": f"PK-{version}",
        },
    )
    return root


@pytest.fixture
def healthy(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Facebook BP and Twitter BP - Threaded Routing on one DMS, both drivers at versions the
    guide accepts, and every step of docs/configure.md done: doctor finds nothing."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GSETUP_HUB_API_KEY", "key-Sup3rS3cret")
    write_tree(Path.home() / ".config" / "gsetup", {"hub-password": "pw-V3ryS3cret\n"})
    dms_dir = tmp_path / "SMServer"
    dms_dir.mkdir()
    ok("app", "create", "DMS_1", "--type", "DigitalMessagingServer", "--host",
       "dms1.example.com", "--port", "4000", "--working-dir", str(dms_dir))  # fmt: skip
    for name, app_type in (("ChatServer_1", "ChatServer"), ("WDE", "WorkspaceDesktop"),
                           ("IXN_1", "InteractionServer")):  # fmt: skip
        ok("app", "create", name, "--type", app_type)
    for package in ("facebook-bp", "twitter-bp-tr"):
        ok("install", package, "--answers", str(EXAMPLES / f"{package}.yaml"), "--yes")
    packages = {}
    for driver in ("facebook", "twitter"):
        packages[f"new-{driver}"] = driver_package(tmp_path / driver, driver, "9.0.016.07")
        ok("driver", "install", driver, "--answers", str(EXAMPLES / f"driver-{driver}.yaml"),
           "--package", str(packages[f"new-{driver}"]), "--yes")  # fmt: skip
    ok("configure", "twitter-tr", "--grouping-timeout", "30")
    ok("configure", "facebook-private-messaging")
    ok("configure", "workspace", "--plugin-version", "8.5.400.86")
    ok("configure", "delay-updates")
    assert doctor() == (0, [])
    return packages


def doctor() -> tuple[int, list[tuple[str, str]]]:
    """doctor's exit status and its findings' checks and fixes."""
    result = run_cli("doctor", "--json")
    assert result.exit_code in (0, 3), result.stderr
    return result.exit_code, [(f["check"], f["fix"]) for f in result.json()["findings"]]


def fix_and_recheck(check: str, packages: dict[str, Path]) -> None:
    """doctor exits 3 with ``check`` alone; its fix, run, makes it exit 0."""
    code, found = doctor()
    assert code == 3 and {c for c, _fix in found} == {check}, found
    for fix in dict.fromkeys(f for _c, f in found):
        assert fix is not None
        words = shlex.split(fix)[1:]
        if words[:2] == ["driver", "upgrade"]:  # DMS_1 has no backup: a stop-start upgrade
            assert words[-3:] == ["--dms", "DMS_1", "--single"], words
            _reinstall_twitter_driver(packages[f"new-{words[2]}"])
            continue
        for placeholder, value in FILLED.items():
            words = [w.replace(placeholder, value) for w in words]
        if words[0] == "driver":
            words = [w.replace("{new}", str(packages[f"new-{words[2]}"])) for w in words]
        ok(*words, *SCRIPTED.get(words[0], []))
    assert doctor() == (0, [])


def _route_off(_packages: dict[str, Path]) -> None:
    # Back to the driver's own route: no Chat Server defines facebook_queue.
    ok("options", "set", "--app", "DMS_1", "channel-facebook/inbound-route", "1:facebook_queue")


def _endpoint_gone(_packages: dict[str, Path]) -> None:
    ok("options", "unset", "--app", "DMS_1", "endpoints:1/twitter_queue", "--yes")


def _no_grouping(_packages: dict[str, Path]) -> None:
    ok("options", "unset", "--app", "DMS_1", "channel-twitter/grouping-timeout", "--yes")


def _compliance_off(_packages: dict[str, Path]) -> None:
    ok("options", "set", "--app", "DMS_1", "channel-twitter/compliance-enabled", "false")


def _filters_lost(_packages: dict[str, Path]) -> None:
    ok("options", "set", "--app", "WDE", "interaction-workspace/contact.history.media-filters",
       "email,chat")  # fmt: skip


def _old_plugin(_packages: dict[str, Path]) -> None:
    ok("configure", "workspace", "--plugin-version", "8.5.400.12", "--skip-emojis")


def _reinstall_twitter_driver(package: Path) -> None:
    """What the rolling upgrade does to a stopped single DMS, without its process control."""
    ok("driver", "uninstall", "twitter", "--dms", "DMS_1", "--yes")
    ok("driver", "install", "twitter", "--answers", str(EXAMPLES / "driver-twitter.yaml"),
       "--package", str(package), "--yes")  # fmt: skip


def _old_driver(_packages: dict[str, Path]) -> None:
    _reinstall_twitter_driver(driver_package(Path.cwd() / "old-twitter", "twitter", "8.5.400.40"))


def _twitter_bp_too(_packages: dict[str, Path]) -> None:
    ok("install", "twitter-bp", "--answers", str(EXAMPLES / "twitter-bp.yaml"), "--yes")


GAPS: dict[str, tuple[Callable[[dict[str, Path]], None], str]] = {
    "private messaging route": (_route_off, "private-messaging-route"),
    "no twitter_queue endpoint": (_endpoint_gone, "twitter-tr-endpoint"),
    "no grouping timeout": (_no_grouping, "grouping-timeout"),
    "compliance off": (_compliance_off, "twitter-compliance"),
    "media filters": (_filters_lost, "media-filters"),
    "old plug-in": (_old_plugin, "threaded-routing-versions"),
    "old twitter driver": (_old_driver, "threaded-routing-versions"),
    "Twitter BP still active": (_twitter_bp_too, "twitter-bp-strategies"),
}


def test_each_gap_is_found_and_its_fix_closes_it(healthy: dict[str, Path]) -> None:
    # One tenant for all gaps, in turn: each fix brings it back to healthy, and building it
    # (two BPs, two drivers, four steps) is most of the time.
    for gap, (open_gap, check) in GAPS.items():
        open_gap(healthy)
        try:
            fix_and_recheck(check, healthy)
        except AssertionError as exc:
            raise AssertionError(f"gap {gap!r}: {exc}") from exc


def test_a_missing_iwd_adapter_queue_is_found_and_installing_again_adds_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for package in ("facebook-bp", "facebook-bp-iwd"):
        ok("install", package, "--answers", str(EXAMPLES / f"{package}.yaml"), "--yes")
    assert doctor() == (0, [])
    # What an install by a gsetup that did not create the queue left (no command deletes it).
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.begin() as conn:
        where = "(SELECT id FROM cfg_object WHERE path = :path)"
        path = {"path": "Interaction Queues/Standard Genesys to iWD Adapter Queue"}
        for table, column in (("managed", "object_id"), ("interaction_queue", "id"),
                              ("cfg_object", "id")):  # fmt: skip
            conn.execute(text(f"DELETE FROM {table} WHERE {column} = {where}"), path)
    engine.dispose()
    code, found = doctor()
    assert (code, found) == (3, [("iwd-adapter-queue", "gsetup install facebook-bp-iwd")])
    ok("install", "facebook-bp-iwd", "--answers", str(EXAMPLES / "facebook-bp-iwd.yaml"), "--yes")
    assert doctor() == (0, [])


def test_installed_files_deleted_or_edited_by_hand_are_found_and_installing_again_restores_them(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "fb-home"
    ok("install", "facebook-bp", "--answers", str(EXAMPLES / "facebook-bp.yaml"),
       "--set", f"install_home={home}", "--yes")  # fmt: skip
    assert doctor() == (0, [])
    strategies = home / "Strategies"
    gone, edited = sorted(strategies.iterdir())[:2]
    gone.unlink()
    edited.write_text(edited.read_text() + "# tuned\n")
    script = home / "Scripts" / "SQLite" / "AlterTableInteractionsForFacebook851.sql"
    script.unlink()
    shutil.rmtree(home / "Rules")
    result = run_cli("doctor", "--json")
    assert result.exit_code == 3, result.stderr
    fix = "gsetup install facebook-bp"
    assert [(f["severity"], f["message"], f["fix"]) for f in result.json()["findings"]] == [
        ("error", f"facebook-bp: its strategy file {gone} is missing; installing again "
         "re-creates it", fix),
        ("error", f"facebook-bp: its file {script} is missing; installing again re-creates it",
         fix),
        ("error", f"facebook-bp: its directory {home / 'Rules'} is missing (it held 3 of its "
         "files); installing again re-creates it", fix),
        ("warning", f"facebook-bp: strategy file {edited} was changed since gsetup wrote it "
         "(installing again puts gsetup's back and keeps this one in a backup)", fix),
    ]  # fmt: skip
    text = run_cli("doctor")
    assert text.exit_code == 3 and f"error: [installed-files] facebook-bp: its file {script}" in (
        text.stdout
    )
    ok(*shlex.split(fix)[1:], "--yes")
    assert doctor() == (0, [])
    # The whole install home deleted: one finding for it (and one for the strategy
    # directory in it), not one per file.
    shutil.rmtree(home)
    code, found = doctor()
    assert code == 3 and found == [("installed-files", fix)] * 2
    ok(*shlex.split(fix)[1:], "--yes")
    assert doctor() == (0, [])
