"""The interactive wizard: real questionary prompts fed with key presses."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from gsetup.cli.confirm import Confirmation
from gsetup.context import Context
from gsetup.deployment import MADE_KEY
from gsetup.wizards.bp import InstallRequest, login, run_install
from gsetup.wizards.collect import Prompter
from tests.helpers import in_a_terminal, run_cli, snapshot

ENTER, CLEAR, DOWN = "\r", "\x15", "\x1b[B"  # Ctrl-U clears a pre-filled default


@pytest.fixture
def keys() -> Iterator[PipeInput]:
    with create_pipe_input() as pipe:
        yield pipe


def _wizard(keys: PipeInput, package: str, save: Path | None = None) -> object:
    prompter = Prompter(input=keys, output=DummyOutput())
    ctx = login(None, None, [], prompter, yes=False)
    request = InstallRequest(package, save_answers=save)
    confirm = Confirmation(wizard=True, terminal=lambda: True, ask=lambda _q, _default: True)
    return run_install(ctx, request, [], prompter, confirm)


def test_wizard_then_saved_answers_replay_to_the_same_database(
    db_url: str, second_db_url: str, tmp_path: Path, keys: PipeInput
) -> None:
    home, strategies = tmp_path / "bp-home", tmp_path / "strategies"
    saved = tmp_path / "saved.yaml"
    keys.send_text(
        ENTER  # tenant: Environment
        + "y"  # iWD custom properties: yes
        + CLEAR
        + f"{home}{ENTER}"
        + CLEAR
        + f"{strategies}{ENTER}"
        + ENTER  # capacity rule: the package's default
    )
    _wizard(keys, "twitter-bp", saved)
    first = snapshot(db_url)
    assert (strategies / "twitter-inbound-strategy.yaml").is_file()
    paths = {row[3] for row in first["cfg_object"]}
    assert "Business Attributes/InteractionCustomProperties/desktop_sentiment" in paths

    text = saved.read_text()
    assert "iwd_custom_properties: true" in text
    assert "# Tenant to install the Business Process in." in text
    assert "password" not in text

    # Replaying the saved answers into a fresh database of the same kind gives the same rows.
    replay = run_cli(
        "--db", second_db_url, "install", "twitter-bp", "--answers", str(saved), "--yes"
    )
    assert replay.exit_code == 0, replay.stderr
    first.pop("tenant")  # its creation time differs; everything else must not
    second = snapshot(second_db_url, tuple(first))
    # But for the directories the first install made (the replay finds them there): the
    # option ids after that row shift by one, so options are compared without their ids.
    for rows in (first, second):
        rows["cfg_option"] = [o[1:] for o in rows["cfg_option"] if o[3] != MADE_KEY]
    assert second == first


def test_wizard_reasks_until_the_answer_is_valid(
    db_url: str, tmp_path: Path, keys: PipeInput, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    keys.send_text(
        ENTER
        + "n"
        + CLEAR
        + f"{tmp_path / 'bp-home'}{ENTER}"
        + CLEAR
        + f"{a_file}{ENTER}"  # refused: a file
        + CLEAR
        + f"{tmp_path / 'ok'}{ENTER}"
        + DOWN
        + ENTER  # no other rule exists: wraps round to the default
    )
    _wizard(keys, "rss-bp")
    assert "is a file, not a directory" in capsys.readouterr().err
    assert (tmp_path / "ok").is_dir()


def test_end_of_input_at_a_question_stops_as_ctrl_c_does(
    db_url: str, tmp_path: Path, keys: PipeInput
) -> None:
    """Ctrl-D (end of input) at a question: nothing written, the answers given so far saved."""
    saved = tmp_path / "partial.yaml"
    before = snapshot(db_url)
    keys.send_text(ENTER + "y" + CLEAR + "\x04")  # tenant, iWD, then Ctrl-D at the home
    with pytest.raises(KeyboardInterrupt):
        _wizard(keys, "twitter-bp", saved)
    assert snapshot(db_url) == before
    text = saved.read_text()
    assert "tenant: Environment" in text and "iwd_custom_properties: true" in text
    assert "install_home" not in text


def test_end_of_input_at_a_select_question_stops_as_ctrl_c_does(
    db_url: str, tmp_path: Path
) -> None:
    """Ctrl-D at a select question (the capacity rule) did nothing; as at a typed question:
    exit 130, one line, the answers given so far saved, nothing written."""
    import pexpect

    saved = tmp_path / "partial.yaml"
    before = snapshot(db_url)
    child = in_a_terminal(f"exec $GSETUP install rss-bp --save-answers {saved}", db_url, tmp_path)
    try:
        child.expect("Select a tenant")
        child.send(ENTER)
        child.expect("iWD integration")
        child.send("n")
        child.expect("Installation home")
        child.send(CLEAR + str(tmp_path / "bp-home") + ENTER)
        child.expect("Destination directory")
        child.send(ENTER)
        child.expect("capacity rule")
        child.send("\x04")
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, child.before
    assert child.before.endswith("\r\ninterrupted\r\n")
    text = saved.read_text()
    assert f"install_home: {tmp_path / 'bp-home'}" in text and "capacity_rule" not in text
    assert snapshot(db_url) == before


def test_ctrl_d_ends_a_checkbox_and_still_deletes_in_typed_text(keys: PipeInput) -> None:
    """Ctrl-D ends the input where the prompt gives it no meaning (a checkbox list); in typed
    text it keeps its own: it deletes the character under the cursor."""
    import questionary

    from gsetup.wizards.collect import answer

    with create_pipe_input() as listed:
        listed.send_text("\x04" + ENTER)  # ignored, Ctrl-D left Enter to pick nothing
        with pytest.raises(KeyboardInterrupt):
            answer(questionary.checkbox("Which?", ["a", "b"], input=listed, output=DummyOutput()))
    keys.send_text("ab" + "\x1b[D" + "\x04" + ENTER)  # Left, then Ctrl-D on the "b"
    assert answer(questionary.text("Name?", input=keys, output=DummyOutput())) == "a"


def ctrl_c_at_the_confirmation(keys: PipeInput) -> tuple[Context, Prompter, Confirmation]:
    """A wizard's login, prompter and a confirmation answered with Ctrl-C."""

    def ctrl_c(_question: str, _default: bool) -> bool:
        raise KeyboardInterrupt

    prompter = Prompter(input=keys, output=DummyOutput())
    ctx = login(None, None, [], prompter, yes=False)
    return ctx, prompter, Confirmation(wizard=True, terminal=lambda: True, ask=ctrl_c)


