"""The catalogue: every installable Business Process package, by name."""

from __future__ import annotations

from gsetup.errors import NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.packages import facebook, rss, twitter
from gsetup.packages.model import Package

_PACKAGES: dict[str, Package] = {
    p.name: p for p in (*facebook.PACKAGES, *twitter.PACKAGES, *rss.PACKAGES)
}


def catalogue() -> list[Package]:
    """Every package gsetup can install, in the guide's order."""
    return list(_PACKAGES.values())


def get_package(name: str) -> Package:
    """The package called ``name``; :class:`NotFoundError` naming the known ones otherwise."""
    try:
        return _PACKAGES[name]
    except KeyError:
        known = ", ".join(_PACKAGES)
        raise NotFoundError(f"no package {quote_prefix(name)}; the packages are: {known}") from None
