"""Check what a set of strategy files names across files: queues and subroutines."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from gsetup.errors import BadInputError
from gsetup.strategy.model import CallSubroutine, Route, Strategy, walk


def check_references(
    strategies: Iterable[Strategy], queues: Collection[str], served: Collection[str]
) -> None:
    """Refuse two files of one name, a strategy serving a queue not in ``served`` (a Business
    Process's strategies serve its own queues) or one another strategy serves, a route to a
    queue not in ``queues`` and a subroutine call that names no subroutine of ``strategies``
    or does not give exactly its parameters."""
    loaded = list(strategies)
    _check_names(loaded)
    _check_served(loaded, served)
    subroutines = {s.name: s for s in loaded if s.kind == "subroutine"}
    for strategy in loaded:
        for block in walk(strategy.blocks):
            where = f"{strategy.source}: {block.path}"
            if isinstance(block, Route) and block.queue not in queues:
                raise BadInputError(
                    f"{where}: no queue {block.queue!r}; the queues are: "
                    f"{', '.join(sorted(queues))}"
                )
            if isinstance(block, CallSubroutine):
                _check_call(block, subroutines, where)


def _check_names(strategies: list[Strategy]) -> None:
    # A name is one configuration object; a second subroutine of a name would silently
    # replace the first for every caller.
    named: dict[str, Strategy] = {}
    for strategy in strategies:
        first = named.setdefault(strategy.name, strategy)
        if first is not strategy:
            raise BadInputError(
                f"{strategy.source}: name: {strategy.name!r} is also the name of "
                f"{first.source}: each strategy and subroutine of a Business Process has its "
                "own name"
            )


def _check_served(strategies: list[Strategy], served: Collection[str]) -> None:
    # A queue served by no strategy is allowed (interactions wait there for an agent), but a
    # strategy serving a queue that does not exist or another's would never run.
    server: dict[str, Strategy] = {}
    for strategy in strategies:
        queue = strategy.queue
        if queue is None:
            continue
        where = f"{strategy.source}: queue"
        if queue not in served:
            raise BadInputError(
                f"{where}: {queue!r} is not a queue of its Business Process; its queues are: "
                f"{', '.join(sorted(served))}"
            )
        if queue in server:
            raise BadInputError(
                f"{where}: {queue!r} is also served by {server[queue].source}: one strategy "
                "serves a queue"
            )
        server[queue] = strategy


def _check_call(block: CallSubroutine, subroutines: dict[str, Strategy], where: str) -> None:
    called = subroutines.get(block.name)
    if called is None:
        raise BadInputError(
            f"{where}: no subroutine {block.name!r}; the subroutines are: "
            f"{', '.join(sorted(subroutines))}"
        )
    if set(block.args) != set(called.parameters):
        raise BadInputError(
            f"{where}: {block.name!r} takes exactly: "
            f"{', '.join(called.parameters) or 'no arguments'}"
        )
