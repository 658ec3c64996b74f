"""JSON Schema (draft 2020-12) of an answers file, generated from the wizard's questions.

The schema says what :meth:`Question.parse` accepts, so an editor (yaml-language-server)
flags what ``gsetup answers check`` would refuse: unknown keys, wrong types, secrets given in
clear, a missing required answer. Choices that need a database (tenants, applications) and
validators (ranges, directories) are left to gsetup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gsetup.wizards.questions import BOOL_WORDS, Question

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def answers_schema(
    title: str,
    questions: Sequence[Question],
    optional: Sequence[Question] = (),
    extra: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The schema of an answers file for ``questions`` (required ones required), the
    ``optional`` questions (login: server databases only) and ``extra`` keys."""
    properties = {q.key: _property(q) for q in (*optional, *questions)}
    properties.update(extra or {})
    return {
        "$schema": DRAFT,
        "title": title,
        "type": "object",
        "properties": properties,
        "required": [q.key for q in questions if q.required],
        "additionalProperties": False,
    }


def _property(question: Question) -> dict[str, Any]:
    schema = {"description": question.help, **_type(question)}
    if question.default is not None and not callable(question.default):
        schema["default"] = question.default
    return schema


def _type(question: Question) -> dict[str, Any]:
    if question.secret:
        return {"oneOf": [_reference("env"), _reference("file")]}
    if question.type == "bool":
        if question.literal:
            return {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}]}
        return {"anyOf": [{"type": "boolean"}, {"enum": [*sorted(BOOL_WORDS), 0, 1]}]}
    choices = None if callable(question.choices) else question.choices
    if choices is not None:
        return {"type": "string", "enum": list(choices)}
    if question.type in ("path", "choice"):
        return {"type": "string", "minLength": 1}
    return {"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]}


def _reference(kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {kind: {"type": "string", "minLength": 1}},
        "required": [kind],
        "additionalProperties": False,
    }
