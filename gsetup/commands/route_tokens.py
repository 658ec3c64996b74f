"""Intake tokens: what a DMS application sends to the routing runtime's intake.

A token is a secret option of its application, ``[gsetup-runtime] intake-token``, beside
``intake-url`` (where to send): the DMS (or its stand-in) must read the token itself to send
it, so the option holds the token, flagged secret, masked in every output. It is printed once,
when created. Both are written through the plan engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gsetup.commands.app_tokens import TokenKind, create_token, dms_application
from gsetup.context import Context
from gsetup.errors import BadInputError, NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.plan.model import Plan
from gsetup.runtime.credentials import SECTION, TOKEN_KEY, URL_KEY
from gsetup.state import OptionKey, OptionValue

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from gsetup.deployment.model import StoredOption

INTAKE = TokenKind(SECTION, TOKEN_KEY, "intake token", "route token")


@dataclass(frozen=True)
class NewIntakeToken:
    """The plan that stored a token, the token (None on a dry run, and when an existing one
    was ``kept``) and the intake URL."""

    plan: Plan
    token: str | None
    url: str
    kept: bool = False


def intake_url(base_url: str) -> str:
    """The intake endpoint of the runtime at ``base_url``."""
    return base_url.rstrip("/") + "/interactions"


def check_base_url(url: str) -> str:
    """A runtime URL must be http(s)://host[:port] (TLS ends at a reverse proxy)."""
    usage = "use http://HOST:PORT or https://HOST[:PORT]"
    if has_user_part(url):
        # Never echoed: the intake URL is a plain option, shown in plans and health documents.
        raise BadInputError(
            f"--url: a runtime URL takes no user or password (its callers present tokens); {usage}"
        )
    parts = http_url(url)
    if parts is None:
        raise BadInputError(f"--url {quote_prefix(url)}: {usage}")
    # The intake URL that token create prints is the likeliest mistake: every command adds
    # its route to the base (a reverse proxy's path prefix stays allowed).
    route = _ROUTE.search(parts.path)
    if route is not None:
        raise BadInputError(
            f"--url {quote_prefix(url)} names the route {route[0]}: give the runtime's base URL "
            f"(e.g. {parts.scheme}://{parts.netloc}); commands add their route to it"
        )
    return url.rstrip("/")


def http_url(url: str) -> SplitResult | None:
    """``url``'s parts if it is an http(s) URL with a host that an HTTP client can send to
    (a port that is a number from 1 to 65535, if any), else None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for one that is no number, or out of range
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return None
    return parts


def has_user_part(url: str) -> bool:
    """Whether ``url`` names a user (and perhaps a password) before its host, parsable or
    not."""
    authority = _AUTHORITY.match(url)
    return authority is not None and "@" in authority[1]


_AUTHORITY = re.compile(r"[^:/?#]*://([^/?#]*)")
_ROUTE = re.compile(r"/(interactions|events|status|metrics|healthz|openapi\.json|agents)(/.*)?$")


def create_intake_token(
    ctx: Context,
    tenant: str,
    app: str,
    base_url: str | None,
    *,
    rotate: bool,
    dry_run: bool,
    keep: bool = False,
) -> NewIntakeToken:
    """Make a new intake token for DMS application ``app`` (an existing one is replaced,
    kept or refused as :func:`~gsetup.commands.app_tokens.create_token` says) and store it
    with the intake URL of the runtime at ``base_url``. Without ``base_url`` the intake URL
    the application has is kept (an operator's, e.g. a reverse proxy's: a rotation changes
    the token, not where the DMS sends), else the runtime's recorded as running or the
    default one is stored."""
    from gsetup.commands.runtime_client import runtime_url

    stored = None
    if base_url is not None:
        url = intake_url(check_base_url(base_url))
    elif (stored := _option(ctx, tenant, app, (SECTION, URL_KEY))) is not None:
        url = stored.value
    else:
        url = intake_url(runtime_url(ctx, tenant))
    beside = {} if stored is not None else {(SECTION, URL_KEY): OptionValue(url)}
    made = create_token(
        ctx, tenant, app, INTAKE, rotate=rotate, dry_run=dry_run, keep=keep, beside=beside
    )
    return NewIntakeToken(made.plan, made.token, url, made.kept)


def stored_token(ctx: Context, tenant: str, app: str) -> str:
    """The intake token of ``app`` in clear, for gsetup's own clients (``route submit``);
    never printed."""
    token = _option(ctx, tenant, app, INTAKE.option)
    if token is None:
        raise NotFoundError(
            f"application {app!r} has no intake token: make one with "
            f"gsetup route token create --app {app}"
        )
    return token.value


def _option(ctx: Context, tenant: str, app: str, option: OptionKey) -> StoredOption | None:
    """DMS application ``app``'s ``option`` (section, key), if set."""
    return (dms_application(ctx, tenant, app, INTAKE).options or {}).get(option)
