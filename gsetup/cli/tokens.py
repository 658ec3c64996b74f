"""What ``route token`` and ``dms token`` share: the ``revoke`` command of a token kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import (
    DEFAULT_TENANT,
    DETAILED_HELP,
    DMS_APP_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    YES_HELP,
    confirmation,
    finish_plan,
    open_context,
)

if TYPE_CHECKING:
    from gsetup.commands.app_tokens import TokenKind


def revoke_command(kind: Callable[[], TokenKind], doc: str) -> Callable[..., None]:
    """The ``revoke`` command of the token ``kind()`` returns (imported when the command
    runs, not when the CLI starts), with ``doc`` as its help."""

    def revoke(
        ctx: typer.Context,
        app_name: str = typer.Option(..., "--app", help=DMS_APP_HELP),
        tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
        yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
        dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
        detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        from gsetup.commands.app_tokens import revoke_token

        context = open_context(ctx)
        mode = confirmation(dry_run, yes, detailed, as_json)
        token = kind()
        plan = mode.apply_plan(
            lambda dry: revoke_token(context, tenant, app_name, token, dry_run=dry)
        )
        finish_plan(plan, mode, as_json=as_json)

    revoke.__doc__ = doc
    return revoke
