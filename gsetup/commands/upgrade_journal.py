"""The record of a rolling driver upgrade, kept in the configuration database step by step.

It lives in the options of the DMS that holds the pair's backup link (the one a single DMS
upgrade acts on), section ``[gsetup-upgrade-<driver>]``, written through the plan engine as
each step ends: a gsetup killed half-way is resumed by running the same command again, and
``--rollback`` knows what to undo. It is removed when the upgrade (or its rollback) is over.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from gsetup.context import Context
from gsetup.drivers.kept import kept_option
from gsetup.drivers.specs import Driver
from gsetup.errors import BadInputError
from gsetup.plan.apply import Operation, apply_state
from gsetup.plan.model import Plan
from gsetup.state import DesiredObject, DesiredState, OptionValue, Removal, object_path

_KEYS = ("from-version", "to-version", "package", "order", "primary", "done", "holder")


def journal_section(driver: Driver) -> str:
    """The option section of a driver's upgrade record."""
    return f"gsetup-upgrade-{driver}"


def holder_id() -> str:
    """This process, as a journal records it: ``pid@host``."""
    return f"{os.getpid()}@{socket.gethostname()}"


@dataclass(frozen=True)
class Journal:
    """A half-done upgrade: versions, the members in upgrade order, the steps done.

    ``order`` is the members in the order they are upgraded (the backup at the start
    first); ``primary`` the member that was primary at the start; ``holder`` the process.
    """

    tenant: str
    app: str  # the DMS whose options hold the record
    driver: Driver
    from_version: str
    to_version: str
    package: str
    order: tuple[str, ...]
    primary: str
    done: tuple[str, ...] = ()
    holder: str = field(default_factory=holder_id)

    def with_done(self, step: str) -> Journal:
        """The journal with ``step`` done too."""
        return self if step in self.done else replace(self, done=(*self.done, step))

    def without(self, member: str) -> Journal:
        """The journal with ``member``'s steps undone (it was rolled back)."""
        return replace(self, done=tuple(s for s in self.done if not s.endswith(f":{member}")))


def refuse_if_running(journal: Journal, holder: str | None) -> None:
    """Refuse when ``holder``, the process a journal names, is another one and still runs,
    or runs on another host (which this one cannot tell: the operator releases it)."""
    if not holder or holder == journal.holder:
        return
    pid, _, host = holder.partition("@")
    what = f"an upgrade of the {journal.driver} driver on {journal.app!r}"
    if host != socket.gethostname():
        section = journal_section(journal.driver)
        raise BadInputError(
            f"{what} is held by process {pid} on host {host}, which this host cannot see: "
            f"wait for it to finish, or run the command on {host} (it resumes an upgrade "
            "whose process is gone); if that host is gone, release the upgrade with `gsetup "
            f"options unset {section}/holder --app {journal.app} --tenant {journal.tenant} "
            "--yes`, then run the command again"
        )
    if holder_alive(pid):
        raise BadInputError(f"{what} is running in process {holder}; wait for it to finish")


def holder_alive(pid: str) -> bool:
    """Whether the process (of this host) that wrote a journal still runs."""
    from gsetup.process.pids import start_time

    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    return start_time(int(pid)) is not None


def read_journal(
    tenant: str, app: str, driver: Driver, values: dict[tuple[str, str], str]
) -> Journal | None:
    """The journal held in ``values`` (the options of ``app``), or None."""
    section = journal_section(driver)
    mine = {key: value for (s, key), value in values.items() if s == section}
    if "to-version" not in mine:
        return None
    return Journal(
        tenant=tenant,
        app=app,
        driver=driver,
        from_version=mine.get("from-version", ""),
        to_version=mine["to-version"],
        package=mine.get("package", ""),
        order=tuple(mine.get("order", "").split()),
        primary=mine.get("primary", ""),
        done=tuple(mine.get("done", "").split()),
        holder=mine.get("holder", ""),
    )


def write_journal(
    ctx: Context, journal: Journal, notice: Callable[[str], None] | None = None
) -> None:
    """Record the journal (one transaction through the plan engine), refused when another
    process holds it: two upgrades that both found none running claim it one after the other
    under the tenant lock, and the second sees the first."""
    values = {
        "from-version": journal.from_version,
        "to-version": journal.to_version,
        "package": journal.package,
        "order": " ".join(journal.order),
        "primary": journal.primary,
        "done": " ".join(journal.done),
        "holder": journal.holder,
    }
    section = journal_section(journal.driver)
    wanted = {(section, key): OptionValue(value) for key, value in values.items()}
    obj = DesiredObject("application", object_path("application", journal.app), options=wanted)
    state = DesiredState(journal.tenant, [obj])

    def claimed(_conn: object, plan: Plan) -> None:
        for change in plan.changes:
            if change.option == (section, "holder") and change.action == "update":
                refuse_if_running(journal, change.before)

    apply_state(
        ctx.db.engine, state, _operation(ctx, journal), progress=notice, before_commit=claimed
    )


def clear_journal(
    ctx: Context, journal: Journal, notice: Callable[[str], None] | None = None
) -> None:
    """Remove the journal, and the members' options kept for a rollback: the upgrade, or
    its rollback, is over."""
    path = object_path("application", journal.app)
    section = journal_section(journal.driver)
    removals = [Removal("application", path, (section, key)) for key in _KEYS]
    kept = kept_option(journal.driver)
    removals += [Removal("application", object_path("application", m), kept) for m in journal.order]
    state = DesiredState(journal.tenant, removals=removals)
    apply_state(ctx.db.engine, state, _operation(ctx, journal), progress=notice)


def _operation(ctx: Context, journal: Journal) -> Operation:
    answers = {"dms": journal.app, "done": list(journal.done), "order": list(journal.order)}
    return Operation(
        "driver upgrade step",
        ctx.identity.name,
        f"driver-{journal.driver}",
        journal.to_version,
        answers,
    )
