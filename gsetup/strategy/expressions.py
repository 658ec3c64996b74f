"""Compile strategy expressions with jinja2's immutable sandbox, once, at load time.

An expression may read variables, call safe methods and use jinja2's filters and tests; it
cannot change data (the sandbox is immutable) nor reach Python internals: attribute names
starting with ``__`` are refused when the file is loaded, and the sandbox refuses every unsafe
attribute when the expression runs.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from gsetup.strategy.model import Expression

if TYPE_CHECKING:
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment


class ExpressionError(ValueError):
    """An expression that does not compile; the message says why, without location."""


# What one `*` or `**` may build: `'a' * udata.count` or `10 ** udata.n` with a number from a
# message would otherwise fill the worker's memory, or hold its CPU for hours, in one step.
MAX_REPEATED = 1_000_000  # characters or items
MAX_POWER_BITS = 100_000  # about 30,000 decimal digits


def multiply(left: Any, right: Any) -> Any:
    """``left * right``, refusing text or a list repeated past :data:`MAX_REPEATED`."""
    for sequence, times in ((left, right), (right, left)):
        if (
            isinstance(sequence, str | list | tuple)
            and isinstance(times, int)
            and len(sequence) * times > MAX_REPEATED
        ):
            raise ValueError(
                f"'*' would build {len(sequence) * times:,} characters or items, more than "
                f"the {MAX_REPEATED:,} an expression may"
            )
    return left * right


def power(left: Any, right: Any) -> Any:
    """``left ** right``, refusing a whole number past :data:`MAX_POWER_BITS` bits."""
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and abs(left) > 1
        and right * abs(left).bit_length() > MAX_POWER_BITS
    ):
        raise ValueError(f"'**' would make a number of more than {MAX_POWER_BITS:,} bits")
    return left**right


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment every strategy expression is compiled in."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Bounded(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            return (multiply if operator == "*" else power)(left, right)

    return Bounded()


def compile_expression(source: str) -> Expression:
    """Compile ``source``; :class:`ExpressionError` for a syntax error or a dunder access."""
    from jinja2 import TemplateSyntaxError

    if "{{" in source or "{%" in source or "{#" in source:
        raise ExpressionError("write the expression itself, without {{ }} or {% %}")
    env = environment()
    try:
        compiled = env.compile_expression(source, undefined_to_none=True)
        tree = _parse(source)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"{exc.message} in {source!r}") from None
    _refuse_dunders(tree, source)
    return Expression(source, _names(tree), compiled)


def _parse(source: str) -> nodes.Expr:
    from jinja2.parser import Parser

    # compile_expression keeps no tree; parsing again is the public way to read its names.
    return Parser(environment(), source, state="variable").parse_expression()


def _names(tree: nodes.Expr) -> frozenset[str]:
    from jinja2 import nodes

    names = {n.name for n in _all(tree, (nodes.Name,)) if isinstance(n, nodes.Name)}
    return frozenset(names - environment().globals.keys())


def _refuse_dunders(tree: nodes.Expr, source: str) -> None:
    from jinja2 import nodes

    # Const covers `x['__class__']` and `x | attr('__class__')`; Name a variable's name.
    for node in _all(tree, (nodes.Getattr, nodes.Const, nodes.Name)):
        name = _name_in(node)
        if isinstance(name, str) and name.startswith("__"):
            raise ExpressionError(
                f"{source!r} reaches {name!r}: names starting with '__' are not allowed"
            )


def _name_in(node: nodes.Node) -> object:
    from jinja2 import nodes

    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Name):
        return node.name
    return getattr(node, "value", None)


def _all(tree: nodes.Expr, types: tuple[type[nodes.Node], ...]) -> list[nodes.Node]:
    # find_all leaves out the node it starts from: `().__class__` is a Getattr at the root.
    found = list(tree.find_all(types))
    return [tree, *found] if isinstance(tree, types) else found
