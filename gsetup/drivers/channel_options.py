"""The options a channel install desires: checked user options, the driver's options file
(the package's own or the template's) retargeted to the channel, and the channel's state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gsetup.drivers import staging
from gsetup.drivers.installed import record_rows
from gsetup.drivers.optionfile import option_file_name, render_driver_options
from gsetup.drivers.package import (
    InstallRecord,
    PackageContents,
    builtin_package,
    read_manifest,
)
from gsetup.drivers.specs import (
    Driver,
    parse_channel_section,
    secret_keys,
    validate_option,
)
from gsetup.errors import BadInputError
from gsetup.options import OptionSections, format_options, parse_options
from gsetup.state import DesiredObject, DesiredState, OptionKey, OptionValue, object_path


def check_channel_options(
    driver: Driver, section: str, given: Mapping[str, object], source: str
) -> dict[str, str]:
    """Check channel options given by the user against the specs; canonical values.

    Refuses secrets (they have answers of their own, read from the environment or a file),
    values outside a spec's range (the message gives the range) and keys or values an option
    file cannot hold.
    """
    secrets = secret_keys(driver)
    checked: dict[str, str] = {}
    for key, raw in given.items():
        if key in secrets:
            raise BadInputError(
                f"{source}: option {key!r} is a secret; give it with its own answer, as "
                "{env: NAME} or {file: PATH}"
            )
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, (str, int)):
            text = str(raw)
        else:
            raise BadInputError(f"{source}: option {key!r} must be a text, number or boolean")
        try:
            checked[key] = validate_option(driver, section, key, text)
        except BadInputError as exc:
            raise BadInputError(f"{source}: {exc}") from None
    try:
        format_options({section: checked})
    except BadInputError as exc:
        raise BadInputError(f"{source}: {exc}") from None
    return checked


def check_options_file(driver: Driver, data: bytes, source: str) -> None:
    """A package's options file sets its channel only: ``[channel-<driver>]`` (required) and
    its monitor sections, with values in their ranges. Checked when a package is installed or
    upgraded to; a file already installed is read as it is (see :func:`file_options`)."""
    sections = parse_options(data, source)
    for found in sections:
        parsed = parse_channel_section(found)
        if parsed is None or parsed.driver != driver or parsed.name is not None:
            raise BadInputError(
                f"{source}: section [{found}] is not for the {driver} driver's channel; the "
                f"options file holds [channel-{driver}] and its monitor sections only"
            )
    if f"channel-{driver}" not in sections:
        raise BadInputError(f"{source}: no [channel-{driver}] section, the channel's options")
    file_options(driver, f"channel-{driver}", 0, data, source)  # the values' ranges


def file_options(
    driver: Driver, section: str, tenant_dbid: int, data: bytes | None, source: str
) -> OptionSections:
    """The driver's options file for ``section``: the package's own, else the template's.

    The file is written for the first channel (the template for ``section`` itself); its
    channel and monitor sections become ``section``'s. Other sections are left out: a file
    installed before gsetup checked packages may hold some, and they are not the channel's.
    """
    name = section.removeprefix(f"channel-{driver}").removeprefix("-") or None
    if data is None:
        data = render_driver_options(driver, channel=name, tenant_dbid=tenant_dbid).encode()
    retargeted: OptionSections = {}
    for found, keys in parse_options(data, source).items():
        parsed = parse_channel_section(found)
        if parsed is None or parsed.driver != driver or parsed.name not in (None, name):
            continue
        target = section + (f"-monitor-{parsed.monitor}" if parsed.monitor else "")
        checked = retargeted.setdefault(target, {})
        for key, value in keys.items():
            try:
                checked[key] = validate_option(driver, target, key, value)
            except BadInputError as exc:
                raise BadInputError(f"{source}: {exc}") from None
    return retargeted


def options_data(
    driver: Driver, contents: PackageContents | None, installed: InstallRecord | None
) -> bytes | None:
    """The package's own options file, or the installed driver's; None: render the template."""
    if contents is not None:
        if contents.manifest.version == builtin_version(driver):
            return None  # rendered, so that inbound-route names the right tenant
        return contents.options_data
    if installed is None or installed.version == builtin_version(driver):
        return None
    path = f"{staging.driver_directory(driver)}/{option_file_name(driver)}"
    if any(f.path == path for f in installed.files):
        on_disk = Path(installed.target) / path
        return on_disk.read_bytes() if on_disk.is_file() else None
    return None


def builtin_version(driver: Driver) -> str:
    return read_manifest(builtin_package(driver)).version


def channel_state(
    tenant: str, dms: str, owner: str, layers: Sequence[Mapping[OptionKey, OptionValue]]
) -> DesiredState:
    """One channel's state: the option layers merged, later layers winning."""
    merged: dict[OptionKey, OptionValue] = {}
    for layer in layers:
        merged.update(layer)
    obj = DesiredObject("application", object_path("application", dms), options=merged)
    return DesiredState(tenant, [obj], owner=owner)


def record_options(record: InstallRecord | None) -> dict[OptionKey, OptionValue]:
    return {key: OptionValue(value) for key, value in record_rows(record).items()} if record else {}


def file_defaults(
    sections: OptionSections, secrets: frozenset[str]
) -> dict[OptionKey, OptionValue]:
    """Options from an options file: set only where missing."""
    from gsetup.state import options

    return options(sections, overwrite=False, secret_keys=secrets)
