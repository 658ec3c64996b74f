"""The user's values a driver install replaced, kept so that uninstalling puts them back.

Installing a channel sets its Hub options and the ``options`` given, overwriting. Where the DMS
already held one of them, as the user's own option with another value, the option stays the
user's (the plan engine never hands a user's option to a package) and its earlier value is
recorded in the DMS option section ``gsetup-driver-<driver>-replaced``, one row per option:
key ``<channel section>/<key>``, value the earlier value, secret when the option was. The rows
belong to the channel's plan owner, so upgrades carry them and the channel's uninstall deletes
them, in the same transaction as it sets the recorded values back.
"""

from __future__ import annotations

from collections.abc import Mapping

from gsetup.drivers.specs import Driver
from gsetup.plan.current import CurrentOption
from gsetup.state import DesiredObject, DesiredState, OptionKey, OptionValue


def replaced_section(driver: Driver) -> str:
    """The DMS option section recording the values the driver's installs replaced."""
    return f"gsetup-driver-{driver}-replaced"


def replaced_rows(
    driver: Driver,
    section: str,
    wanted: Mapping[OptionKey, OptionValue],
    held: Mapping[OptionKey, CurrentOption],
) -> dict[OptionKey, OptionValue]:
    """The rows recording what installing ``section`` with ``wanted`` replaces in ``held``.

    Rows an earlier install of the channel wrote are kept as they are: they hold the value from
    before the first install, which a re-install must not replace with the first install's.
    """
    record = replaced_section(driver)
    prefix = f"{section}/"
    rows = {
        key: OptionValue(option.value, overwrite=False, secret=option.secret)
        for key, option in held.items()
        if key[0] == record and key[1].startswith(prefix)
    }
    for (option_section, key), want in wanted.items():
        have = held.get((option_section, key))
        if have is None or option_section != section or not want.overwrite:
            continue
        if not have.managers and have.value != want.value:  # the user's value, replaced
            earlier = OptionValue(have.value, overwrite=False, secret=have.secret)
            rows.setdefault((record, prefix + key), earlier)
    return rows


def restore_state(
    tenant: str, path: str, driver: Driver, section: str, held: Mapping[OptionKey, CurrentOption]
) -> DesiredState | None:
    """The user's options of ``section`` set back to their recorded values (None: nothing to
    restore). Without an owner: the options are the user's."""
    record = replaced_section(driver)
    prefix = f"{section}/"
    restored = {
        (section, key[len(prefix) :]): OptionValue(row.value, secret=row.secret)
        for (row_section, key), row in held.items()
        if row_section == record and key.startswith(prefix)
    }
    if not restored:
        return None
    return DesiredState(tenant, [DesiredObject("application", path, options=restored)])
