"""The emoji picker's business attribute: one value per emoji, its annex
``interaction-workspace/code`` holding the code point (guide, "Enabling Emoji Picker")."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from gsetup.configure.snapshot import Snapshot
from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.state import DesiredObject, OptionValue, object_path

# The guide's example name; facebook.emojis-business-attribute and
# twitter.emojis-business-attribute both name it.
DEFAULT_ATTRIBUTE = "Emojis"
CODE = ("interaction-workspace", "code")
# The guide's own emojis: 1F607, its example of the code format, and 1F610, the one its
# step-by-step procedure creates.
GUIDE_EMOJIS = ("1F607", "1F610")
_HEX = re.compile(r"(?:U\+)?([0-9A-Fa-f]{1,6})")
_SURROGATES = range(0xD800, 0xE000)


@dataclass(frozen=True)
class Emoji:
    """One emoji: its code point in upper-case hex (the value's name) and the tooltip text."""

    code: str
    display_name: str


def check_code(text: str, where: str) -> str:
    """``text`` as a code point in upper-case hex without leading zeros, such as ``1F607``."""
    match = _HEX.fullmatch(text.strip())
    number = int(match.group(1), 16) if match else -1
    if not 0 < number <= 0x10FFFF or number in _SURROGATES:
        raise BadInputError(
            f"{where}: {quote_prefix(text)} is not a Unicode code point in hexadecimal; use one "
            "such as 1F607 (U+1F607 is accepted too)"
        )
    return f"{number:X}"


def guide_emoji(code: str) -> Emoji:
    """An emoji named by its code point, shown with its Unicode character name."""
    name = unicodedata.name(chr(int(code, 16)), code)
    return Emoji(code, name.capitalize())


def load_emojis(path: Path | None) -> tuple[Emoji, ...]:
    """The emoji set of ``path`` or, without one, the guide's.

    The file has one emoji a line: its code point, then optionally, after spaces or a tab, the
    display name (default: the Unicode name). Blank lines and lines starting with ``#`` are
    skipped. UTF-8, with or without a byte-order mark (Windows editors write one).
    """
    if path is None:
        return tuple(guide_emoji(code) for code in GUIDE_EMOJIS)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read the emoji file {path}: {exc}") from exc
    found: dict[str, Emoji] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}, line {number}"
        first, *named = line.split(maxsplit=1)
        rest = named[0] if named else ""
        code = check_code(first, where)
        if code in found:
            raise BadInputError(f"{where}: emoji {code} is listed twice")
        found[code] = Emoji(code, rest.strip()) if rest.strip() else guide_emoji(code)
    if not found:
        raise BadInputError(f"the emoji file {path} lists no emoji; give one code point a line")
    return tuple(found.values())


def emoji_objects(snap: Snapshot, attribute: str, emojis: tuple[Emoji, ...]) -> list[DesiredObject]:
    """The business attribute ``attribute`` (created if missing, else left as it is) and one
    value per emoji. Values not in ``emojis`` are kept."""
    path = object_path("business_attribute", attribute)
    attrs: dict[str, str] = {}
    if attribute not in snap.attributes:
        attrs = {
            "display_name": attribute,
            "description": "Emojis agents can send from the Social Media plug-in's emoji picker.",
            "attr_type": "Custom",
        }
    objects = [DesiredObject("business_attribute", path, attrs)]
    objects.extend(
        DesiredObject(
            "attribute_value",
            object_path("attribute_value", attribute, e.code),
            {"display_name": e.display_name},
            {CODE: OptionValue(e.code)},
        )
        for e in emojis
    )
    return objects
