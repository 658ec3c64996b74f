"""gsetup-strategy/1: every shipped file loads; bad files are refused with their exact place."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from gsetup.errors import BadInputError
from gsetup.installer.strategies import render_strategies
from gsetup.packages import Answers, catalogue, get_package
from gsetup.packages.stages import IWD_ADAPTER_QUEUE
from gsetup.strategy import (
    check_references,
    load_strategy,
    parse_strategy,
    walk,
)
from gsetup.strategy import model as m
from gsetup.strategy.expressions import ExpressionError, compile_expression
from gsetup.strategy.loader import _BLOCK_KEYS
from gsetup.strategy.registry import FUNCTIONS, SERVICES
from tests.helpers import refusal_without_waiting

ANSWERS = Answers(tenant="Environment", iwd_custom_properties=True, strategy_dir="/srv/bp")

LONG = "x" * 3000  # a value of the file quoted in a message is cut to its first 40 characters
CUT = "'" + "x" * 40 + "'... (3000 characters)"
GOOD = """\
format: gsetup-strategy/1
name: Test Strategy
kind: strategy
queue: Test Queue
variables:
  itx_type: "udata.FacebookItxType | default(0) | int"
blocks:
  - if: "itx_type == 10"
    then:
      - route: Classify Queue
  - call: merge_itx_data
    args: {column: "'facebookPostId'", value: "udata._facebookPostId"}
    result: merged
  - if: "merged"
    then:
      - stop: merged
    else:
      - wait: 10
      - route: Buffer Queue
"""


def refused(text: str) -> str:
    with pytest.raises(BadInputError) as caught:
        parse_strategy(text, "bad.yaml")
    return str(caught.value)


@pytest.mark.parametrize("package", [p.name for p in catalogue()])
def test_every_shipped_file_loads_and_its_references_resolve(package: str) -> None:
    pkg = get_package(package)
    files = render_strategies(pkg, ANSWERS)
    assert set(files) == {s.file_name for s in pkg.strategies}
    loaded = [parse_strategy(text, name) for name, text in files.items()]
    for spec, strategy in zip(pkg.strategies, loaded, strict=True):
        assert (strategy.name, strategy.queue) == (spec.name, spec.queue)
        assert strategy.kind == ("subroutine" if spec.subroutine else "strategy")
        header = files[spec.file_name].splitlines()[0]
        assert header.startswith(f"# {spec.name}: ") and f"({pkg.name} {pkg.version})" in header
    queues = {q.name for q in pkg.queues}
    check_references(loaded, queues | {IWD_ADAPTER_QUEUE}, queues)


def test_a_file_on_disk_loads(tmp_path: Path) -> None:
    path = tmp_path / "test.yaml"
    path.write_text(GOOD, encoding="utf-8")
    strategy = load_strategy(path)
    assert [type(b) for b in strategy.blocks] == [m.If, m.Call, m.If]
    assert [b.path for b in walk(strategy.blocks)] == [
        "blocks[0]",
        "blocks[0].then[0]",
        "blocks[1]",
        "blocks[2]",
        "blocks[2].then[0]",
        "blocks[2].else[0]",
        "blocks[2].else[1]",
    ]
    condition = strategy.blocks[0]
    assert isinstance(condition, m.If)
    assert condition.condition.evaluate({"itx_type": 10}) is True


def test_a_file_loaded_again_is_parsed_once_and_an_edit_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "test.yaml"
    path.write_text(GOOD, encoding="utf-8")
    first = load_strategy(path)
    assert load_strategy(path) is first  # the same text: parsed once
    path.write_text(GOOD.replace("itx_type == 10", "itx_type == 11"), encoding="utf-8")
    edited = load_strategy(path)
    assert edited is not first
    condition = edited.blocks[0]
    assert isinstance(condition, m.If)
    assert condition.condition.evaluate({"itx_type": 11}) is True
    path.write_text(GOOD.replace("blocks:", "blocks: [", 1), encoding="utf-8")
    for _ in range(2):  # a refusal is not remembered as a result
        with pytest.raises(BadInputError, match=str(path)):
            load_strategy(path)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"^strategy file \S+missing\.yaml: no such file$"):
        load_strategy(tmp_path / "missing.yaml")


def test_a_file_that_is_not_regular_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO put in a strategy's place hung route check and route run for a writer."""
    fifo = tmp_path / "inbound.yaml"
    os.mkfifo(fifo)
    refused = refusal_without_waiting(lambda: load_strategy(fifo))
    assert refused == f"strategy file {fifo} is a FIFO (named pipe), not a regular file"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      - route: Buffer Queue",
            "      - rout: Buffer Queue",
            "bad.yaml: blocks[2].else[1]: a block has exactly one of: assign, if, while, for_each, "
            "call, service, route, target, wait, stop, subroutine (found: rout)",
        ),
        (
            "      - stop: merged",
            "      - stop: merged\n        reason: x",
            "bad.yaml: blocks[2].then[0].reason: unknown key in a 'stop' block; allowed: stop",
        ),
        (
            "      - wait: 10",
            "      - wait: 0",  # not "a whole number": 1.5 is a wait
            "bad.yaml: blocks[2].else[0].wait: must be a number from 1 to 2678400, not 0",
        ),
        (
            "      - wait: 10",
            "      - wait: 2678401",
            "bad.yaml: blocks[2].else[0].wait: must be a number from 1 to 2678400, not 2678401",
        ),
        (
            "      - wait: 10",
            "      - wait: true",
            "bad.yaml: blocks[2].else[0].wait: must be a number of seconds or an expression, not "
            "true/false",
        ),
        (
            "      - wait: 10",
            "      - wait: 0.5",
            "bad.yaml: blocks[2].else[0].wait: must be a number from 1 to 2678400, not 0.5",
        ),
        (
            "      - wait: 10",
            "      - wait: .inf",
            "bad.yaml: blocks[2].else[0].wait: must be a number from 1 to 2678400, not inf",
        ),
        (
            "call: merge_itx_data",
            "call: merge",
            "bad.yaml: blocks[1].call: unknown function 'merge'; the functions are: "
            "channel_option, ",
        ),
        (
            "{column: \"'facebookPostId'\", ",
            "{",
            "bad.yaml: blocks[1].args: merge_itx_data needs column",
        ),
        (
            "    then:\n      - route: Classify Queue\n",
            "",
            "bad.yaml: blocks[0]: an 'if' block needs 'then'",
        ),
        (
            "format: gsetup-strategy/1",
            "format: gsetup-strategy/2",
            "bad.yaml: format: must be 'gsetup-strategy/1', not 'gsetup-strategy/2'",
        ),
        (
            "queue: Test Queue\n",
            "",
            "bad.yaml: queue: a strategy names the queue it serves; a subroutine has none",
        ),
        (
            "result: merged",
            "result: 2merged",
            "bad.yaml: blocks[1].result: '2merged' is not a variable name",
        ),
        (
            'value: "udata._facebookPostId"',
            'value: "udata._facebookPostId", extra: 1',
            "bad.yaml: blocks[1].args.extra: merge_itx_data takes only: column, flags, value",
        ),
    ],
)
def test_bad_blocks_name_their_exact_place(old: str, new: str, message: str) -> None:
    assert old in GOOD
    assert refused(GOOD.replace(old, new)).startswith(message)


