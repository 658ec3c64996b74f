"""Collect a wizard's answers from every source, prompting only for what is left.

Order, first wins: ``--set``, the answers file, the answers of the last recorded install of
the same package in the tenant, then each question's default. A question without any answer
is asked on a terminal; with ``--yes`` or without a terminal it is an error that names it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

from gsetup.errors import BadInputError, NeedsAnswerError
from gsetup.interrupts import STOPS, HungUp, hang_up_stops
from gsetup.wizards.answers import (
    AnswerSource,
    check_keys,
    check_secrets,
    resolve_secret,
    secret_reference,
)
from gsetup.wizards.questions import DEFAULT, PROMPT, RECORDED, Question

if TYPE_CHECKING:
    from gsetup.plan.model import Plan

R = TypeVar("R")


class Applier(Protocol):
    """Previews, confirms and applies a wizard's plans (gsetup.cli.confirm.Confirmation)."""

    def apply(
        self,
        run: Callable[[bool], R],
        plans: Callable[[R], Sequence[Plan]],
        *,
        risky: Callable[[Plan], bool] | None = ...,
        exact: bool = ...,
    ) -> R:
        """``run(dry_run)`` planned only, or confirmed as needed and applied."""


def question_stream() -> TextIO | None:
    """Where a question is shown: standard output, else standard error when the output goes
    to a file or a pipe (a question written there leaves the user waiting on nothing);
    None when neither is a terminal."""
    return next((s for s in (sys.stdout, sys.stderr) if s.isatty()), None)


def can_ask() -> bool:
    """Whether a question can be asked: typed on a terminal, and shown on one."""
    return sys.stdin.isatty() and question_stream() is not None


@dataclass
class Prompter:
    """Asks questions with questionary; tests pass a prompt_toolkit pipe input and output."""

    input: Any = None
    output: Any = None

    @property
    def interactive(self) -> bool:
        """Whether there is someone to ask."""
        return self.input is not None or can_ask()

    def ask(self, question: Question, default: Any, choices: list[str] | None) -> Any:
        """Ask one question; Ctrl-C raises KeyboardInterrupt."""
        import questionary

        io: dict[str, Any] = {}
        if self.input is not None:
            io = {"input": self.input, "output": self.output}
        elif question_stream() is sys.stderr:
            from prompt_toolkit.output import create_output

            io = {"output": create_output(stdout=sys.stderr)}
        prompt = f"{question.prompt}"
        if question.type == "bool":
            asked = questionary.confirm(prompt, default=bool(default), **io)
        elif choices is not None:
            start = default if default in choices else None
            asked = questionary.select(prompt, choices=choices, default=start, **io)
        elif question.secret:
            asked = questionary.password(prompt, **io)
        elif question.type == "path":
            return _ask_path(prompt, str(default or ""), io)
        else:
            asked = questionary.text(prompt, default=str(default or ""), **io)
        return answer(asked)


def _ask_path(prompt: str, default: str, io: dict[str, Any]) -> str:
    """A path question: the text as typed. questionary's path prompt returns it without its
    trailing separator, so "/" came back empty; its validator sees the text itself."""
    import questionary

    typed: list[str] = []

    def seen(text: str) -> bool:
        typed.append(text)
        return True

    answer(questionary.path(prompt, default=default, validate=seen, **io))
    return typed[-1]  # Enter is taken once the text is validated: the last one seen


def answer(asked: Any) -> Any:
    """The answer to a questionary question; end of input (Ctrl-D) stops as Ctrl-C does, so
    ``--save-answers`` keeps what was given and the one line is ``interrupted``."""
    app = asked.application
    _ctrl_d_ends(app)
    hung_up: list[bool] = []
    app.pre_run_callables.append(lambda: _hang_up_exits(app, hung_up))
    try:
        with hang_up_stops():  # the terminal closed: stop as Ctrl-C does, answers kept
            return asked.unsafe_ask()
    except EOFError:
        raise KeyboardInterrupt from None
    except OSError:
        if hung_up:  # the prompt's last redraw, on a terminal closed for good
            raise HungUp from None
        raise


def _ctrl_d_ends(app: Any) -> None:
    """Ctrl-D ends the input (EOFError) where the prompt gives it no meaning of its own: a
    select or checkbox list binds none. A typed prompt's own binding is kept: it ends an
    empty line and deletes the character under the cursor otherwise."""
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.keys import Keys

    if any(binding.keys == (Keys.ControlD,) for binding in app.key_bindings.bindings):
        return
    end = KeyBindings()

    @end.add(Keys.ControlD, eager=True)
    def _end(event: Any) -> None:
        event.app.exit(exception=EOFError)

    app.key_bindings = merge_key_bindings([app.key_bindings, end])


def _hang_up_exits(app: Any, hung_up: list[bool]) -> None:
    """While the prompt runs, SIGHUP ends it with :class:`HungUp` from its own event loop.
    Raised by a signal handler instead, it could land in one of the loop's callbacks (a
    redraw, a timer), which asyncio logs and goes on from, asking on a closed terminal."""
    import asyncio
    import signal

    def hung_up_now() -> None:
        hung_up.append(True)
        if app.future is not None and not app.future.done():
            app.exit(exception=HungUp)

    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, hung_up_now)