def test_ctrl_c_at_the_confirmation_saves_the_answers_given(
    db_url: str, tmp_path: Path, keys: PipeInput
) -> None:
    """Every answer was given when the plan is confirmed: Ctrl-C there keeps them, as it does
    at a question (docs/answers.md); nothing is installed."""
    saved, home = tmp_path / "saved.yaml", tmp_path / "bp-home"
    before = snapshot(db_url)
    keys.send_text(ENTER + "n" + CLEAR + f"{home}{ENTER}" + ENTER + ENTER)
    ctx, prompter, confirm = ctrl_c_at_the_confirmation(keys)
    with pytest.raises(KeyboardInterrupt):
        run_install(ctx, InstallRequest("rss-bp", save_answers=saved), [], prompter, confirm)
    assert snapshot(db_url) == before
    text = saved.read_text()
    assert f"install_home: {home}\n" in text and "capacity_rule:" in text


def test_end_of_input_at_a_password_prompt_is_one_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Ctrl-C: exit 130 and the one line `interrupted` (it was `aborted`, after blank
    lines), nothing written."""
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def end_of_input(prompt: str = "") -> str:
        raise EOFError

    before = snapshot(db_url)
    monkeypatch.setattr("getpass.getpass", end_of_input)
    monkeypatch.setattr("sys.stdin", Terminal())
    result = run_cli("agent", "add", "carol")
    assert (result.exit_code, result.stderr) == (130, "\ninterrupted\n")
    assert snapshot(db_url) == before


def test_no_terminal_and_no_answer_names_the_missing_key(db_url: str) -> None:
    before = snapshot(db_url)
    result = run_cli("install", "twitter-bp")
    assert result.exit_code == 2
    assert "no answer for 'tenant'" in result.stderr
    assert "--set tenant=..." in result.stderr
    assert snapshot(db_url) == before


def _answer_the_rss_wizard(child: Any, home: Path, strategies: Path | None) -> None:
    """Answer rss-bp's questions in a pseudo-terminal: the first tenant, no iWD, ``home``,
    ``strategies`` (None: the default), the default capacity rule."""
    child.expect("Select a tenant")
    child.send(ENTER)
    child.expect("iWD integration")
    child.send("n")
    child.expect("Installation home")
    child.send(CLEAR + str(home) + ENTER)
    child.expect("Destination directory")
    child.send(ENTER if strategies is None else CLEAR + str(strategies) + ENTER)
    child.expect("capacity rule")
    child.send(ENTER)


def test_full_wizard_in_a_terminal(db_url: str, tmp_path: Path) -> None:
    """The real console script in a pseudo-terminal, confirm prompt included."""
    import pexpect

    env = {**os.environ, "GSETUP_DB": db_url, "COLUMNS": "120"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "gsetup", "install", "rss-bp"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )
    _answer_the_rss_wizard(child, tmp_path / "bp-home", tmp_path / "s")
    child.expect("Apply this plan")
    child.send("y")
    child.expect("Applied.{0,12} for tenant Environment")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert sorted(p.suffix for p in (tmp_path / "s").iterdir()) == [".yaml"] * 4


def test_questions_go_to_the_terminal_when_the_output_is_redirected(
    db_url: str, tmp_path: Path
) -> None:
    """`gsetup install rss-bp > install.log`: the questions and the plan to confirm are shown
    on standard error (they used to go into the file, leaving the user waiting on nothing)."""
    import pexpect

    child = in_a_terminal("$GSETUP install rss-bp > install.log", db_url, tmp_path)
    try:
        _answer_the_rss_wizard(child, tmp_path / "bp-home", None)
        child.expect("to create")  # the plan to confirm, on the terminal too
        child.expect("Apply this plan")
        child.send("y")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    log = (tmp_path / "install.log").read_text()
    assert "Applied" in log and "?" not in log  # the result, no question
    assert (tmp_path / "bp-home" / "Strategies").is_dir()


def test_what_is_confirmed_is_shown_beside_the_question_when_the_output_is_redirected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`gsetup sql apply ... > log`: the scripts to run (printed by the command's own
    preview) went into the file while the question was asked on the terminal, so the user
    confirmed what they could not see; it is shown on standard error with the question."""
    asked: list[str] = []
    confirm = Confirmation(terminal=lambda: True, ask=lambda q, _d: asked.append(q) or True)
    confirm.confirm("sql apply would run 2 scripts", lambda: print("-- the scripts to run"))
    shown = capsys.readouterr()  # captured: standard output is not a terminal here
    assert asked == ["Apply this plan?"]
    assert "-- the scripts to run" in shown.err and shown.out == ""