def test_services_and_methods_are_checked() -> None:
    text = GOOD + "  - service: UCS\n    method: Identify\n"
    assert refused(text).startswith(
        "bad.yaml: blocks[3].method: UCS has no method 'Identify'; it has: CreateInteraction"
    )


def test_expression_syntax_errors_are_refused_at_load() -> None:
    message = refused(GOOD.replace('"itx_type == 10"', '"itx_type =="'))
    assert message.startswith("bad.yaml: blocks[0].if: bad expression: ")
    message = refused(GOOD.replace("| int", "| no_such_filter"))
    assert message.startswith("bad.yaml: variables.itx_type: bad expression: ")
    assert "no_such_filter" in message


def test_unknown_names_are_refused_at_load() -> None:
    message = refused(GOOD.replace('"merged"', '"merge"'))
    assert message.startswith(
        "bad.yaml: blocks[2].if: unknown name 'merge' in 'merge'; "
        "known names: itx, itx_type, merged, udata"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "format: gsetup-strategy/1",
            f"format: {LONG}",
            f"format: must be 'gsetup-strategy/1', not {CUT}",
        ),
        ("kind: strategy", f"kind: {LONG}", f"kind: must be 'strategy' or 'subroutine', not {CUT}"),
        ("call: merge_itx_data", f"call: {LONG}", f"blocks[1].call: unknown function {CUT}; the"),
        ("result: merged", f"result: 2{LONG}", "blocks[1].result: '2" + "x" * 39 + "'... (3001"),
        ('"merged"', f'"{LONG}"', f"blocks[2].if: unknown name {CUT} in {CUT}; known names: "),
        (
            "blocks:\n",
            f"blocks:\n  - service: {LONG}\n    method: x\n",
            f"blocks[0].service: unknown service {CUT}; the services are: ",
        ),
        (
            "blocks:\n",
            f"blocks:\n  - service: UCS\n    method: {LONG}\n",
            f"blocks[0].method: UCS has no method {CUT}; it has: ",
        ),
    ],
)
def test_a_long_value_is_cut_in_the_message(old: str, new: str, message: str) -> None:
    """A 3,000-character value of the file quoted in a message was shown whole."""
    assert old in GOOD
    shown = refused(GOOD.replace(old, new, 1))
    assert shown.startswith(f"bad.yaml: {message}"), shown[:300]
    assert len(shown) < 1000