def collect(
    questions: Sequence[Question],
    sources: Sequence[AnswerSource],
    *,
    prompter: Prompter,
    yes: bool,
    recorded: Mapping[str, Any] | None = None,
    on_interrupt: Callable[[dict[str, Any]], None] | None = None,
    origins: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The checked answers of every question that applies; ``origins``, when given, gets
    where each came from (a source's name, ``recorded install``, ``default`` or ``prompt``).

    Every secret given is resolved first, even one this database will not ask for (an
    embedded database needs no login): a broken reference is an error wherever it runs.
    """
    for source in sources:
        check_keys(source, questions)
    check_secrets(questions, sources)
    answers: dict[str, Any] = {}
    try:
        for question in questions:
            if not question.asked(answers):
                continue
            answers[question.key], origin = _answer(
                question, sources, answers, prompter, yes, recorded or {}
            )
            if origins is not None:
                origins[question.key] = origin
    except STOPS:
        if on_interrupt is not None:
            on_interrupt(answers)
        raise
    return answers


def answer_again(
    questions: Sequence[Question],
    sources: Sequence[AnswerSource],
    collected: Mapping[str, Any],
    origins: Mapping[str, str],
    *,
    recorded: Callable[[list[AnswerSource]], Mapping[str, Any]],
    prompter: Prompter,
    locked: Sequence[str] = ("tenant",),
) -> Callable[[], dict[str, Any]] | None:
    """For an install to call once it holds its tenant's lock: the answers again, asking
    nothing, of what the last install (``recorded``, given the sources) or a default answered:
    the install it waited for may have recorded others. Typed answers and the ``locked``
    ones (the lock's, and those the last install is found by) stay; the sources give theirs
    again. None when no answer came from the last install or a default."""
    if not {RECORDED, DEFAULT} & set(origins.values()):
        return None

    def again() -> dict[str, Any]:
        kept = {k: v for k, v in collected.items() if origins[k] == PROMPT or k in locked}
        pinned = [AnswerSource(PROMPT, kept, clear_secrets=True), *sources]  # typed: in clear
        last = recorded(pinned)
        return collect(questions, pinned, prompter=prompter, yes=True, recorded=last)

    return again


def _answer(
    question: Question,
    sources: Sequence[AnswerSource],
    answers: dict[str, Any],
    prompter: Prompter,
    yes: bool,
    recorded: Mapping[str, Any],
) -> tuple[Any, str]:
    """The checked answer, and where it came from."""
    for source in sources:
        if question.key in source.values:
            raw = source.values[question.key]
            if question.secret:
                raw = resolve_secret(raw, source, question.key)
            return question.parse(raw, source.name, answers), source.name
    default = recorded.get(question.key, question.default_for(answers))
    if prompter.interactive and not yes:
        return _ask_until_valid(question, default, answers, prompter), PROMPT
    if default is not None and not question.secret:
        origin = RECORDED if question.key in recorded else DEFAULT
        return question.parse(default, origin, answers), origin
    how = "run in a terminal without --yes" if not prompter.interactive or yes else ""
    # The question itself: a prompt's last line (the legal terms' lines before it say where
    # they are), so that the error stays one line.
    asked = question.prompt.strip().splitlines()[-1].strip().rstrip("?:")
    if question.secret:  # --set refuses a secret: it would be clear text on a command line
        raise NeedsAnswerError(
            f"no answer for {question.key!r} ({asked}): give it in the answers file as "
            "{env: NAME} or {file: PATH}"
        )
    raise NeedsAnswerError(
        f"no answer for {question.key!r} ({asked}): give it in the "
        f"answers file or with --set {question.key}=..." + (", or " + how if how else "")
    )


def _ask_until_valid(
    question: Question, default: Any, answers: dict[str, Any], prompter: Prompter
) -> Any:
    while True:
        raw = prompter.ask(question, default, question.choices_for(answers))
        if raw is None:
            raise KeyboardInterrupt
        try:
            return question.parse(raw, PROMPT, answers)
        except BadInputError as exc:
            print(exc, file=sys.stderr)


def check_source(questions: Sequence[Question], source: AnswerSource) -> dict[str, Any]:
    """Check every answer of ``source`` without asking anything (``gsetup answers check``).

    Keys must be known; values are parsed as their question would; secrets must be references
    (they are not read: CI checks files where the secrets don't live). Choices that need a
    database (tenants, applications) are not checked.
    """
    check_keys(source, questions)
    checked: dict[str, Any] = {}
    for question in questions:
        if question.key not in source.values:
            continue
        raw = source.values[question.key]
        if question.secret:
            kind, _ref = secret_reference(raw, source, question.key)
            checked[question.key] = f"({kind} secret)"
        else:
            checked[question.key] = question.parse(raw, source.name, checked)
    return checked


def require_answers(questions: Sequence[Question], source: AnswerSource) -> None:
    """A run without prompts (``--yes``) needs every required question answered by ``source``."""
    missing = [q.key for q in questions if q.required and q.key not in source.values]
    if missing:
        keys = ", ".join(repr(k) for k in missing)
        raise NeedsAnswerError(
            f"{source.name}: no answer for {keys}; a run without prompts (--yes) needs "
            f"{'it' if len(missing) == 1 else 'them'}"
        )
