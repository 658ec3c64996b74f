"""Apply a desired state: lock the tenant, re-plan, write every change in ONE transaction.

The plan is computed again inside the transaction, after the lock is held, so two concurrent
applies never work from the same stale picture. Statements are batched per kind and per
action (executemany), never one per option.
"""

from __future__ import annotations

import gc
import os
import signal
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gsetup.configdb.database import undoing_after
from gsetup.configdb.kinds import KINDS
from gsetup.configdb.models import MANAGERS_SEPARATOR
from gsetup.errors import GsetupError, changed_after_shown
from gsetup.fileio import INTERRUPT_AT_ENV, checkpoint
from gsetup.interrupts import deferred_interrupt
from gsetup.plan.bulk import insert_rows
from gsetup.plan.current import Current
from gsetup.plan.diff import KIND_ORDER, compute_plan
from gsetup.plan.lock import tenant_lock
from gsetup.plan.model import Change, Plan, option_row
from gsetup.plan.pending import FileSwap, forget, mark_committed, record
from gsetup.state import DesiredState

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

# Fault injection for the crash tests: SIGKILL this process after N write statements.
CRASH_AFTER_ENV = "GSETUP_TEST_CRASH_AFTER"

Progress = Callable[[str], None]

# The plans a user confirmed and not yet applied, in the order the command applies them.
_confirmed: ContextVar[list[Plan] | None] = ContextVar("confirmed_plans", default=None)


@dataclass(frozen=True)
class Operation:
    """What the history records about an apply: the command, package and redacted answers."""

    name: str
    account: str
    package: str | None = None
    version: str | None = None
    answers: Mapping[str, Any] | None = None


def plan_state(engine: Engine, state: DesiredState) -> Plan:
    """The plan for ``state`` without writing anything (``--dry-run``)."""
    return plan_states(engine, [state])


def plan_states(engine: Engine, states: Sequence[DesiredState]) -> Plan:
    """The plan for applying ``states`` one after the other, without writing anything.

    A later state is planned against the effects of the earlier ones, so several states are
    written inside a transaction that is always rolled back.
    """
    with engine.connect() as conn:
        if len(states) == 1:
            with gc_paused():
                plan, _current = compute_plan(conn, states[0])
        else:
            conn.begin()
            plan = _write_all(conn, states)
        conn.rollback()
    return plan


def apply_state(
    engine: Engine,
    state: DesiredState,
    operation: Operation,
    *,
    progress: Progress | None = None,
    before_commit: Callable[[Connection, Plan], None] | None = None,
) -> Plan:
    """Apply ``state`` atomically and record it in the install history; returns the plan."""
    return apply_states(engine, [state], operation, progress=progress, before_commit=before_commit)


def apply_states(
    engine: Engine,
    states: Sequence[DesiredState],
    operation: Operation,
    *,
    progress: Progress | None = None,
    before_commit: Callable[[Connection, Plan], None] | None = None,
    files: FileSwap | None = None,
    file_changes: Sequence[Change] = (),
) -> Plan:
    """Apply ``states`` in order, in ONE transaction, and record them as one plan.

    ``before_commit`` runs inside the transaction after the database writes, for work that must
    succeed for the apply to count; raising there rolls back. File changes it appends to the
    plan are recorded in the history with the rest. ``files`` are staged before the
    transaction and put in place after its commit, under the same lock, all or nothing with
    it (:mod:`gsetup.plan.pending`); ``file_changes`` describe them, and join the plan (and
    its history record) after the database changes.
    """
    tenant = states[0].tenant
    assert all(s.tenant == tenant for s in states)
    with engine.connect() as conn, tenant_lock(conn, tenant, operation.account, progress) as held:
        if files:
            _stage(conn, held.tenant_id, files, operation.account)
        try:  # beginning may fail too (SQLite busy past the timeout): the files are undone
            transaction = conn.begin()
            writer_count = _Counter()
            plan = _write_all(conn, states, writer_count)
            plan.changes.extend(file_changes)
            if before_commit is not None:
                before_commit(conn, plan)  # may add the file changes it made to the plan
            _check_confirmed(plan)
            if files:
                mark_committed(conn, files)
            if any(c.action != "keep" or c.ownership for c in plan.changes):  # anything written
                _record(conn, held.tenant_id, plan, operation)
                writer_count.checkpoint()
            if not files:
                held.release_in(conn)
        except BaseException as exc:
            with deferred_interrupt(), undoing_after(conn, exc):
                if conn.in_transaction():
                    conn.rollback()
                if files:
                    files.undo()
                    forget(conn, files)
            raise
        with deferred_interrupt():  # committed: the files must follow
            transaction.commit()
            if files:
                checkpoint("committed")
                _finish(conn, files)
    return plan


