"""The component versions Twitter BP - Threaded Routing needs ("Deploying", step 1): the
drivers' come from their installed manifests (``gsetup driver list``), the plug-in's from
``gsetup configure workspace --plugin-version``."""

from __future__ import annotations

from collections.abc import Iterator

from gsetup.checks.findings import Finding, command
from gsetup.checks.twitter import TWITTER_TR
from gsetup.checks.workspace import workspace_fix
from gsetup.configure.facebook import DMS
from gsetup.configure.snapshot import Snapshot, driver_channels
from gsetup.configure.workspace import PLUGIN_VERSION, WORKSPACE
from gsetup.deployment import ConfiguredApplication
from gsetup.drivers.installed import read_record
from gsetup.drivers.specs import Driver
from gsetup.packages.requirements import DRIVER_MINIMUMS, PLUGIN_MINIMUM, parse_version

CHECK = "threaded-routing-versions"


def threaded_routing_versions(snap: Snapshot) -> Iterator[Finding]:
    """With Threaded Routing installed: the plug-in of each WDE, the Twitter driver of each
    DMS with Twitter channels and, where that DMS has Facebook channels too, its Facebook
    driver are at least the versions the guide names."""
    if TWITTER_TR not in snap.installed():
        return
    for wde in snap.apps(WORKSPACE):
        option = wde.options.get(PLUGIN_VERSION)
        finding = _compare(
            f"{wde.name}: the Social Media plug-in",
            option.value if option is not None else None,
            PLUGIN_MINIMUM,
            workspace_fix(snap, wde, "--plugin-version", "VERSION"),
        )
        if finding is not None:
            yield finding
    for dms in snap.apps(DMS):
        if not driver_channels(dms, "twitter"):
            continue
        needed: list[Driver] = ["twitter"]
        if driver_channels(dms, "facebook"):
            needed.append("facebook")
        options = {key: option.value for key, option in dms.options.items()}
        for driver in needed:
            record = read_record(driver, options)
            verb = "install" if record is None else "upgrade"  # gsetup did not install it
            finding = _compare(
                f"{dms.name}: the Cloud API Driver for {driver.capitalize()}",
                record.version if record is not None else None,
                DRIVER_MINIMUMS[driver],
                _driver_fix(snap, dms, driver, verb),
            )
            if finding is not None:
                yield finding


def _driver_fix(snap: Snapshot, dms: ConfiguredApplication, driver: Driver, verb: str) -> str:
    """The driver command; an upgrade of a DMS without backup is a --single one (stopped,
    upgraded, started), a pair's is rolling."""
    single = ["--single"] if verb == "upgrade" and not dms.info.backup else []
    return command(snap, "driver", verb, driver, "--package", "PATH", "--dms", dms.name, *single)


def _compare(what: str, version: str | None, minimum: str, fix: str) -> Finding | None:
    have = parse_version(version) if version is not None else None
    needed = parse_version(minimum)
    assert needed is not None  # the guide's minimums are versions
    if have is not None and have >= needed:
        return None
    if have is not None:
        return Finding(
            CHECK,
            "error",
            f"{what} is {version}; Twitter BP - Threaded Routing needs {minimum} or higher",
            fix,
        )
    known = "is not recorded" if version is None else f"{version!r} is not a Genesys version"
    return Finding(
        CHECK,
        "warning",
        f"{what}: its version {known}, and Twitter BP - Threaded Routing needs {minimum} or higher",
        fix,
    )
