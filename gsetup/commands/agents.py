"""Agents: persons of the configuration database the routing runtime delivers to.

``agent add`` creates (or updates) the person with its skills and capacity rule, the skills
it names, and optionally a login for the runtime: the scrypt hash of a password as the
person's secret annex ``[gsetup-runtime] password-hash``. Everything goes through the plan
engine, so a dry run shows it, and adding the same agent again changes nothing (the stored
hash is kept when the password still matches it).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from gsetup import deployment
from gsetup.commands.objects import show_object
from gsetup.configdb.tenants import check_name
from gsetup.context import Context
from gsetup.deployment import ConfigObject, Options
from gsetup.errors import BadInputError, ConflictError, GsetupError
from gsetup.fileio import quote_prefix
from gsetup.numbers import whole_number
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.runtime.credentials import PASSWORD_KEY, SECTION
from gsetup.state import DesiredObject, DesiredState, OptionValue, Removal, object_path

if TYPE_CHECKING:
    from gsetup.runtime.removal import Mark, Remover

MAX_SKILL_LEVEL = 100
_SKILL = re.compile(r"^(?P<name>[^=]+?)(?:=(?P<level>.*))?$", re.DOTALL)


@dataclass(frozen=True)
class AgentSpec:
    """What ``gsetup agent add`` was given; ``password`` None leaves the login as it is."""

    name: str
    skills: Mapping[str, int]
    capacity_rule: str | None = None
    first_name: str = ""
    last_name: str = ""
    password: str | None = None


@dataclass(frozen=True)
class AgentView:
    """An agent as ``gsetup agent list`` shows it."""

    name: str
    first_name: str
    last_name: str
    skills: dict[str, int]
    capacity_rule: str | None
    login: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (never the password hash)."""
        return {
            "name": self.name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "skills": self.skills,
            "capacity_rule": self.capacity_rule,
            "login": self.login,
        }


def parse_skills(items: Iterable[str]) -> dict[str, int]:
    """``NAME=LEVEL`` (or ``NAME``, level 1) -> {name: level}; levels 0 to 100."""
    skills: dict[str, int] = {}
    for item in items:
        shown = quote_prefix(item)
        match = _SKILL.match(item.strip())
        given = None if match is None else match["level"]
        level = 1 if given is None else whole_number(given, signed=False)
        if match is None or level is None:
            raise BadInputError(
                f"--skill {shown}: use NAME=LEVEL, LEVEL a whole number from 0 to "
                f"{MAX_SKILL_LEVEL} (digits only, no sign), e.g. facebook=5"
            )
        name = check_name(match["name"].strip(), "skill")
        if not 0 <= level <= MAX_SKILL_LEVEL:
            raise BadInputError(
                f"--skill {shown}: level {level} is out of range; use 0 to {MAX_SKILL_LEVEL}"
            )
        if name in skills:  # which level was meant is not ours to guess
            raise BadInputError(
                f"--skill {shown}: skill {quote_prefix(name)} is given twice; give it once"
            )
        skills[name] = level
    return skills


def add_agent(ctx: Context, tenant: str, spec: AgentSpec, *, dry_run: bool) -> Plan:
    """Create or update an agent, its skills and (with a password) its runtime login."""
    from gsetup.configdb.auth import check_password

    check_name(spec.name, "agent")
    path = object_path("person", spec.name)
    state = DesiredState(tenant)
    for skill in spec.skills:
        state.add(DesiredObject("skill", object_path("skill", skill)))
    attrs: dict[str, Any] = {
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "is_agent": True,
        "skills": dict(spec.skills),
        "capacity_rule": object_path("capacity_rule", spec.capacity_rule)
        if spec.capacity_rule
        else None,
    }
    options = {}
    if spec.password is not None:
        check_password(spec.password)
        value = _password_hash(ctx, tenant, spec.name, spec.password)
        options[(SECTION, PASSWORD_KEY)] = OptionValue(value, secret=True)
    state.add(DesiredObject("person", path, attrs, options))
    return run_plan(ctx, state, "agent add", dry_run=dry_run)


