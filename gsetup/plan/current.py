"""Read what a tenant holds now, in a handful of queries (one per table, never one per row)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from gsetup.configdb.models import MANAGERS_SEPARATOR
from gsetup.plan.bulk import fetch_rows
from gsetup.state import OptionKey

NO_MANAGERS: frozenset[str] = frozenset()  # shared: most options are a user's

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_SECTIONS_PER_QUERY = 500


@dataclass(slots=True)
class CurrentOption:
    """An option row as stored; ``managed_by`` as stored too (the package names joined by
    ``MANAGERS_SEPARATOR``): most options are a user's, and an import loads tens of thousands."""

    id: int
    value: str
    secret: bool
    managed_by: str | None = None

    @property
    def managers(self) -> frozenset[str]:
        """The packages that manage the option (none: it is a user's)."""
        if not self.managed_by:
            return NO_MANAGERS
        return frozenset(self.managed_by.split(MANAGERS_SEPARATOR))


@dataclass
class CurrentObject:
    """An object as stored: attributes (references as paths), options and managing packages."""

    id: int
    kind: str
    path: str
    parent_id: int | None
    attrs: dict[str, Any] = field(default_factory=dict)
    options: dict[OptionKey, CurrentOption] = field(default_factory=dict)
    managers: set[str] = field(default_factory=set)


@dataclass
class Current:
    """A tenant's objects by path."""

    tenant_id: int
    objects: dict[str, CurrentObject]

    def children(self, obj_id: int) -> list[CurrentObject]:
        """The objects whose parent is ``obj_id``."""
        return [o for o in self.objects.values() if o.parent_id == obj_id]


def load_current(
    conn: Connection,
    tenant_id: int,
    scope: set[str] | None = None,
    options: Mapping[str, Collection[OptionKey]] | None = None,
) -> Current:
    """Load the objects, options and management records of one tenant.

    With ``scope`` (a set of paths) only those objects and their children are loaded, so a
    command on one application does not read a tenant of 100,000 options. With ``options``
    (path -> option keys) only those options are loaded, so setting 20,000 options does not
    read the 100,000 others the application holds.
    """
    from sqlalchemy import or_, select

    from gsetup.configdb.models import CfgObject, Managed

    where = CfgObject.tenant_id == tenant_id
    if scope is not None:
        in_scope = select(CfgObject.id).where(where, CfgObject.path.in_(scope))
        where = where & or_(CfgObject.path.in_(scope), CfgObject.parent_id.in_(in_scope))
    by_id: dict[int, CurrentObject] = {}
    rows = conn.execute(
        select(CfgObject.id, CfgObject.kind, CfgObject.path, CfgObject.parent_id).where(where)
    )
    for oid, kind, path, parent_id in rows:
        by_id[oid] = CurrentObject(oid, kind, path, parent_id)
    _load_details(conn, where, by_id)

    selected = select(CfgObject.id).where(where)
    if options is None:
        _load_all_options(conn, selected, by_id)
    else:
        _load_wanted_options(conn, by_id, options)

    managed_rows = conn.execute(
        select(Managed.object_id, Managed.package).where(Managed.object_id.in_(selected))
    )
    for oid, package in managed_rows:
        by_id[oid].managers.add(package)
    return Current(tenant_id, {o.path: o for o in by_id.values()})


_OPTION_COLUMNS = ("section", "key", "id", "value", "secret", "managed_by")


def _load_all_options(conn: Connection, selected: Any, by_id: dict[int, CurrentObject]) -> None:
    """Every option of the selected objects."""
    from sqlalchemy import select

    from gsetup.configdb.models import CfgOption

    columns = [CfgOption.__table__.c[c] for c in ("object_id", *_OPTION_COLUMNS)]
    query = select(*columns).where(CfgOption.object_id.in_(selected))
    for oid, section, key, opt_id, value, secret, managed_by in conn.execute(query).all():
        by_id[oid].options[(section, key)] = CurrentOption(opt_id, value, secret, managed_by)


def _load_wanted_options(
    conn: Connection, by_id: dict[int, CurrentObject], wanted: Mapping[str, Collection[OptionKey]]
) -> None:
    """Only the ``wanted`` options of each object.

    They are fetched by object and section, a few hundred sections per query (bound parameters
    are limited), and matched by key here: a key list could be as long as a file. The rows come
    through the driver, and are matched in one comprehension: an import reads tens of thousands.
    """
    from sqlalchemy import select

    from gsetup.configdb.models import CfgOption

    columns = [CfgOption.__table__.c[c] for c in _OPTION_COLUMNS]
    for obj in by_id.values():
        keys = wanted.get(obj.path)
        if not keys:
            continue
        sections = sorted(set(map(itemgetter(0), keys)))
        for start in range(0, len(sections), _SECTIONS_PER_QUERY):
            chunk = sections[start : start + _SECTIONS_PER_QUERY]
            query = select(*columns).where(
                CfgOption.object_id == obj.id, CfgOption.section.in_(chunk)
            )
            obj.options.update(
                {
                    name: CurrentOption(opt_id, value, bool(secret), managed_by)
                    for section, key, opt_id, value, secret, managed_by in fetch_rows(conn, query)
                    if (name := (section, key)) in keys
                }
            )


def _load_details(conn: Connection, where: Any, by_id: dict[int, CurrentObject]) -> None:
    """Fill each object's attributes from its kind's table, references turned into paths."""
    from gsetup.configdb.attributes import read_attributes

    found = read_attributes(conn, where, {oid: (o.kind, o.path) for oid, o in by_id.items()})
    for oid, attrs in found.items():
        by_id[oid].attrs = attrs
