"""Option files (``.cfg``) as Genesys Administrator Extension imports and exports them.

The format is INI-like: ``[section]`` lines, then ``key=value`` lines, ``#`` or ``;`` comment
lines. gsetup reads it into an ordered ``{section: {key: value}}`` of plain strings and writes
it back; :func:`gsetup.state.options` turns that into desired option values.

Every file is either imported exactly or refused with its name and line number, nothing partial:

- ``#`` and ``;`` start a comment only at the beginning of a line. Inside a value they are text,
  because Genesys option values are free text (``a;b;c`` lists, URL fragments ``page#top``).
  configobj would cut a value at ``#``, so gsetup hands configobj each key line without its
  value: configobj parses the structure (sections, keys, their order, duplicates, malformed
  lines) and gsetup takes the value text itself.
- A value is the text after the first ``=``, without the spaces and tabs around it. A value
  wrapped in one pair of matching quotes (``"..."`` or ``'...'``) loses that one pair: this is how
  leading or trailing spaces are kept, and how the documented ``font-name="Segoe UI Emoji"``
  means ``Segoe UI Emoji``. Any other quote is text. The writer wraps exactly the values that need
  it, so ``write(read(x))`` read again gives the same data.
- UTF-8 only, with or without a byte-order mark; Windows (CRLF) or Unix line endings.
- Refused: keys outside any section, nested ``[[sections]]``, a duplicate section or a duplicate
  key in one section (at the line of the duplicate), a key starting with a quote (configobj
  would take the quotes off), text that is not UTF-8, stray carriage returns, control
  characters other than tab in a value, lines that are neither a section, a key nor a comment.
- Only a regular file of at most 64 MiB is read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup import fileio
from gsetup.errors import BadInputError
from gsetup.fileio import DEL_AND_C1, OPTIONS_LIMIT, not_utf8, read_regular

if TYPE_CHECKING:
    from configobj import ConfigObj

OptionSections = dict[str, dict[str, str]]

_QUOTES = "\"'"
_BLANKS = " \t"
# A single-level section header; configobj then parses the name. Brackets or a leading quote
# inside the name would make configobj read the line as a key, so they are refused here.
_SECTION_LINE = re.compile(r"^\[\s*([^\s\[\]\"'][^\[\]]*?)\s*\]$")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_options(path: Path) -> OptionSections:
    """Read the option file at ``path``; refuse it (BadInputError) unless it reads exactly.

    Only a regular file of at most 64 MiB is read (not a device, a FIFO or a directory).
    """
    return parse_options(read_regular(path, OPTIONS_LIMIT, "option file"), str(path))


# Control characters other than tab: Genesys option values are one line of text. An answer
# holds no C1 control either, as names, nor Unicode's line and paragraph separators (line
# breaks to YAML, JSON readers and editors): an option file's value is kept as it is (an
# export gives it back), an answer is typed.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_ANSWER_CONTROL = re.compile(rf"[\x00-\x08\x0a-\x1f{DEL_AND_C1}\u2028\u2029]")
_LINE_BREAKS = "\r\n\u2028\u2029"


def check_text(value: str, where: str, *, answer: bool = False) -> None:
    """Refuse a value holding a line break, NUL or another control character (tab is text);
    an ``answer`` (answers file, ``--set``, secret) a C1 control or line separator too; and
    text that is not UTF-8 (from the environment or the command line)."""
    undecodable = not_utf8(value)
    if undecodable:
        raise BadInputError(f"{where}: in the value, {undecodable}; gsetup takes UTF-8 text")
    held = control_in(value, answer=answer)
    if held:
        raise BadInputError(
            f"{where}: the value holds {held}; option values are one line of text (tab allowed)"
        )


def control_in(value: str, *, answer: bool = False) -> str | None:
    """The first line break or control character ``value`` holds, as ``check_text`` refuses
    it ('a line break at position 3'), or None."""
    found = (_ANSWER_CONTROL if answer else _CONTROL).search(value)
    if not found:
        return None
    char = found.group()
    what = "a line break" if char in _LINE_BREAKS else f"a control character (U+{ord(char):04X})"
    return f"{what} at position {found.start() + 1}"


def parse_options(data: bytes | str, source: str) -> OptionSections:
    """Parse option-file text; ``source`` names the file in error messages."""
    text = _decode(data, source) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    lines = text.split("\n")
    if "\r" in text:
        lines = _without_carriage_returns(lines, source)
    masked, values, first = _mask_values(lines, source)
    return _build_sections(masked, values, first, lines, source)


def format_options(sections: Mapping[str, Mapping[str, str]]) -> str:
    """Render ``{section: {key: value}}`` as option-file text that reads back identically."""
    blocks = []
    for section, keys in sections.items():
        _check_section_name(section)
        lines = [f"[{section}]"]
        for key, value in keys.items():
            _check_key(section, key)
            lines.append(f"{key}={format_value(section, key, value)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write_options(
    path: Path, sections: Mapping[str, Mapping[str, str]], *, refuse_terminal: str = ""
) -> None:
    """Write an option file (UTF-8, no byte-order mark, mode 0600), replaced atomically; a
    terminal is refused when ``refuse_terminal`` gives why."""
    text = format_options(sections)
    if path.is_dir():
        raise BadInputError(f"{path} is a directory; give the option file's name")
    if not path.parent.is_dir():  # an export makes no directories
        raise BadInputError(f"{path}: cannot write the option file: {_no_directory(path)}")
    try:
        # 0600: it may hold secrets
        fileio.write_atomic(path, text, mode=0o600, refuse_terminal=refuse_terminal)
    except OSError as exc:
        raise BadInputError(f"{path}: cannot write the option file: {exc.strerror}") from None


def _no_directory(path: Path) -> str:
    """Why ``path``'s directory is not there: a file stands in its way, or it is missing."""
    blocker = fileio.not_a_directory(path.parent, "the option file's directory")
    if blocker is not None:
        return f"{blocker} is not a directory"
    return f"the directory {path.parent} does not exist"  # as --save-answers says it


