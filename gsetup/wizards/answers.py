"""Answer files and ``--set``: read them, resolve secret references, write answers back.

Answer files are YAML (ruamel.yaml, comments kept) or, so existing CI can move over, the
``genesys_silent.ini`` response files of Genesys silent installs. Secrets are never written:
in YAML they are references, ``{env: NAME}`` or ``{file: PATH}``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsetup.errors import BadInputError
from gsetup.fileio import ANSWERS_LIMIT, quote_prefix, read_regular, writable, write_atomic
from gsetup.options import check_text
from gsetup.wizards.questions import Question, find_question

SECRET_FILE_LIMIT = 64 * 1024

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
    """Read a YAML answers file or a genesys_silent.ini response file (at most 1 MiB)."""
    raw = read_regular(path, ANSWERS_LIMIT, "answers file")
    if path.suffix.lower() == ".ini":
        return _load_silent_ini(path)
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from gsetup.yamlerrors import TOO_DEEP

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInputError(f"{path}: line {line}: not UTF-8 (save the file as UTF-8)") from None
    try:
        data = YAML(typ="safe").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        cause = exc.problem or exc.context or "not valid YAML"
        raise BadInputError(f"{path}: {where}not valid YAML: {_yaml_cause(cause)}") from None
    except YAMLError as exc:
        raise BadInputError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    except ValueError:  # Python refuses to convert integers of thousands of digits
        raise BadInputError(f"{path}: a number in the file is too long to be an answer") from None
    except RecursionError:
        raise BadInputError(f"{path}: {TOO_DEEP}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: an answers file is a mapping of keys to answers")
    return AnswerSource(str(path), {str(k): v for k, v in data.items()})


def _yaml_cause(problem: str) -> str:
    """ruamel's wording, with what the user should do for the usual causes."""
    if "duplicate key" in problem:
        return f"{problem.split(' with value', maxsplit=1)[0]} (each key once)"
    if "'\\t'" in problem or "\\t" in problem:
        return f"{problem} (indent with spaces, not tabs)"
    return problem


def _load_silent_ini(path: Path) -> AnswerSource:
    from gsetup.options import read_options

    values: dict[str, Any] = {}
    for section, keys in read_options(path).items():
        for key, value in keys.items():
            if (section, key) in SILENT_INI_IGNORED:
                continue
            answer = SILENT_INI_MAP.get((section, key))
            if answer is None:
                known = ", ".join(
                    f"[{s}] {k}" for s, k in sorted({*SILENT_INI_MAP, *SILENT_INI_IGNORED})
                )
                raise BadInputError(f"{path}: unknown key [{section}] {key}; known keys: {known}")
            if value:
                values[answer] = value
    return AnswerSource(str(path), values, clear_secrets=True)


SET_SOURCE = "--set"  # the name of the answers given with --set


def parse_set(items: Sequence[str]) -> AnswerSource:
    """``--set key=value`` items, each key once (which of two should win?)."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--set {quote_prefix(item)}: use --set key=value")
        if key.strip() in values:
            raise BadInputError(f"--set {key.strip()} given twice; give each key once")
        values[key.strip()] = value
    return AnswerSource(SET_SOURCE, values)


def flag_answers(name: str, flags: Mapping[str, str | None], sets: AnswerSource) -> AnswerSource:
    """The answers of flags such as ``--tenant``; a key also given with ``--set`` is refused,
    as one given twice with ``--set`` is: nothing says which should win."""
    given = {key: value for key, value in flags.items() if value is not None}
    for key in given:
        if key in sets.values:
            raise BadInputError(f"--{key} and --set {key} both given; give each key once")
    return AnswerSource(name, given)


def combined(sources: Sequence[AnswerSource]) -> AnswerSource:
    """Every answer ``sources`` give (the first source of a key wins), named by the last:
    the answers file, what a run without prompts is told it lacks."""
    values = {k: v for source in reversed(sources) for k, v in source.values.items()}
    return AnswerSource(sources[-1].name, values)


def check_keys(source: AnswerSource, questions: Sequence[Question]) -> None:
    """Every key of ``source`` must answer one of the questions."""
    for key in source.values:
        find_question(questions, key, source.name)


def secret_reference(raw: Any, source: AnswerSource, key: str) -> tuple[str, str]:
    """The ``(kind, reference)`` of a secret answer: ``env``/``file``, or ``clear`` text
    where the source allows it; anything else is refused."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((kind, ref),) = raw.items()
        if kind in ("env", "file") and isinstance(ref, str) and ref.strip():
            return str(kind), ref
        if kind in ("env", "file"):
            what = "an environment variable's name" if kind == "env" else "a file's path"
            raise BadInputError(f"{source.name}: key {key!r}: {{{kind}: ...}} needs {what}")
        raise BadInputError(
            f"{source.name}: key {key!r}: {{{kind}: ...}} is not a secret reference; "
            "give {env: NAME} or {file: PATH}"
        )
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
        value = os.environ[ref]
    elif kind == "file":
        data = read_regular(Path(ref).expanduser(), SECRET_FILE_LIMIT, f"{where}: secret file")
        try:
            value = data.decode("utf-8").strip("\r\n")
        except UnicodeDecodeError:
            raise BadInputError(f"{where}: secret file {ref} is not UTF-8") from None
    else:
        value = ref
    check_text(value, where, answer=True)  # a secret is stored as an option value: one line of text
    return value


def check_secrets(questions: Sequence[Question], sources: Sequence[AnswerSource]) -> None:
    """Resolve every secret the sources give, asked for or not: a broken one is refused."""
    for source in sources:
        for question in questions:
            if question.secret and question.key in source.values:
                resolve_secret(source.values[question.key], source, question.key)


def check_save_path(path: Path) -> None:
    """``--save-answers`` must name a file this user can write, checked before any change."""
    if path.is_dir():
        raise BadInputError(f"--save-answers {path} is a directory; give a file name")
    parent = path.parent if str(path.parent) else Path()
    if parent.exists() and not parent.is_dir():
        raise BadInputError(f"--save-answers {path}: {parent} is a file, not a directory")
    if not parent.is_dir():
        raise BadInputError(f"--save-answers {path}: the directory {parent} does not exist")
    if not writable(parent):
        raise BadInputError(f"--save-answers {path}: not writable")


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
    yaml.width = sys.maxsize  # a long path stays on its key's line, as a person writes it
    text = io.StringIO()
    yaml.dump(doc, text)
    write_atomic(path, text.getvalue())
