"""What the configure steps and the doctor read: a tenant's applications, Business Processes,
queues and driver channels, with the checks that turn a wrong name into a clear error."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from gsetup.context import Context
from gsetup.deployment import (
    AttributeValue,
    BusinessAttribute,
    ConfiguredApplication,
    InstalledPackage,
    Queue,
)
from gsetup.drivers.specs import Driver, parse_channel_section
from gsetup.errors import BadInputError, NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.packages.catalogue import catalogue, get_package
from gsetup.packages.model import Family, Package
from gsetup.wording import a_or_an

# An installed driver's channel section carries the Java class DMS loads (genesys-facts.md).
DRIVER_KEY = "driver-classname"


@dataclass(frozen=True)
class Snapshot:
    """A read of one tenant (gsetup.deployment): its Genesys tenant DBID, installed packages,
    queues, applications with the options read, and the business attributes asked for."""

    tenant: str
    dbid: int
    packages: Mapping[str, InstalledPackage]
    queues: Mapping[str, Queue]
    applications: Mapping[str, ConfiguredApplication]
    attributes: Mapping[str, BusinessAttribute]

    def apps(self, app_type: str) -> list[ConfiguredApplication]:
        """The tenant's applications of ``app_type``, by name."""
        return [a for a in self.applications.values() if a.info.app_type == app_type]

    def installed(self) -> set[str]:
        """The names of the packages whose Business Process is in the tenant."""
        return set(self.packages)

    def queue_package(self, queue: str) -> str | None:
        """The package of the installed Business Process that queue ``queue`` belongs to."""
        found = self.queues.get(queue)
        return found.package if found is not None else None

    def attribute_value(self, attribute: str, value: str) -> AttributeValue | None:
        """The value ``value`` of business attribute ``attribute`` (read with the snapshot)."""
        found = self.attributes.get(attribute)
        return found.values.get(value) if found is not None else None


def read_tenant(
    ctx: Context,
    tenant: str,
    attributes: Iterable[str] = (),
    *,
    sections: Collection[str] | None = None,
) -> Snapshot:
    """Read ``tenant`` (the user must be allowed to see it): installed packages, queues,
    applications with their options (only sections starting with one of ``sections``, if
    given) and the business attributes named ``attributes`` with their values."""
    from gsetup import deployment

    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        apps = deployment.applications(conn, tid)
        options = deployment.options_of(conn, tid, [a.path for a in apps], sections)
        names = list(attributes)
        return Snapshot(
            tenant,
            tid,
            deployment.installed_packages(conn, tid),
            {q.name: q for q in deployment.queues(conn, tid)},
            {a.name: ConfiguredApplication(a, options.get(a.path, {})) for a in apps},
            deployment.business_attributes(conn, tid, names) if names else {},
        )


def find_app(snap: Snapshot, app_type: str, name: str | None, flag: str) -> ConfiguredApplication:
    """The application called ``name``, which must be of ``app_type``; without a name, the
    tenant's only application of that type (``flag`` is the option that names one)."""
    if name is not None:
        obj = snap.applications.get(name)
        if obj is None:
            raise NotFoundError(f"no application {quote_prefix(name)} in tenant {snap.tenant!r}")
        if obj.info.app_type != app_type:
            have = a_or_an(obj.info.app_type) if obj.info.app_type else "without a type"
            wanted = a_or_an(app_type)
            raise BadInputError(
                f"application {name!r} is {have}, not {wanted}: give {wanted} with {flag}"
            )
        return obj
    found = snap.apps(app_type)
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(
            f"tenant {snap.tenant!r} has no {app_type} application; create it with "
            f"`gsetup app create NAME --type {app_type}`"
        )
    names = ", ".join(o.name for o in found)
    raise BadInputError(
        f"tenant {snap.tenant!r} has several {app_type} applications ({names}); "
        f"choose one with {flag}"
    )


