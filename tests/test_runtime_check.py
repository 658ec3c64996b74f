"""``route check`` (load and verify without serving) and the compiled expressions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gsetup.errors import BadInputError
from gsetup.installer.strategies import render_strategies
from gsetup.packages import Answers, catalogue
from gsetup.runtime.check import check_tenant
from gsetup.runtime.fastexpr import evaluator, is_fast
from gsetup.strategy import parse_strategy, walk
from gsetup.strategy.expressions import compile_expression
from gsetup.strategy.model import Strategy
from tests.helpers import run_cli
from tests.runtime_support import EXAMPLES, TENANT


@pytest.fixture
def installed(tmp_path: Path) -> str:
    config = f"sqlite:///{tmp_path / 'config.db'}"
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        for package in ("facebook-bp", "twitter-bp-tr"):
            answers = str(EXAMPLES / f"{package}.yaml")
            home = f"install_home=gsetup-work/{package}"  # the example: the data directory
            result = run_cli(
                "--db", config, "install", package, "--answers", answers, "--yes", "--set", home
            )
            assert result.exit_code == 0, result.stderr
    finally:
        os.chdir(previous)
    return config


def test_check_loads_every_installed_strategy(installed: str) -> None:
    report = check_tenant(installed, TENANT)
    by_package = {p.package: p for p in report.processes}
    assert set(by_package) == {"facebook-bp", "twitter-bp-tr"}
    facebook = by_package["facebook-bp"]
    assert "Facebook Inbound Queue" in facebook.queues_served
    assert facebook.subroutines >= 3 and facebook.blocks > 50
    assert 0 < report.fast_expressions <= report.expressions


def test_a_file_edited_broken_is_refused_with_file_block_and_line(
    installed: str, tmp_path: Path
) -> None:
    path = tmp_path / "gsetup-work" / "facebook-bp" / "Strategies"
    target = path / "facebook-agent-delivery-strategy.yaml"
    text = target.read_text()
    assert "timeout: 86400" in text
    target.write_text(text.replace("timeout: 86400", "timeout: 0"))
    line = 1 + text[: text.index("timeout: 86400")].count("\n")
    with pytest.raises(BadInputError) as caught:
        check_tenant(installed, TENANT)
    message = str(caught.value)
    assert message.startswith(f"{target}: line {line}: blocks[")
    assert ".timeout: must be a whole number from 1 to 2678400" in message


BUFFER = "facebook-inbound-buffer-strategy.yaml"  # serves "Facebook Inbound Buffer Queue"


def _strategy_file(tmp_path: Path, name: str = BUFFER) -> Path:
    return tmp_path / "gsetup-work" / "facebook-bp" / "Strategies" / name


def _line_of(path: Path, text: str) -> int:
    content = path.read_text()
    assert text in content
    return 1 + content[: content.index(text)].count("\n")


def _check_refuses(installed: str, path: Path, old: str, new: str) -> str:
    """The one line ``route check`` prints after ``old`` becomes ``new`` in ``path``: it exits
    2 and reports nothing loaded. The file is restored afterwards."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    try:
        result = run_cli("--db", installed, "route", "check")
    finally:
        path.write_text(text)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    [line] = result.stderr.splitlines()
    return line


def test_a_yaml_syntax_error_is_refused_on_one_line_with_its_place(
    installed: str, tmp_path: Path
) -> None:
    target = _strategy_file(tmp_path)
    line = _line_of(target, '  - if: "handled"\n    then:')
    message = _check_refuses(installed, target, '  - if: "handled"', '  - if "handled"')
    # The parser finds the mistake at the next line's key.
    assert message == (
        f"gsetup: error: {target}: line {line + 1}, column 9: mapping values are not allowed here"
    )


# (text, its replacement, the refusal after "FILE: line N: ", N the line of the text)
PLACED = [
    (
        'route: "Facebook Classify-Screen Queue"',
        'route: "No Such Queue"',
        "blocks[3]: no queue 'No Such Queue'; the queues are: Facebook Agent Delivery Queue, ",
    ),
    (
        "format: gsetup-strategy/1",
        "format: gsetup-strategy/9",
        "format: must be 'gsetup-strategy/1', not 'gsetup-strategy/9'",
    ),
    ('name: "Facebook Inbound Buffer Strategy"', "name: 5", "name: must be a non-empty string"),
]


def test_a_top_level_key_or_a_route_refused_names_its_line(installed: str, tmp_path: Path) -> None:
    target = _strategy_file(tmp_path)
    for old, new, refusal in PLACED:
        line = _line_of(target, old)
        message = _check_refuses(installed, target, old, new)
        assert message.startswith(f"gsetup: error: {target}: line {line}: {refusal}"), message


