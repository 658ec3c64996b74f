"""Common expression shapes compiled to plain Python closures, jinja2 for the rest.

A sandboxed jinja2 expression costs about 7 µs a call (a template render); the shapes strategy
files use most (names, ``udata.key``, literals, ``| default``, ``| int``, comparisons,
``and``/``or``/``not``, ``a if c else b``, ``~``, list and dict literals) cost well under
1 µs as closures. Semantics stay jinja2's: attribute and item access go through the sandbox's
own ``getattr``/``getitem``, a missing name is jinja2's ``Undefined``, filters and tests are
the environment's functions, and an undefined result is None. Any other node (calls, slices,
filters that need a context) makes the whole expression fall back to jinja2.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Undefined

from gsetup.strategy.expressions import _parse, environment, multiply
from gsetup.strategy.model import Expression

Evaluator = Callable[[Mapping[str, Any]], Any]
_Fn = Callable[[Mapping[str, Any]], Any]

# Filters and tests that take no context: called directly, as jinja2 would.
_FILTERS = frozenset(
    {
        "default",
        "d",
        "int",
        "float",
        "lower",
        "upper",
        "trim",
        "length",
        "count",
        "first",
        "last",
        "abs",
        "list",
        "string",
    }
)
_TESTS = frozenset(
    {
        "defined",
        "undefined",
        "none",
        "string",
        "number",
        "mapping",
        "sequence",
        "boolean",
        "integer",
        "float",
        "true",
        "false",
        "odd",
        "even",
    }
)
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
_BINARY: dict[type[nodes.Node], Callable[[Any, Any], Any]] = {
    nodes.Add: operator.add,
    nodes.Sub: operator.sub,
    nodes.Mul: multiply,
    nodes.Div: operator.truediv,
    nodes.FloorDiv: operator.floordiv,
    nodes.Mod: operator.mod,
}


class _Unsupported(Exception):
    """A node this module does not compile: the expression stays with jinja2."""


def evaluator(expression: Expression) -> Evaluator:
    """The fastest faithful evaluator of ``expression``."""
    tree = _parse(expression.source)
    try:
        fn = _compile(tree)
    except _Unsupported:
        compiled = expression.compiled
        return lambda ctx: compiled(**ctx)
    if _never_undefined(tree):
        return fn

    def run(ctx: Mapping[str, Any]) -> Any:
        value = fn(ctx)
        return None if isinstance(value, Undefined) else value

    return run


# Filters whose result is never an undefined: a string, a number or an error.
_CONCRETE_FILTERS = frozenset(
    {"int", "float", "lower", "upper", "trim", "length", "count", "string", "abs"}
)


def _never_undefined(node: nodes.Node) -> bool:
    """True when the value of ``node`` is never jinja2's Undefined (a boolean, a literal, a
    container, a string or number built by an operator or filter), so it needs no check."""
    if isinstance(node, nodes.Filter):
        return node.name in _CONCRETE_FILTERS
    if isinstance(node, nodes.And | nodes.Or):  # BinExprs whose value is an operand's
        return False
    return isinstance(
        node,
        nodes.Const
        | nodes.Compare
        | nodes.Not
        | nodes.Test
        | nodes.Concat
        | nodes.List
        | nodes.Tuple
        | nodes.Dict
        | nodes.BinExpr,
    )


def is_fast(expression: Expression) -> bool:
    """True when ``expression`` compiles to a closure (used by the bench's profile)."""
    try:
        _compile(_parse(expression.source))
    except _Unsupported:
        return False
    return True


def _compile(node: nodes.Node) -> _Fn:
    if isinstance(node, nodes.Const):
        value = node.value
        return lambda _ctx: value
    if isinstance(node, nodes.Name):
        return _name(node.name)
    if isinstance(node, nodes.Getattr):
        return _getattr(_compile(node.node), node.attr)
    if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Slice):
        return _getitem(_compile(node.node), _compile(node.arg))
    if isinstance(node, nodes.Filter):
        return _filter(node)
    if isinstance(node, nodes.Test):
        return _test(node)
    if isinstance(node, nodes.Compare):
        return _comparison(node)
    if isinstance(node, nodes.And | nodes.Or | nodes.Not | nodes.Neg | nodes.Pos):
        return _logic(node)
    if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
        test, yes, no = _compile(node.test), _compile(node.expr1), _compile(node.expr2)
        return lambda ctx: yes(ctx) if test(ctx) else no(ctx)
    if type(node) in _BINARY and isinstance(node, nodes.BinExpr):
        op, left, right = _BINARY[type(node)], _compile(node.left), _compile(node.right)
        return lambda ctx: op(left(ctx), right(ctx))
    if isinstance(node, nodes.List | nodes.Tuple):
        items = [_compile(item) for item in node.items]
        kind = list if isinstance(node, nodes.List) else tuple
        return lambda ctx: kind(item(ctx) for item in items)
    if isinstance(node, nodes.Concat):
        # ``a ~ b``: jinja2's str_join (the environment does not autoescape)
        parts = [_compile(item) for item in node.nodes]
        return lambda ctx: "".join([str(part(ctx)) for part in parts])
    if isinstance(node, nodes.Dict):
        pairs = [(_compile(p.key), _compile(p.value)) for p in node.items]
        return lambda ctx: {k(ctx): v(ctx) for k, v in pairs}
    raise _Unsupported(type(node).__name__)


