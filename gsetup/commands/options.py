"""Application options and object annexes: option files in and out, single options.

Every change goes through the plan engine (``run_plan``), so imports and ``set``/``unset`` get
dry runs, JSON plans, idempotence and one transaction for free. Values flagged secret are
masked in every output; they leave the database in clear only into a file of mode 0600
(``export --include-secrets --output``), never on standard output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup import deployment
from gsetup.commands.objects import split_full_path
from gsetup.configdb.auth import CHANGE_ROLES
from gsetup.configdb.tenants import DEFAULT_TENANT
from gsetup.context import Context
from gsetup.errors import BadInputError, NotFoundError, PermissionDeniedError
from gsetup.fileio import quote_prefix
from gsetup.plan.model import MASK, Plan
from gsetup.plan.run import run_plan
from gsetup.state import (
    KIND_FOLDERS,
    DesiredObject,
    DesiredState,
    OptionKey,
    OptionValue,
    Removal,
    object_path,
    options,
)

if TYPE_CHECKING:
    from gsetup.options import OptionSections

_FOLDERS = frozenset(folder for folder in KIND_FOLDERS.values() if folder)


@dataclass(frozen=True)
class Target:
    """The object whose options (application) or annex (any object) a command acts on."""

    tenant: str
    kind: str
    path: str
    id: int

    def describe(self) -> str:
        """``application 'DMS_1' in tenant 'Environment'``, for messages."""
        if self.kind == "application":
            name = self.path.rsplit("/", 1)[-1]
            return f"application {quote_prefix(name)} in tenant {self.tenant!r}"
        return f"object {quote_prefix(self.path)} in tenant {self.tenant!r}"


@dataclass(frozen=True)
class OptionView:
    """One option as ``gsetup options get`` shows it: a secret's value is always masked."""

    target: Target
    section: str
    key: str
    value: str
    secret: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        t = self.target
        return {
            "tenant": t.tenant,
            "path": f"{t.tenant}/{t.path}" if t.path else t.tenant,
            "section": self.section,
            "key": self.key,
            "value": self.value,
            "secret": self.secret,
        }


def known_secret_keys() -> frozenset[str]:
    """Keys that are secret wherever they appear: the Cloud API drivers' passwords and keys,
    and gsetup's own credentials, which a restore from an ``--include-secrets`` export (or a
    token made by hand) writes with ``set`` or ``import`` rather than the commands that make
    them secret."""
    from gsetup.dms.settings import CONTROL_KEY
    from gsetup.drivers.specs import DRIVERS, secret_keys
    from gsetup.runtime.credentials import OUTBOUND_TOKEN_KEY, PASSWORD_KEY, TOKEN_KEY

    own = {TOKEN_KEY, OUTBOUND_TOKEN_KEY, PASSWORD_KEY, CONTROL_KEY}
    return frozenset(own).union(*(secret_keys(driver) for driver in DRIVERS))


def find_target(
    ctx: Context, *, tenant: str | None, app: str | None = None, annex: str | None = None
) -> Target:
    """The application ``app`` or the object at ``annex``; it must exist.

    ``annex`` is tenant-relative (``Business Attributes/Media Type/facebook``) or a full path
    with the tenant first (``Environment/Business Attributes/...``; ``Environment`` alone is
    the tenant's own object).
    """
    if (app is None) == (annex is None):
        raise BadInputError("give either --app NAME or --annex PATH")
    if app is not None:
        name, path = tenant or DEFAULT_TENANT, object_path("application", app)
    else:
        assert annex is not None
        name, path = _split_annex(annex, tenant)
    with deployment.open_tenant(ctx, name) as (conn, tid):
        found = deployment.object_id(conn, tid, path)
    if found is None or (app is not None and found[0] != "application"):
        what = (
            f"application {quote_prefix(app)}"
            if app is not None
            else f"object {quote_prefix(path)}"
        )
        raise NotFoundError(f"no {what} in tenant {name!r}")
    return Target(name, found[0], path, found[1])


def _split_annex(annex: str, tenant: str | None) -> tuple[str, str]:
    path = annex.strip("/")
    if not path.strip():  # would read as a tenant named ''
        raise BadInputError(
            f"--annex {quote_prefix(annex)} names no object: give a path, tenant-relative "
            "('Business Attributes/Media Type/facebook') or with the tenant first "
            "('Environment/...'; the tenant's name alone for its own object)"
        )
    if path.split("/", 1)[0] in _FOLDERS:
        return tenant or DEFAULT_TENANT, path
    named, rel = split_full_path(path)
    if tenant is not None and tenant != named:
        raise BadInputError(
            f"--annex {quote_prefix(annex)} starts with tenant {named!r} but --tenant is "
            f"{tenant!r}; give a tenant-relative path or drop --tenant"
        )
    return named, rel