def test_a_strategy_serves_one_queue_of_its_business_process(
    installed: str, tmp_path: Path
) -> None:
    buffer, stop = _strategy_file(tmp_path), _strategy_file(tmp_path, "facebook-stop-strategy.yaml")
    old = 'queue: "Facebook Inbound Buffer Queue"'
    line = _line_of(buffer, old)
    # A queue that does not exist (or is another Business Process's) would be served by none.
    for elsewhere in ("Nope Queue", "Twitter TR Stop Queue"):
        message = _check_refuses(installed, buffer, old, f'queue: "{elsewhere}"')
        assert message.startswith(
            f"gsetup: error: {buffer}: line {line}: queue: {elsewhere!r} is not a queue of its "
            "Business Process; its queues are: Facebook Agent Delivery Queue, "
        ), message
        assert "Twitter" not in message.split("its queues are:")[1]
    # Two strategies of one queue: one was dropped, reported as 7 strategies.
    message = _check_refuses(installed, buffer, old, 'queue: "Facebook Stop Queue"')
    assert message == (
        f"gsetup: error: {stop}: line {_line_of(stop, 'queue:')}: queue: 'Facebook Stop Queue' "
        f"is also served by {buffer}: one strategy serves a queue"
    )
    checked = run_cli("--db", installed, "route", "check", "--json")
    assert checked.exit_code == 0, checked.stderr
    facebook = next(p for p in checked.json()["processes"] if p["package"] == "facebook-bp")
    assert (facebook["strategies"], facebook["queues_unserved"]) == (8, ["Facebook Parking Queue"])


def test_a_tenant_without_business_processes_is_refused(tmp_path: Path) -> None:
    config = f"sqlite:///{tmp_path / 'config.db'}"
    assert run_cli("--db", config, "tenant", "create", "Empty").exit_code == 0
    with pytest.raises(BadInputError, match="tenant 'Empty' has no installed Business Process"):
        check_tenant(config, "Empty")


def _shipped() -> list[Strategy]:
    loaded = []
    for package in catalogue():
        if package.strategies:
            files = render_strategies(package, Answers(TENANT, True, "/tmp/strategies"))
            loaded.extend(parse_strategy(text, name) for name, text in files.items())
    return loaded


CONTEXTS: list[dict[str, Any]] = [
    {},
    {"udata": {}, "itx": {"id": "1", "media_type": "facebook", "text": ""}},
    {
        "udata": {
            "FacebookItxType": "10",
            "_facebookPostId": "p",
            "_facebookXML": "<type>question</type>",
            "CommentsNegative": 2,
            "ScreenSentiment": "negative",
            "ScreenActionability": "actionable",
            "_twitterFromUserId": "7",
            "_facebookContentCreatedOnlyByAdmin": "1",
            "_mergedItems": [{"udata": {"_facebookXML": "<x/>"}}, {"udata": {}}, {"id": "m"}],
        },
        "itx": {"id": "2", "media_type": "twitterdirect", "text": "hi", "external_id": "9"},
        "screen": {"sentiment": "negative", "actionability": "actionable"},
        "sentiment": {"category": "positive"},
        "score": {"value": 42.6},
        "sent": {"StatusId": "s", "ComplianceId": "c"},
        "contact": {"id": "k"},
        "grouping": "30",
        "seconds": 30,
        "comment": {"text": "nice"},
        "handled": {"agent": "a1"},
        "agent": {"id": "a1", "skills": {"facebook": 5}},
    },
]


def _outcome(run: Any, context: dict[str, Any]) -> Any:
    try:
        return ("value", run(context))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def test_closures_evaluate_every_shipped_expression_as_jinja2_does() -> None:
    expressions = []
    for strategy in _shipped():
        expressions.extend(e for _, e in strategy.variables)
        for block in walk(strategy.blocks):
            for name in ("condition", "items", "skill", "seconds"):
                if hasattr(block, name):
                    expressions.append(getattr(block, name))
            expressions.extend(getattr(block, "args", {}).values())
            expressions.extend(e for _, e in getattr(block, "values", ()))
    fast = [e for e in expressions if is_fast(e)]
    assert len(fast) > 0.8 * len(expressions)  # the common shapes are compiled
    for expression in expressions:
        for context in CONTEXTS:
            jinja = _outcome(lambda c, e=expression: e.compiled(**c), context)
            assert _outcome(evaluator(expression), context) == jinja, expression.source


# Shapes the closures return without looking for an undefined, and the ``map`` filter.
SHAPES = [
    "udata.missing | lower",
    "udata.missing ~ 'x'",
    "[udata.missing, 1]",
    "{'a': udata.missing}",
    "udata.CommentsNegative + 1",
    "udata.missing + 1",
    "udata.items",
    "(udata.missing).x",
    "not udata.missing",
    "udata.missing is defined",
    "udata.missing and udata.CommentsNegative",
    "udata.missing or udata.other",
    "udata._mergedItems | map(attribute='id') | list",
    "udata._mergedItems | map(attribute='udata._facebookXML', default='-') | list",
    "udata.missing | map(attribute='x') | list",
    "udata._mergedItems | first",
    "udata._mergedItems | last",
    "udata.missing | first",
    "[1, 2] | list",
]


def test_closures_of_every_shape_evaluate_as_jinja2_does() -> None:
    for source in SHAPES:
        expression = compile_expression(source)
        assert is_fast(expression), source
        for context in CONTEXTS:
            jinja = _outcome(lambda c, e=expression: e.compiled(**c), context)
            assert _outcome(evaluator(expression), context) == jinja, (source, context)
