"""The loaded form of a ``gsetup-strategy/1`` file: a strategy or subroutine and its blocks.

Every block keeps its ``path`` (``blocks[3].then[0]``) so that whoever executes it can name
the block in a message. Expressions are compiled once, when the file is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jinja2.environment import TemplateExpression


@dataclass(frozen=True)
class Expression:
    """An expression's text, the names it reads and its compiled (sandboxed) form."""

    source: str
    names: frozenset[str]
    compiled: TemplateExpression

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The expression's value with ``context`` as its variables."""
        return self.compiled(**context)


Args = Mapping[str, Expression]


@dataclass(frozen=True)
class Assign:
    """Set variables, in order."""

    path: str
    values: tuple[tuple[str, Expression], ...]


@dataclass(frozen=True)
class If:
    """Run ``then`` when the condition is true, else ``orelse``."""

    path: str
    condition: Expression
    then: Blocks
    orelse: Blocks


@dataclass(frozen=True)
class While:
    """Run ``body`` while the condition is true, at most ``limit`` times."""

    path: str
    condition: Expression
    body: Blocks
    limit: int


@dataclass(frozen=True)
class ForEach:
    """Run ``body`` once for each item of a list, the item in variable ``name``."""

    path: str
    items: Expression
    name: str
    body: Blocks


@dataclass(frozen=True)
class Call:
    """Call a function of :data:`gsetup.strategy.registry.FUNCTIONS`."""

    path: str
    function: str
    args: Args
    result: str | None


@dataclass(frozen=True)
class Service:
    """An external service request; ``on_error`` runs when every attempt failed."""

    path: str
    service: str
    method: str
    args: Args
    result: str | None
    timeout: int
    attempts: int
    on_error: Blocks


@dataclass(frozen=True)
class Route:
    """Place the interaction in another interaction queue; this strategy ends."""

    path: str
    queue: str


@dataclass(frozen=True)
class Target:
    """Deliver to an agent the skill expression accepts; ``on_timeout`` runs if none within
    ``timeout`` seconds. Delivered, the strategy ends."""

    path: str
    skill: Expression
    timeout: int
    on_timeout: Blocks


@dataclass(frozen=True)
class Wait:
    """Hold the interaction in the strategy for a number of seconds."""

    path: str
    seconds: Expression


@dataclass(frozen=True)
class Stop:
    """Terminate the interaction; ``reason`` is recorded."""

    path: str
    reason: str


@dataclass(frozen=True)
class CallSubroutine:
    """Run a subroutine of the same Business Process with the given parameters."""

    path: str
    name: str
    args: Args


Block = (
    Assign | If | While | ForEach | Call | Service | Route | Target | Wait | Stop | CallSubroutine
)
Blocks = tuple[Block, ...]


@dataclass(frozen=True)
class Strategy:
    """A loaded strategy file. ``queue`` is None exactly for subroutines."""

    source: str
    name: str
    kind: Literal["strategy", "subroutine"]
    queue: str | None
    description: str
    parameters: tuple[str, ...]
    variables: tuple[tuple[str, Expression], ...]
    blocks: Blocks


def walk(blocks: Blocks) -> list[Block]:
    """Every block of ``blocks`` and of their nested block lists, depth first."""
    found: list[Block] = []
    for block in blocks:
        found.append(block)
        for nested in _children(block):
            found.extend(walk(nested))
    return found


def _children(block: Block) -> tuple[Blocks, ...]:
    if isinstance(block, If):
        return (block.then, block.orelse)
    if isinstance(block, While | ForEach):
        return (block.body,)
    if isinstance(block, Service):
        return (block.on_error,)
    if isinstance(block, Target):
        return (block.on_timeout,)
    return ()
