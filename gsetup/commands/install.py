"""Install, upgrade, uninstall and list Business Process packages.

An install is one plan: the package's configuration objects (gsetup.packages), the removal of
another installed version first (the guide's step 2: strategies deactivated, the Business
Process deleted), the strategy directory, and the SQL scripts and rule files of the install
home (gsetup.installer.home). The database part is applied in one transaction; the files are
staged before the commit and renamed into place after it, under the tenant lock, with a
pending-files record that lets the next run finish or undo an interrupted swap
(gsetup.plan.pending).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gsetup import deployment
from gsetup.context import Context
from gsetup.deployment import FILES_SECTION, HOME_KEY, HOME_SECTION, MADE_KEY, InstalledPackage
from gsetup.errors import BadInputError, NotFoundError
from gsetup.fileio import missing_directories
from gsetup.installer import files as strategy_files
from gsetup.installer.home import SCRIPTS_DIR, HomeFiles, placement, removal
from gsetup.packages import Answers, Package, catalogue, desired_state, get_package, next_steps
from gsetup.plan.apply import Operation, apply_states, plan_states
from gsetup.plan.lock import holding_lock
from gsetup.plan.model import Change, Plan
from gsetup.plan.pending import FileSwap
from gsetup.runtime.classify.rules import RULES_DIR
from gsetup.state import DesiredObject, DesiredState, OptionValue, Removal


@dataclass
class InstallResult:
    """What an install or uninstall planned or did."""

    package: Package
    plan: Plan
    applied: bool
    next_steps: list[str] = field(default_factory=list)
    backup: Path | None = None
    kept_files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data for ``--json``."""
        return {
            **self.plan.to_json(),
            "package": self.package.name,
            "version": self.package.version,
            "applied": self.applied,
            "next_steps": self.next_steps,
            "backup": str(self.backup) if self.backup else None,
            "kept_files": self.kept_files,
        }


def installed_packages(ctx: Context, tenant: str) -> dict[str, InstalledPackage]:
    """The packages installed in ``tenant``, by name."""
    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        return deployment.installed_packages(conn, tid)


def tenants_with(ctx: Context, package: str) -> list[str]:
    """The tenants the user may see where ``package`` is installed (one query)."""
    with ctx.db.engine.connect() as conn:
        names = deployment.tenants_with_package(conn, package)
    return [name for name in names if ctx.identity.can_see(name)]


def capacity_rules(ctx: Context, tenant: str) -> list[str]:
    """Names of the tenant's capacity rules."""
    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        return [rule.name for rule in deployment.capacity_rules(conn, tid)]


# The answers an install applies: the package's, its install home, and those to record.
Answered = tuple[Answers, Path, dict[str, Any]]


def install(
    ctx: Context,
    package_name: str,
    answers: Answers,
    install_home: Path,
    *,
    dry_run: bool,
    recorded_answers: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    labels: Mapping[str, str] | None = None,
    settle: Callable[[], Answered] | None = None,
) -> InstallResult:
    """Plan (``dry_run``) or apply the install of ``package_name`` with ``answers``.

    An apply holds the tenant's lock from its first read to its last file: a second install
    waits, then plans on the first one's result. ``settle``, called once the lock is held,
    answers again (same tenant) what the last install's answers or a default answered: the
    install that held the lock may have just recorded other ones. ``labels`` name the answers
    in errors (``FILE: key 'strategy_dir'``, ``--set: key 'install_home'``); the key by default.
    """
    package = get_package(package_name)
    ctx.identity.require(answers.tenant, change=not dry_run)
    named = _Named(labels or {})
    answers, home = _checked(answers, install_home, named)
    if dry_run:
        return _install(ctx, package, answers, home, None, named)
    with holding_lock(ctx.db.engine, answers.tenant, ctx.identity.name, progress):
        if settle is not None:
            tenant = answers.tenant
            settled, settled_home, recorded_answers = settle()
            assert settled.tenant == tenant  # the one locked
            answers, home = _checked(settled, settled_home, named)
        operation = Operation(
            "install", ctx.identity.name, package.name, package.version, recorded_answers
        )
        return _install(ctx, package, answers, home, operation, named)