def _password_hash(ctx: Context, tenant: str, name: str, password: str) -> str:
    """The stored hash when ``password`` still matches it (a re-run changes nothing), else a
    new one."""
    from gsetup.configdb.auth import hash_password, verify_password
    from gsetup.runtime.credentials import agent_password_hash

    ctx.identity.require(tenant, change=False)
    stored = agent_password_hash(ctx.db.engine, tenant, name)
    if stored is not None and verify_password(password, stored):
        return stored
    return hash_password(password)


def remove_agent(
    ctx: Context,
    tenant: str,
    name: str,
    *,
    dry_run: bool,
    stores: Sequence[str] = (),
    skip_unreachable: bool = False,
) -> Plan:
    """Delete an agent with its login; its skills stay (other agents may hold them). An
    agent that holds interactions in a runtime's store is refused: removed, it could not
    log in again to finish them, and nobody else may. The stores checked: ``stores``, the one
    beside the configuration database and those the tenant's runtimes recorded there. One
    that cannot be read refuses too, unless ``skip_unreachable``: so does one other than the
    default whose SQLite file is gone (it may have held interactions).

    Each store is checked as the agent is marked there as being removed (one transaction
    under its row lock): from then on it can neither log in nor accept, so nothing it could
    accept before the person is gone escapes the check. A refusal or a failure takes the
    marks off again (finishes them if the person is gone all the same); the removal done,
    the agent is logged out in each store. Another removal of the agent running refuses;
    the marks' leases are renewed while this one runs (:func:`renewing`)."""
    from gsetup.commands.route_stores import default_store
    from gsetup.runtime.endpoints import store_key
    from gsetup.runtime.removal import Mark, finish, held_by, mark_removing, renewing, unmark

    show_object(ctx, tenant, object_path("person", name), kind="person")
    default = default_store(ctx)
    # must_exist: a store other than the default is one a runtime used (no file: not empty)
    checked = _stores_to_check(ctx, default, tenant, stores)
    urls = [(u, store_key(u) != store_key(default)) for u in checked]
    state = DesiredState(tenant, removals=[Removal("person", object_path("person", name))])
    if dry_run:
        for url, must_exist in urls:
            _checked(url, name, partial(held_by, url, tenant, name, must_exist), skip_unreachable)
        return run_plan(ctx, state, "agent remove", dry_run=True)
    marks: list[Mark] = []
    with renewing(marks):  # until each mark is taken off or finished
        try:
            for url, must_exist in urls:
                look = partial(mark_removing, url, tenant, name, must_exist)
                marked = _checked(url, name, look, skip_unreachable)
                if isinstance(marked, Mark):
                    marks.append(marked)
            plan = run_plan(ctx, state, "agent remove", dry_run=False)
        except BaseException:  # refused, failed or interrupted: the agent works on as before...
            # ...unless it was removed all the same (this plan committed before the failure,
            # or a removal whose mark this one took over did): that is not undone
            done = not _still_agent(ctx, tenant, name)
            for mark in marks:
                _best_effort(partial(finish, config=ctx.db.engine) if done else unmark, mark)
            raise
        for mark in marks:
            _best_effort(partial(finish, config=ctx.db.engine), mark)
    return plan


