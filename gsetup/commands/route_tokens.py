"""Intake tokens: what a DMS application sends to the routing runtime's intake.

A token is a secret option of its application, ``[gsetup-runtime] intake-token``, beside
``intake-url`` (where to send): the DMS (or its stand-in) must read the token itself to send
it, so the option holds the token, flagged secret, masked in every output. It is printed once,
when created. Both are written through the plan engine.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from gsetup.commands.objects import show_app
from gsetup.context import Context
from gsetup.deployment import ConfigObject
from gsetup.errors import BadInputError, ConflictError, NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.runtime.credentials import DMS_TYPE, SECTION, TOKEN_KEY, URL_KEY
from gsetup.state import DesiredObject, DesiredState, OptionValue, Removal, object_path


@dataclass(frozen=True)
class NewToken:
    """The plan that stored a token, and the token (None on a dry run: nothing was made)."""

    plan: Plan
    token: str | None
    url: str


def intake_url(base_url: str) -> str:
    """The intake endpoint of the runtime at ``base_url``."""
    return base_url.rstrip("/") + "/interactions"


def check_base_url(url: str) -> str:
    """A runtime URL must be http(s)://host[:port] (TLS ends at a reverse proxy)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInputError(
            f"--url {quote_prefix(url)}: use http://HOST:PORT or https://HOST[:PORT]"
        )
    # The intake URL that token create prints is the likeliest mistake: every command adds
    # its route to the base (a reverse proxy's path prefix stays allowed).
    route = _ROUTE.search(parts.path)
    if route is not None:
        raise BadInputError(
            f"--url {quote_prefix(url)} names the route {route[0]}: give the runtime's base URL "
            f"(e.g. {parts.scheme}://{parts.netloc}); commands add their route to it"
        )
    return url.rstrip("/")


_ROUTE = re.compile(r"/(interactions|events|status|metrics|healthz|agents)(/.*)?$")


def create_token(
    ctx: Context, tenant: str, app: str, base_url: str, *, rotate: bool, dry_run: bool
) -> NewToken:
    """Make a new intake token for DMS application ``app`` and store it with the intake URL.

    An application that already has a token keeps it unless ``rotate`` (a CI re-run must not
    cut off the DMS that uses it).
    """
    found = _dms(ctx, tenant, app)
    if (SECTION, TOKEN_KEY) in (found.options or {}) and not rotate:
        raise ConflictError(
            f"application {app!r} already has an intake token; give --rotate to replace it "
            f"(the old one stops working) or revoke it with gsetup route token revoke --app {app}"
        )
    token = secrets.token_urlsafe(32)
    url = intake_url(check_base_url(base_url))
    wanted = {
        (SECTION, TOKEN_KEY): OptionValue(token, secret=True),
        (SECTION, URL_KEY): OptionValue(url),
    }
    path = object_path("application", app)
    state = DesiredState(tenant, [DesiredObject("application", path, options=wanted)])
    plan = run_plan(ctx, state, "route token create", dry_run=dry_run)
    return NewToken(plan, None if dry_run else token, url)


def revoke_token(ctx: Context, tenant: str, app: str, *, dry_run: bool) -> Plan:
    """Remove the application's intake token; a running runtime refuses it at once. The
    intake URL stays. Revoking when there is no token changes nothing."""
    _dms(ctx, tenant, app)
    removal = Removal("application", object_path("application", app), (SECTION, TOKEN_KEY))
    return run_plan(
        ctx, DesiredState(tenant, removals=[removal]), "route token revoke", dry_run=dry_run
    )


def stored_token(ctx: Context, tenant: str, app: str) -> str:
    """The intake token of ``app`` in clear, for gsetup's own clients (``route submit``);
    never printed."""
    token = (_dms(ctx, tenant, app).options or {}).get((SECTION, TOKEN_KEY))
    if token is None:
        raise NotFoundError(
            f"application {app!r} has no intake token: make one with "
            f"gsetup route token create --app {app}"
        )
    return token.value


def _dms(ctx: Context, tenant: str, app: str) -> ConfigObject:
    found = show_app(ctx, tenant, app)
    if found.attrs["app_type"] != DMS_TYPE:
        raise BadInputError(
            f"application {app!r} is of type {found.attrs['app_type'] or '(none)'}; "
            f"intake tokens belong to a {DMS_TYPE}"
        )
    return found