def test_no_terminal_to_show_a_question_on_is_refused(db_url: str, tmp_path: Path) -> None:
    """Input from the terminal but both outputs redirected: nowhere to show a question, so a
    run that needs one stops at once (exit 2) instead of waiting on an invisible prompt."""
    import pexpect

    before = snapshot(db_url)
    child = in_a_terminal("$GSETUP install rss-bp > out.log 2> err.log", db_url, tmp_path)
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 2
    err = (tmp_path / "err.log").read_text()
    assert err.startswith("gsetup: error: no answer for 'tenant'") and err.count("\n") == 1
    assert (tmp_path / "out.log").read_text() == ""
    assert snapshot(db_url) == before


@pytest.mark.parametrize("closed", [False, True], ids=["sighup", "terminal closed"])
def test_sighup_at_a_question_stops_as_ctrl_c_does(
    db_url: str, tmp_path: Path, closed: bool
) -> None:
    """The terminal closed (SIGHUP) at a question ended gsetup without a word and without the
    answers given; as Ctrl-C: they are saved, nothing is written, one line, exit 129. Closed
    for good, the line cannot be written: that failure does not change the exit status."""
    import signal
    import time

    import pexpect

    saved = tmp_path / "partial.yaml"
    before = snapshot(db_url)
    child = in_a_terminal(f"exec $GSETUP install rss-bp --save-answers {saved}", db_url, tmp_path)
    try:
        child.expect("Select a tenant")
        child.send(ENTER)
        child.expect("iWD integration")
        if closed:  # the kernel sends SIGHUP as the pseudo-terminal's master side closes
            child.ptyproc.fileobj.close()
            deadline = time.monotonic() + 30
            while child.isalive() and time.monotonic() < deadline:
                time.sleep(0.05)
        else:
            child.kill(signal.SIGHUP)
            child.expect(pexpect.EOF)
            assert child.before.endswith("\r\ninterrupted: the terminal was closed (SIGHUP)\r\n")
    finally:
        child.close(force=True)
    assert (child.exitstatus, child.signalstatus) == (129, None)
    assert saved.read_text().endswith("tenant: Environment\n")
    assert snapshot(db_url) == before


