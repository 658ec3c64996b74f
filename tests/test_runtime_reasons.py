"""A strategy's run-time errors in the words of its files (gsetup.runtime.reasons): each of
Python's and jinja2's common messages, as an expression raises it."""

from __future__ import annotations

import pytest

from gsetup.runtime.fastexpr import evaluator
from gsetup.runtime.reasons import reworded
from gsetup.strategy.expressions import compile_expression

NAMES = {"udata": {"a": "t"}, "x": 5}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("[1] + 'a'", "cannot use '+' on a list and text (`~` joins values as text)"),
        ("1 + 'a'", "cannot use '+' on a whole number and text (`~` joins values as text)"),
        ("udata + 1", "cannot use '+' on a mapping and a whole number"),
        ("2 ** 'a'", "cannot use '**' on a whole number and text"),
        ("'a' >= 1.5", "cannot use '>=' on text and a number"),
        ("-'a'", "cannot use '-' on text"),
        ("'a' | abs", "cannot use abs on text"),
        ("'a' | round", "cannot use round on text"),
        (
            "'a' * 'b'",
            "cannot use '*' on text or a list and text: '*' repeats them a whole number of times",
        ),
        ("1 in 5", "cannot use 'in' on a whole number: it looks in text, a list or a mapping"),
        ("x | first", "a whole number has no items (text, a list or a mapping has)"),
        ("range('a')", "text is not a whole number"),
        ("1 // 0", "division by zero"),
        ("1.0 % 0", "division by zero"),
        ("2.0 ** 10000", "a number too large to compute"),
        ("udata.a.b + 1", "text has no attribute 'b'"),
        ("[1][3] + 1", "a list has no item 3"),
        ("none.x + 1", "nothing (null) has no attribute 'x'"),
        ("nope + 1", "'nope' is undefined"),  # jinja2's words name no Python type
        ("'%d' % 'a'", "%d format: a real number is required, not str"),  # rare: kept
    ],
)
def test_an_expression_error_is_reworded(source: str, reason: str) -> None:
    with pytest.raises(Exception) as raised:
        evaluator(compile_expression(source))(NAMES)
    assert reworded(raised.value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "'abc' is not a number"),
        ("x" * 3000, "'" + "x" * 40 + "'... (3000 characters) is not a number"),
        ([1], "a number is needed, not a list"),
    ],
)
def test_a_conversion_error_is_reworded(value: object, reason: str) -> None:
    """find_interaction's `before` is made a number with float()."""
    with pytest.raises((TypeError, ValueError)) as raised:
        float(value)  # type: ignore[arg-type]
    assert reworded(raised.value) == reason
