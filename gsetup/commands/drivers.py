"""Install, upgrade, uninstall and list the Cloud API drivers of Digital Messaging Servers.

An install is ONE plan: the driver's options file imported into the DMS application without
overwriting (which creates the ``[channel-<driver>]`` section), the Hub connection options and
any other channel options given (overwriting), the file record, and the driver's files under
``<working dir>/media-channel-drivers/channel-<driver>``. The database part is one transaction;
the files are staged before it and moved in after the commit (:mod:`gsetup.drivers.staging`),
so a failed apply leaves no files. See :mod:`gsetup.drivers.installed` for how ownership and
the file record make uninstall exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup.context import Context
from gsetup.drivers import staging
from gsetup.drivers.channel_options import (
    channel_state,
    check_options_file,
    file_defaults,
    file_options,
    options_data,
    record_options,
)
from gsetup.drivers.installed import (
    channel_sections,
    owner_of,
    read_record,
    record_section,
)
from gsetup.drivers.kept import kept_option, kept_row, read_kept
from gsetup.drivers.optionfile import option_file_name
from gsetup.drivers.package import (
    InstallRecord,
    PackageContents,
    builtin_package,
    inspect_package,
)
from gsetup.drivers.replaced import replaced_rows, restore_state
from gsetup.drivers.specs import (
    Driver,
    channel_section,
    secret_keys,
)
from gsetup.errors import BadInputError, NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.plan.apply import Operation, apply_state, apply_states, plan_states
from gsetup.plan.lock import holding_lock
from gsetup.plan.model import Change, Plan
from gsetup.plan.pending import FileSwap
from gsetup.state import DesiredObject, DesiredState, OptionKey, OptionValue, Removal

if TYPE_CHECKING:
    from gsetup.deployment import Application, ConfiguredApplication

DMS_TYPE = "DigitalMessagingServer"
_VERSION_LIMIT = 32  # the width of install_history.version

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DriverAnswers:
    """What installing one channel of a driver on one DMS needs, checked.

    ``hub`` and ``options`` map channel option keys to values; ``history`` is what the install
    history records (no secrets).
    """

    driver: Driver
    tenant: str
    dms: str
    channel: str | None = None
    package: Path | None = None
    hub: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    history: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class DriverResult:
    """What an install, one upgrade step or an uninstall planned or did on one DMS."""

    driver: Driver
    dms: str
    plan: Plan
    applied: bool
    version: str | None
    sections: list[str]
    role: str = ""  # upgrade: "backup" or "primary"
    kept_files: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data for ``--json``, secrets masked."""
        return {
            **self.plan.to_json(),
            "driver": self.driver,
            "dms": self.dms,
            "role": self.role or None,
            "version": self.version,
            "sections": self.sections,
            "applied": self.applied,
            "kept_files": self.kept_files,
            "next_steps": self.next_steps,
        }


@dataclass(frozen=True)
class _Step:
    """One DMS's part of an operation: the states applied together and its files."""

    dms: str
    states: list[DesiredState]
    files: staging.FilePlan
    package: Path | None
    sections: list[str]


# -- reading the DMS ---------------------------------------------------------------------------


def dms_names(ctx: Context, tenant: str) -> list[str]:
    """The tenant's Digital Messaging Server applications."""
    from gsetup import deployment

    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        return [app.name for app in deployment.applications(conn, tid, DMS_TYPE)]


def dms_application(ctx: Context, tenant: str, dms: str) -> Application:
    """The DMS application ``dms`` (host, port, working directory, backup...)."""
    return _load_dms(ctx, tenant, [dms])[0].info


def load_dms(ctx: Context, tenant: str, dms: str) -> ConfiguredApplication:
    """The DMS application ``dms`` with all its options; another type is refused."""
    return _load_dms(ctx, tenant, [dms])[0]