def tenant_dbid(snap: Snapshot, given: int | None) -> int:
    """The Genesys tenant DBID for ``[endpoints:<dbid>]``: the one given, else gsetup's own
    id of the tenant (the default tenant Environment is 1, as in Genesys)."""
    if given is None:
        return snap.dbid
    if given < 1:
        raise BadInputError(
            f"--tenant-dbid {given} is not allowed; use a whole number of at least 1"
        )
    return given


def endpoints_section(dbid: int) -> str:
    """DMS's section of the access points of tenant ``dbid``."""
    return f"endpoints:{dbid}"


def require_installed(snap: Snapshot, package: Package, stages: Iterable[str]) -> list[str]:
    """The names of ``package``'s queues of ``stages``; an error unless the package's
    Business Process, and so each of those queues, is in the tenant."""
    names = [package.stage_queue(stage) for stage in stages]
    for name in names:
        if snap.queue_package(name) != package.name:
            raise BadInputError(
                f"interaction queue {name!r} of {package.title} is not in tenant "
                f"{snap.tenant!r}: install the Business Process first "
                f"(`gsetup install {package.name}`)"
            )
    return names


def choose_package(
    snap: Snapshot, family: Family, stages: tuple[str, ...], given: str | None, flag: str
) -> Package | None:
    """The installed package of ``family`` whose queues of ``stages`` a step points at.

    ``given`` names it; otherwise the one installed package of the family that has those
    stages is taken, None when there is none; an error when several are installed.
    """
    if given is not None:
        package = get_package(given)
        if package.family != family or not has_stages(package, stages):
            fitting = ", ".join(p.name for p in catalogue() if _fits(p, family, stages))
            raise BadInputError(
                f"{flag} {quote_prefix(given)} does not fit here; use one of: {fitting}"
            )
        require_installed(snap, package, stages)
        return package
    installed = snap.installed()
    found = [p for p in catalogue() if _fits(p, family, stages) and p.name in installed]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise BadInputError(
            f"tenant {snap.tenant!r} has several {family} Business Processes ({names}); "
            f"choose one with {flag}"
        )
    return found[0] if found else None


def _fits(package: Package, family: Family, stages: tuple[str, ...]) -> bool:
    return package.family == family and has_stages(package, stages)


def has_stages(package: Package, stages: tuple[str, ...]) -> bool:
    """Whether ``package`` has a queue for each of ``stages``."""
    try:
        for stage in stages:
            package.stage_queue(stage)
    except KeyError:
        return False
    return True


def driver_channels(app: ConfiguredApplication, driver: Driver) -> list[str]:
    """The channel sections (not monitor sections) of ``driver`` installed on ``app``: those
    that carry driver-classname."""
    return sorted(s for s in channel_sections(app, driver) if (s, DRIVER_KEY) in app.options)


def channel_sections(app: ConfiguredApplication, driver: Driver) -> list[str]:
    """Every channel section of ``driver`` on ``app``, with or without its driver."""
    found = set()
    for section, _key in app.options:
        parsed = parse_channel_section(section)
        if parsed is not None and parsed.driver == driver and parsed.monitor is None:
            found.add(section)
    return sorted(found)


def select_channels(app: ConfiguredApplication, driver: Driver, given: str | None) -> list[str]:
    """The channel section named by ``--channel``, else every ``driver`` channel of ``app``;
    an error when the driver is not installed there."""
    installed = driver_channels(app, driver)
    hint = f"install the {driver} driver on {app.name} first (`gsetup driver install {driver}`)"
    if not installed:
        raise BadInputError(
            f"{app.name} has no {driver} channel (a [channel-{driver}...] section with "
            f"{DRIVER_KEY}): {hint}"
        )
    if given is None:
        return installed
    if given not in installed:
        raise BadInputError(
            f"{app.name} has no {driver} channel [{given}]; its {driver} channels: "
            f"{', '.join(installed)}"
        )
    return [given]
