"""Install time: render a package's strategy files from ``gsetup/templates/strategies``.

The header and the top-level fields (format, name, kind, queue) come from the package data,
the blocks from the strategy's template, so a file always names the objects the desired
state creates. Pure: writing the files is the plan's job.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup.packages.model import Answers, Package, Strategy
from gsetup.packages.stages import IWD_ADAPTER_QUEUE
from gsetup.strategy.registry import FORMAT

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "strategies"


def render_strategies(package: Package, answers: Answers) -> dict[str, str]:
    """Every strategy and subroutine file of ``package``: ``{file name: content}``."""
    env = _environment()
    context = {
        "package": package,
        "answers": answers,
        "settings": package.settings,
        "queue": package.stage_queue,
        "subroutine": package.subroutine,
        "iwd_adapter_queue": IWD_ADAPTER_QUEUE,
    }
    return {
        s.file_name: _header(package, s) + env.get_template(s.template).render(context, strategy=s)
        for s in package.strategies
    }


@functools.cache
def _environment() -> Environment:
    """One environment a process, as jinja intends: it compiles each template once."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    # StrictUndefined: a template naming a setting the package lacks fails the render (and the
    # tests), instead of writing an empty value into a strategy.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _header(package: Package, strategy: Strategy) -> str:
    kind = "subroutine" if strategy.subroutine else "strategy"
    lines = [
        f"# {strategy.name}: a {kind} of {package.title} ({package.name} {package.version}).",
        "# Rendered by gsetup; the format is described in docs/strategy-format.md.",
        f"format: {FORMAT}",
        f"name: {json.dumps(strategy.name)}",
        f"kind: {kind}",
    ]
    if strategy.queue is not None:
        lines.append(f"queue: {json.dumps(strategy.queue)}")
    lines.append(f"description: {json.dumps(strategy.description)}")
    return "\n".join(lines) + "\n"