def _still_agent(ctx: Context, tenant: str, name: str) -> bool:
    """Whether ``name`` is an agent of ``tenant`` in the configuration database (taken as
    one when that cannot be read: a removal failing there is taken to have removed nothing)."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.runtime.config import read_agents

    try:
        return name in read_agents(ctx.db.engine, tenant, [name])
    except (SQLAlchemyError, GsetupError):
        return True


def _checked(
    url: str,
    name: str,
    check: Callable[[], Mark | list[str] | Remover | None],
    skip_unreachable: bool,
) -> Mark | list[str] | None:
    """``check`` of the store at ``url``: the interactions agent ``name`` holds there (or
    its mark when none); refused when it holds some, when another removal of it runs, or
    (unless ``skip_unreachable``) when the store cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.configdb.database import first_line, short_url
    from gsetup.runtime.errors import StoreError
    from gsetup.runtime.removal import Remover

    try:
        found = check()
    except (SQLAlchemyError, StoreError) as exc:
        if skip_unreachable:
            return None
        raise BadInputError(
            f"cannot check the interaction store {short_url(url)} for interactions agent "
            f"{name!r} holds ({first_line(exc)}): give its URL with --store (with the "
            "password), or --skip-unreachable to remove the agent without checking it (a "
            "store dropped for good: gsetup route store forget URL)"
        ) from None
    if isinstance(found, Remover):  # its mark is its own: taken over, a failure here undid it
        raise ConflictError(
            f"agent {name!r} is being removed by another gsetup agent remove (pid "
            f"{found.pid} on {found.host}) in the store {short_url(url)}: wait for it to "
            "finish (gsetup agent list then shows whether it removed the agent)"
        )
    if isinstance(found, list) and found:
        raise BadInputError(
            f"agent {name!r} holds {len(found)} interaction(s) in the routing runtime "
            f"({', '.join(found)}) in the store {short_url(url)}: have it finish them "
            "(gsetup agent done ID), then remove it"
        )
    return found


def _best_effort(step: Callable[[Mark], None], mark: Mark) -> None:
    """Take a mark off, or finish it, when the store can be reached: one left behind is no
    longer held once this process ends (docs/runtime.md)."""
    from sqlalchemy.exc import SQLAlchemyError

    with contextlib.suppress(SQLAlchemyError, GsetupError):
        step(mark)


def _stores_to_check(ctx: Context, default: str, tenant: str, given: Sequence[str]) -> list[str]:
    """``given`` (checked as URLs, none the configuration database's file), then the default
    store and the recorded ones not given (a recorded one has no password: given, its URL is
    used instead)."""
    from gsetup.configdb.database import redact_url, short_url, supported, url_or_none
    from gsetup.runtime.endpoints import recorded_stores, store_key
    from gsetup.runtime.store import refuse_config_file

    for url in given:
        parsed = url_or_none(url)
        if parsed is None:
            raise BadInputError(
                f"--store {quote_prefix(redact_url(url))} is not a store URL; use e.g. "
                "sqlite:///runtime.db or postgresql+psycopg://user@host/dbname"
            )
        if not supported(parsed):  # else tried as a store: unreadable, or a missing driver
            raise BadInputError(
                f"--store {short_url(url)}: unsupported store: the interaction store is "
                "SQLite (sqlite:///PATH) or PostgreSQL through psycopg (postgresql+psycopg://...)"
            )
        refuse_config_file(url, ctx.db.url.render_as_string(hide_password=False))
    urls = {store_key(url): url for url in given}
    for key in (store_key(default), *recorded_stores(default, tenant)):
        urls.setdefault(key, default if key == store_key(default) else key)
    return list(urls.values())


def list_agents(ctx: Context, tenant: str) -> list[AgentView]:
    """The tenant's agents, sorted by name (two statements for the objects, one for the
    logins)."""
    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        persons = [p for p in deployment.objects(conn, tid, "person") if p.attrs["is_agent"]]
        logins = deployment.options_of(conn, tid, [p.path for p in persons], [SECTION])
    return [_view(p, logins.get(p.path, {})) for p in persons]


def _view(person: ConfigObject, options: Options) -> AgentView:
    rule = person.attrs.get("capacity_rule")
    return AgentView(
        person.path.rsplit("/", 1)[-1],
        person.attrs["first_name"],
        person.attrs["last_name"],
        dict(person.attrs["skills"] or {}),
        rule.rsplit("/", 1)[-1] if rule else None,
        (SECTION, PASSWORD_KEY) in options,
    )