@contextmanager
def as_confirmed(plans: Sequence[Plan]) -> Iterator[None]:
    """Apply in the block only what ``plans`` showed: an apply whose plan, made again under
    the lock, differs from the next of them (someone changed the database while the question
    was asked) is rolled back and refused, instead of writing what no one confirmed."""
    token = _confirmed.set(list(plans))
    try:
        yield
    finally:
        _confirmed.reset(token)


def _check_confirmed(plan: Plan) -> None:
    confirmed = _confirmed.get()
    if not confirmed:
        return
    shown = confirmed.pop(0)
    if _writes(shown) != _writes(plan):
        raise changed_after_shown(
            f"the configuration of tenant {plan.tenant!r}",
            plan.summary_line(),
            "nothing was written",
        )


def _writes(plan: Plan) -> list[tuple[object, ...]]:
    return [
        (c.action, c.target, c.kind, c.path, c.option, c.before, c.after, c.secret)
        for c in plan.changes
        if c.action != "keep"
    ]


def _finish(conn: Connection, files: FileSwap) -> None:
    try:
        files.finish()
    except OSError as exc:  # the record stays: the next run finishes what is left
        raise GsetupError(
            f"the change is committed but putting its files in place failed ({exc}); fix the "
            "cause and run gsetup again: it finishes them first"
        ) from exc
    forget(conn, files)


def _stage(conn: Connection, tenant_id: int, files: FileSwap, account: str) -> None:
    """Record the file steps, then write the new files beside their destinations."""
    with deferred_interrupt():  # the record exists once committed: keep its id
        record(conn, tenant_id, files, account)
    try:
        checkpoint("recorded")
        files.stage()
    except BaseException:
        with deferred_interrupt():
            files.undo()
            forget(conn, files)
        raise


