"""The engine's statements, built once per table and run as SQL compiled once per dialect.

Building a SQLAlchemy statement, computing its cache key and setting up its execution cost
several times what SQLite takes to run it. The hot paths (claim, flush, intake, functions,
UCS, agents) therefore use statements built once here, and :func:`run` sends each to the
driver's cursor as the SQL its dialect compiled the first time, as gsetup.plan.bulk does for
bulk writes (no per-row parameter processing: the values are plain strings and numbers).
Bound-parameter names start with ``b_`` so they never collide with column names in
``values()``.
"""

from __future__ import annotations

import collections
import functools
import operator
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import table as table_clause
from sqlalchemy.exc import DBAPIError

from gsetup.runtime.schema import (
    agent_loads,
    agents,
    capacity_epoch,
    contacts,
    interactions,
    offers,
    ucs_attributes,
    ucs_interactions,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

Params = dict[str, Any] | list[dict[str, Any]]


class _Compiled:
    """A statement's SQL for one dialect, how its positional values are picked from named
    parameters (None: the driver takes them named) and the values of the literals it binds
    itself (``state == 'ready'``)."""

    def __init__(self, text: str, order: tuple[str, ...] | None, literals: dict[str, Any]):
        self.text, self.literals = text, literals
        self.pick = None if order is None else _picker(order)
        # The row type of its results, known after its first single run (None: no rows).
        # Read once: psycopg builds a column object per column each time it describes.
        self.row_type: type | None = None
        self.described = False

    def arguments(self, params: dict[str, Any]) -> Any:
        if self.literals:
            params = {**self.literals, **params}
        return params if self.pick is None else self.pick(params)


def _picker(order: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The positional values of named parameters: one C call (itemgetter) for two or more
    (itemgetter of one name returns the value, not a tuple)."""
    if len(order) > 1:
        return operator.itemgetter(*order)
    return lambda params: tuple(params[n] for n in order)


# (statement, dialect, parameter names) -> compiled form, or None: let SQLAlchemy run it
_COMPILED: dict[tuple[int, str, tuple[str, ...]], _Compiled | None] = {}


def run(conn: Connection, statement: Any, params: Params) -> Any:
    """Execute a statement of this module (one that lives as long as the process) on the
    connection's DBAPI cursor; the result has ``first``, ``scalar``, ``one``, ``all``,
    iteration, ``rowcount``, and rows with attributes and ``_mapping``."""
    rows = params if isinstance(params, list) else [params]
    key = (id(statement), conn.dialect.name, tuple(rows[0]))
    try:
        compiled = _COMPILED[key]
    except KeyError:
        compiled = _COMPILED[key] = _compile(conn, statement, list(rows[0]))
    if compiled is None:
        return conn.execute(statement, params)
    arguments: Any = (
        [compiled.arguments(p) for p in params]
        if isinstance(params, list)
        else compiled.arguments(params)
    )
    many = isinstance(params, list)
    for listener in LISTENERS:
        listener(compiled.text, arguments, many)
    cursor = _cursor(conn)
    try:
        if many:  # no caller reads the rows of an executemany
            cursor.executemany(compiled.text, arguments)
            return Result(cursor, None)
        cursor.execute(compiled.text, arguments)
        if not compiled.described:
            description = cursor.description
            if description is not None:
                compiled.row_type = _row_type(tuple(d[0] for d in description))
            compiled.described = True
        return Result(cursor, compiled.row_type)
    except conn.dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy would raise it (OperationalError for a deadlock or a lost
        # connection...), so callers and the worker loop see one kind of error.
        raise DBAPIError.instance(
            compiled.text, arguments, exc, conn.dialect.loaded_dbapi.Error, hide_parameters=True
        ) from exc


def write(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` (at least one) with a statement of this module: an execute for one
    row, which costs less than an executemany of one, else one executemany."""
    run(conn, statement, rows if len(rows) > 1 else rows[0])


def _cursor(conn: Connection) -> Any:
    """The DBAPI connection's cursor, one kept for its life: a psycopg cursor costs tens of
    microseconds to set up, a fifth of a short statement (results are fetched at once, so
    one cursor serves every statement in turn)."""
    fairy = conn.connection
    dbapi = fairy.dbapi_connection
    kept = fairy.info.get("gsetup.cursor")
    if kept is None or kept[0] is not dbapi:
        kept = fairy.info["gsetup.cursor"] = (dbapi, dbapi.cursor())  # type: ignore[union-attr]
    return kept[1]


# Called with (SQL, parameters, many) before each statement :func:`run` sends itself; the
# benchmark records the engine's statements with it. Empty in production.
LISTENERS: list[Callable[[str, Any, bool], None]] = []


class Result:
    """The rows of a statement run by :func:`run`, fetched at once."""

    def __init__(self, cursor: Any, row_type: type | None) -> None:
        self.rowcount: int = cursor.rowcount
        self.rows: list[Any] = (
            [] if row_type is None else [row_type(*values) for values in cursor.fetchall()]
        )

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def all(self) -> list[Any]:
        """Every row."""
        return self.rows

    def first(self) -> Any:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def one(self) -> Any:
        """The only row; an error when there is not exactly one."""
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, found {len(self.rows)}")
        return self.rows[0]

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self.rows[0][0] if self.rows else None


@functools.cache
def _row_type(names: tuple[str, ...]) -> type:
    base = collections.namedtuple("Row", names, rename=True)  # type: ignore[misc]
    mapping = property(lambda row: dict(zip(names, row, strict=True)))
    return type("Row", (base,), {"__slots__": (), "_mapping": mapping})


def _compile(conn: Connection, statement: Any, keys: list[str]) -> _Compiled | None:
    from sqlalchemy.sql.dml import Insert

    compiled = statement.compile(
        dialect=conn.dialect, column_keys=keys if isinstance(statement, Insert) else None
    )
    text = str(compiled)
    if "POSTCOMPILE" in text:  # expanding IN (...): rendered by SQLAlchemy at each call
        return None
    literals = {
        name: bind.effective_value
        for name, bind in compiled.binds.items()
        if name not in keys and not bind.required
    }
    positional = conn.dialect.paramstyle in ("qmark", "numeric", "format")
    return _Compiled(text, tuple(compiled.positiontup or ()) if positional else None, literals)


@functools.cache
def claim(table: Table, postgresql: bool) -> Any:
    """Due interactions of a tenant, oldest due first."""
    query = (
        select(table)
        .where(table.c.tenant == bindparam("b_tenant"), table.c.due_at <= bindparam("b_now"))
        .order_by(table.c.due_at)
        .limit(bindparam("b_limit"))
    )
    return query.with_for_update(skip_locked=True) if postgresql else query


@functools.cache
def lock_one(table: Table, postgresql: bool, skip_locked: bool) -> Any:
    """One interaction by id, locked on PostgreSQL."""
    query = select(table).where(
        table.c.tenant == bindparam("b_tenant"), table.c.id == bindparam("b_id")
    )
    return query.with_for_update(skip_locked=skip_locked) if postgresql else query


@functools.cache
def offers_of(table: Table) -> Any:
    """What an agent has been offered or holds, oldest first."""
    return (
        select(table)
        .where(
            table.c.tenant == bindparam("b_tenant"),
            table.c.assigned_to == bindparam("b_agent"),
            or_(table.c.state == "offered", table.c.state == "agent"),
        )
        .order_by(table.c.placed_in_queue_at)
    )


@functools.cache
def offered_to(table: Table) -> Any:
    """The interactions offered to an agent and not yet accepted."""
    return select(table).where(
        table.c.tenant == bindparam("b_tenant"),
        table.c.assigned_to == bindparam("b_agent"),
        table.c.state == "offered",
    )


LOCK_MANY_SIZES = (2, 4, 8, 16, 32, 64, 128)


def lock_many_params(tenant: str, ids: list[str]) -> tuple[Any, dict[str, Any]]:
    """:func:`lock_many` for ``ids`` (at most the largest of ``LOCK_MANY_SIZES``) and its
    parameters: the list is padded to the next size by repeating its last id, so a handful
    of statements, each compiled once, serve every batch (no expanding IN to render)."""
    size = next(n for n in LOCK_MANY_SIZES if n >= len(ids))
    padded = [*ids, *([ids[-1]] * (size - len(ids)))]
    return size, {"b_tenant": tenant, **{f"b_id{n}": i for n, i in enumerate(padded)}}


@functools.cache
def lock_many(table: Table, postgresql: bool, size: int) -> Any:
    """``size`` interactions by id (``b_id0``...), locked on PostgreSQL in id order."""
    query = (
        select(table)
        .where(
            table.c.tenant == bindparam("b_tenant"),
            or_(*(table.c.id == bindparam(f"b_id{n}") for n in range(size))),
        )
        .order_by(table.c.id)
    )
    return query.with_for_update() if postgresql else query


@functools.cache
def intake_duplicate(table: Table) -> Any:
    """The interaction a submission repeats."""
    return select(table.c.id, table.c.queue).where(
        table.c.tenant == bindparam("b_tenant"),
        table.c.channel == bindparam("b_channel"),
        table.c.external_id == bindparam("b_external"),
    )


@functools.cache
def merge_candidate(
    table: Table, column: str, flags: tuple[str, ...], queues: tuple[str, ...]
) -> Any:
    """The oldest interaction of the same Business Process (one of ``queues``) with the same
    column value, still before its target (one of ``flags`` set)."""
    query = (
        select(table.c.id)
        .where(
            table.c.tenant == bindparam("b_tenant"),
            table.c[column] == bindparam("b_value"),
            table.c.id != bindparam("b_id"),
            or_(table.c.state == "queued", table.c.state == "routing"),
            or_(*(table.c.queue == q for q in queues)),
            table.c.received_at <= bindparam("b_received"),
        )
        .order_by(table.c.received_at, table.c.id)
        .limit(1)
    )
    if flags:
        query = query.where(or_(*(table.c[f] == 1 for f in flags)))
    return query


@functools.cache
def find_other(table: Table, column: str, states: tuple[str, ...], before: bool) -> Any:
    """Another interaction with the column value in one of ``states`` (find_interaction)."""
    query = (
        select(table.c.id, table.c.assigned_to, table.c.queue)
        .where(
            table.c.tenant == bindparam("b_tenant"),
            table.c[column] == bindparam("b_value"),
            table.c.id != bindparam("b_id"),
            or_(*(table.c.state == s for s in states)),
        )
        .order_by(table.c.received_at)
        .limit(1)
    )
    return query.where(table.c.received_at < bindparam("b_before")) if before else query


@functools.cache
def same_queue_older(table: Table) -> Any:
    """Older interactions still in a queue's strategy (keep_order)."""
    return select(table.c.id, table.c.received_at, table.c.attached_data).where(
        table.c.tenant == bindparam("b_tenant"),
        table.c.queue == bindparam("b_queue"),
        or_(table.c.state == "queued", table.c.state == "routing"),
        table.c.id != bindparam("b_id"),
        table.c.received_at <= bindparam("b_received"),
    )


CONTACT_BY_IDENTITY = select(contacts.c.id, contacts.c.attributes).where(
    contacts.c.tenant == bindparam("b_tenant"), contacts.c.identity == bindparam("b_identity")
)
UCS_ATTRIBUTES = select(ucs_interactions.c.attributes).where(
    ucs_interactions.c.tenant == bindparam("b_tenant"), ucs_interactions.c.id == bindparam("b_id")
)
UCS_SET_ATTRIBUTES = (
    update(ucs_interactions)
    .where(
        ucs_interactions.c.tenant == bindparam("b_tenant"),
        ucs_interactions.c.id == bindparam("b_id"),
    )
    .values(attributes=bindparam("b_attributes"))
)
# The attributes of UCS interactions about to be recorded (rows b_tenant, b_id, b_name,
# b_value), sent before them: none of one UCS has already, whose repeated CreateInteraction
# changes nothing. Two turns recording one id at once: the second fails on the key and is
# retried, seeing the first's.
UCS_INDEX_NEW = insert(ucs_attributes).from_select(
    ["tenant", "ucs_id", "name", "value"],
    select(
        bindparam("b_tenant", type_=String),
        bindparam("b_id", type_=String),
        bindparam("b_name", type_=String),
        bindparam("b_value", type_=String),
    ).where(
        ~exists().where(
            ucs_interactions.c.tenant == bindparam("b_tenant", type_=String),
            ucs_interactions.c.id == bindparam("b_id", type_=String),
        )
    ),
)
UCS_INDEX_DROP = delete(ucs_attributes).where(
    ucs_attributes.c.tenant == bindparam("b_tenant"),
    ucs_attributes.c.ucs_id == bindparam("b_id"),
    ucs_attributes.c.name == bindparam("b_name"),
)


@functools.cache
def ucs_index_set(postgresql: bool) -> Any:
    """Set the indexed value of a UCS interaction's attribute (rows: the table's columns)."""
    if postgresql:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(ucs_attributes)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(ucs_attributes)
    return statement.on_conflict_do_update(
        index_elements=["tenant", "ucs_id", "name"], set_={"value": statement.excluded.value}
    )


@functools.cache
def ucs_with_attribute(contact: bool, first: bool) -> Any:
    """The UCS interactions whose attribute b_name has the indexed value b_value (of contact
    b_contact if ``contact``), oldest first; the first alone if ``first``."""
    a, u = ucs_attributes.c, ucs_interactions.c
    query = (
        select(u.id, u.contact_id, u.attributes)
        .select_from(ucs_attributes.join(ucs_interactions, u.id == a.ucs_id))
        .where(
            a.tenant == bindparam("b_tenant"),
            a.name == bindparam("b_name"),
            a.value == bindparam("b_value"),
            u.tenant == bindparam("b_tenant"),
        )
        .order_by(u.created_at)
    )
    if contact:
        query = query.where(u.contact_id == bindparam("b_contact"))
    return query.limit(1) if first else query


READY_AGENTS = select(agents.c.name, agents.c.state, agents.c.skills, agents.c.capacity).where(
    agents.c.tenant == bindparam("b_tenant"), agents.c.state == "ready"
)
TENANT_LOADS = select(agent_loads.c.agent, agent_loads.c.media_type, agent_loads.c.load).where(
    agent_loads.c.tenant == bindparam("b_tenant")
)
LOGGED_IN_AGENTS = select(agents.c.name).where(
    agents.c.tenant == bindparam("b_tenant"), agents.c.state != "logged_out"
)
AGENT_KNOWN = select(agents.c.name).where(
    agents.c.tenant == bindparam("b_tenant"), agents.c.name == bindparam("b_agent")
)
AGENT_LOADS = select(agent_loads.c.media_type, agent_loads.c.load).where(
    agent_loads.c.tenant == bindparam("b_tenant"), agent_loads.c.agent == bindparam("b_agent")
)
SET_LOAD = (
    update(agent_loads)
    .where(
        agent_loads.c.tenant == bindparam("b_tenant"),
        agent_loads.c.agent == bindparam("b_agent"),
        agent_loads.c.media_type == bindparam("b_media"),
    )
    .values(load=bindparam("b_load"))
)
INSERT_OFFER = offers.insert()
OFFER_OUTCOME = (
    update(offers)
    .where(
        offers.c.tenant == bindparam("b_tenant"),
        offers.c.interaction_id == bindparam("b_id"),
        offers.c.agent == bindparam("b_agent"),
        offers.c.outcome.is_(None),
    )
    .values(outcome=bindparam("b_outcome"))
)


@functools.cache
def agent_row(postgresql: bool, skip_locked: bool) -> Any:
    """An agent's row, locked on PostgreSQL."""
    query = select(agents.c.state, agents.c.skills, agents.c.capacity).where(
        agents.c.tenant == bindparam("b_tenant"), agents.c.name == bindparam("b_agent")
    )
    return query.with_for_update(skip_locked=skip_locked) if postgresql else query


def _waiting_at_target(table: Table, postgresql: bool, *after: Any) -> Any:
    """The ids of the ``b_count`` oldest interactions waiting at a target for a media type,
    narrowed by ``after`` (then equal queue times are ordered by id); rows another worker
    holds are running already and are skipped (no lock waits between turns)."""
    placed = table.c.placed_in_queue_at
    query = (
        select(table.c.id)
        .where(
            table.c.tenant == bindparam("b_tenant"),
            table.c.waiting == "target",
            table.c.media_type == bindparam("b_media"),
            table.c.due_at > bindparam("b_now"),
            *after,
        )
        .order_by(*((placed, table.c.id) if after else (placed,)))
        .limit(bindparam("b_count"))
    )
    return query.with_for_update(skip_locked=True) if postgresql else query


@functools.cache
def wake(table: Table, postgresql: bool) -> Any:
    """Make the oldest interactions waiting at a target for a media type due now."""
    oldest = _waiting_at_target(table, postgresql)
    # By id alone (the subquery names the tenant): with the tenant too, SQLite walks every
    # interaction of the tenant through an index on it instead of looking up each id.
    return update(table).where(table.c.id.in_(oldest)).values(due_at=bindparam("b_now"))


@functools.cache
def wake_next(table: Table, postgresql: bool) -> Any:
    """Make due the ``b_count`` oldest interactions waiting at a target for a media type that
    were placed in their queue after a given one (``b_placed``, ``b_id``: ties broken by id):
    wake-ups that could not be used pass on to them."""
    placed = table.c.placed_in_queue_at
    after = or_(
        placed > bindparam("b_placed"),
        and_(placed == bindparam("b_placed"), table.c.id > bindparam("b_id")),
    )
    following = _waiting_at_target(table, postgresql, after)
    return update(table).where(table.c.id.in_(following)).values(due_at=bindparam("b_now"))


@functools.cache
def wake_one(table: Table) -> Any:
    """PostgreSQL: make one interaction still waiting at a target due now, unless a worker
    holds it (that worker's turn looks for agents itself)."""
    waiting = (
        select(table.c.id)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.waiting == "target",
            table.c.due_at > bindparam("b_now"),
        )
        .with_for_update(skip_locked=True)
    )
    return update(table).where(table.c.id.in_(waiting)).values(due_at=bindparam("b_now"))


# PostgreSQL's capacity epoch (gsetup.runtime.agents.after_commit): its value, and the bump
# and wake-up after a commit, in one round trip through the function below.
EPOCH: Any = select(literal_column("last_value")).select_from(table_clause(capacity_epoch.name))
BUMP_AND_WAKE: Any = select(
    func.gsetup_bump_and_wake(
        bindparam("b_tenant", type_=String),
        bindparam("b_media", type_=String),
        bindparam("b_count", type_=Integer),
        bindparam("b_now", type_=Float),
    )
)


def bump_and_wake_function() -> str:
    """The store's ``gsetup_bump_and_wake(tenant, media type, count, now)``: bump the capacity
    epoch, then run :func:`wake`'s UPDATE (the statement whose plans the tests check) and
    return how many it woke. A volatile function takes a new snapshot for each statement,
    so the wake-up sees every commit before the bump, as when they were two round trips."""
    from sqlalchemy.dialects.postgresql import psycopg

    order = ("b_tenant", "b_media", "b_count", "b_now")
    compiled = wake(interactions, True).compile(dialect=psycopg.dialect())  # type: ignore[no-untyped-call]

    def placeholder(found: re.Match[str]) -> str:
        name = found.group(1)
        if name in order:
            return f"${order.index(name) + 1}"
        literal = str(compiled.params[name])  # the statement's own ('target')
        return "'" + literal.replace("'", "''") + "'"

    body = re.sub(r"%\((\w+)\)s", placeholder, str(compiled))
    return (
        "CREATE OR REPLACE FUNCTION gsetup_bump_and_wake(varchar, varchar, integer, float)\n"
        "RETURNS integer LANGUAGE plpgsql VOLATILE AS $function$\n"
        "DECLARE woken integer;\n"
        "BEGIN\n"
        f"  PERFORM nextval('{capacity_epoch.name}');\n"
        f"  {body};\n"
        "  GET DIAGNOSTICS woken = ROW_COUNT;\n"
        "  RETURN woken;\n"
        "END\n"
        "$function$"
    )