def _load_dms(ctx: Context, tenant: str, names: list[str] | None) -> list[ConfiguredApplication]:
    """The DMS applications called ``names`` (every DMS if None) with all their options."""
    from gsetup import deployment

    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        if names is None:
            apps = deployment.applications(conn, tid, DMS_TYPE)
        else:
            apps = deployment.applications(conn, tid, names=names)
        options = deployment.options_of(conn, tid, [app.path for app in apps])
    by_name = {app.name: app for app in apps}
    for name in names or ():
        app = by_name.get(name)
        if app is None:
            raise NotFoundError(f"no application {quote_prefix(name)} in tenant {tenant!r}")
        if app.app_type != DMS_TYPE:
            raise BadInputError(
                f"application {name!r} is of type {app.app_type}, not {DMS_TYPE}: the Cloud "
                "API drivers run in Digital Messaging Server"
            )
    ordered = [by_name[name] for name in names] if names is not None else apps
    return [deployment.ConfiguredApplication(a, options.get(a.path, {})) for a in ordered]


def option_values(obj: ConfiguredApplication) -> dict[OptionKey, str]:
    """An application's option values by (section, key), secrets in clear (never shown)."""
    return {key: option.value for key, option in obj.options.items()}


def _owners(obj: ConfiguredApplication) -> set[str]:
    return {owner for option in obj.options.values() for owner in option.managers}


# -- running -----------------------------------------------------------------------------------


def _file_changes(files: staging.FilePlan) -> list[Change]:
    return [
        Change(step.action, "file", "file", str(files.working_dir / step.path), note=step.note)
        for step in files.steps
    ]


def _run(
    ctx: Context, step: _Step, operation: Operation, dry_run: bool, progress: Progress | None
) -> Plan:
    """Plan, or stage the files, apply the states in one transaction, then place the files."""
    changes = _file_changes(step.files)
    if dry_run:
        plan = plan_states(ctx.db.engine, step.states)
        plan.changes.extend(changes)
        return plan
    files = FileSwap()
    staging.add_steps(files, step.files, step.package)
    return apply_states(
        ctx.db.engine, step.states, operation, progress=progress, files=files, file_changes=changes
    )


def _operation(
    ctx: Context, name: str, driver: Driver, version: str | None, answers: Mapping[str, Any]
) -> Operation:
    return Operation(name, ctx.identity.name, f"driver-{driver}", version, dict(answers))


def inspect_driver_package(driver: Driver, package: Path) -> PackageContents:
    """Judge a driver package whole and check it is for ``driver``; write nothing."""
    contents = inspect_package(package)
    if contents.manifest.driver != driver:
        raise BadInputError(
            f"{package}: the package is the {contents.manifest.driver} driver, not {driver}"
        )
    if len(contents.manifest.version) > _VERSION_LIMIT:
        raise BadInputError(
            f"{package}: version {contents.manifest.version!r} is longer than "
            f"{_VERSION_LIMIT} characters"
        )
    if contents.options_data is not None:
        source = f"{package} ({option_file_name(driver)})"
        check_options_file(driver, contents.options_data, source)
    return contents


# -- install -----------------------------------------------------------------------------------


def install_driver(
    ctx: Context,
    answers: DriverAnswers,
    *,
    dry_run: bool,
    progress: Progress | None = None,
    settle: Callable[[], DriverAnswers] | None = None,
) -> DriverResult:
    """Plan (``dry_run``) or apply installing one channel of a driver on a DMS.

    Without ``answers.package``: the installed driver's files when there are some (another
    channel), else gsetup's built-in package. A package other than the installed one is
    refused: that is ``gsetup driver upgrade``. ``settle``, called once an apply holds the
    tenant's lock, answers again (same tenant and DMS) what the last install's answers or a
    default answered: the install that held the lock may have just recorded other ones.
    """
    ctx.identity.require(answers.tenant, change=not dry_run)
    with _planning_lock(ctx, answers.tenant, dry_run):
        if settle is not None and not dry_run:
            settled = settle()
            assert (settled.tenant, settled.dms) == (answers.tenant, answers.dms)  # locked
            answers = settled
        return _install_driver(ctx, answers, dry_run=dry_run, progress=progress)


