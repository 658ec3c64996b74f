"""What tells gsetup a driver is installed on a DMS: its file record and its channels' owners.

Both live with the DMS application in the configuration database, written in the same
transaction as the driver's options, so they can never disagree with them:

- the file record (:class:`InstallRecord`) is the option section ``gsetup-driver-<driver>`` of
  the DMS application (options and annex are one table here): ``version``, ``target``, one
  ``file:<path>`` row per file with its SHA-256 and one ``directory:<path>`` row per directory
  gsetup created. DMS ignores sections it does not know. One row per file keeps the plan
  readable and an upgrade shows exactly the files that change.
- each channel is installed by its own plan owner ``driver-<driver>@<DMS id>/<channel
  section>``. The plan engine's ownership rules then track exactly the options that channel
  created, and the record rows are co-managed by every channel of the driver on that DMS:
  uninstalling a channel deletes its options, and the record (and so the files) only with the
  last channel. An owner is tenant-wide, so it names the DMS; by its object id rather than its
  name, which could be 255 characters long and not fit.

The values of the user's options an install replaced are recorded beside them too
(:mod:`gsetup.drivers.replaced`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gsetup.drivers.package import InstallRecord
from gsetup.drivers.specs import Driver
from gsetup.errors import BadInputError

OptionRows = Mapping[tuple[str, str], str]

_OWNER_LIMIT = 64  # the width of the managed.package column
_FILE = "file:"
_DIRECTORY = "directory:"


def record_section(driver: Driver) -> str:
    """The DMS option section holding the driver's file record."""
    return f"gsetup-driver-{driver}"


def owner_of(driver: Driver, dms_id: int, section: str) -> str:
    """The plan owner of one channel of the driver on the DMS whose object id is ``dms_id``.

    Refuses channel names the database cannot hold.
    """
    owner = f"driver-{driver}@{dms_id}/{section}"
    if len(owner) > _OWNER_LIMIT:
        room = _OWNER_LIMIT - len(owner) + len(section)
        raise BadInputError(
            f"channel section [{section}] is too long: gsetup records it in at most {room} "
            "characters; use a shorter channel name"
        )
    return owner


def channel_sections(driver: Driver, dms_id: int, owners: Iterable[str]) -> list[str]:
    """The channel sections of ``driver`` on DMS ``dms_id`` among plan owners."""
    prefix = f"driver-{driver}@{dms_id}/"
    return sorted({o[len(prefix) :] for o in owners if o.startswith(prefix)})


def record_rows(record: InstallRecord) -> dict[tuple[str, str], str]:
    """The option rows that store ``record``."""
    section = record_section(record.driver)
    rows = {(section, "version"): record.version, (section, "target"): record.target}
    rows.update({(section, _FILE + f.path): f.sha256 for f in record.files})
    rows.update({(section, _DIRECTORY + d): "created" for d in record.directories})
    return rows


def read_record(driver: Driver, options: OptionRows) -> InstallRecord | None:
    """The file record stored in a DMS's ``options``; None when the driver is not installed."""
    section = record_section(driver)
    mine = {key: value for (s, key), value in options.items() if s == section}
    if "version" not in mine:
        return None
    data = {
        "driver": driver,
        "version": mine["version"],
        "target": mine.get("target", ""),
        "files": [
            {"path": key[len(_FILE) :], "sha256": value}
            for key, value in sorted(mine.items())
            if key.startswith(_FILE)
        ],
        "directories": sorted(key[len(_DIRECTORY) :] for key in mine if key.startswith(_DIRECTORY)),
    }
    return InstallRecord.from_data(data)