def parse_option_name(text: str) -> OptionKey:
    """``section/key`` -> (section, key), split at the first ``/``; both must fit a .cfg file."""
    section, slash, key = text.partition("/")
    if not slash:
        raise BadInputError(
            f"option {quote_prefix(text)} is not SECTION/KEY; write e.g. "
            "channel-facebook/inbound-route"
        )
    _check_writable(section, key, "")
    return section, key


def _check_writable(section: str, key: str, value: str) -> None:
    """Refuse what an option file could not hold, so every option stays exportable."""
    from gsetup.options import format_options

    format_options({section: {key: value}})  # raises BadInputError naming what is allowed


def _checked(where: str, target: Target, sections: OptionSections) -> OptionSections:
    """``sections`` with the options gsetup reads itself checked, as their readers check them:
    the Cloud API drivers' channel options in canonical form, as driver install stores them
    (a DMS would fall back to defaults, or fail, on what the guide does not allow), and
    ``[gsetup-process]`` (what app start and stop would refuse). The message never shows the
    value: it may be a secret."""
    from gsetup.drivers.specs import parse_channel_section, validate_option
    from gsetup.process.config import SECTION, checked_options
    from gsetup.runtime.credentials import SECTION as RUNTIME_SECTION

    if target.kind != "application":
        return sections
    checked: OptionSections = {}
    for section, keys in sections.items():
        checked[section] = keys
        channel = parse_channel_section(section)
        try:
            if section == SECTION:
                checked_options(keys, f"[{section}]", echo=False)
            elif section == RUNTIME_SECTION:
                _check_runtime_urls(keys)
            elif channel is not None:
                checked[section] = {
                    key: validate_option(channel.driver, section, key, value, echo=False)
                    for key, value in keys.items()
                }
        except BadInputError as exc:
            raise BadInputError(f"{where}: {exc}") from None
    return checked


def _check_runtime_urls(keys: Mapping[str, str]) -> None:
    """The runtime's and the DMS's URLs are plain options, shown in plans, the history and the
    DMS stand-in's health: a password in them would be shown in clear. Tokens are the
    credentials of both ends."""
    from gsetup.commands.route_tokens import has_user_part, http_url
    from gsetup.runtime.credentials import (
        OUTBOUND_TOKEN_KEY,
        OUTBOUND_URL_KEY,
        SECTION,
        TOKEN_KEY,
        URL_KEY,
    )

    for key in (URL_KEY, OUTBOUND_URL_KEY):
        value = keys.get(key)
        if not value:  # not set: the default (outbound), or nowhere to send (intake)
            continue
        if has_user_part(value):
            raise BadInputError(
                f"[{SECTION}] {key}: a URL with a user or password is not allowed (it would be "
                f"shown in clear); the runtime and the DMS present tokens ({TOKEN_KEY}, "
                f"{OUTBOUND_TOKEN_KEY})"
            )
        if http_url(value) is None:  # else the sender fails on every message, not here
            raise BadInputError(
                f"[{SECTION}] {key}: {quote_prefix(value)} is not a URL gsetup can send to; "
                "use http://HOST:PORT/PATH or https://HOST[:PORT]/PATH"
            )


def _check_not_mask(where: str, section: str, key: str, value: str) -> None:
    if value == MASK:
        raise BadInputError(
            f"{where}: [{section}] {key} holds {MASK}, the placeholder gsetup writes for a "
            "secret; a real value is needed (export with --include-secrets --output FILE, or "
            "remove the line to keep the value in the database)"
        )


def _plan_options(
    ctx: Context, target: Target, wanted: dict[OptionKey, OptionValue], operation: str, **kw: Any
) -> Plan:
    state = DesiredState(target.tenant, [DesiredObject(target.kind, target.path, options=wanted)])
    return run_plan(ctx, state, operation, **kw)