def _planning_lock(ctx: Context, tenant: str, dry_run: bool) -> AbstractContextManager[None]:
    """The tenant's lock around an apply's reads: the driver's files on disk are planned
    after another install or uninstall has put its own in place, not before."""
    if dry_run:
        return nullcontext()
    return holding_lock(ctx.db.engine, tenant, ctx.identity.name, homes=False)


def _install_driver(
    ctx: Context, answers: DriverAnswers, *, dry_run: bool, progress: Progress | None
) -> DriverResult:
    from gsetup.configdb.tenants import tenant_id

    driver = answers.driver
    section = channel_section(driver, answers.channel)
    (obj,) = _load_dms(ctx, answers.tenant, [answers.dms])
    working = staging.check_working_dir(obj.info.working_dir, answers.dms)
    old = read_record(driver, option_values(obj))
    package = answers.package or (None if old else builtin_package(driver))
    contents = inspect_driver_package(driver, package) if package else None
    if contents is not None:
        files = staging.plan_files(contents, working, old)
        if old is not None and files.record != old:
            raise BadInputError(
                f"the {driver} driver {old.version} is installed on {answers.dms!r}; to "
                f"install {contents.manifest.version}, use: gsetup driver upgrade {driver} "
                f"--package {package} --dms <primary DMS>"
            )
    else:
        assert old is not None
        files = staging.FilePlan(
            working, old, old, tuple(staging.FileStep("keep", f.path) for f in old.files)
        )
    with ctx.db.engine.connect() as conn:
        dbid = tenant_id(conn, answers.tenant)
    data = options_data(driver, contents, old)
    source = str(package or working) + f" ({option_file_name(driver)})"
    secrets = secret_keys(driver)
    given = {
        **{(section, k): OptionValue(v, secret=k in secrets) for k, v in answers.hub.items()},
        **{(section, k): OptionValue(v) for k, v in answers.options.items()},
    }
    state = channel_state(
        answers.tenant,
        answers.dms,
        owner_of(driver, obj.info.id, section),
        [
            file_defaults(file_options(driver, section, dbid, data, source), secrets),
            given,
            record_options(files.record),
            replaced_rows(driver, section, given, obj.options),
        ],
    )
    version = files.record.version if files.record else None
    op = _operation(ctx, "driver install", driver, version, answers.history)
    plan = _run(ctx, _Step(answers.dms, [state], files, package, [section]), op, dry_run, progress)
    return DriverResult(driver, answers.dms, plan, not dry_run, version, [section])


# -- upgrade -----------------------------------------------------------------------------------


def upgrade_member(
    ctx: Context,
    driver: Driver,
    tenant: str,
    dms: str,
    package: Path,
    *,
    dry_run: bool,
    history: Mapping[str, Any],
    role: str = "",
    progress: Progress | None = None,
) -> DriverResult:
    """Plan or apply one DMS's part of an upgrade (or of its rollback, ``package`` being the
    old version set aside): its files and options, in one transaction.

    Options the new options file adds are added; every option the channel has now keeps its
    value, unless it is still the old version's default (it then follows the new version).
    """
    contents = inspect_driver_package(driver, package)
    step, old = _upgrade_step(ctx, driver, tenant, dms, package, contents)
    version = contents.manifest.version
    answers = {**history, "dms": dms, "role": role, "previous_version": old.version}
    op = _operation(ctx, "driver upgrade", driver, version, answers)
    plan = _run(ctx, step, op, dry_run, progress)
    return DriverResult(driver, dms, plan, not dry_run, version, step.sections, role)


def check_upgrade_member(
    ctx: Context, driver: Driver, tenant: str, dms: str, package: Path, contents: PackageContents
) -> InstallRecord:
    """Refuse, before anything changes, a DMS the package cannot be installed on; returns
    the installed driver's record."""
    return _upgrade_step(ctx, driver, tenant, dms, package, contents)[1]


