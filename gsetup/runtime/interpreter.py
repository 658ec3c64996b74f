"""The interpreter of ``gsetup-strategy/1`` (docs/strategy-format.md): runs an interaction's
strategy from its saved position until it routes, is offered to an agent, waits or stops.

The position is an explicit stack of frames (block list, next index, loop state) and the
variable scopes, stored as JSON in the interaction's row whenever the strategy suspends, so
a restarted worker resumes exactly at the last committed step. A run-time error in a block
(a bad value, a failed function) parks the interaction in state ``error`` naming the file and
the block; the engine goes on with the others.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from gsetup.fileio import quote_prefix, value_kind
from gsetup.runtime.itx import Itx, plain
from gsetup.runtime.reasons import reworded
from gsetup.runtime.turn import Turn
from gsetup.strategy import model as m

if TYPE_CHECKING:
    from gsetup.runtime.program import Program

MAX_WAIT = 31 * 24 * 3600
# Subroutine calls in progress at once: a subroutine calling itself without end would
# otherwise grow the stack within one turn until the worker runs out of memory.
MAX_NESTING = 100
# Blocks one interaction may run within a turn: nested `while` loops at their 1,000,000 limit
# would otherwise run for days in one turn, holding the worker (and SQLite's write lock). The
# shipped strategies run at most 68 blocks for one interaction within a turn.
MAX_STEPS = 100_000
_SCOPE_NAMES = ("udata", "itx")


class StrategyError(Exception):
    """A run-time error of a strategy; the message says what was wrong (not where)."""


class _VariableError(StrategyError):
    """A ``variables`` expression of a strategy or subroutine failed; no block was running,
    so the variable is the place named."""

    def __init__(self, name: str, exc: Exception) -> None:
        super().__init__(reworded(exc))
        self.path = f"variables.{name}"


class Suspended(Exception):
    """The strategy stops running for now; the interaction's fields say why."""


class _Routed(Exception):
    """A ``route`` block placed the interaction in another queue."""


