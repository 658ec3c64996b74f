"""Plan or apply a desired state on behalf of the logged-in user."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gsetup.context import Context
from gsetup.plan.apply import Operation, Progress, apply_state, plan_state
from gsetup.plan.model import Plan
from gsetup.state import DesiredState


def run_plan(
    ctx: Context,
    state: DesiredState,
    operation: str,
    *,
    dry_run: bool,
    package: str | None = None,
    version: str | None = None,
    answers: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    before_commit: Callable[..., None] | None = None,
) -> Plan:
    """Check the user may change the tenant, then plan (``dry_run``) or apply ``state``."""
    ctx.identity.require(state.tenant, change=not dry_run)
    if dry_run:
        return plan_state(ctx.db.engine, state)
    op = Operation(operation, ctx.identity.name, package, version, answers)
    return apply_state(ctx.db.engine, state, op, progress=progress, before_commit=before_commit)