def _upgrade_step(
    ctx: Context,
    driver: Driver,
    tenant: str,
    dms: str,
    package: Path,
    contents: PackageContents,
) -> tuple[_Step, InstallRecord]:
    from gsetup.configdb.tenants import tenant_id

    (obj,) = _load_dms(ctx, tenant, [dms])
    old = read_record(driver, option_values(obj))
    sections = channel_sections(driver, obj.info.id, _owners(obj))
    if old is None or not sections:
        raise BadInputError(
            f"the {driver} driver is not installed on {dms!r}; install it there first: "
            f"gsetup driver install {driver} --dms {dms}"
        )
    working = staging.check_working_dir(obj.info.working_dir, dms)
    files = staging.plan_files(contents, working, old)
    with ctx.db.engine.connect() as conn:
        dbid = tenant_id(conn, tenant)
    data, old_data = options_data(driver, contents, None), options_data(driver, None, old)
    source = f"{package} ({option_file_name(driver)})"
    old_source = f"{working / staging.driver_directory(driver)} ({option_file_name(driver)})"
    states = []
    for section in sections:
        owner = owner_of(driver, obj.info.id, section)
        # What the channel holds now stays, unless it is still the old version's default: a
        # value nobody changed follows the new version (a new driver-classname, say).
        now = {
            key: OptionValue(option.value, overwrite=False, secret=option.secret)
            for key, option in obj.options.items()
            if owner in option.managers and key[0] != record_section(driver)
        }
        old_defaults = file_defaults(
            file_options(driver, section, dbid, old_data, old_source), secret_keys(driver)
        )
        new = {
            key: value._replace(overwrite=key in now and now[key].value == old_defaults[key].value)
            if key in old_defaults
            else value
            for key, value in file_defaults(
                file_options(driver, section, dbid, data, source), secret_keys(driver)
            ).items()
        }
        layers = [now, new, record_options(files.record)]
        states.append(channel_state(tenant, dms, owner, layers))
    return _Step(dms, states, files, package, sections), old


def has_kept_options(ctx: Context, driver: Driver, tenant: str, dms: str) -> bool:
    """Whether the DMS's options from before an upgrade are kept (:func:`keep_options`)."""
    (obj,) = _load_dms(ctx, tenant, [dms])
    return read_kept(driver, dms, obj.options) is not None


def keep_options(
    ctx: Context, driver: Driver, tenant: str, dms: str, *, progress: Progress | None = None
) -> None:
    """Record the options the driver's channels manage on the DMS now, before its upgrade
    changes them (one transaction), so that :func:`restore_member` puts them back exactly."""
    (obj,) = _load_dms(ctx, tenant, [dms])
    row = kept_row(driver, obj.info.id, obj.options)
    state = DesiredState(tenant, [DesiredObject("application", obj.path, options=row)])
    record = read_record(driver, option_values(obj))
    answers = {"dms": dms, "kept": "options before the upgrade"}
    op = _operation(ctx, "driver upgrade", driver, record.version if record else None, answers)
    apply_state(ctx.db.engine, state, op, progress=progress)


def restore_member(
    ctx: Context,
    driver: Driver,
    tenant: str,
    dms: str,
    package: Path,
    *,
    history: Mapping[str, Any],
    progress: Progress | None = None,
) -> DriverResult | None:
    """Undo one DMS's upgrade: the old version's files (``package``, set aside before the
    upgrade) and exactly the options kept by :func:`keep_options`, whose row goes too, in one
    transaction. None when nothing is kept: the upgrade did not change the DMS, or it was
    restored already."""
    (obj,) = _load_dms(ctx, tenant, [dms])
    kept = read_kept(driver, dms, obj.options)
    if kept is None:
        return None
    contents = inspect_driver_package(driver, package)
    working = staging.check_working_dir(obj.info.working_dir, dms)
    files = staging.plan_files(contents, working, read_record(driver, option_values(obj)))
    # The record follows the files put back (the same rows as kept, the copy being exact).
    record = record_options(files.record)
    states = [
        channel_state(tenant, dms, owner_of(driver, obj.info.id, section), [options, record])
        for section, options in kept.items()
    ]
    states.append(
        DesiredState(tenant, removals=[Removal("application", obj.path, kept_option(driver))])
    )
    version = contents.manifest.version
    op = _operation(ctx, "driver upgrade", driver, version, {**history, "dms": dms})
    plan = _run(ctx, _Step(dms, states, files, package, list(kept)), op, False, progress)
    return DriverResult(driver, dms, plan, True, version, list(kept))