def import_options(
    ctx: Context,
    target: Target,
    file: Path,
    *,
    overwrite: bool = False,
    secret_keys: Iterable[str] = (),
    dry_run: bool = False,
) -> Plan:
    """Import an option file: add missing keys; existing ones are kept unless ``overwrite``.

    A refused file writes nothing. Keys named in ``secret_keys`` and the drivers' secret keys
    are stored secret; a key already secret in the database stays secret (the planner keeps
    it so), so an unchanged re-import plans nothing.
    """
    from gsetup.options import read_options
    from gsetup.plan.apply import gc_paused

    names = known_secret_keys() | set(secret_keys)
    with gc_paused():
        sections = _checked(str(file), target, read_options(file))
        for section, keys in sections.items():
            if MASK in keys.values():
                key = next(k for k, v in keys.items() if v == MASK)
                _check_not_mask(str(file), section, key, MASK)
        wanted = options(sections, overwrite=overwrite, secret_keys=names)
        try:
            return _plan_options(ctx, target, wanted, "options import", dry_run=dry_run)
        except BadInputError as exc:
            if type(exc) is not BadInputError:  # a lock, a conflict: not about the file
                raise
            raise BadInputError(f"{file}: {exc}") from None  # the planner refused an option


def export_options(
    ctx: Context, target: Target, *, output: Path | None = None, include_secrets: bool = False
) -> str:
    """The target's options as option-file text; written to ``output`` (mode 0600) if given.

    Secret values are written as the mask unless ``include_secrets``, which needs ``output``:
    secrets in clear never go to standard output, where terminals and CI logs keep them.
    """
    from gsetup.options import format_options, write_options

    if include_secrets and output is None:
        raise BadInputError(
            "--include-secrets writes secret values in clear, so only to a file: give --output"
        )
    role = ctx.identity.role(target.tenant)
    if include_secrets and role not in CHANGE_ROLES:  # a viewer only looks, at masks
        raise PermissionDeniedError(
            f"account {ctx.identity.name!r} is a {role} in tenant {target.tenant!r}: "
            f"--include-secrets (secrets in clear) needs a role that may change it: "
            f"{', '.join(CHANGE_ROLES)}"
        )
    with ctx.db.engine.connect() as conn:
        rows = deployment.option_rows(conn, target.id)
    sections: OptionSections = {}
    for section, key, value, secret in rows:
        shown = MASK if secret and not include_secrets else value
        sections.setdefault(section, {})[key] = shown
    if output is not None:
        # A private temporary file renamed (mode 0600), or a pipe: a terminal keeps secrets.
        refused = "--include-secrets writes secret values in clear, so only to a file or a pipe"
        write_options(output, sections, refuse_terminal=refused if include_secrets else "")
    return format_options(sections)


def get_option(ctx: Context, target: Target, name: OptionKey) -> OptionView:
    """One option; a secret's value is always masked."""
    with ctx.db.engine.connect() as conn:
        rows = deployment.option_rows(conn, target.id, name)
    for section, key, value, secret in rows:
        return OptionView(target, section, key, MASK if secret else value, secret)
    raise NotFoundError(f"no option {quote_prefix('/'.join(name))} on {target.describe()}")


def set_option(
    ctx: Context,
    target: Target,
    name: OptionKey,
    value: str,
    *,
    secret: bool = False,
    on_command_line: bool = False,
    dry_run: bool = False,
) -> Plan:
    """Set one option (replacing its value); setting the same value again changes nothing.

    A key that is already secret, or a driver's secret key, stays secret. A secret value given
    ``on_command_line`` is refused: shell history and process lists would keep it.
    """
    section, key = name
    _check_writable(section, key, value)
    _check_not_mask(target.describe(), section, key, value)
    value = _checked(target.describe(), target, {section: {key: value}})[section][key]
    with ctx.db.engine.connect() as conn:
        stored = deployment.option_rows(conn, target.id, name)
    secret = secret or key in known_secret_keys() or any(row[3] for row in stored)
    if secret and on_command_line:
        raise BadInputError(
            f"[{section}] {key} is secret: do not give its value on the command line; use "
            "--value-env NAME, or --secret without a value to be asked for it"
        )
    wanted = {name: OptionValue(value, secret=secret)}
    return _plan_options(ctx, target, wanted, "options set", dry_run=dry_run)


def unset_option(ctx: Context, target: Target, name: OptionKey, *, dry_run: bool = False) -> Plan:
    """Remove one option; removing a missing option changes nothing."""
    state = DesiredState(target.tenant, removals=[Removal(target.kind, target.path, name)])
    return run_plan(ctx, state, "options unset", dry_run=dry_run)
