"""``gsetup route submit`` checks the whole file before sending anything: every line the
runtime's intake would refuse for its form (not JSON, a number JSON cannot hold, past the
size limit) is named with its number, exit 2, and no request is made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

GOOD = {"media_type": "facebook", "channel": "channel-facebook", "external_id": "p-1", "text": "hi"}


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any request made would fail the test (the file must be refused before one is)."""
    import httpx

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a request was made")

    monkeypatch.setattr(httpx, "request", refuse)
    monkeypatch.setattr(httpx.Client, "request", refuse)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"external_id": "p-2", "attached_data": {"n": NaN}}', "NaN is not a JSON number"),
        ('{"external_id": "p-2", "attached_data": {"n": -Infinity}}', "-Infinity is not a JSON"),
        ('{"external_id": "p-2", "attached_data": {"n": 1e999}}', "1e999 is past the range"),
        ('{"external_id": "p-2", "text": "x\\ud800"}', "a string holds a lone surrogate"),
        ('{"external_id": "p-2", "text": "x\\u0000"}', "a string holds U+0000 (NUL)"),
        (json.dumps({**GOOD, "text": "x" * (1024 * 1024)}), "the runtime accepts at most 1048576"),
    ],
)
def test_a_line_the_intake_refuses_is_named_and_nothing_sent(
    tmp_path: Path, no_requests: None, line: str, reason: str
) -> None:
    lines = tmp_path / "posts.jsonl"
    lines.write_text(json.dumps(GOOD) + "\n\n" + line + "\n", encoding="utf-8")
    result = run_cli("route", "submit", str(lines), "--app", "DMS_1", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"gsetup: error: {lines}: line 3: ")
    assert reason in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_leading_byte_order_mark_is_taken_as_other_files_take_it(
    tmp_path: Path, no_requests: None
) -> None:
    """A file saved with a UTF-8 BOM was refused at line 1 with the JSON parser's words
    ("decode using utf-8-sig"): the mark is skipped, the lines are checked as they are."""
    lines = tmp_path / "posts.jsonl"
    lines.write_text("\ufeff" + json.dumps(GOOD) + "\n\nnot json\n", encoding="utf-8")
    result = run_cli("route", "submit", str(lines), "--app", "DMS_1", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"gsetup: error: {lines}: line 3: not valid JSON")