def test_yaml_errors_name_the_file_and_line_on_one_line() -> None:
    # The parser's own message spans lines (context, the line, a caret): one line is kept.
    assert refused("blocks: [") == (
        "bad.yaml: line 1, column 10: expected the node content, but found '<stream end>'"
    )
    assert refused("name: a\nkind: \x01\n") == (
        "bad.yaml: line 2: unacceptable character #x0001: special characters are not allowed"
    )
    assert refused("- 1").startswith("bad.yaml: the document must be a mapping")


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (
            "  - " + "[" * 1000 + "]" * 1000 + "\n",
            "bad.yaml: nested too deeply to read (more than a few hundred levels)",
        ),
        (
            "  - wait: " + "1" * 5000 + "\n",
            "bad.yaml: a value YAML cannot convert: Exceeds the limit (4300 digits) for integer "
            "string conversion",
        ),
        ("  - wait: 2024-02-30\n", "bad.yaml: a value YAML cannot convert: day is out of range"),
        ("  - wait: !!bool maybe\n", "bad.yaml: a value YAML cannot convert: 'maybe'"),
    ],
)
def test_what_the_yaml_reader_cannot_build_is_refused_on_one_line(tail: str, message: str) -> None:
    """Python's own errors of the reader (deep nesting, an integer of thousands of digits, a
    31st of February) escaped as 'unexpected RecursionError' or ValueError, exit 1."""
    shown = refused(GOOD + tail)
    assert shown.startswith(message), shown
    assert "\n" not in shown and len(shown) < 300


def test_sandbox_refuses_attribute_access_at_load() -> None:
    for source in (
        "__loader__",  # a variable's name: the doc promises every name, not only attributes
        "().__class__",
        "udata.__class__.__mro__",
        "x['__globals__']",
        "x | attr('__class__')",
    ):
        with pytest.raises(ExpressionError, match="names starting with '__' are not allowed"):
            compile_expression(source)
    assert refused(GOOD.replace('"itx_type == 10"', '"().__class__"')).startswith(
        "bad.yaml: blocks[0].if: bad expression: '().__class__' reaches '__class__'"
    )
    dunder_variable = GOOD.replace("result: merged", "result: __merged").replace(
        '"merged"', '"__merged"'
    )
    assert refused(dunder_variable).startswith(
        "bad.yaml: blocks[1].result: '__merged' is not a variable name"
    )


def test_sandbox_refuses_attribute_access_when_run() -> None:
    # A name built at run time escapes the load-time check; the sandbox still refuses it.
    sneaky = compile_expression("x | attr('_' ~ '_class__')")
    assert sneaky.evaluate({"x": ()}) is None
    deeper = compile_expression("(x | attr('_' ~ '_class__')).mro()")
    with pytest.raises(SecurityError):
        deeper.evaluate({"x": ()})


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("'ab' * n", "'*' would build 20,000,000 characters or items, more than the 1,000,000"),
        ("n * [1]", "'*' would build 10,000,000 characters or items"),
        ("10 ** n", "'**' would make a number of more than 100,000 bits"),
        ("(10 ** 10) ** n", "'**' would make a number of more than 100,000 bits"),
    ],
)
def test_an_expression_cannot_build_what_fills_the_worker(source: str, refused: str) -> None:
    """A number from a message repeating text or raising a power filled the worker's memory
    or held its CPU for hours in one step; both ways of evaluating refuse it."""
    from gsetup.runtime.fastexpr import evaluator, is_fast

    expression = compile_expression(source)
    ways = [expression.evaluate] + ([evaluator(expression)] if is_fast(expression) else [])
    for evaluate in ways:
        with pytest.raises(ValueError, match=re.escape(refused)):
            evaluate({"n": 10_000_000})
        assert evaluate({"n": 3}) in ("ababab", [1, 1, 1], 1000, 10**30)


def test_sandbox_is_immutable() -> None:
    with pytest.raises(SecurityError):
        compile_expression("udata.update({'k': 1})").evaluate({"udata": {}})


