"""Load and validate ``gsetup-strategy/1`` files (docs/strategy-format.md).

Every mistake is a :class:`~gsetup.errors.BadInputError` naming the file, the place in it
(``blocks[3].then[0].args.key``) and what is allowed there. Loading never executes anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from gsetup.errors import BadInputError
from gsetup.fileio import RULES_LIMIT, quote_prefix, read_text
from gsetup.strategy import model as m
from gsetup.strategy.expressions import ExpressionError, compile_expression
from gsetup.strategy.registry import AGENT_NAME, CONTEXT_NAMES, FORMAT, FUNCTIONS, SERVICES
from gsetup.wording import a_or_an
from gsetup.yamlerrors import read_yaml

_TOP_REQUIRED = ("format", "name", "kind", "blocks")
_TOP_OPTIONAL = ("queue", "description", "parameters", "variables")

# Block kind -> (required keys, optional keys); the kind's own key is always required.
_BLOCK_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "assign": ((), ()),
    "if": (("then",), ("else",)),
    "while": (("do", "limit"), ()),
    "for_each": (("as", "do"), ()),
    "call": ((), ("args", "result")),
    "service": (("method",), ("args", "result", "timeout", "attempts", "on_error")),
    "route": ((), ()),
    "target": (("timeout",), ("on_timeout",)),
    "wait": ((), ()),
    "stop": ((), ()),
    "subroutine": ((), ("args",)),
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = CONTEXT_NAMES | {
    AGENT_NAME,
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
}
_DAY = 24 * 60 * 60


def load_strategy(path: Path) -> m.Strategy:
    """Load, validate and compile the strategy file at ``path``."""
    return parse_strategy(read_text(path, RULES_LIMIT, "strategy file"), str(path))


@functools.lru_cache(maxsize=256)
def parse_strategy(text: str, source: str = "<string>") -> m.Strategy:
    """Validate and compile a strategy document; ``source`` names it in error messages.

    A process that builds several engines of the same files (the bench; the test suite,
    hundreds) parses each once: a file takes 20-40 ms, most of it in the pure-Python YAML
    reader, and what it gives is immutable (an edited file is new text, parsed anew).
    """
    from ruamel.yaml import YAML

    data = read_yaml(YAML(typ="safe", pure=True).load, text, source)
    return _Loader(source).strategy(data)


class _Loader:
    """Validates one document; collects expressions to check their names at the end."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.defined: set[str] = set(CONTEXT_NAMES)
        self.expressions: list[tuple[str, m.Expression, frozenset[str]]] = []

    def fail(self, path: str, message: str) -> NoReturn:
        where = f"{self.source}: {path}" if path else self.source
        raise BadInputError(f"{where}: {message}")

    def strategy(self, data: Any) -> m.Strategy:
        doc = self.mapping(data, "", _TOP_REQUIRED, _TOP_OPTIONAL, "the document")
        if doc["format"] != FORMAT:
            self.fail("format", f"must be {FORMAT!r}, not {quote_prefix(doc['format'])}")
        kind = doc["kind"]
        if kind not in ("strategy", "subroutine"):
            self.fail("kind", f"must be 'strategy' or 'subroutine', not {quote_prefix(kind)}")
        queue = self.text(doc["queue"], "queue") if "queue" in doc else None
        if (queue is None) != (kind == "subroutine"):
            self.fail("queue", "a strategy names the queue it serves; a subroutine has none")
        parameters: list[str] = []
        for i, p in enumerate(self.sequence(doc.get("parameters", []), "parameters")):
            if p in parameters:
                self.fail(f"parameters[{i}]", f"{quote_prefix(p)} is already a parameter")
            parameters.append(self.new_name(p, f"parameters[{i}]"))
        if parameters and kind != "subroutine":
            self.fail("parameters", "only a subroutine has parameters")
        variables = self.assignments(doc.get("variables", {}), "variables")
        blocks = self.blocks(doc["blocks"], "blocks")
        self.check_names()
        return m.Strategy(
            self.source,
            self.text(doc["name"], "name"),
            kind,
            queue,
            self.text(doc.get("description", ""), "description", empty=True),
            tuple(parameters),
            variables,
            blocks,
        )

    # --- blocks -------------------------------------------------------------------------

    def blocks(self, value: Any, path: str) -> m.Blocks:
        items = self.sequence(value, path)
        if not items:
            self.fail(path, "needs at least one block")
        return tuple(self.block(item, f"{path}[{i}]") for i, item in enumerate(items))

    def block(self, value: Any, path: str) -> m.Block:
        if not isinstance(value, Mapping):
            self.fail(path, f"a block is a mapping with one of: {', '.join(_BLOCK_KEYS)}")
        kinds = [k for k in value if k in _BLOCK_KEYS]
        if len(kinds) != 1:
            found = ", ".join(map(str, value)) or "nothing"
            self.fail(
                path, f"a block has exactly one of: {', '.join(_BLOCK_KEYS)} (found: {found})"
            )
        kind = kinds[0]
        required, optional = _BLOCK_KEYS[kind]
        b = self.mapping(value, path, (kind, *required), optional, f"{a_or_an(repr(kind))} block")
        return getattr(self, f"block_{kind}")(b, path)  # type: ignore[no-any-return]

    def block_assign(self, b: Mapping[str, Any], path: str) -> m.Assign:
        values = self.assignments(b["assign"], f"{path}.assign")
        if not values:
            self.fail(f"{path}.assign", "names at least one variable")
        return m.Assign(path, values)

    def block_if(self, b: Mapping[str, Any], path: str) -> m.If:
        orelse = self.blocks(b["else"], f"{path}.else") if "else" in b else ()
        return m.If(
            path, self.expr(b["if"], f"{path}.if"), self.blocks(b["then"], f"{path}.then"), orelse
        )

    def block_while(self, b: Mapping[str, Any], path: str) -> m.While:
        limit = self.integer(b["limit"], f"{path}.limit", 1, 1_000_000)
        return m.While(
            path, self.expr(b["while"], f"{path}.while"), self.blocks(b["do"], f"{path}.do"), limit
        )

    def block_for_each(self, b: Mapping[str, Any], path: str) -> m.ForEach:
        name = self.new_name(b["as"], f"{path}.as")
        return m.ForEach(
            path,
            self.expr(b["for_each"], f"{path}.for_each"),
            name,
            self.blocks(b["do"], f"{path}.do"),
        )

    def block_call(self, b: Mapping[str, Any], path: str) -> m.Call:
        function = b["call"]
        if function not in FUNCTIONS:
            self.fail(
                f"{path}.call",
                f"unknown function {quote_prefix(function)}; the functions are: "
                f"{', '.join(sorted(FUNCTIONS))}",
            )
        signature = FUNCTIONS[function]
        args = self.args(b.get("args", {}), f"{path}.args")
        missing = sorted(signature.required - args.keys())
        if missing:
            self.fail(f"{path}.args", f"{function} needs {', '.join(missing)}")
        for key in args:
            if key not in signature.allowed:
                self.fail(
                    f"{path}.args.{key}",
                    f"{function} takes only: {', '.join(sorted(signature.allowed))}",
                )
        if "result" in b and not signature.result:
            self.fail(f"{path}.result", f"{function} returns nothing")
        return m.Call(path, function, args, self.result(b, path))

    def block_service(self, b: Mapping[str, Any], path: str) -> m.Service:
        service, method = b["service"], b["method"]
        if service not in SERVICES:
            self.fail(
                f"{path}.service",
                f"unknown service {quote_prefix(service)}; the services are: "
                f"{', '.join(sorted(SERVICES))}",
            )
        if method not in SERVICES[service]:
            self.fail(
                f"{path}.method",
                f"{service} has no method {quote_prefix(method)}; it has: "
                f"{', '.join(sorted(SERVICES[service]))}",
            )
        on_error = self.blocks(b["on_error"], f"{path}.on_error") if "on_error" in b else ()
        return m.Service(
            path,
            service,
            method,
            self.args(b.get("args", {}), f"{path}.args"),
            self.result(b, path),
            self.integer(b.get("timeout", 30), f"{path}.timeout", 1, 3600),
            self.integer(b.get("attempts", 1), f"{path}.attempts", 1, 10),
            on_error,
        )

    def block_route(self, b: Mapping[str, Any], path: str) -> m.Route:
        return m.Route(path, self.text(b["route"], f"{path}.route"))

    def block_target(self, b: Mapping[str, Any], path: str) -> m.Target:
        on_timeout = self.blocks(b["on_timeout"], f"{path}.on_timeout") if "on_timeout" in b else ()
        skill = self.expr(b["target"], f"{path}.target", extra=frozenset({AGENT_NAME}))
        timeout = self.integer(b["timeout"], f"{path}.timeout", 1, 31 * _DAY)
        return m.Target(path, skill, timeout, on_timeout)

    def block_wait(self, b: Mapping[str, Any], path: str) -> m.Wait:
        seconds = b["wait"]
        # A literal is checked now: at run time a wrong one would park every interaction.
        if isinstance(seconds, bool):
            self.fail(
                f"{path}.wait", "must be a number of seconds or an expression, not true/false"
            )
        if isinstance(seconds, int | float) and not 1 <= seconds <= 31 * _DAY:
            self.fail(
                f"{path}.wait",
                f"must be a number from 1 to {31 * _DAY}, not {quote_prefix(seconds)}",
            )
        return m.Wait(path, self.expr(seconds, f"{path}.wait"))

    def block_stop(self, b: Mapping[str, Any], path: str) -> m.Stop:
        return m.Stop(path, self.text(b["stop"], f"{path}.stop"))

    def block_subroutine(self, b: Mapping[str, Any], path: str) -> m.CallSubroutine:
        return m.CallSubroutine(
            path,
            self.text(b["subroutine"], f"{path}.subroutine"),
            self.args(b.get("args", {}), f"{path}.args"),
        )

    # --- fields -------------------------------------------------------------------------

    def mapping(
        self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...], what: str
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path, f"{what} must be a mapping")
        allowed = (*required, *optional)
        for key in value:
            if key not in allowed:
                self.fail(
                    _join(path, str(key)), f"unknown key in {what}; allowed: {', '.join(allowed)}"
                )
        for key in required:
            if key not in value:
                self.fail(path, f"{what} needs {key!r}")
        return value

    def sequence(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, "must be a list")
        return value

    def text(self, value: Any, path: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or not (empty or value.strip()):
            self.fail(path, "must be a string" if empty else "must be a non-empty string")
        return value

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"must be a whole number from {low} to {high}")
        return value

    def new_name(self, value: Any, path: str) -> str:
        if (
            not isinstance(value, str)
            or not _IDENTIFIER.match(value)
            or value in _RESERVED
            or value.startswith("__")
        ):
            reserved = ", ".join(sorted(_RESERVED))
            self.fail(
                path,
                f"{quote_prefix(value)} is not a variable name: use letters, digits and _, "
                f"not starting with a digit or __, and none of {reserved}",
            )
        self.defined.add(value)
        return value

    def result(self, b: Mapping[str, Any], path: str) -> str | None:
        return self.new_name(b["result"], f"{path}.result") if "result" in b else None

    def assignments(self, value: Any, path: str) -> tuple[tuple[str, m.Expression], ...]:
        if not isinstance(value, Mapping):
            self.fail(path, "must be a mapping of variable names to expressions")
        return tuple(
            (self.new_name(k, _join(path, str(k))), self.expr(v, _join(path, str(k))))
            for k, v in value.items()
        )

    def args(self, value: Any, path: str) -> Mapping[str, m.Expression]:
        if not isinstance(value, Mapping):
            self.fail(path, "must be a mapping of argument names to expressions")
        for key in value:
            if not isinstance(key, str) or not _IDENTIFIER.match(key):
                self.fail(_join(path, str(key)), "argument names use letters, digits and _")
        return {k: self.expr(v, _join(path, k)) for k, v in value.items()}

    def expr(self, value: Any, path: str, extra: frozenset[str] = frozenset()) -> m.Expression:
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = repr(value)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be an expression (a string, number or true/false)")
        try:
            expression = compile_expression(value)
        except ExpressionError as exc:
            self.fail(path, f"bad expression: {exc}")
        self.expressions.append((path, expression, extra))
        return expression

    def check_names(self) -> None:
        for path, expression, extra in self.expressions:
            unknown = sorted(expression.names - self.defined - extra)
            if unknown:
                known = ", ".join(sorted(self.defined | extra))
                self.fail(
                    path,
                    f"unknown name {', '.join(map(quote_prefix, unknown))} in "
                    f"{quote_prefix(expression.source)}; known names: {known}",
                )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
