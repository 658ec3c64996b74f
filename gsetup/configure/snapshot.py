"""What the configure steps and the doctor read: a tenant's applications, Business Processes,
queues and driver channels, with the checks that turn a wrong name into a clear error."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gsetup.context import Context
from gsetup.drivers.specs import Driver, parse_channel_section
from gsetup.errors import BadInputError, NotFoundError
from gsetup.packages.catalogue import catalogue, get_package
from gsetup.packages.model import Family, Package
from gsetup.plan.current import Current, CurrentObject
from gsetup.state import object_path

# The kinds a step needs to find its applications and check queue names; anything else is
# loaded only when a step names its path (``extra``), so a tenant of many persons and
# attribute values is not read for one option.
_KINDS = ("application", "business_process", "queue")

# An installed driver's channel section carries the Java class DMS loads (genesys-facts.md).
DRIVER_KEY = "driver-classname"


@dataclass
class Snapshot:
    """A read of one tenant: its Genesys tenant DBID and the objects loaded."""

    tenant: str
    dbid: int
    current: Current

    def get(self, path: str, kind: str) -> CurrentObject | None:
        """The object at ``path`` if it is of ``kind``."""
        obj = self.current.objects.get(path)
        return obj if obj is not None and obj.kind == kind else None

    def apps(self, app_type: str) -> list[CurrentObject]:
        """The tenant's applications of ``app_type``, by path."""
        found = (o for o in self.current.objects.values() if o.kind == "application")
        return sorted((o for o in found if o.attrs["app_type"] == app_type), key=_path)

    def installed(self) -> set[str]:
        """The names of the packages whose Business Process is in the tenant."""
        return {
            o.attrs["package"]
            for o in self.current.objects.values()
            if o.kind == "business_process" and o.attrs["package"]
        }

    def queue_package(self, queue: str) -> str | None:
        """The package of the installed Business Process that queue ``queue`` belongs to."""
        obj = self.get(object_path("queue", queue), "queue")
        bp_path = obj.attrs["business_process"] if obj is not None else None
        bp = self.get(bp_path, "business_process") if bp_path else None
        return (bp.attrs["package"] or None) if bp is not None else None


def read_tenant(
    ctx: Context, tenant: str, extra: Iterable[str] = (), *, full: bool = False
) -> Snapshot:
    """Read ``tenant`` (the user must be allowed to see it): applications, Business
    Processes and queues, the objects at the ``extra`` paths and their children; with
    ``full``, everything."""
    from sqlalchemy import select

    from gsetup.configdb.models import CfgObject
    from gsetup.configdb.tenants import tenant_id
    from gsetup.plan.current import load_current

    ctx.identity.require(tenant, change=False)
    with ctx.db.engine.connect() as conn:
        tid = tenant_id(conn, tenant)
        scope: set[str] | None = None
        if not full:
            query = select(CfgObject.path).where(
                CfgObject.tenant_id == tid, CfgObject.kind.in_(_KINDS)
            )
            scope = {*conn.execute(query).scalars(), *extra}
        current = load_current(conn, tid, scope)
    return Snapshot(tenant, tid, current)


def find_app(snap: Snapshot, app_type: str, name: str | None, flag: str) -> CurrentObject:
    """The application called ``name``, which must be of ``app_type``; without a name, the
    tenant's only application of that type (``flag`` is the option that names one)."""
    if name is not None:
        obj = snap.get(object_path("application", name), "application")
        if obj is None:
            raise NotFoundError(f"no application {name!r} in tenant {snap.tenant!r}")
        if obj.attrs["app_type"] != app_type:
            have = obj.attrs["app_type"] or "an application without a type"
            raise BadInputError(
                f"application {name!r} is {have}, not {app_type}: give a {app_type} with {flag}"
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
    names = ", ".join(name_of(o) for o in found)
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
            raise BadInputError(f"{flag} {given!r} does not fit here; use one of: {fitting}")
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


def driver_channels(app: CurrentObject, driver: Driver) -> list[str]:
    """The channel sections (not monitor sections) of ``driver`` installed on ``app``: those
    that carry driver-classname."""
    return sorted(s for s in channel_sections(app, driver) if (s, DRIVER_KEY) in app.options)


def channel_sections(app: CurrentObject, driver: Driver) -> list[str]:
    """Every channel section of ``driver`` on ``app``, with or without its driver."""
    found = set()
    for section, _key in app.options:
        parsed = parse_channel_section(section)
        if parsed is not None and parsed.driver == driver and parsed.monitor is None:
            found.add(section)
    return sorted(found)


def select_channels(app: CurrentObject, driver: Driver, given: str | None) -> list[str]:
    """The channel section named by ``--channel``, else every ``driver`` channel of ``app``;
    an error when the driver is not installed there."""
    installed = driver_channels(app, driver)
    hint = f"install the {driver} driver on {name_of(app)} first (`gsetup driver install {driver}`)"
    if not installed:
        raise BadInputError(
            f"{name_of(app)} has no {driver} channel (a [channel-{driver}...] section with "
            f"{DRIVER_KEY}): {hint}"
        )
    if given is None:
        return installed
    if given not in installed:
        raise BadInputError(
            f"{name_of(app)} has no {driver} channel [{given}]; its {driver} channels: "
            f"{', '.join(installed)}"
        )
    return [given]


def name_of(obj: CurrentObject) -> str:
    """An object's own name: the last segment of its path."""
    return obj.path.rsplit("/", 1)[-1]


def _path(obj: CurrentObject) -> str:
    return obj.path
