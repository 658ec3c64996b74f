"""The driver wizard: real questionary prompts fed with key presses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from gsetup.cli.confirm import Confirmation
from gsetup.drivers.terms import SOCIAL_ENGAGEMENT_TERMS
from gsetup.errors import BadInputError
from gsetup.wizards.bp import login
from gsetup.wizards.collect import Prompter
from gsetup.wizards.driver import DriverRequest, run_driver_install
from gsetup.wizards.driver_questions import TermsNotAcceptedError, terms_question
from tests.helpers import run_cli, snapshot
from tests.test_driver_cli import _add_dms, _history, _options, _tree
from tests.test_wizard import ctrl_c_at_the_confirmation

ENTER, DOWN = "\r", "\x1b[B"
API_KEY, HUB_PASSWORD = "typed-Api-Key-1", "typed-Hub-Pw-2"


@pytest.fixture
def keys() -> Iterator[PipeInput]:
    with create_pipe_input() as pipe:
        yield pipe


@pytest.fixture
def two_dms(db_url: str, tmp_path: Path) -> Path:
    """DMS_1 and DMS_2 (the one the wizard selects); returns DMS_2's working directory."""
    _add_dms(db_url, "DMS_1", tmp_path / "dms1")
    _add_dms(db_url, "DMS_2", tmp_path / "dms2")
    return tmp_path / "dms2"


def _wizard(keys: PipeInput, save: Path | None = None) -> Any:
    prompter = Prompter(input=keys, output=DummyOutput())
    ctx = login(None, None, [], prompter, yes=False)
    request = DriverRequest("twitter", save_answers=save)
    confirm = Confirmation(wizard=True, terminal=lambda: True, ask=lambda _q, _default: True)
    return run_driver_install(ctx, request, [], prompter, confirm)


def _answers_until_terms(accept: str) -> str:
    return (
        ENTER  # tenant: Environment, the default
        + DOWN
        + ENTER  # DMS: the second of the list, DMS_2
        + ENTER  # host: the application's
        + ENTER  # port: the application's
        + accept  # the legal terms
    )


def test_wizard_selects_the_dms_accepts_the_terms_and_hides_passwords(
    db_url: str, two_dms: Path, tmp_path: Path, keys: PipeInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "saved.yaml"
    keys.send_text(
        _answers_until_terms("y")
        + f"ACME Corp{ENTER}"
        + f"{API_KEY}{ENTER}"  # a password prompt
        + f"abc123{ENTER}"
        + f"ACME Twitter{ENTER}"
        + ENTER  # gsa-url-base: the default
        + f"admin@acme.example{ENTER}"
        + f"{HUB_PASSWORD}{ENTER}"  # a password prompt
        + f"\x15120{ENTER}"  # RPC cache timeout: 120 instead of the default 90
    )
    result = _wizard(keys, saved)
    assert "RPC cache timeout of channel 'ACME Twitter' to 120 seconds" in result.next_steps[0]
    assert result.dms == "DMS_2" and result.applied
    options = _options(db_url, "DMS_2")
    assert options[("channel-twitter", "gsa-api-key")][1] == API_KEY
    assert options[("channel-twitter", "password")][1] == HUB_PASSWORD
    assert options[("channel-twitter", "gsa-url-base")][1].startswith("socialanalytics.")
    assert not any(s == "channel-twitter" and k == "gsa-api-key" for s, k in _options(db_url))
    assert (two_dms / "media-channel-drivers" / "channel-twitter").is_dir()

    history = _history(db_url)[-1]
    assert history["answers"]["terms"]["version"] == SOCIAL_ENGAGEMENT_TERMS.version
    assert API_KEY not in json.dumps(history) and HUB_PASSWORD not in json.dumps(history)
    assert history["answers"]["rpc_cache_timeout"] == 120
    text = saved.read_text()
    assert "dms: DMS_2" in text and "accept_terms: true" in text
    assert API_KEY not in text and HUB_PASSWORD not in text

    # The saved answers, with the secrets added back as references, replay to no change.
    monkeypatch.setenv("HUB_KEY", API_KEY)
    monkeypatch.setenv("HUB_PW", HUB_PASSWORD)
    missing = run_cli("driver", "install", "twitter", "--answers", str(saved), "--yes")
    assert missing.exit_code == 2 and "gsa_api_key" in missing.stderr
    saved.write_text(text + "gsa_api_key: {env: HUB_KEY}\ngsa_password: {env: HUB_PW}\n")
    replay = run_cli(
        "driver", "install", "twitter", "--answers", str(saved), "--yes", "--dry-run", "--json"
    )
    assert replay.exit_code == 0, replay.stderr
    assert replay.json()["summary"]["create"] == replay.json()["summary"]["update"] == 0


def test_ctrl_c_at_the_confirmation_saves_the_answers_given(
    db_url: str, two_dms: Path, tmp_path: Path, keys: PipeInput
) -> None:
    saved = tmp_path / "saved.yaml"
    before = snapshot(db_url)
    keys.send_text(
        _answers_until_terms("y")
        + f"ACME Corp{ENTER}{API_KEY}{ENTER}abc123{ENTER}ACME Twitter{ENTER}{ENTER}"
        + f"admin@acme.example{ENTER}{HUB_PASSWORD}{ENTER}{ENTER}"
    )
    ctx, prompter, confirm = ctrl_c_at_the_confirmation(keys)
    with pytest.raises(KeyboardInterrupt):
        run_driver_install(ctx, DriverRequest("twitter", save_answers=saved), [], prompter, confirm)
    assert snapshot(db_url) == before
    text = saved.read_text()
    assert "dms: DMS_2\n" in text and "gsa_user_name: admin@acme.example\n" in text
    assert API_KEY not in text and HUB_PASSWORD not in text


def test_wizard_refusing_the_terms_writes_nothing(
    db_url: str, two_dms: Path, keys: PipeInput
) -> None:
    before, tree = snapshot(db_url), _tree(two_dms)
    keys.send_text(_answers_until_terms("n"))
    with pytest.raises(TermsNotAcceptedError, match="accept_terms"):
        _wizard(keys)
    assert snapshot(db_url) == before and _tree(two_dms) == tree


def test_the_terms_question_says_where_the_terms_are() -> None:
    question = terms_question()
    assert SOCIAL_ENGAGEMENT_TERMS.where in question.prompt
    assert question.prompt.endswith(SOCIAL_ENGAGEMENT_TERMS.question)
    assert question.parse("true", "test", {}) is True
    assert question.parse(True, "test", {}) is True
    with pytest.raises(TermsNotAcceptedError):
        question.parse("false", "test", {})
    for loose in ("yes", "1", "on", 1):  # a consent is spelled true
        with pytest.raises(BadInputError, match="is not true or false"):
            question.parse(loose, "test", {})