# -- uninstall ---------------------------------------------------------------------------------


def uninstall_driver(
    ctx: Context,
    driver: Driver,
    tenant: str,
    dms: str,
    channel: str | None,
    *,
    dry_run: bool,
) -> DriverResult:
    """Remove one channel: the options it created, and with the last channel the files.

    Options the user had before the install or added since are kept, and those the install
    replaced get their earlier values back; files changed since they were installed are kept
    too (listed in ``kept_files``).
    """
    ctx.identity.require(tenant, change=not dry_run)
    with _planning_lock(ctx, tenant, dry_run):
        return _uninstall_driver(ctx, driver, tenant, dms, channel, dry_run=dry_run)


def _uninstall_driver(
    ctx: Context, driver: Driver, tenant: str, dms: str, channel: str | None, *, dry_run: bool
) -> DriverResult:
    section = channel_section(driver, channel)
    (obj,) = _load_dms(ctx, tenant, [dms])
    installed = channel_sections(driver, obj.info.id, _owners(obj))
    if section not in installed:
        raise NotFoundError(
            f"no {driver} driver channel [{section}] on {dms!r} in tenant {tenant!r}; "
            f"installed: {', '.join(installed) or '(none)'}"
        )
    old = read_record(driver, option_values(obj))
    states = [DesiredState(tenant, owner=owner_of(driver, obj.info.id, section))]
    restore = restore_state(tenant, obj.path, driver, section, obj.options)
    if restore is not None:  # the user's values the install replaced, set back
        states.append(restore)
    # The file record is co-managed by every channel: only the last channel takes the files.
    removes = installed == [section] and old is not None
    files = (
        staging.plan_removal(old)
        if removes and old is not None
        else staging.FilePlan(Path(obj.info.working_dir), old, old, ())
    )
    version = old.version if old else None
    answers = {"tenant": tenant, "dms": dms, "channel": channel}
    op = _operation(ctx, "driver uninstall", driver, version, answers)
    # The files go as the pending-files record says: a run killed after the commit leaves
    # them to the next run on the tenant, not for good (the channel is gone by then).
    plan = _run(ctx, _Step(dms, states, files, None, [section]), op, dry_run, None)
    kept = [] if dry_run else [step.path for step in files.steps if step.action == "keep"]
    return DriverResult(driver, dms, plan, not dry_run, version, [section], kept_files=kept)


# -- list --------------------------------------------------------------------------------------


def list_drivers(ctx: Context, tenant: str, dms: str | None = None) -> list[dict[str, Any]]:
    """The drivers installed on the tenant's DMS applications (or on ``dms`` only)."""
    from gsetup.drivers.specs import DRIVERS

    found = []
    for obj in _load_dms(ctx, tenant, [dms] if dms is not None else None):
        name = obj.name
        for driver in DRIVERS:
            record = read_record(driver, option_values(obj))
            sections = channel_sections(driver, obj.info.id, _owners(obj))
            if record is None and not sections:
                continue
            found.append(
                {
                    "tenant": tenant,
                    "dms": name,
                    "driver": driver,
                    "version": record.version if record else None,
                    "sections": sections,
                    "directory": str(Path(record.target) / staging.driver_directory(driver))
                    if record
                    else None,
                    "files": [f.path for f in record.files] if record else [],
                }
            )
    return found
