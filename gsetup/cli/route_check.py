"""``gsetup route check``: load and verify the tenant's strategies without serving.

Registered on the ``route`` command group (gsetup/cli/route.py) as ``check``.
"""

from __future__ import annotations

import dataclasses

import typer

from gsetup.cli.common import DEFAULT_TENANT, JSON_HELP, TENANT_HELP, emit_json, open_context


def check(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Load every active strategy and classification rule file of the tenant's installed
    Business Processes as route run would, and report what was loaded; a malformed file is
    refused with its file, block (or rule) and line (exit 2). Changes nothing.

    Example: gsetup route check --tenant Environment --json
    """
    from gsetup.cli.progress import show_rule_loading
    from gsetup.commands.route_check import check_route

    show_rule_loading()
    report = check_route(open_context(ctx, writes=False), tenant)
    if as_json:
        emit_json(dataclasses.asdict(report))
        return
    for process in report.processes:
        print(
            f"{process.name} ({process.package}): {process.strategies} strategies, "
            f"{process.subroutines} subroutines, {process.blocks} blocks in {process.strategy_dir}"
        )
        print(f"  rule files: {', '.join(process.rule_files)} in {process.rules}")
        if process.queues_unserved:
            print(f"  queues no strategy serves: {', '.join(process.queues_unserved)}")
    print(
        f"Tenant {report.tenant}: strategies OK; {report.expressions} expressions compiled, "
        f"{report.fast_expressions} to plain closures."
    )