def _checked(answers: Answers, install_home: Path, named: _Named) -> tuple[Answers, Path]:
    """The answers with their strategy directory, and the install home, checked and absolute."""
    directory = strategy_files.check_directory(
        Path(answers.strategy_dir), named.strategy_dir, own="replaced"
    )
    home = strategy_files.check_directory(install_home, named.install_home, own="placed")
    return replace(answers, strategy_dir=str(directory)), home


@dataclass(frozen=True)
class _Named:
    """How errors name the strategy directory and install home answers."""

    labels: Mapping[str, str]

    @property
    def strategy_dir(self) -> str:
        return self.labels.get("strategy_dir", "strategy_dir")

    @property
    def install_home(self) -> str:
        return self.labels.get("install_home", "install_home")


def _install(
    ctx: Context,
    package: Package,
    answers: Answers,
    home: Path,
    operation: Operation | None,
    named: _Named,
) -> InstallResult:
    """Plan the install; apply it too when given the ``operation`` to record."""
    installed = installed_packages(ctx, answers.tenant)
    _check_requirements(package, installed, answers.tenant)
    if answers.capacity_rule is not None and answers.capacity_rule not in (
        rules := capacity_rules(ctx, answers.tenant)
    ):
        raise BadInputError(
            f"capacity_rule: tenant {answers.tenant!r} has no capacity rule "
            f"{answers.capacity_rule!r}; rules: {', '.join(rules) or '(none)'}"
        )
    directory = Path(answers.strategy_dir)
    _check_own_directories(ctx, answers.tenant, package.name, directory, home, named)
    current = installed.get(package.name)
    recorded = current.files if current else {}
    from gsetup.installer.strategies import render_strategies

    file_plan = strategy_files.plan_files(directory, render_strategies(package, answers), recorded)
    made = _made_directories(ctx, home, directory)
    states = _states(ctx, package, answers, home, file_plan, current, made)
    old_dir = _old_directory(current, directory)
    old_plan = strategy_files.plan_files(old_dir, {}, recorded) if old_dir else None
    # A move to another home takes the package's scripts and rule files out of the old one,
    # as an uninstall would (edited ones, and those another package of that home uses, stay).
    old_home = _old_home(current, home)
    home_files = [placement(package, home)]
    if old_home:
        sharing = _sharing(ctx, answers.tenant, package.name, old_home)
        home_files.append(removal(package, old_home, sharing))
    steps = next_steps(package, answers, home / "Scripts")
    if operation is None:
        plan = plan_states(ctx.db.engine, states)
        plan.changes.extend(_file_changes(file_plan, old_plan, home_files))
        return InstallResult(package, plan, False, steps)

    swap = FileSwap()
    backup = strategy_files.add_replacement(swap, file_plan)
    home_files[0].add_to(swap)
    kept = strategy_files.add_removal(swap, old_dir, recorded) if old_dir else []
    for old in home_files[1:]:
        old.add_to(swap)
    _remove_made(swap, current.made if current else (), keep=made)
    changes = _file_changes(file_plan, old_plan, home_files)
    plan = apply_states(ctx.db.engine, states, operation, files=swap, file_changes=changes)
    return InstallResult(package, plan, True, steps, backup, kept)


def _check_requirements(
    package: Package, installed: dict[str, InstalledPackage], tenant: str
) -> None:
    missing = [name for name in package.requires if name not in installed]
    if missing:
        raise BadInputError(
            f"{package.name} requires {', '.join(missing)} in tenant {tenant!r}: install "
            f"{' and '.join(missing)} first"
        )


def _states(
    ctx: Context,
    package: Package,
    answers: Answers,
    home: Path,
    file_plan: strategy_files.FilePlan,
    current: InstalledPackage | None,
    made: list[str],
) -> list[DesiredState]:
    """The states applied in order: the old version's removal (if any), then the package."""
    desired = desired_state(package.name, answers)
    bp = next(o for o in desired.objects if o.kind == "business_process")
    checksums = {
        (FILES_SECTION, name): OptionValue(strategy_files.digest(text))
        for name, text in file_plan.files.items()
    }
    desired.add(
        DesiredObject(
            "business_process",
            bp.path,
            options={
                **checksums,
                (HOME_SECTION, HOME_KEY): OptionValue(str(home)),
                **({(HOME_SECTION, MADE_KEY): OptionValue(json.dumps(made))} if made else {}),
            },
        )
    )
    if current is None or current.version == package.version:
        return [desired]
    return [*_remove_version(ctx, answers.tenant, current), desired]


