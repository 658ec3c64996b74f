"""The user's values a driver install replaced, kept so that uninstalling puts them back.

Installing a channel sets its Hub options and the ``options`` given, overwriting. Where the DMS
already held one of them, as the user's own option with another value, the option stays the
user's (the plan engine never hands a user's option to a package) and two rows are recorded,
keyed ``<channel section>/<key>``: the earlier value in the DMS option section
``gsetup-driver-<driver>-replaced`` (secret when the option was), and the SHA-256 of the value
the install set in ``gsetup-driver-<driver>-replaced-by`` (a digest, so a secret is not stored
twice; secret too when the option is, so that it is never printed). The rows belong to the
channel's plan owner, so upgrades carry them and the channel's uninstall deletes them, in the
same transaction as it sets the earlier values back: each one whose option still holds the
value the install set. An option the user edited since keeps the edit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from gsetup.deployment import StoredOption
from gsetup.drivers.specs import Driver
from gsetup.state import DesiredObject, DesiredState, OptionKey, OptionValue


def replaced_section(driver: Driver) -> str:
    """The DMS option section recording the values the driver's installs replaced."""
    return f"gsetup-driver-{driver}-replaced"


def replaced_by_section(driver: Driver) -> str:
    """The DMS option section recording digests of the values the installs set instead."""
    return f"gsetup-driver-{driver}-replaced-by"


def digest(value: str) -> str:
    """The SHA-256 of ``value``, as the ``replaced-by`` rows hold it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def replaced_rows(
    driver: Driver,
    section: str,
    wanted: Mapping[OptionKey, OptionValue],
    held: Mapping[OptionKey, StoredOption],
) -> dict[OptionKey, OptionValue]:
    """The rows recording what installing ``section`` with ``wanted`` replaces in ``held``.

    Rows an earlier install of the channel wrote are kept: the earlier value is the one from
    before the first install, which a re-install must not replace with the first install's;
    the digest follows the value the latest install set.
    """
    before, by = replaced_section(driver), replaced_by_section(driver)
    prefix = f"{section}/"
    rows = {
        key: OptionValue(option.value, overwrite=False, secret=option.secret)
        for key, option in held.items()
        if key[0] in (before, by) and key[1].startswith(prefix)
    }
    for (option_section, key), want in wanted.items():
        have = held.get((option_section, key))
        if have is None or option_section != section or not want.overwrite:
            continue
        recorded = (before, prefix + key) in rows
        if recorded or (not have.managers and have.value != want.value):  # the user's, replaced
            earlier = OptionValue(have.value, overwrite=False, secret=have.secret)
            rows.setdefault((before, prefix + key), earlier)
            # Unsalted, a secret's digest could be looked up or guessed: masked like it.
            rows[(by, prefix + key)] = OptionValue(digest(want.value), secret=want.secret)
    return rows


def restore_state(
    tenant: str, path: str, driver: Driver, section: str, held: Mapping[OptionKey, StoredOption]
) -> DesiredState | None:
    """The user's options of ``section`` set back to their recorded values, where they still
    hold the value the install set (None: nothing to restore). Without an owner: the options
    are the user's."""
    before, by = replaced_section(driver), replaced_by_section(driver)
    prefix = f"{section}/"
    restored = {}
    for (row_section, row_key), row in held.items():
        if row_section != before or not row_key.startswith(prefix):
            continue
        name = (section, row_key[len(prefix) :])
        now, set_by_install = held.get(name), held.get((by, row_key))
        edited = now is None or (
            set_by_install is not None and digest(now.value) != set_by_install.value
        )
        if not edited:
            restored[name] = OptionValue(row.value, secret=row.secret)
    if not restored:
        return None
    return DesiredState(tenant, [DesiredObject("application", path, options=restored)])