def _name(name: str) -> _Fn:
    env = environment()
    if name in env.globals:
        raise _Unsupported(name)  # a global (range, dict...) unless shadowed: jinja2 decides
    undefined = env.undefined

    def lookup(ctx: Mapping[str, Any]) -> Any:
        try:
            return ctx[name]
        except KeyError:
            return undefined(name=name)

    return lookup


def _getattr(obj: _Fn, attr: str) -> _Fn:
    env = environment()
    get = env.getattr
    if hasattr(dict, attr):  # ``x.items``: jinja2 gives the method, the sandbox decides
        return lambda ctx: get(obj(ctx), attr)
    undefined = env.undefined

    def lookup(ctx: Mapping[str, Any]) -> Any:
        # What the sandbox's getattr does for a dict, whose attributes ``attr`` is not one
        # of, without its failed getattr first (user data and service answers are dicts).
        value = obj(ctx)
        if type(value) is dict:
            try:
                return value[attr]
            except KeyError:
                return undefined(obj=value, name=attr)
        return get(value, attr)

    return lookup


def _getitem(obj: _Fn, key: _Fn) -> _Fn:
    get = environment().getitem
    return lambda ctx: get(obj(ctx), key(ctx))


def _filter(node: nodes.Filter) -> _Fn:
    if node.name == "map":
        return _map(node)
    if node.name not in _FILTERS or node.kwargs or node.dyn_args or node.dyn_kwargs:
        raise _Unsupported(node.name)
    func = _bound_filter(node.name)
    if node.node is None:
        raise _Unsupported("filter block")
    value = _compile(node.node)
    args = [_compile(a) for a in node.args]
    if not args:
        return lambda ctx: func(value(ctx))
    return lambda ctx: func(value(ctx), *(a(ctx) for a in args))


def _bound_filter(name: str) -> Callable[..., Any]:
    """The filter, given the environment or evaluation context it asks for first (``first``,
    ``last``, ``list``), as jinja2 calls it."""
    from functools import partial

    from jinja2.nodes import EvalContext

    env = environment()
    func: Callable[..., Any] = env.filters[name]
    asks = getattr(func, "jinja_pass_arg", None)
    if asks is None:
        return func
    if asks.name == "environment":
        return partial(func, env)
    if asks.name == "eval_context":
        return partial(func, EvalContext(env))
    raise _Unsupported(name)


def _map(node: nodes.Filter) -> _Fn:
    """``map(attribute='a.b', default=...)`` with literal arguments, through jinja2's own
    attribute getter; a generator, as jinja2's filter is (``| list`` makes it a list)."""
    from jinja2.filters import make_attrgetter

    keywords: list[Any] = list(node.kwargs)  # Keyword nodes (typed as Pair by jinja2)
    kwargs: dict[str, Any] = {k.key: k.value for k in keywords}
    if (
        node.node is None
        or node.args
        or node.dyn_args
        or node.dyn_kwargs
        or not set(kwargs) <= {"attribute", "default"}
        or not all(isinstance(v, nodes.Const) for v in kwargs.values())
        or "attribute" not in kwargs
    ):
        raise _Unsupported("map")
    get = make_attrgetter(
        environment(),
        kwargs["attribute"].value,
        default=kwargs["default"].value if "default" in kwargs else None,
    )
    value = _compile(node.node)

    def mapped(ctx: Mapping[str, Any]) -> Any:
        items = value(ctx)
        if items:
            yield from (get(item) for item in items)

    return mapped


def _test(node: nodes.Test) -> _Fn:
    if node.name not in _TESTS or node.kwargs or node.dyn_args or node.dyn_kwargs:
        raise _Unsupported(node.name)
    func: Any = environment().tests[node.name]
    value = _compile(node.node)
    args = [_compile(a) for a in node.args]
    return lambda ctx: func(value(ctx), *(a(ctx) for a in args))


def _comparison(node: nodes.Compare) -> _Fn:
    first = _compile(node.expr)
    ops = [(_COMPARE[op.op], _compile(op.expr)) for op in node.ops]
    if len(ops) == 1:
        op, other = ops[0]
        return lambda ctx: op(first(ctx), other(ctx))

    def chain(ctx: Mapping[str, Any]) -> Any:
        left = first(ctx)
        result: Any = True
        for op, other in ops:
            right = other(ctx)
            result = op(left, right)
            if not result:
                return result
            left = right
        return result

    return chain


def _logic(node: nodes.Node) -> _Fn:
    if isinstance(node, nodes.And):
        left, right = _compile(node.left), _compile(node.right)
        return lambda ctx: left(ctx) and right(ctx)
    if isinstance(node, nodes.Or):
        left, right = _compile(node.left), _compile(node.right)
        return lambda ctx: left(ctx) or right(ctx)
    assert isinstance(node, nodes.Not | nodes.Neg | nodes.Pos)
    inner = _compile(node.node)
    if isinstance(node, nodes.Not):
        return lambda ctx: not inner(ctx)
    if isinstance(node, nodes.Neg):
        return lambda ctx: -inner(ctx)
    return lambda ctx: +inner(ctx)
