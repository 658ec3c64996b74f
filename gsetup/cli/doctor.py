"""``gsetup doctor``: what is wrong with a tenant's deployment and the command that fixes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import DEFAULT_TENANT, JSON_HELP, TENANT_HELP, emit_json, open_context
from gsetup.errors import EXIT_CHANGES_PENDING

if TYPE_CHECKING:
    from gsetup.commands.doctor import Diagnosis


def doctor(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check a tenant against the guide's Important notes: exit 0 when healthy, 3 when not."""
    from gsetup.commands.doctor import diagnose

    diagnosis = diagnose(open_context(ctx, writes=False), tenant)
    if as_json:
        emit_json(diagnosis.to_json())
    else:
        _print(diagnosis)
    if not diagnosis.healthy:
        # 3, as --detailed-exitcode: "there is something to do" (docs/configure.md).
        raise typer.Exit(EXIT_CHANGES_PENDING)


def _print(diagnosis: Diagnosis) -> None:
    if diagnosis.healthy:
        print(f"Tenant {diagnosis.tenant}: no problems found.")
        return
    for finding in diagnosis.findings:
        print(f"{finding.severity}: [{finding.check}] {finding.message}")
        print(f"  fix: {finding.fix or 'no gsetup command; see docs/configure.md'}")
    errors = sum(f.severity == "error" for f in diagnosis.findings)
    warnings = len(diagnosis.findings) - errors
    print(f"Tenant {diagnosis.tenant}: {errors} error(s), {warnings} warning(s).")