def test_sighup_at_a_password_prompt_stops_as_ctrl_c_does(db_url: str, tmp_path: Path) -> None:
    """A closed terminal at a password prompt ended gsetup without a word; as Ctrl-C there:
    one line, exit 129, nothing written."""
    import signal

    import pexpect

    before = snapshot(db_url)
    child = in_a_terminal("exec $GSETUP agent add carol", db_url, tmp_path)
    try:
        child.expect("Agent password: ")
        child.kill(signal.SIGHUP)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert (child.exitstatus, child.signalstatus) == (129, None)
    assert child.before == "\r\ninterrupted: the terminal was closed (SIGHUP)\r\n"
    assert snapshot(db_url) == before


def test_sighup_in_a_callback_of_the_prompts_event_loop_stops_the_question(
    keys: PipeInput,
) -> None:
    """SIGHUP handled while prompt_toolkit's asyncio loop ran one of its callbacks (a redraw,
    a timer) was caught by asyncio, which logs what a callback raises and goes on: the
    question stayed open on a terminal that was gone (seen as a rare hang of the test
    above). It stops the question as Ctrl-C does, wherever the loop is."""
    import os
    import signal

    import questionary

    from gsetup.interrupts import HungUp
    from gsetup.wizards.collect import answer

    asked = questionary.text("Name?", input=keys, output=DummyOutput())
    in_callback: list[str] = []

    def hang_up_in_a_callback() -> None:  # a Python signal handler would run in here
        in_callback.append("sent")
        app = asked.application  # still asking a second later: answered, so the test ends
        app.loop.call_later(  # type: ignore[union-attr]
            1.0,
            lambda: app.future.done() or app.exit(result="still asking"),  # type: ignore[union-attr]
        )
        os.kill(os.getpid(), signal.SIGHUP)

    asked.application.pre_run_callables.append(
        lambda: asked.application.loop.call_soon(hang_up_in_a_callback)  # type: ignore[union-attr]
    )
    with pytest.raises(HungUp):
        answer(asked)
    assert in_callback == ["sent"]
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # as before the question


def test_a_slash_at_a_path_question_reaches_the_directory_check(
    db_url: str, tmp_path: Path
) -> None:
    """ "/" typed at the strategy directory question was refused as an empty value:
    questionary's path prompt drops a trailing separator. It gets the check's own reason."""
    import pexpect

    before = snapshot(db_url)
    child = in_a_terminal("exec $GSETUP install rss-bp", db_url, tmp_path)
    try:
        child.expect("Select a tenant")
        child.send(ENTER)
        child.expect("iWD integration")
        child.send("n")
        child.expect("Installation home")
        child.send(CLEAR + str(tmp_path / "bp-home") + ENTER)
        child.expect("Destination directory")
        child.send(CLEAR + "/" + ENTER)
        refusal = child.expect(["is the filesystem root; give a directory of its own", "empty"])
        child.expect("Destination directory")  # asked again
        child.send("\x03")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert refusal == 0, child.before
    assert child.exitstatus == 130
    assert snapshot(db_url) == before
