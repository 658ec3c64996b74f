"""A DMS's driver options as they were before an upgrade, kept so that a rollback puts them
back exactly.

An upgrade imports the new options file without overwriting: it adds the keys the new
version brings and moves the values nobody changed to the new defaults. Installing the old
package again would leave the added keys, so before a member's install the upgrade records
every option each of the driver's channels manages (their plan owners, see
:mod:`gsetup.drivers.installed`): one row, ``[gsetup-upgrade-<driver>-before] options``, on
the DMS, a JSON document ``{channel section: [[section, key, value, secret], ...]}`` (secret
when one of the values is, so it is masked wherever plans and history are shown). The
rollback desires exactly those options for each owner: the plan engine deletes what the
owner added since and sets back what it changed. The row goes with the rollback, or with the
journal once the upgrade is over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from gsetup.deployment import StoredOption
from gsetup.drivers.installed import channel_sections, owner_of
from gsetup.drivers.specs import Driver
from gsetup.errors import BadInputError
from gsetup.state import OptionKey, OptionValue

KEPT_KEY = "options"

Layers = dict[str, dict[OptionKey, OptionValue]]  # channel section -> its options


def kept_option(driver: Driver) -> OptionKey:
    """The option holding the options a DMS had before the driver's upgrade."""
    return (f"gsetup-upgrade-{driver}-before", KEPT_KEY)


def kept_row(
    driver: Driver, dms_id: int, held: Mapping[OptionKey, StoredOption]
) -> dict[OptionKey, OptionValue]:
    """The row recording the options each channel of ``driver`` manages in ``held``."""
    owners = {o for option in held.values() for o in option.managers}
    document: dict[str, list[tuple[str, str, str, bool]]] = {}
    secret = False
    for section in channel_sections(driver, dms_id, owners):
        owner = owner_of(driver, dms_id, section)
        mine = [
            (s, k, o.value, o.secret) for (s, k), o in sorted(held.items()) if owner in o.managers
        ]
        document[section] = mine
        secret = secret or any(entry[3] for entry in mine)
    return {kept_option(driver): OptionValue(json.dumps(document), secret=secret)}


def read_kept(driver: Driver, dms: str, held: Mapping[OptionKey, StoredOption]) -> Layers | None:
    """The options kept before the upgrade, per channel section; None when none are kept."""
    row = held.get(kept_option(driver))
    if row is None:
        return None
    section, key = kept_option(driver)
    try:
        document = json.loads(row.value)
        return {
            str(channel): {
                (str(s), str(k)): OptionValue(str(v), secret=bool(secret))
                for s, k, v, secret in entries
            }
            for channel, entries in document.items()
        }
    except (ValueError, TypeError, AttributeError) as exc:
        raise BadInputError(
            f"option [{section}] {key} of {dms!r} is not what gsetup wrote ({exc}); the options "
            "from before the upgrade cannot be put back: restore them by hand and remove it"
        ) from None
