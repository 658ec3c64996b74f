"""Answer files and ``--set``: read them, resolve secret references, write answers back.

Answer files are YAML (ruamel.yaml, comments kept) or, so existing CI can move over, the
``genesys_silent.ini`` response files of Genesys silent installs. Secrets are never written:
in YAML they are references, ``{env: NAME}`` or ``{file: PATH}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsetup.errors import BadInputError
from gsetup.wizards.questions import Question, find_question

# genesys_silent.ini keys and the answer keys they map to (docs/answers.md).
SILENT_INI_MAP = {
    ("ConfigServer", "User"): "user",
    ("ConfigServer", "Password"): "password",
    ("IPCommon", "InstallPath"): "install_home",
}
# Keys of the Genesys installer that name its own Configuration Server login; gsetup's
# database is --db / GSETUP_DB, so they are accepted and not used.
SILENT_INI_IGNORED = {
    ("ConfigServer", "Host"),
    ("ConfigServer", "Port"),
    ("ConfigServer", "ApplicationName"),
    ("IPCommon", "DataModel"),
}


@dataclass
class AnswerSource:
    """Raw answers from one place; ``clear_secrets`` allows secrets given as plain text."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    clear_secrets: bool = False


def load_answers_file(path: Path) -> AnswerSource:
    """Read a YAML answers file or a genesys_silent.ini response file."""
    if not path.is_file():
        raise BadInputError(f"{path}: no such answers file")
    if path.suffix.lower() == ".ini":
        return _load_silent_ini(path)
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: an answers file is a mapping of keys to answers")
    return AnswerSource(str(path), {str(k): v for k, v in data.items()})


def _load_silent_ini(path: Path) -> AnswerSource:
    from gsetup.options import read_options

    values: dict[str, Any] = {}
    for section, keys in read_options(path).items():
        for key, value in keys.items():
            if (section, key) in SILENT_INI_IGNORED:
                continue
            answer = SILENT_INI_MAP.get((section, key))
            if answer is None:
                known = ", ".join(f"[{s}] {k}" for s, k in (*SILENT_INI_MAP, *SILENT_INI_IGNORED))
                raise BadInputError(f"{path}: unknown key [{section}] {key}; known keys: {known}")
            if value:
                values[answer] = value
    return AnswerSource(str(path), values, clear_secrets=True)


def parse_set(items: Sequence[str]) -> AnswerSource:
    """``--set key=value`` items."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--set {item!r}: use --set key=value")
        values[key.strip()] = value
    return AnswerSource("--set", values)


def check_keys(source: AnswerSource, questions: Sequence[Question]) -> None:
    """Every key of ``source`` must answer one of the questions."""
    for key in source.values:
        find_question(questions, key, source.name)


def secret_reference(raw: Any, source: AnswerSource, key: str) -> tuple[str, str]:
    """The ``(kind, reference)`` of a secret answer: ``env``/``file``, or ``clear`` text
    where the source allows it; anything else is refused."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((kind, ref),) = raw.items()
        if kind in ("env", "file"):
            return str(kind), str(ref)
    if isinstance(raw, str) and source.clear_secrets:
        return "clear", raw
    raise BadInputError(
        f"{source.name}: key {key!r}: give a secret as {{env: NAME}} or {{file: PATH}}, never "
        "the value itself"
    )


def resolve_secret(raw: Any, source: AnswerSource, key: str) -> str:
    """A secret from ``{env: NAME}`` or ``{file: PATH}`` (plain text only where allowed)."""
    kind, ref = secret_reference(raw, source, key)
    where = f"{source.name}: key {key!r}"
    if kind == "env":
        if ref not in os.environ:
            raise BadInputError(f"{where}: environment variable {ref} is not set")
        return os.environ[ref]
    if kind == "file":
        try:
            return Path(ref).expanduser().read_text(encoding="utf-8").strip("\r\n")
        except OSError as exc:
            raise BadInputError(f"{where}: cannot read {ref}: {exc.strerror}") from None
    return ref


def save_answers(path: Path, questions: Sequence[Question], answers: Mapping[str, Any]) -> None:
    """Write ``answers`` as YAML with each question's help as a comment; secrets left out."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    doc = CommentedMap()
    for question in questions:
        if question.key not in answers:
            continue
        if question.secret:
            continue
        doc[question.key] = answers[question.key]
        doc.yaml_set_comment_before_after_key(question.key, before=question.help)
    secrets = [q for q in questions if q.secret and q.key in answers]
    if secrets:
        names = ", ".join(q.key for q in secrets)
        doc.yaml_set_start_comment(
            f"Secrets ({names}) are not saved: add them as {{env: NAME}} or {{file: PATH}}."
        )
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        yaml.dump(doc, handle)
    os.replace(tmp, path)