class Machine:
    """Runs one interaction within a turn."""

    def __init__(self, turn: Turn, itx: Itx) -> None:
        self.turn = turn
        self.itx = itx
        self.program = turn.ctx.program
        self.position: dict[str, Any] = {}
        self.scopes: list[dict[str, Any]] = []
        self.steps_left = MAX_STEPS  # for this run, across its routes

    # --- entry ----------------------------------------------------------------------------

    def run(self) -> None:
        """Run until the interaction suspends, is delivered, stops or is parked; follows
        routes to other queues up to ``max_hops`` times within this turn."""
        for _hop in range(self.turn.ctx.settings.max_hops):
            try:
                self._run_strategy()
                return
            except _Routed:
                continue
            except Suspended:
                return
        self.itx.due_at = self.turn.now  # a routing loop: let other interactions run first
        self.turn.made_due = True
        self.turn.touch(self.itx, ())

    def _run_strategy(self) -> None:
        itx = self.itx
        block: m.Block | None = None
        try:
            if itx.position is None:
                if not self._start():
                    return
            else:
                self._restore()
            if itx.waiting is not None:
                self._resume()
            stack: list[dict[str, Any]] = self.position["stack"]
            steps = self.program.steps
            while stack:
                # The top frame's blocks run here until one pushes a frame (then, do,
                # a subroutine...); its list is looked up once, not once a block, and its
                # blocks are counted once, not one by one (those a push leaves are given back).
                frame = stack[-1]
                entries = steps[(frame["s"], frame["l"])]
                end, index = len(entries), frame["i"]
                self.steps_left -= end - index
                if self.steps_left < 0:
                    block = entries[index][0]
                    raise StrategyError(
                        f"more than {MAX_STEPS:,} blocks in one turn, the most an interaction "
                        "runs before its strategy waits or ends (a while or for_each without end?)"
                    )
                while index < end:
                    frame["i"] = index + 1
                    block, step = entries[index]
                    step(self)
                    if stack[-1] is not frame:
                        self.steps_left += end - index - 1
                        break
                    index = frame["i"]
                else:
                    self._end_of_list(stack, frame)
            raise StrategyError(
                "the strategy ended without routing, delivering or stopping the interaction"
            )
        except (Suspended, _Routed):
            raise
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a strategy's run-time error parks only this interaction
            self._park(block, exc)

    def _start(self) -> bool:
        itx = self.itx
        entry = self.program.by_queue.get(itx.queue or "")
        if entry is None:  # a queue no strategy serves: the interaction waits there
            itx.state, itx.due_at, itx.strategy = "queued", None, None
            self.turn.touch(itx, ())
            return False
        strategy = entry[1]
        itx.state, itx.strategy, itx.waiting = "routing", strategy.name, None
        self.position = {"stack": [{"s": strategy.source, "l": "blocks", "i": 0}]}
        scope = self._new_scope({})
        self.scopes = [scope]
        self.turn.touch(itx, ())
        self.turn.log(itx, "strategy-started", strategy=strategy.name)
        self._set_variables(strategy, scope)
        return True

    def _set_variables(self, strategy: m.Strategy, scope: dict[str, Any]) -> None:
        """Evaluate the ``variables`` of the strategy or subroutine on top of the stack."""
        for name, expression in strategy.variables:
            try:
                scope[name] = self.program.evaluate(expression, scope)
            except Exception as exc:
                raise _VariableError(name, exc) from exc

    def _restore(self) -> None:
        saved = self.itx.position or {}
        self.position = saved
        self.scopes = [self._new_scope(s) for s in saved.get("vars", [{}])]
        self.turn.touch(self.itx, ())

    def _new_scope(self, values: dict[str, Any]) -> dict[str, Any]:
        scope = dict(values)
        scope["udata"] = self.itx.udata
        scope["itx"] = self.itx.props or self.itx.refresh_props()
        return scope

    # --- the stack --------------------------------------------------------------------------

    @property
    def scope(self) -> dict[str, Any]:
        """The variables of the running strategy or subroutine."""
        return self.scopes[-1]

    def _end_of_list(self, stack: list[dict[str, Any]], frame: dict[str, Any]) -> None:
        kind = frame.get("k")
        if kind == "w":
            loop = self.program.blocks[(frame["s"], frame["b"])]
            assert isinstance(loop, m.While)
            if frame["n"] < loop.limit and self._eval(loop.condition):
                frame["n"] += 1
                frame["i"] = 0
                return
        elif kind == "f":
            frame["n"] += 1
            if frame["n"] < len(frame["items"]):
                self.scope[frame["as"]] = frame["items"][frame["n"]]
                frame["i"] = 0
                return
        elif kind == "sub":
            self.scopes.pop()
        stack.pop()

    def push(self, block: m.Block, name: str, **extra: Any) -> None:
        """Run the block list ``name`` (then, else, do, on_error, on_timeout) of ``block`` next."""
        self.push_list(f"{block.path}.{name}", extra)

    def push_list(self, path: str, extra: dict[str, Any] | None = None) -> None:
        """Run the block list at ``path`` of the running strategy next."""
        stack = self.position["stack"]
        frame = {"s": stack[-1]["s"], "l": path, "i": 0}
        if extra:
            frame.update(extra)
        stack.append(frame)

    def _again(self) -> None:
        """Run the block just taken again when the interaction resumes."""
        self.position["stack"][-1]["i"] -= 1

    def _eval(self, expression: m.Expression) -> Any:
        return self.program.evaluate(expression, self.scope)

    def _args(self, args: m.Args) -> dict[str, Any]:
        scope = self.scope
        evaluate = self.program.evaluate
        return {name: plain(evaluate(expression, scope)) for name, expression in args.items()}

    # --- blocks (the common ones are compiled to steps: see compile_steps) ------------------

    def _while(self, block: m.While) -> None:
        if self._eval(block.condition):
            self.push(block, "do", k="w", b=block.path, n=1)

    def _for_each(self, block: m.ForEach) -> None:
        value = self._eval(block.items)
        if not isinstance(value, list | tuple | None):
            # A map(...), items() or range(...) is one `| list` away from a list.
            hint = "" if isinstance(value, str | dict | int | float) else " (`| list` makes one)"
            raise StrategyError(f"for_each needs a list, not {value_kind(value)}{hint}")
        items = plain(value) or []
        if items:
            self.scope[block.name] = items[0]
            self.push(block, "do", k="f", b=block.path, n=0, items=items, **{"as": block.name})

    def _route(self, block: m.Route) -> None:
        self.place(block.queue)
        raise _Routed

    def _wait(self, block: m.Wait) -> None:
        seconds = plain(self._eval(block.seconds))
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise StrategyError(f"wait needs a number of seconds, not {quote_prefix(seconds)}")
        if not 1 <= seconds <= MAX_WAIT:
            raise StrategyError(f"wait is 1 second to 31 days ({MAX_WAIT} s), not {seconds}")
        self.suspend("wait", self.turn.now + float(seconds))

    def _stop(self, block: m.Stop) -> None:
        self.stop(block.reason)
        raise Suspended

    def _subroutine(self, block: m.CallSubroutine) -> None:
        if len(self.scopes) > MAX_NESTING:  # the strategy's scope and one a call
            raise StrategyError(
                f"subroutines nest at most {MAX_NESTING} deep (does {block.name} call itself "
                "without end?)"
            )
        source = self.position["stack"][-1]["s"]
        process = self.program.process_of[source]
        called = process.subroutines[block.name]
        scope = self._new_scope(self._args(block.args))
        self.scopes.append(scope)
        self.position["stack"].append({"s": called.source, "l": "blocks", "i": 0, "k": "sub"})
        self._set_variables(called, scope)

    # --- outcomes ----------------------------------------------------------------------------

    def place(self, queue: str) -> None:
        """Put the interaction in ``queue``; its strategy starts from the beginning."""
        place(self.turn, self.itx, queue)

    def stop(self, reason: str) -> None:
        """Terminate the interaction."""
        stop(self.turn, self.itx, reason)

    def suspend_at_block(self) -> None:
        """Save the position so that the block just taken runs again on resume."""
        self._again()
        self.save()

    def suspend(self, waiting: str, due_at: float | None, *, again: bool = False) -> None:
        """Save the position and stop running until ``due_at`` (None: until an event)."""
        if again:
            self._again()
        self.save()
        self.itx.waiting, self.itx.due_at = waiting, due_at
        self.itx.state = "routing"
        self.turn.log(self.itx, "suspended", waiting=waiting, due_at=due_at)
        raise Suspended

    def save(self) -> None:
        """Store the stack and the variables (without ``udata``/``itx``) in the row."""
        self.position["vars"] = [
            {k: plain(v) for k, v in scope.items() if k not in _SCOPE_NAMES}
            for scope in self.scopes
        ]
        self.itx.position = self.position
        self.turn.touch(self.itx, ())

    def _park(self, block: m.Block | None, exc: Exception) -> None:
        itx = self.itx
        stack = self.position.get("stack") if self.position else None
        source = stack[-1]["s"] if stack else itx.strategy
        path = exc.path if isinstance(exc, _VariableError) else block.path if block else None
        where = f"{source}: {path}" if path is not None else str(source)
        itx.state, itx.due_at, itx.waiting = "error", None, None
        itx.error = f"{where}: {reworded(exc)}"
        if self.position:
            # A variable that cannot be stored parked it: the row keeps its last position.
            with suppress(TypeError):
                self.save()
        self.turn.touch(itx, ())
        self.turn.ctx.metrics.errors.inc()
        self.turn.log(itx, "parked", error=itx.error)

    def _resume(self) -> None:
        waiting = self.itx.waiting
        self.itx.waiting = None
        if waiting == "service":
            from gsetup.runtime.services import resume_service

            resume_service(self)


