"""Tokens kept as a secret option of a DMS application: intake tokens (``route token``) and
the stand-in's control tokens (``dms token``).

Each is random (:func:`secrets.token_urlsafe`), written through the plan engine as a secret
option (masked in every output and in the history), and never replaced unless ``rotate``: a
CI re-run must not cut off what uses it. Run again, the command is refused, or with ``keep``
(``--if-missing``) keeps the token and succeeds, so that a CI job can run it every time.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from gsetup.commands.objects import show_app
from gsetup.context import Context
from gsetup.deployment import ConfigObject
from gsetup.errors import BadInputError, ConflictError
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.runtime.credentials import DMS_TYPE
from gsetup.state import DesiredObject, DesiredState, OptionValue, Removal, object_path
from gsetup.wording import a_or_an


@dataclass(frozen=True)
class TokenKind:
    """A kind of token: the option holding it, its name in messages, the command managing it
    (after ``gsetup``)."""

    section: str
    key: str
    name: str
    command: str

    @property
    def option(self) -> tuple[str, str]:
        """(section, key) of the option."""
        return self.section, self.key


@dataclass(frozen=True)
class NewToken:
    """The plan that stored a token, and the token (None on a dry run: nothing was made, and
    when an existing one was ``kept``)."""

    plan: Plan
    token: str | None
    kept: bool = False


def create_token(
    ctx: Context,
    tenant: str,
    app: str,
    kind: TokenKind,
    *,
    rotate: bool,
    dry_run: bool,
    keep: bool = False,
    beside: Mapping[tuple[str, str], OptionValue] | None = None,
) -> NewToken:
    """Make a new token of ``kind`` for DMS application ``app`` and store it, with the
    options ``beside`` it, in one plan. An existing token is replaced if ``rotate``, kept if
    ``keep`` (the options beside it are still set), else refused."""
    if rotate and keep:
        raise BadInputError(
            "--rotate and --if-missing exclude each other: --rotate replaces an existing "
            "token, --if-missing keeps it"
        )
    found = dms_application(ctx, tenant, app, kind)
    exists = kind.option in (found.options or {})
    if exists and not (rotate or keep):
        raise ConflictError(
            f"application {app!r} already has {a_or_an(kind.name)}; give --rotate to replace "
            f"it (the old one stops working), --if-missing to keep it, or revoke it with "
            f"gsetup {kind.command} revoke --app {app}"
        )
    token = None if exists and keep else secrets.token_urlsafe(32)
    wanted = dict(beside or {})
    if token is not None:
        wanted[kind.option] = OptionValue(token, secret=True)
    path = object_path("application", app)
    state = DesiredState(tenant, [DesiredObject("application", path, options=wanted)])
    plan = run_plan(ctx, state, f"{kind.command} create", dry_run=dry_run)
    return NewToken(plan, None if dry_run else token, kept=token is None)


def revoke_token(ctx: Context, tenant: str, app: str, kind: TokenKind, *, dry_run: bool) -> Plan:
    """Remove the application's token of ``kind``; revoking when there is none changes
    nothing."""
    dms_application(ctx, tenant, app, kind)
    removal = Removal("application", object_path("application", app), kind.option)
    return run_plan(
        ctx, DesiredState(tenant, removals=[removal]), f"{kind.command} revoke", dry_run=dry_run
    )


def dms_application(ctx: Context, tenant: str, app: str, kind: TokenKind) -> ConfigObject:
    """The application ``app`` with its options; one that is not a DMS is refused."""
    found = show_app(ctx, tenant, app)
    if found.attrs["app_type"] != DMS_TYPE:
        raise BadInputError(
            f"application {app!r} is of type {found.attrs['app_type'] or '(none)'}; "
            f"{kind.name}s belong to a {DMS_TYPE}"
        )
    return found
