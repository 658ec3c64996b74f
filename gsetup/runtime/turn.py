"""One transaction of the engine: the interactions it holds, their pending writes, and the
agents it has locked. Writes to held interactions are batched and flushed with one
executemany, before any query that could read them and at the end of the turn."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gsetup.runtime import sql
from gsetup.runtime.context import EngineContext, log
from gsetup.runtime.itx import Itx, dumps, from_row, to_values

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

    from gsetup.runtime.agents import AgentSlot, Starved


@dataclass
class Turn:
    """A unit of work committed as one transaction."""

    ctx: EngineContext
    conn: Connection
    now: float
    held: dict[str, Itx] = field(default_factory=dict)  # rows this turn has locked/loaded
    dirty: dict[str, Itx] = field(default_factory=dict)
    agents: dict[str, AgentSlot] = field(default_factory=dict)  # agents seen this turn
    loaded_agents: set[str] = field(default_factory=set)  # whose loads are read
    all_agents_read: bool = False  # every ready agent is in ``agents``
    # PostgreSQL: agents whose row another transaction held locked when this turn asked, not
    # asked again this turn (that transaction's commit wakes what waits: agents.after_commit)
    busy_agents: set[str] = field(default_factory=set)
    wake: dict[str, int] = field(default_factory=dict)  # media type -> capacity freed
    # media type -> (how many interactions woken at a target could not use the capacity there
    # is, the last of them by queue order): as many after it are woken (agents.pass_wake_on)
    passed_on: dict[str, tuple[int, tuple[float, str]]] = field(default_factory=dict)
    # (custom property, value) -> interactions of this turn changed while holding that value,
    # kept only for the properties a query of this turn has asked about (``watched``)
    changed: dict[tuple[str, Any], set[str]] = field(default_factory=dict)
    watched: dict[str, str] = field(default_factory=dict)  # custom property -> its column
    loaded: dict[str, Any] = field(default_factory=dict)  # id -> its row as last written
    outbox_rows: int = 0
    new_offers: list[dict[str, Any]] = field(default_factory=list)  # runtime_offers to insert
    offered_to: set[str] = field(default_factory=set)  # agents this turn has made offers to
    first_offered: list[float] = field(default_factory=list)  # their received_at, first offers
    # it made interactions due now that it did not run (woken at a target, a routing loop)
    made_due: bool = False
    # UCS interactions recorded and attributes merged by this turn, by (tenant, id): written
    # by flush_ucs, before anything reads them and at the end of the turn
    ucs_created: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    ucs_updated: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # and their rows of ucs_attributes: those of the interactions recorded, and the value of
    # each attribute merged by (tenant, id, name) (None: no row, services.ucs.indexed)
    ucs_new_attributes: list[dict[str, Any]] = field(default_factory=list)
    ucs_set_attributes: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    # PostgreSQL: the capacity epoch before the agents were read, and the interactions
    # suspended for want of an agent (agents.after_commit)
    epoch: int | None = None
    starved: list[Starved] = field(default_factory=list)

    def hold(self, rows: Iterable[Any]) -> list[Itx]:
        """Take claimed rows (of :func:`sql.run`, whose mappings are dicts) into the turn."""
        loaded = []
        for row in rows:
            mapping = row._mapping
            itx = from_row(mapping)
            self.held[itx.id] = itx
            self.loaded[itx.id] = mapping
            loaded.append(itx)
        return loaded

    def touch(self, itx: Itx, keys: tuple[str, ...] | None = None) -> None:
        """Mark ``itx`` to be written back, indexing its watched values for flush_matching
        (only those: a turn touches each interaction dozens of times). ``keys``: the only
        user data keys changed since it was last touched (None: any may have); when none of
        them is watched, an interaction already marked needs no indexing again."""
        dirty, watched = self.dirty, self.watched
        if keys is not None and dirty.get(itx.id) is itx and watched.keys().isdisjoint(keys):
            return
        dirty[itx.id] = itx
        if watched:
            udata = itx.udata
            for prop in watched:
                value = udata.get(prop)
                if value is not None:
                    self.changed.setdefault((prop, _hashable(value)), set()).add(itx.id)

    def flush(self) -> None:
        """Write every changed interaction and new offer (one executemany each) and the
        agents' loads."""
        self.flush_offers()
        self.flush_ucs()
        if self.dirty:
            self._write_changed()
            self.dirty.clear()
        if self.agents:
            from gsetup.runtime.agents import flush_loads

            flush_loads(self)

    def _write_changed(self) -> None:
        """Update each changed interaction's columns that differ from its row, grouped by
        which columns they are (one executemany a group): an index whose columns are set is
        rewritten by SQLite even to the same value, and psycopg adapts every value sent."""
        table = self.ctx.store.table
        custom = self.ctx.store.custom
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for itx in self.dirty.values():
            values = to_values(itx, custom)
            row = self.loaded.get(itx.id)
            if row is None:
                changed = tuple(values)
            else:
                changed = tuple(k for k, v in values.items() if v != row.get(k, _ABSENT))
                row.update(values)
            if changed:
                groups.setdefault(changed, []).append(
                    {"b_id": itx.id, **{k: values[k] for k in changed}}
                )
        for columns, rows in groups.items():
            sql.write(self.conn, _update_statement(table, columns), rows)

    def flush_offers(self) -> None:
        """Insert the offers made so far (before anything reads or updates them)."""
        if self.new_offers:
            sql.write(self.conn, sql.INSERT_OFFER, self.new_offers)
            self.offered_to.update(offer["agent"] for offer in self.new_offers)
            self.new_offers = []

    def flush_ucs(self) -> None:
        """Write the UCS interactions recorded (ignoring those UCS has already) and then the
        attributes merged so far, one executemany each, with their rows of ucs_attributes
        (one more each)."""
        if self.ucs_created:
            from gsetup.runtime.schema import ucs_interactions
            from gsetup.runtime.store import insert_ignore

            statement = insert_ignore(
                self.ctx.store.postgresql, ucs_interactions, ("tenant", "id"), returning=False
            )
            rows = list(self.ucs_created.values())
            self.ucs_created = {}
            if self.ucs_new_attributes:  # first: it looks for the interactions UCS had
                sql.write(self.conn, sql.UCS_INDEX_NEW, self.ucs_new_attributes)
                self.ucs_new_attributes = []
            sql.write(self.conn, statement, rows)
        if self.ucs_updated:
            rows = [
                {"b_tenant": tenant, "b_id": ucs_id, "b_attributes": dumps(attributes)}
                for (tenant, ucs_id), attributes in self.ucs_updated.items()
            ]
            self.ucs_updated = {}
            sql.write(self.conn, sql.UCS_SET_ATTRIBUTES, rows)
        if self.ucs_set_attributes:
            values = [
                {"tenant": key[0], "ucs_id": key[1], "name": key[2], "value": value}
                for key, value in self.ucs_set_attributes.items()
                if value is not None
            ]
            dropped = [
                {"b_tenant": key[0], "b_id": key[1], "b_name": key[2]}
                for key, value in self.ucs_set_attributes.items()
                if value is None
            ]
            self.ucs_set_attributes = {}
            if values:
                sql.write(self.conn, sql.ucs_index_set(self.ctx.store.postgresql), values)
            if dropped:
                sql.write(self.conn, sql.UCS_INDEX_DROP, dropped)

    def flush_matching(self, column: str, value: Any, asking: Itx) -> None:
        """Flush before a query on ``column`` = ``value`` only when another changed
        interaction of this turn could match it; the common case costs no statement."""
        prop = self.ctx.store.property_of.get(column)
        if prop is None:
            self.flush()
            return
        if prop not in self.watched:
            self._watch(prop, column)
        others = self.changed.get((prop, _hashable(value)), set()) - {asking.id}
        if any(i in self.dirty for i in others):
            self.flush()

    def _watch(self, prop: str, column: str) -> None:
        """Index ``prop`` from now on; a changed interaction counts with its value as claimed
        (what the row still holds) and its value now."""
        self.watched[prop] = column
        for itx in self.dirty.values():
            row = self.loaded.get(itx.id)
            for value in (row.get(column) if row is not None else None, itx.udata.get(prop)):
                if value is not None:
                    self.changed.setdefault((prop, _hashable(value)), set()).add(itx.id)

    def log(self, itx: Itx, event: str, **fields: Any) -> None:
        """A structured debug line for a state change."""
        if log.isEnabledFor(logging.DEBUG):
            extra = " ".join(f"{k}={v!r}" for k, v in fields.items())
            log.debug(
                "event=%s tenant=%r interaction=%s state=%s queue=%r %s",
                event,
                itx.tenant,
                itx.id,
                itx.state,
                itx.queue,
                extra,
            )


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else repr(value)


_ABSENT = object()
# (table, columns) -> its UPDATE by id; kept for the process (sql.run caches by statement), and
# few: the sets of columns a step changes are a handful of shapes.
_STATEMENTS: dict[tuple[int, tuple[str, ...]], Any] = {}


def _update_statement(table: Table, columns: tuple[str, ...]) -> Any:
    statement = _STATEMENTS.get((id(table), columns))
    if statement is None:
        from sqlalchemy import bindparam, update

        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in columns})
        )
        _STATEMENTS[(id(table), columns)] = statement
    return statement