def format_value(section: str, key: str, value: str) -> str:
    """The text to write after ``key=`` so that reading it gives back ``value`` exactly."""
    check_text(value, f"[{section}] {key}")
    wrapped = len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTES
    if value != value.strip(_BLANKS) or wrapped:
        quote = "'" if '"' in (value[0], value[-1]) else '"'
        return f"{quote}{value}{quote}"
    return value


def _decode(data: bytes, source: str) -> str:
    if data.startswith(_UTF16_BOMS):
        raise BadInputError(f"{source}: the file is UTF-16; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInputError(f"{source}, line {line}: the text is not UTF-8") from exc


def _without_carriage_returns(lines: list[str], source: str) -> list[str]:
    """Lines without their Windows (CRLF) endings; a carriage return anywhere else is refused
    (after any error on an earlier line: errors are reported in file order)."""
    stripped = [line.removesuffix("\r") for line in lines]
    for number, line in enumerate(stripped, 1):
        if "\r" in line:
            _mask_values(stripped[: number - 1], source)
            raise BadInputError(f"{source}, line {number}: stray carriage return in the line")
    return stripped


def _mask_values(lines: list[str], source: str) -> tuple[list[str], list[str], int]:
    """Lines for configobj with every value removed, the values in file order, and the line
    number of the first value (0 if there is none)."""
    masked: list[str] = []
    values: list[str] = []
    first = 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            masked.append("")  # comments are not kept: option rows have no place for them
        elif stripped[0] == "[":
            if stripped.startswith("[["):
                raise BadInputError(
                    f"{source}, line {number}: nested sections ([[...]]) are not allowed in an "
                    "option file"
                )
            if not _SECTION_LINE.match(stripped):
                raise BadInputError(
                    f"{source}, line {number}: malformed section header; a section line holds "
                    "only [name], without brackets or a leading quote inside the name"
                )
            masked.append(stripped)
        elif "=" in line:
            key, _, raw = line.partition("=")
            if not key.strip():
                raise BadInputError(f"{source}, line {number}: no key before '='")
            if key.lstrip()[0] in _QUOTES:  # configobj would unquote it: not imported exactly
                raise BadInputError(
                    f"{source}, line {number}: a key cannot start with a quote; write the key "
                    "without quotes"
                )
            masked.append(key + "=")
            value = raw.strip(_BLANKS)
            check_text(value, f"{source}, line {number}")
            if len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTES:
                value = value[1:-1]  # one pair of matching quotes keeps surrounding blanks
            values.append(value)
            first = first or number
        else:
            raise BadInputError(
                f"{source}, line {number}: expected [section], key=value or a comment"
            )
    return masked, values, first


def _build_sections(
    masked: list[str], values: list[str], first: int, lines: list[str], source: str
) -> OptionSections:
    """configobj parses the structure; each key it finds takes the next value in file order,
    since every key line becomes exactly one key (duplicates and nesting are refused)."""
    from configobj import ConfigObjError, DuplicateError

    try:
        parsed = _structure_parser()(
            masked, list_values=False, interpolation=False, raise_errors=True, encoding=None
        )
    except DuplicateError as exc:
        raise BadInputError(
            f"{source}, line {exc.line_number}: duplicate {_what(lines, exc.line_number - 1)}"
        ) from exc
    except ConfigObjError as exc:
        raise BadInputError(
            f"{source}, line {exc.line_number}: expected [section], key=value or a comment"
        ) from exc
    if parsed.scalars:  # keys before the first section
        raise BadInputError(f"{source}, line {first}: key outside any [section]")
    sections: OptionSections = {}
    start = 0
    for name in parsed.sections:
        keys = dict.keys(parsed[name])  # the raw dict: Section.__getitem__ is slow
        sections[name] = dict(zip(keys, values[start : start + len(keys)], strict=True))
        start += len(keys)
    assert start == len(values), "configobj found fewer keys than there are key lines"
    return sections


@functools.cache
def _structure_parser() -> type[ConfigObj]:
    """configobj's parser, for the lines :func:`_mask_values` hands it.

    Their values are taken out, and their keys and section names were checked not to start
    with a quote, so configobj's value splitting and unquoting have nothing to do: skipping
    them saves a sixth of the parse. (Defined on first use: configobj loads only when a file
    is read.)
    """
    from configobj import ConfigObj

    class StructureOnly(ConfigObj):  # type: ignore[misc]
        def _handle_value(self, value: str) -> tuple[str, str]:
            return value, ""

        def _unquote(self, value: str) -> str:
            return value

    return StructureOnly


def _what(lines: list[str], index: int) -> str:
    """Name the section or key on ``lines[index]``, for a duplicate."""
    match = _SECTION_LINE.match(lines[index].strip())
    if match:
        return f"section [{match.group(1)}]"
    key = lines[index].partition("=")[0].strip()
    for line in reversed(lines[:index]):
        header = _SECTION_LINE.match(line.strip())
        if header:
            return f"key {key!r} in section [{header.group(1)}]"
    return f"key {key!r}"


def _check_section_name(section: str) -> None:
    if not section or not _SECTION_LINE.match(f"[{section}]") or section != section.strip():
        raise BadInputError(
            f"section name {section!r} cannot be written to an option file: it must be "
            "non-empty, without brackets, line breaks, surrounding spaces or a leading quote"
        )


def _check_key(section: str, key: str) -> None:
    bad = (
        not key
        or key != key.strip()
        or "=" in key
        or "\n" in key
        or "\r" in key
        or key[0] in "[#;" + _QUOTES
    )
    if bad:
        raise BadInputError(
            f"[{section}] key {key!r} cannot be written to an option file: it must be "
            "non-empty, without '=', line breaks or surrounding spaces, and not start with "
            "[ # ; or a quote"
        )
