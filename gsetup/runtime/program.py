"""The tenant's strategies, loaded and checked together, ready to run.

Loading is all or nothing: a malformed file (or one edited into an invalid one) refuses the
whole program with the file, the block path and its line, so nothing is half-loaded. Every
expression gets its fastest faithful evaluator (:mod:`gsetup.runtime.fastexpr`) once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsetup.errors import BadInputError
from gsetup.runtime.config import BusinessProcess, Deployment
from gsetup.runtime.fastexpr import Evaluator, evaluator
from gsetup.strategy import check_references, load_strategy
from gsetup.strategy import model as m


@dataclass
class Process:
    """One installed Business Process: its strategies by queue and subroutines by name."""

    bp: BusinessProcess
    strategies: dict[str, m.Strategy] = field(default_factory=dict)
    subroutines: dict[str, m.Strategy] = field(default_factory=dict)


@dataclass
class Program:
    """Everything the interpreter needs, indexed for a step's lookups."""

    processes: list[Process]
    queues: frozenset[str]
    by_queue: dict[str, tuple[Process, m.Strategy]] = field(default_factory=dict)
    by_source: dict[str, m.Strategy] = field(default_factory=dict)
    lists: dict[tuple[str, str], m.Blocks] = field(default_factory=dict)
    blocks: dict[tuple[str, str], m.Block] = field(default_factory=dict)
    evaluators: dict[int, Evaluator] = field(default_factory=dict)
    expressions: list[m.Expression] = field(default_factory=list)
    process_of: dict[str, Process] = field(default_factory=dict)  # strategy source -> process
    # (strategy source, block list path) -> each block with the step that runs it
    steps: dict[tuple[str, str], tuple[tuple[m.Block, Any], ...]] = field(default_factory=dict)

    def evaluate(self, expression: m.Expression, names: Mapping[str, Any]) -> Any:
        """The value of a loaded expression."""
        return self.evaluators[id(expression)](names)

    def process_of_queue(self, queue: str) -> Process | None:
        """The Business Process a queue belongs to."""
        for process in self.processes:
            if queue in process.bp.queues:
                return process
        return None


def load_program(deployment: Deployment) -> Program:
    """Load and cross-check every active strategy and subroutine of the deployment."""
    processes: list[Process] = []
    queues = frozenset(deployment_queues(deployment))
    for bp in deployment.processes:
        with _placed():
            loaded = [load_strategy(path) for path in bp.files]
            check_references(loaded, queues, bp.queues)
        process = Process(bp)
        for strategy in loaded:
            if strategy.queue is None:
                process.subroutines[strategy.name] = strategy
            else:
                process.strategies[strategy.queue] = strategy
        processes.append(process)
    from gsetup.runtime.interpreter import compile_steps

    program = Program(processes, queues)
    for process in processes:
        for strategy in [*process.strategies.values(), *process.subroutines.values()]:
            _index(program, process, strategy)
    compile_steps(program)
    return program


def deployment_queues(deployment: Deployment) -> set[str]:
    """Every interaction queue a strategy of the deployment may route to."""
    return {q for bp in deployment.processes for q in bp.queues} | set(deployment.queues)


def _index(program: Program, process: Process, strategy: m.Strategy) -> None:
    if strategy.queue is not None:  # one strategy a queue: checked with the references
        program.by_queue[strategy.queue] = (process, strategy)
    program.by_source[strategy.source] = strategy
    program.process_of[strategy.source] = process
    found = _expressions_of(strategy.variables)
    for path, blocks in _lists("blocks", strategy.blocks):
        program.lists[(strategy.source, path)] = blocks
        for block in blocks:
            program.blocks[(strategy.source, block.path)] = block
            found.extend(_block_expressions(block))
    for expression in found:
        program.evaluators[id(expression)] = evaluator(expression)
    program.expressions.extend(found)


def _lists(path: str, blocks: m.Blocks) -> Iterator[tuple[str, m.Blocks]]:
    yield path, blocks
    for block in blocks:
        for name, nested in _nested(block):
            if nested:
                yield from _lists(f"{block.path}.{name}", nested)


def _nested(block: m.Block) -> list[tuple[str, m.Blocks]]:
    if isinstance(block, m.If):
        return [("then", block.then), ("else", block.orelse)]
    if isinstance(block, m.While | m.ForEach):
        return [("do", block.body)]
    if isinstance(block, m.Service):
        return [("on_error", block.on_error)]
    if isinstance(block, m.Target):
        return [("on_timeout", block.on_timeout)]
    return []


def _expressions_of(pairs: tuple[tuple[str, m.Expression], ...]) -> list[m.Expression]:
    return [expression for _name, expression in pairs]


def _block_expressions(block: m.Block) -> list[m.Expression]:
    if isinstance(block, m.Assign):
        return _expressions_of(block.values)
    if isinstance(block, m.If | m.While):
        return [block.condition]
    if isinstance(block, m.ForEach):
        return [block.items]
    if isinstance(block, m.Call | m.Service | m.CallSubroutine):
        return list(block.args.values())
    if isinstance(block, m.Target):
        return [block.skill]
    if isinstance(block, m.Wait):
        return [block.seconds]
    return []


@contextmanager
def _placed() -> Iterator[None]:
    """Add its line to a refusal of a file's loader or of the references across files."""
    try:
        yield
    except BadInputError as exc:
        raise BadInputError(_with_line(str(exc))) from None


# "FILE: PLACE: ...", PLACE a top-level key or a block path (``blocks[3].then[0].args.key``).
_PLACE = re.compile(r"^(?P<file>(?:(?!: ).)+): (?P<path>[A-Za-z_][^:\s]*): ")
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _with_line(message: str) -> str:
    """Add the line of the place a message names, read from the file it names."""
    found = _PLACE.match(message)
    if found is None:
        return message
    line = _line_of(Path(found.group("file")), found.group("path"))
    if line is None:
        return message
    start = found.start("path")
    return f"{message[:start]}line {line}: {message[start:]}"


def _line_of(path: Path, place: str) -> int | None:
    from ruamel.yaml import YAML

    try:
        node: Any = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except Exception:
        return None
    line: int | None = None
    for name, index in _SEGMENT.findall(place):
        key: Any = name if name else int(index)
        try:
            position = node.lc.key(key) if name else node.lc.item(key)
            node = node[key]
        except (AttributeError, KeyError, IndexError, TypeError):
            break
        line = int(position[0]) + 1
    return line