def _remove_version(ctx: Context, tenant: str, current: InstalledPackage) -> list[DesiredState]:
    """The guide's step 2: deactivate the old version's strategies, then delete the BP."""
    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        strategies = deployment.strategies(conn, tid, current.name)
        queues = deployment.queues(conn, tid, current.name)
    deactivate = DesiredState(
        tenant,
        [DesiredObject("strategy", s.path, {"active": False}) for s in strategies if s.active],
    )
    remove = DesiredState(
        tenant,
        removals=[
            *(Removal("queue", q.path) for q in queues),
            *(Removal("strategy", s.path) for s in strategies),
            Removal("business_process", current.path),
        ],
    )
    return [deactivate, remove]


def _old_directory(current: InstalledPackage | None, directory: Path) -> Path | None:
    """The strategy directory of the installed version, when the new one is elsewhere."""
    if current is None or not current.strategy_dir:
        return None
    old = Path(current.strategy_dir)
    return old if old != directory and old.is_dir() else None


def _old_home(current: InstalledPackage | None, home: Path) -> Path | None:
    """The install home of the installed version, when the new one is elsewhere."""
    if current is None or not current.home:
        return None
    old = Path(current.home)
    return old if old != home else None


def _made_directories(ctx: Context, home: Path, directory: Path) -> list[str]:
    """The directories made for the installation's files, deepest first: those its install
    creates (the home and the strategy directory's parent, with their missing parents), and
    those an installation of any tenant (this one's too) recorded making that hold them."""
    with ctx.db.engine.connect() as conn:
        recorded = {d for _tenant, other in deployment.installations(conn) for d in other.made}
    holders = (home, directory.parent)
    made = {str(d) for holder in holders for d in missing_directories(holder)}
    made |= {d for d in recorded if any(holder.is_relative_to(d) for holder in holders)}
    return sorted(made, key=lambda d: (-len(Path(d).parts), d))


def _remove_made(swap: FileSwap, made: Collection[str], keep: Collection[str] = ()) -> None:
    """Remove the directories made for the old files, but those in ``keep``, once they are
    empty: one holding anything else (another package's home, a file edited by hand) stays."""
    for directory in made:
        if directory not in keep:
            swap.remove_directory_if_empty(Path(directory))


def _sharing(ctx: Context, tenant: str, package: str, home: Path) -> list[tuple[str, Package]]:
    """The other installations whose install home is ``home``, in any tenant (their files
    stay), each with a label for the plan: a tenant the user may not see is not named."""
    with ctx.db.engine.connect() as conn:
        found = deployment.installations(conn)
    return [
        (_label(ctx, tenant, where, other.name), get_package(other.name))
        for where, other in found
        if other.home and Path(other.home) == home and (where, other.name) != (tenant, package)
    ]


def _check_own_directories(
    ctx: Context, tenant: str, package: str, directory: Path, home: Path, named: _Named
) -> None:
    """Refuse a strategy directory that the install's replacement of it would take the
    configuration database (SQLite) or another installation's files from (any tenant): one
    that is, holds or lies in its strategy directory, or that is or holds an install home
    (this package's too) or lies in its ``Scripts/`` or ``Rules/``; and a ``home`` whose
    files would be in another's strategy directory, which that package's next install
    replaces."""
    database = ctx.db.file
    if database is not None and _holds(directory, database):
        raise BadInputError(
            f"{named.strategy_dir}: {directory} holds the configuration database {database}; "
            "give a directory of its own"
        )
    with ctx.db.engine.connect() as conn:
        found = deployment.installations(conn)
    for where, other in found:
        if (where, other.name) == (tenant, package):
            continue
        theirs = Path(other.strategy_dir)
        label = _label(ctx, tenant, where, other.name)
        shown = theirs if where == tenant or ctx.identity.can_see(where) else None
        if _holds(directory, theirs) or _holds(theirs, directory):
            raise _replaces(named, directory, "strategy files", label, shown, package)
        if other.home and _takes_home_files(directory, Path(other.home)):
            shown = Path(other.home) if shown else None
            raise _replaces(named, directory, "scripts and rule files", label, shown, package)
        if _takes_home_files(theirs, home):  # that package's next install would replace them
            raise BadInputError(
                f"{named.install_home}: {home} would put the scripts and rule files of "
                f"{package} in the strategy directory of {label}"
                f"{f' in {shown}' if shown else ''}: give {package} an install home of its own"
            )
    if _takes_home_files(directory, home):
        raise _replaces(named, directory, "scripts and rule files", package, home, package)


