"""One question model for prompts, answer files and ``--set``, so they can never drift apart.

A :class:`Question` knows its key, prompt, help (also the comment written by
``--save-answers``), type, default, choices and validator. :meth:`Question.parse` turns a raw
value from any source into the checked value, or raises one clear error naming the source and
key and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gsetup.errors import BadInputError, GsetupError
from gsetup.fileio import quote_prefix, value_kind
from gsetup.options import check_text

QuestionType = Literal["text", "bool", "choice", "path", "secret"]
Answers = Mapping[str, Any]

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
BOOL_WORDS = frozenset(_TRUE | _FALSE)  # what a yes/no answer may say (not ``literal`` ones)


@dataclass(frozen=True)
class Question:
    """One question of a wizard.

    ``default`` and ``choices`` may depend on the answers given so far (callables).
    ``when`` decides whether the question is asked at all. ``validate`` returns the
    normalised value or raises :class:`ValueError` with what is allowed. A ``literal`` yes/no
    question takes only true or false (a consent is not given by ``1`` or ``on``).
    """

    key: str
    prompt: str
    help: str
    type: QuestionType = "text"
    default: Any | Callable[[Answers], Any] = None
    choices: Sequence[str] | Callable[[Answers], Sequence[str]] | None = None
    validate: Callable[[Any], Any] | None = None
    when: Callable[[Answers], bool] | None = None
    literal: bool = False

    @property
    def secret(self) -> bool:
        """Secrets are asked without echo and never written back."""
        return self.type == "secret"

    @property
    def required(self) -> bool:
        """Whether an answers file for a run without prompts must give it: it always applies
        and nothing supplies a default (a secret never has one)."""
        return self.when is None and (self.secret or self.default is None)

    def default_for(self, answers: Answers) -> Any:
        """The default, given the answers so far."""
        return self.default(answers) if callable(self.default) else self.default

    def choices_for(self, answers: Answers) -> list[str] | None:
        """The allowed values, given the answers so far."""
        if self.choices is None:
            return None
        return list(self.choices(answers) if callable(self.choices) else self.choices)

    def asked(self, answers: Answers) -> bool:
        """Whether this question applies, given the answers so far."""
        return self.when is None or self.when(answers)

    def parse(self, raw: Any, source: str, answers: Answers) -> Any:
        """Check ``raw`` from ``source`` (a file name, ``--set`` or ``prompt``)."""
        where = answer_label(source, self.key)
        value = self._coerce(raw, where)
        choices = self.choices_for(answers)
        if choices is not None and value not in choices:
            allowed = ", ".join(choices) if choices else "(none available)"
            raise BadInputError(
                f"{where}: {quote_prefix(str(value))} is not one of the choices: {allowed}"
            )
        if self.validate is not None:
            try:
                value = self.validate(value)
            except (ValueError, BadInputError) as exc:  # a name check's BadInputError too
                raise BadInputError(f"{where}: {exc}") from None
            except GsetupError as exc:  # another refusal (terms not accepted): its own exit
                if source not in NAMED_BY_KEY:
                    exc.args = (f"{source}: {exc}",)
                raise
        return value

    def _coerce(self, raw: Any, where: str) -> Any:
        if self.type == "bool":
            if isinstance(raw, bool):
                return raw
            if not isinstance(raw, (str, int, float)):
                raise self._not_a_value(raw, where, "true or false")
            text = str(raw).strip().lower()
            if text in (("true", "false") if self.literal else _TRUE | _FALSE):
                return text in _TRUE
            raise BadInputError(f"{where}: {quote_prefix(str(raw))} is not true or false")
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise self._not_a_value(raw, where, "text")
        text = str(raw).strip()
        if not text:
            raise BadInputError(f"{where}: an empty value is not allowed")
        # answers end up in option values and paths: one line of text
        check_text(text, where, answer=True)
        if self.type == "path":  # stored absolute: a re-run elsewhere must not move the install
            return os.path.abspath(os.path.expanduser(text))
        return text

    def _not_a_value(self, raw: Any, where: str, expected: str) -> BadInputError:
        """The one wording for a null, a list or a mapping where a value was expected."""
        # left out, a question without a default has no answer at all: no such advice
        hint = (
            ": leave the key out for its default"
            if raw is None and self.default is not None
            else ""
        )
        return BadInputError(f"{where}: expected {expected}, not {value_kind(raw)}{hint}")


# Where an answer nobody wrote down came from (see :func:`answer_label`).
PROMPT = "prompt"
RECORDED = "recorded install"
DEFAULT = "default"


NAMED_BY_KEY = (PROMPT, RECORDED, DEFAULT)


def answer_label(source: str, key: str) -> str:
    """How an error names the answer to ``key``: ``FILE: key 'k'`` or ``--set: key 'k'``
    as given; the key alone for a prompt's, a default or a recorded install's answer."""
    return key if source in NAMED_BY_KEY else f"{source}: key {key!r}"


def find_question(questions: Sequence[Question], key: str, source: str) -> Question:
    """The question answered by ``key``; an unknown key lists the known ones."""
    for question in questions:
        if question.key == key:
            return question
    known = ", ".join(q.key for q in questions)
    raise BadInputError(f"{source}: unknown key {quote_prefix(key)}; known keys: {known}")