def _write_all(
    conn: Connection, states: Sequence[DesiredState], counter: _Counter | None = None
) -> Plan:
    """Plan and write each state in turn; the changes of all of them make one plan."""
    combined = Plan(states[0].tenant, states[-1].owner)
    with gc_paused():
        for state in states:
            plan, current = compute_plan(conn, state)
            _Writer(conn, current, counter or _Counter()).write(plan)
            combined.changes.extend(plan.changes)
            combined.unchanged_options += plan.unchanged_options
    return combined


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector for bulk work (reading and planning a file of options).

    Such work allocates a few objects per option and keeps them: the collector's passes over
    tens of thousands of young objects find nothing and cost up to a third of an import.
    On resuming, what the work allocated is moved to the oldest generation (freeze, then
    unfreeze) instead of being traversed once more as young; garbage cycles among it (a
    parser's tree) go with the next full collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()  # back into the oldest generation
            gc.enable()


def _record(conn: Connection, tenant_id: int, plan: Plan, op: Operation) -> None:
    from sqlalchemy import insert

    from gsetup.configdb.models import InstallHistory

    visible = [
        option_row(c) if c.target == "option" else c.to_json(plan.tenant)
        for c in plan.changes
        if c.action != "keep"
    ]
    conn.execute(
        insert(InstallHistory).values(
            tenant_id=tenant_id,
            tenant_name=plan.tenant,
            operation=op.name,
            package=op.package,
            version=op.version,
            account=op.account,
            at=datetime.now(UTC),
            answers=dict(op.answers or {}),
            summary=plan.summary(),
            changes=visible,
        )
    )


class _Counter:
    """Counts write statements; the crash tests kill the process at a chosen count."""

    def __init__(self) -> None:
        crash = os.environ.get(CRASH_AFTER_ENV)
        self.crash_after = int(crash) if crash else None
        self.statements = 0

    def checkpoint(self) -> None:
        """Count one write, and die (or be interrupted) here if a test asked for it."""
        self.statements += 1
        if self.crash_after is not None and self.statements >= self.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        if os.environ.get(INTERRUPT_AT_ENV) == f"statement-{self.statements}":
            os.kill(os.getpid(), signal.SIGINT)


class _Writer:
    """Turns a plan's changes into batched statements."""

    def __init__(self, conn: Connection, current: Current, counter: _Counter) -> None:
        self.conn = conn
        self.current = current
        self.counter = counter
        self.ids = {path: obj.id for path, obj in current.objects.items()}
        self.owner: str | None = None

    def write(self, plan: Plan) -> None:
        self.owner = plan.owner
        by = defaultdict(list)
        owned = []  # kept or changed, changing hands: kept values alone write nothing
        for change in plan.changes:
            if change.action != "keep":
                by[(change.action, change.target)].append(change)
            if change.ownership and change.action != "delete":
                owned.append(change)
        self._delete_options(by[("delete", "option")])
        self._delete_objects(by[("delete", "object")])
        self._create_objects(by[("create", "object")])
        self._update_objects(by[("update", "object")])
        self._write_options(by[("create", "option")], by[("update", "option")])
        self._ownership(owned)

    def _run(self, statement: Any, rows: list[dict[str, Any]] | None = None) -> Any:
        if rows == []:
            return None
        result = (
            self.conn.execute(statement, rows) if rows is not None else self.conn.execute(statement)
        )
        self.counter.checkpoint()
        return result

    def _insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """INSERT many rows; tables without JSON columns skip SQLAlchemy's per-row work."""
        from sqlalchemy import JSON, insert

        if not rows:
            return
        if any(isinstance(c.type, JSON) for c in table.columns):
            self._run(insert(table), rows)
            return
        insert_rows(self.conn, table, rows)
        self.counter.checkpoint()

    def _option_id(self, change: Change) -> int:
        assert change.option is not None
        return self.current.objects[change.path].options[change.option].id

    def _delete_options(self, changes: list[Change]) -> None:
        from sqlalchemy import bindparam, delete

        from gsetup.configdb.models import CfgOption

        stmt = delete(CfgOption).where(CfgOption.id == bindparam("oid"))
        self._run(stmt, [{"oid": self._option_id(c)} for c in changes])

    def _delete_objects(self, changes: list[Change]) -> None:
        from sqlalchemy import bindparam, delete

        from gsetup.configdb.models import CfgObject

        # Changes arrive children first; the FKs of details, options and managed rows cascade.
        stmt = delete(CfgObject).where(CfgObject.id == bindparam("oid"))
        for change in changes:
            self._run(stmt, [{"oid": self.ids.pop(change.path)}])

    def _create_objects(self, changes: list[Change]) -> None:
        from sqlalchemy import insert

        from gsetup.configdb.models import CfgObject

        deferred: list[tuple[str, str, str]] = []
        for kind_name in sorted({c.kind for c in changes}, key=KIND_ORDER.__getitem__):
            batch = [c for c in changes if c.kind == kind_name]
            rows = [
                {
                    "tenant_id": self.current.tenant_id,
                    "kind": kind_name,
                    "path": c.path,
                    "name": c.path.rsplit("/", 1)[-1],
                    "parent_id": self.ids.get(c.path.rsplit("/", 1)[0])
                    if c.path.count("/") > 1
                    else None,
                }
                for c in batch
            ]
            stmt = insert(CfgObject).returning(CfgObject.id, sort_by_parameter_order=True)
            result = self._run(stmt, rows)
            for change, new_id in zip(batch, result.scalars(), strict=True):
                self.ids[change.path] = new_id
            kind = KINDS[kind_name]
            details = []
            for change in batch:
                row: dict[str, Any] = {"id": self.ids[change.path]}
                row.update({f: change.after[f] for f in kind.fields})
                for attr, (col, _target) in kind.refs.items():
                    ref = change.after.get(attr)
                    row[col] = self.ids.get(ref) if ref else None
                    if ref and ref not in self.ids:
                        deferred.append((change.path, attr, ref))
                details.append(row)
            self._insert(kind.table, details)
        for path, attr, ref in deferred:
            kind_name = next(c.kind for c in changes if c.path == path)
            self._update_detail(kind_name, [(path, {attr: ref})])

    def _update_objects(self, changes: list[Change]) -> None:
        for kind_name in {c.kind for c in changes}:
            self._update_detail(
                kind_name, [(c.path, c.after) for c in changes if c.kind == kind_name]
            )

    def _update_detail(self, kind_name: str, updates: list[tuple[str, dict[str, Any]]]) -> None:
        """Batch UPDATEs of one kind's table, grouped by the set of columns changed."""
        from sqlalchemy import bindparam, update

        kind = KINDS[kind_name]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for path, attrs in updates:
            row: dict[str, Any] = {"oid": self.ids[path]}
            for attr, value in attrs.items():
                if attr in kind.refs:
                    row["v_" + kind.refs[attr][0]] = self.ids.get(value) if value else None
                else:
                    row["v_" + attr] = value
            groups[tuple(sorted(k for k in row if k != "oid"))].append(row)
        for columns, rows in groups.items():
            values: dict[str, Any] = {col[2:]: bindparam(col) for col in columns}
            stmt = update(kind.table).where(kind.table.c.id == bindparam("oid")).values(values)
            self._run(stmt, rows)

    def _write_options(self, creates: list[Change], updates: list[Change]) -> None:
        from sqlalchemy import bindparam, update

        from gsetup.configdb.models import CfgOption

        assert all(c.option for c in creates)
        self._insert(
            CfgOption.__table__,
            [
                {
                    "object_id": self.ids[c.path],
                    "section": c.option[0],
                    "key": c.option[1],
                    "value": c.after,
                    "secret": c.secret,
                    "managed_by": self.owner if c.ownership == "adopt" else None,
                }
                for c in creates
                if c.option
            ],
        )
        stmt = (
            update(CfgOption)
            .where(CfgOption.id == bindparam("oid"))
            .values(value=bindparam("v_value"), secret=bindparam("v_secret"))
        )
        self._run(
            stmt,
            [
                {"oid": self._option_id(c), "v_value": c.after, "v_secret": c.secret}
                for c in updates
            ],
        )

    def _ownership(self, changes: list[Change]) -> None:
        """The owner starts or stops managing kept and updated objects and options."""
        from sqlalchemy import and_, bindparam, delete, update

        from gsetup.configdb.models import CfgOption, Managed

        assert self.owner is not None or not changes
        objects = [c for c in changes if c.option is None]
        adopt = [
            {"object_id": self.ids[c.path], "package": self.owner}
            for c in objects
            if c.ownership == "adopt"
        ]
        self._insert(Managed.__table__, adopt)
        release = delete(Managed).where(
            and_(Managed.object_id == bindparam("b_object"), Managed.package == self.owner)
        )
        self._run(
            release,
            [{"b_object": self.ids[c.path]} for c in objects if c.ownership == "release"],
        )
        rows = []
        for change in changes:
            if change.option is None or change.action == "create":
                continue  # objects above; created options got their manager on insert
            option = self.current.objects[change.path].options[change.option]
            managers = set(option.managers)
            if change.ownership == "adopt":
                managers.add(self.owner or "")
            else:
                managers.discard(self.owner or "")
            value = MANAGERS_SEPARATOR.join(sorted(managers)) or None
            rows.append({"oid": option.id, "v_managed": value})
        stmt = (
            update(CfgOption)
            .where(CfgOption.id == bindparam("oid"))
            .values(managed_by=bindparam("v_managed"))
        )
        self._run(stmt, rows)