def _holds(outer: Path, inner: Path) -> bool:
    return inner.is_relative_to(outer)


def _takes_home_files(directory: Path, home: Path) -> bool:
    """Whether replacing ``directory`` would take files placed under ``home``."""
    return _holds(directory, home) or any(
        _holds(home / placed, directory) for placed in (SCRIPTS_DIR, RULES_DIR)
    )


def _replaces(
    named: _Named, directory: Path, what: str, owner: str, path: Path | None, package: str
) -> BadInputError:
    where = f" in {path}" if path is not None else ""
    return BadInputError(
        f"{named.strategy_dir}: {directory} would replace the {what} of {owner}{where}: "
        f"give {package} a strategy directory of its own"
    )


def _label(ctx: Context, tenant: str, where: str, package: str) -> str:
    if where == tenant:
        return package
    return (
        f"{package} (tenant {where})"
        if ctx.identity.can_see(where)
        else "a package of another tenant"
    )


def _file_changes(
    file_plan: strategy_files.FilePlan,
    old_plan: strategy_files.FilePlan | None,
    home_files: list[HomeFiles],
) -> list[Change]:
    """The file changes of the plan: the strategy directory, the old one, the homes' files."""
    changes = list(file_plan.changes)
    if old_plan is not None:
        changes.extend(c for c in old_plan.changes if not c.note)
    for placed in home_files:
        changes.extend(placed.changes)
    return changes


def uninstall(ctx: Context, package_name: str, tenant: str, *, dry_run: bool) -> InstallResult:
    """Remove what the package created (objects, options, unchanged strategy files)."""
    package = get_package(package_name)
    ctx.identity.require(tenant, change=not dry_run)
    if dry_run:
        return _uninstall(ctx, package, tenant, dry_run=True)
    with holding_lock(ctx.db.engine, tenant, ctx.identity.name):
        return _uninstall(ctx, package, tenant, dry_run=False)


def _uninstall(ctx: Context, package: Package, tenant: str, *, dry_run: bool) -> InstallResult:
    installed = installed_packages(ctx, tenant)
    current = installed.get(package.name)
    if current is None:
        raise NotFoundError(f"{package.name} is not installed in tenant {tenant!r}")
    dependents = [p.name for p in catalogue() if package.name in p.requires and p.name in installed]
    if dependents:
        raise BadInputError(
            f"{', '.join(dependents)} requires {package.name} in tenant {tenant!r}: uninstall "
            f"{' and '.join(dependents)} first"
        )
    recorded = current.files
    directory = Path(current.strategy_dir)
    file_plan = strategy_files.plan_files(directory, {}, recorded, uninstall=True)
    home = Path(current.home) if current.home else None
    home_files = (
        removal(package, home, _sharing(ctx, tenant, package.name, home)) if home else HomeFiles()
    )
    state = DesiredState(tenant, owner=package.name)
    if dry_run:
        plan = plan_states(ctx.db.engine, [state])
        plan.changes.extend(_file_changes(file_plan, None, [home_files]))
        return InstallResult(package, plan, False)
    operation = Operation("uninstall", ctx.identity.name, package.name, package.version)
    swap = FileSwap()
    kept = strategy_files.add_removal(swap, directory, recorded)
    home_files.add_to(swap)
    _remove_made(swap, current.made)
    changes = _file_changes(file_plan, None, [home_files])
    plan = apply_states(ctx.db.engine, [state], operation, files=swap, file_changes=changes)
    return InstallResult(package, plan, True, kept_files=kept)