def test_subroutine_calls_must_match_parameters() -> None:
    subroutine = parse_strategy(
        textwrap.dedent("""\
        format: gsetup-strategy/1
        name: Sub
        kind: subroutine
        parameters: [text]
        blocks:
          - stop: "done"
    """),
        "sub.yaml",
    )
    caller = parse_strategy(
        GOOD.replace("      - wait: 10", "      - subroutine: Sub"), "caller.yaml"
    )
    known = {"Test Queue", "Classify Queue", "Buffer Queue"}
    with pytest.raises(
        BadInputError,
        match=r"caller.yaml: blocks\[2\].else\[0\]: 'Sub' takes "
        r"exactly: text",
    ):
        check_references([caller, subroutine], known, known)
    known = {"Test Queue", "Buffer Queue"}
    with pytest.raises(BadInputError, match=r"blocks\[0\].then\[0\]: no queue 'Classify Queue'"):
        check_references([parse_strategy(GOOD, "g.yaml")], known, known)


def test_a_description_may_be_empty_but_is_text() -> None:
    """`description: 5` was refused as "must be a non-empty string", yet "" is allowed."""
    described = GOOD.replace("queue: Test Queue\n", "queue: Test Queue\ndescription: TEXT\n")
    assert parse_strategy(described.replace("TEXT", '""'), "good.yaml").description == ""
    assert refused(described.replace("TEXT", "5")) == "bad.yaml: description: must be a string"


def test_a_parameter_is_named_once() -> None:
    """`parameters: [text, text]` was taken; a caller could not tell which it gives."""
    sub = "format: gsetup-strategy/1\nname: S\nkind: subroutine\nparameters: [text, id, text]\n"
    assert refused(sub + "blocks:\n  - stop: x\n") == (
        "bad.yaml: parameters[2]: 'text' is already a parameter"
    )


def test_a_strategy_serves_a_known_queue_no_other_serves() -> None:
    good = parse_strategy(GOOD, "good.yaml")
    queues = {"Test Queue", "Classify Queue", "Buffer Queue"}
    check_references([good], queues, {"Test Queue"})
    with pytest.raises(BadInputError) as caught:
        check_references([good], queues, {"Buffer Queue", "Classify Queue"})
    assert str(caught.value) == (
        "good.yaml: queue: 'Test Queue' is not a queue of its Business "
        "Process; its queues are: Buffer Queue, Classify Queue"
    )
    with pytest.raises(BadInputError) as caught:
        copy = parse_strategy(GOOD.replace("name: Test Strategy", "name: Copy"), "copy.yaml")
        check_references([good, copy], queues, queues)
    assert str(caught.value) == (
        "copy.yaml: queue: 'Test Queue' is also served by good.yaml: one strategy serves a queue"
    )


def test_two_files_of_a_business_process_do_not_share_a_name() -> None:
    """A second subroutine of the same name silently replaced the first for every caller,
    and two strategies of one name were taken; a name is one configuration object."""
    sub = "format: gsetup-strategy/1\nname: Sub\nkind: subroutine\nblocks:\n  - stop: x\n"
    queues = {"Test Queue", "Other Queue", "Classify Queue", "Buffer Queue"}
    first, second = parse_strategy(sub, "sub.yaml"), parse_strategy(sub, "copy.yaml")
    with pytest.raises(BadInputError) as caught:
        check_references([first, second], queues, queues)
    assert str(caught.value) == (
        "copy.yaml: name: 'Sub' is also the name of sub.yaml: each strategy and subroutine of a "
        "Business Process has its own name"
    )
    good = parse_strategy(GOOD, "good.yaml")
    other = parse_strategy(GOOD.replace("queue: Test Queue", "queue: Other Queue"), "other.yaml")
    with pytest.raises(BadInputError, match=r"^other.yaml: name: 'Test Strategy' is also the "):
        check_references([good, other], queues, queues)
    renamed = parse_strategy(sub.replace("name: Sub", "name: Test Strategy"), "sub.yaml")
    with pytest.raises(BadInputError, match=r"^sub.yaml: name: 'Test Strategy' is also the "):
        check_references([good, renamed], queues, queues)


def test_simplified_applies_the_known_issue_workaround() -> None:
    files = render_strategies(get_package("facebook-bp-simplified"), ANSWERS)
    inbound = parse_strategy(files["facebook-inbound-strategy-simplified.yaml"], "inbound")
    guard = next(
        b
        for b in walk(inbound.blocks)
        if isinstance(b, m.If) and "umsInbItxSubmittedBy" in b.condition.names
    )
    assert guard.condition.evaluate({"umsInbItxSubmittedBy": ""}) is True
    (update,) = guard.then
    assert isinstance(update, m.Call) and update.function == "update_user_data"
    assert update.args["key"].evaluate({}) == "_umsInboundIxnSubmittedBy"