def place(turn: Turn, itx: Itx, queue: str) -> None:
    """Put ``itx`` in ``queue``, due now; the queue's strategy starts from the beginning."""
    itx.queue, itx.state, itx.position, itx.waiting = queue, "queued", None, None
    itx.placed_in_queue_at, itx.due_at, itx.strategy = turn.now, turn.now, None
    if itx.props:
        itx.props["queue"] = queue
    turn.touch(itx, ())
    turn.log(itx, "routed")


def stop(turn: Turn, itx: Itx, reason: str) -> None:
    """Terminate ``itx``; ``reason`` is recorded."""
    itx.state, itx.stop_reason, itx.ended_at = "stopped", reason, turn.now
    itx.position = itx.waiting = itx.due_at = None
    turn.touch(itx, ())
    turn.ctx.metrics.stopped.labels(reason=reason).inc()
    turn.log(itx, "stopped", reason=reason)


Step = Callable[[Machine], None]


def compile_steps(program: Program) -> None:
    """Give every block list of ``program`` its steps: each block with a closure that runs
    it, its expressions' evaluators and its function bound once here, so a step costs no
    lookup by block type, expression or name."""
    for key, blocks in program.lists.items():
        program.steps[key] = tuple((block, _step(program, block)) for block in blocks)


def _step(program: Program, block: m.Block) -> Step:
    evaluators = program.evaluators
    if isinstance(block, m.Assign):
        values = tuple((name, evaluators[id(e)]) for name, e in block.values)

        def assign(run: Machine) -> None:
            scope = run.scopes[-1]
            for name, evaluate in values:
                scope[name] = evaluate(scope)

        return assign
    if isinstance(block, m.If):
        condition = evaluators[id(block.condition)]
        then, orelse = f"{block.path}.then", f"{block.path}.else" if block.orelse else None

        def if_(run: Machine) -> None:
            if condition(run.scopes[-1]):
                run.push_list(then)
            elif orelse is not None:
                run.push_list(orelse)

        return if_
    if isinstance(block, m.Call | m.Service):
        args = tuple((name, evaluators[id(e)]) for name, e in block.args.items())
        act = _call_of(block) if isinstance(block, m.Call) else _service_of(block)

        def call(run: Machine) -> None:
            scope = run.scopes[-1]
            act(run, {name: plain(evaluate(scope)) for name, evaluate in args})

        return call
    if isinstance(block, m.Target):
        from gsetup.runtime.agents import target

        return lambda run: target(run, block)
    handler = _HANDLERS[type(block)]
    return lambda run: handler(run, block)


def _call_of(block: m.Call) -> Callable[[Machine, dict[str, Any]], None]:
    from gsetup.runtime.functions import FUNCTIONS

    function, result = FUNCTIONS[block.function], block.result
    if result is None:
        return function

    def call(run: Machine, args: dict[str, Any]) -> None:
        run.scopes[-1][result] = function(run, args)

    return call


def _service_of(block: m.Service) -> Callable[[Machine, dict[str, Any]], None]:
    from gsetup.runtime.services import call_service

    return lambda run, args: call_service(run, block, args)


_HANDLERS: dict[type[Any], Callable[[Machine, Any], None]] = {
    m.While: Machine._while,
    m.ForEach: Machine._for_each,
    m.Route: Machine._route,
    m.Wait: Machine._wait,
    m.Stop: Machine._stop,
    m.CallSubroutine: Machine._subroutine,
}
