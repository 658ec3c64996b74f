"""Which Interaction Server script groups a ``--package`` value names.

The groups of a Business Process package come from the catalogue (``Package.script_pairs``,
with those of the packages it requires: an iWD variant adds its columns to its base's), so
gsetup.sqlscripts never guesses them from package names.
"""

from __future__ import annotations

from gsetup.errors import NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.packages.catalogue import catalogue, get_package
from gsetup.sqlscripts.catalog import GROUPS


def script_groups(names: list[str] | None) -> list[str] | None:
    """``--package`` values (script groups or BP package names, any case) -> script groups in
    run order; None (no value) means every group."""
    if not names:
        return None
    wanted: set[str] = set()
    for given in names:
        wanted.update(_groups_of(given.strip().lower()))
    return [group for group in GROUPS if group in wanted]


def _groups_of(name: str) -> set[str]:
    if name in GROUPS:
        return {name}
    if name not in {p.name for p in catalogue()}:
        raise NotFoundError(
            f"Unknown package {quote_prefix(name)}: use one of {', '.join(GROUPS)}, or a BP "
            "package name such as facebook-bp or twitter-bp-iwd."
        )
    package = get_package(name)
    groups: set[str] = {pair.group for pair in package.script_pairs}
    for required in package.requires:
        groups.update(pair.group for pair in get_package(required).script_pairs)
    if not groups:
        raise NotFoundError(
            f"package {name!r} adds no Interaction Server columns, so it has no scripts; "
            f"use one of {', '.join(GROUPS)}, or a BP package such as facebook-bp"
        )
    return groups