def test_twitter_outbound_keeps_the_compliance_id() -> None:
    files = render_strategies(get_package("twitter-bp"), ANSWERS)
    outbound = parse_strategy(files["twitter-outbound-strategy.yaml"], "outbound")
    keys = [
        b.args["key"].evaluate({})
        for b in walk(outbound.blocks)
        if isinstance(b, m.Call) and b.function == "update_user_data"
    ]
    assert "ComplianceId" in keys
    send = next(b for b in walk(outbound.blocks) if isinstance(b, m.Service))
    assert (send.method, send.result, send.attempts) == ("SendMessage", "sent", 5)


def test_facebook_inbound_filters_bypasses_and_merges() -> None:
    files = render_strategies(get_package("facebook-bp"), ANSWERS)
    inbound = parse_strategy(files["facebook-inbound-strategy.yaml"], "inbound")
    question, session, option, comment, merge = inbound.blocks[:5]
    assert (
        isinstance(question, m.If)
        and question.condition.evaluate({"udata": {"_facebookXML": "<x><type>question</type></x>"}})
        is True
    )
    assert isinstance(session, m.If) and session.then == (
        m.Route("blocks[1].then[0]", "Facebook Classify-Screen Queue"),
    )
    # Comment-only (type 1) only when the channel submits comments (x-submit-comments-itx).
    assert isinstance(option, m.Call) and option.function == "channel_option"
    assert isinstance(comment, m.If) and isinstance(comment.then[0], m.CallSubroutine)
    assert comment.condition.evaluate({"itx_type": 1, "submit_comments": "true"}) is True
    assert comment.condition.evaluate({"itx_type": 1, "submit_comments": "false"}) is False
    assert isinstance(merge, m.Call) and merge.function == "merge_itx_data"
    itx_type = dict(inbound.variables)["itx_type"]
    assert itx_type.evaluate({"udata": {"FacebookItxType": "10"}}) == 10


def _doc_table(heading: str) -> list[list[str]]:
    """The rows (cells) of the table under ``## heading`` of docs/strategy-format.md."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "strategy-format.md").read_text(
        encoding="utf-8"
    )
    section = doc.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows[1:]]


# `name` (its parenthesis): the names a cell lists, each with what its parenthesis says
_LISTED = re.compile(r"`(\w+)`(?:\s*\(((?:[^()`]|`[^`]*`)*)\))?")


def test_the_documented_blocks_functions_and_services_are_the_loaders() -> None:
    """Each block's keys, each function's arguments (optional ones so marked) and result,
    and each service's methods, as docs/strategy-format.md lists them."""
    blocks = {
        row[0].strip("`").split(":")[0]: {name for name, _ in _LISTED.findall(row[1])}
        for row in _doc_table("Blocks")
    }
    assert blocks == {
        kind: {*required, *optional} for kind, (required, optional) in _BLOCK_KEYS.items()
    }
    functions = {}
    for name, args, result, _ird in _doc_table("Functions (`call`)"):
        listed = _LISTED.findall(args)
        functions[name.strip("`")] = (
            {a for a, note in listed if not note.startswith("optional")},
            {a for a, note in listed if note.startswith("optional")},
            bool(result),
        )
    assert functions == {
        name: (set(s.required), set(s.optional), s.result) for name, s in FUNCTIONS.items()
    }
    (service_keys,) = [row[1] for row in _doc_table("Blocks") if row[0].startswith("`service")]
    notes = dict(_LISTED.findall(service_keys))
    defaults = {k: int(re.findall(r"default (\d+)", notes[k])[0]) for k in ("timeout", "attempts")}
    (service,) = parse_strategy(GOOD + "  - service: Klout\n    method: Score\n", "s").blocks[3:]
    assert isinstance(service, m.Service)
    assert {"timeout": service.timeout, "attempts": service.attempts} == defaults
    services = {
        name.strip("`"): {method for method, _ in _LISTED.findall(methods)}
        for name, methods in _doc_table("External services (`service`)")
    }
    assert services == SERVICES


def test_the_documented_example_loads() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "strategy-format.md").read_text(
        encoding="utf-8"
    )
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    strategy = parse_strategy(example, "docs/strategy-format.md")
    assert (strategy.name, strategy.queue) == (
        "Facebook Inbound Strategy",
        "Facebook Inbound Queue",
    )
