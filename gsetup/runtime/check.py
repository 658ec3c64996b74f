"""Load and verify a tenant's strategies and rule files without serving (``gsetup route
check``)."""

from __future__ import annotations

from dataclasses import dataclass

from gsetup.runtime.classify.rules import load_rules, rules_directory
from gsetup.runtime.config import Deployment, read_deployment
from gsetup.runtime.fastexpr import is_fast
from gsetup.runtime.program import load_program
from gsetup.strategy.model import walk


@dataclass(frozen=True)
class ProcessReport:
    """What was loaded for one Business Process."""

    name: str
    package: str
    strategy_dir: str
    strategies: int
    subroutines: int
    blocks: int
    queues_served: tuple[str, ...]
    queues_unserved: tuple[str, ...]  # interactions placed there wait for an agent action
    rules: str  # the folder of its classification rule files
    rule_files: tuple[str, ...]


@dataclass(frozen=True)
class CheckReport:
    """The whole tenant: every file loaded, cross-checked and compiled."""

    tenant: str
    processes: tuple[ProcessReport, ...]
    expressions: int
    fast_expressions: int  # compiled to closures; the rest run through jinja2's sandbox


def check_tenant(
    config_url: str | None, tenant: str, deployment: Deployment | None = None
) -> CheckReport:
    """Load every active strategy and subroutine of ``tenant``, and the rule files of each
    Business Process, as ``route run`` would; the first problem raises
    :class:`~gsetup.errors.BadInputError` naming file, block (or rule) and line."""
    deployment = deployment or read_deployment(config_url, tenant)
    program = load_program(deployment)
    reports = []
    for process in program.processes:
        loaded = [*process.strategies.values(), *process.subroutines.values()]
        rules = load_rules(rules_directory(process.bp.install_home))
        reports.append(
            ProcessReport(
                process.bp.name,
                process.bp.package,
                str(process.bp.strategy_dir),
                len(process.strategies),
                len(process.subroutines),
                sum(len(walk(s.blocks)) for s in loaded),
                tuple(sorted(process.strategies)),
                tuple(q for q in process.bp.queues if q not in process.strategies),
                str(rules.directory),
                tuple(sorted(f.path.name for f in rules.files.values())),
            )
        )
    return CheckReport(
        tenant,
        tuple(reports),
        len(program.expressions),
        sum(1 for e in program.expressions if is_fast(e)),
    )
