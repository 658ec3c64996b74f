"""Applications (DMS, Chat Server, Interaction Server...) and the options of one of them."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from gsetup.deployment.model import Application, Options, StoredOption
from gsetup.state import OptionKey, object_path

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, CompoundSelect, Select
    from sqlalchemy.engine import Connection

    # (path, section, key, value, secret, managed_by)
    OptionRows = Select[str, str, str, str, bool, str | None]

_NONE: frozenset[str] = frozenset()  # shared: most options are a user's


def applications(
    conn: Connection,
    tenant_id: int,
    app_type: str | None = None,
    names: Collection[str] | None = None,
) -> list[Application]:
    """The tenant's applications (of ``app_type``, or called ``names``, if given), by name;
    one statement, no options."""
    from sqlalchemy import select

    from gsetup.configdb.tables import application as A
    from gsetup.configdb.tables import cfg_object

    backup = cfg_object.alias()
    query = (
        select(
            cfg_object.c.id,
            cfg_object.c.name,
            cfg_object.c.path,
            A.c.app_type,
            A.c.host,
            A.c.port,
            A.c.working_dir,
            A.c.start_cmd,
            A.c.stop_cmd,
            backup.c.name,
            A.c.redundancy_type,
        )
        .join(A, A.c.id == cfg_object.c.id)
        .outerjoin(backup, backup.c.id == A.c.backup_id)
        .where(cfg_object.c.tenant_id == tenant_id)
        .order_by(cfg_object.c.name)
    )
    if app_type is not None:
        query = query.where(A.c.app_type == app_type)
    if names is not None:
        query = query.where(cfg_object.c.name.in_(list(names)))
    rows: list[Any] = list(conn.execute(query))
    return [Application(*row) for row in rows]


def application(conn: Connection, tenant_id: int, name: str) -> Application | None:
    """The application called ``name``, if the tenant has one."""
    found = applications(conn, tenant_id, names=[name])
    return found[0] if found else None


def options(
    conn: Connection, tenant_id: int, path: str, sections: Collection[str] | None = None
) -> Options:
    """The options (or annex) of the object at ``path`` (only ``sections`` if given), by
    (section, key); one statement."""

    from gsetup.configdb.tables import cfg_object, cfg_option

    query = _option_rows(tenant_id).where(cfg_object.c.path == path)
    if sections is not None:
        query = query.where(cfg_option.c.section.in_(list(sections)))
    found: dict[str, dict[OptionKey, StoredOption]] = {}
    _collect(conn, query, found)
    return found.get(path, {})


def options_of(
    conn: Connection,
    tenant_id: int,
    paths: Collection[str],
    prefixes: Collection[str] | None = None,
) -> dict[str, Options]:
    """The options of each object at ``paths`` (only sections that start with one of
    ``prefixes``, if given), by path; one statement, so a check of every application does not
    read the options it never looks at.

    A prefix matches as given, in lower case, Capitalised and in upper case (people write
    ``channel-`` and ``Channel-``), through the (object, section) index.
    """
    from sqlalchemy import union_all

    from gsetup.configdb.tables import cfg_object

    if not paths:
        return {}
    query: Any = _option_rows(tenant_id).where(cfg_object.c.path.in_(list(paths)))
    variants = None
    if prefixes is not None:
        variants = tuple({v for p in prefixes for v in (p, p.lower(), p.capitalize(), p.upper())})
        # One SELECT per prefix: an OR of ranges would make SQLite scan every option.
        query = union_all(*(query.where(_starts_with(conn, p)) for p in variants))
    found: dict[str, dict[OptionKey, StoredOption]] = {}
    _collect(conn, query, found, variants)
    return dict(found)


def _starts_with(conn: Connection, prefix: str) -> ColumnElement[bool]:
    """Sections that start with ``prefix``, as a condition the (object, section) index serves.

    SQLite compares text bytewise, so a prefix is a range (LIKE with a bound pattern would
    scan); PostgreSQL's collations are linguistic, so there it is LIKE on the object's rows.
    """
    from sqlalchemy import and_

    from gsetup.configdb.tables import cfg_option

    section = cfg_option.c.section
    if conn.dialect.name == "sqlite":
        return and_(section >= prefix, section < prefix[:-1] + chr(ord(prefix[-1]) + 1))
    return section.startswith(prefix, autoescape=True)


def _option_rows(tenant_id: int) -> OptionRows:
    """Options with their object's path, in the tenant."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_object, cfg_option

    columns = (cfg_option.c.section, cfg_option.c.key, cfg_option.c.value, cfg_option.c.secret)
    return (
        select(cfg_object.c.path, *columns, cfg_option.c.managed_by)
        .join(cfg_object, cfg_object.c.id == cfg_option.c.object_id)
        .where(cfg_object.c.tenant_id == tenant_id)
    )


def _collect(
    conn: Connection,
    query: OptionRows | CompoundSelect[Any],
    found: dict[str, dict[OptionKey, StoredOption]],
    prefixes: tuple[str, ...] | None = None,
) -> None:
    from gsetup.configdb.tables import MANAGERS_SEPARATOR

    for path, section, key, value, secret, managed_by in conn.execute(query):
        if prefixes is not None and not section.startswith(prefixes):
            continue
        managers = frozenset(managed_by.split(MANAGERS_SEPARATOR)) if managed_by else _NONE
        found.setdefault(path, {})[(section, key)] = StoredOption(value, bool(secret), managers)


def application_options(
    conn: Connection, tenant_id: int, name: str, sections: Collection[str] | None = None
) -> Options:
    """The options of application ``name`` (only ``sections`` if given)."""
    return options(conn, tenant_id, object_path("application", name), sections)


def option_rows(
    conn: Connection, object_id: int, name: OptionKey | None = None
) -> list[tuple[str, str, str, bool]]:
    """The (section, key, value, secret) options of the object ``object_id`` (only ``name``
    if given) in the order they were added, as an option file lists them; one statement."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_option

    query = select(
        cfg_option.c.section, cfg_option.c.key, cfg_option.c.value, cfg_option.c.secret
    ).where(cfg_option.c.object_id == object_id)
    if name is not None:
        query = query.where(cfg_option.c.section == name[0], cfg_option.c.key == name[1])
    rows = conn.execute(query.order_by(cfg_option.c.id))
    return [(s, k, v, bool(secret)) for s, k, v, secret in rows]
