"""The Social Media plug-in's display options that the guide lists ("Configuration Options",
"Enabling Emojis in WDE"): regular expressions, Facebook session colours, draft workbins and
the emoji font. Each is checked before it is written; only the font has a documented value."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.numbers import whole_number
from gsetup.options import check_text
from gsetup.state import OptionKey, OptionValue

SECTION = "interaction-workspace"
Kind = Literal["regex", "color", "workbin", "font-name", "font-size"]
# Step 3 and 4 of "Enabling Emojis in WDE": facebook.font-name="Segoe UI Emoji", and the same
# for Twitter; font-size only "if you need to change the default of 14".
EMOJI_FONT = "Segoe UI Emoji"
DEFAULT_FONT_SIZE = 14


@dataclass(frozen=True)
class PluginOption:
    """One option of ``[interaction-workspace]`` and the kind of value it takes."""

    key: str
    kind: Kind


PLUGIN_OPTIONS = {
    o.key: o
    for o in (
        *(PluginOption(f"facebook.{n}-regex", "regex") for n in ("url", "hashtag")),
        *(PluginOption(f"twitter.{n}-regex", "regex") for n in ("url", "hashtag", "mention")),
        *(
            PluginOption(f"facebooksession.background-color-{who}", "color")
            for who in ("agent", "client", "error", "external")
        ),
        *(PluginOption(f"workbin.{family}.draft", "workbin") for family in ("facebook", "twitter")),
        *(PluginOption(f"{family}.font-name", "font-name") for family in ("facebook", "twitter")),
        *(PluginOption(f"{family}.font-size", "font-size") for family in ("facebook", "twitter")),
    )
}

_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
_NAME = re.compile(r"[^\s/\\][^/\\]*")


def plugin_option_values(given: Iterable[str], *, emojis: bool) -> dict[OptionKey, OptionValue]:
    """The plug-in options of ``--set KEY=VALUE`` items, checked; with ``emojis``, both
    font names default to the guide's emoji font."""
    values: dict[str, str] = {}
    if emojis:
        values.update({f"{f}.font-name": EMOJI_FONT for f in ("facebook", "twitter")})
    seen: set[str] = set()
    for item in given:
        key, equals, value = item.partition("=")
        option = PLUGIN_OPTIONS.get(key.strip())
        if option is None or not equals:
            allowed = ", ".join(PLUGIN_OPTIONS)
            raise BadInputError(
                f"--set {quote_prefix(item)} is not allowed; use KEY=VALUE with KEY one of: "
                f"{allowed}"
            )
        if option.key in seen:
            raise BadInputError(f"--set {option.key} given twice; give each key once")
        seen.add(option.key)
        values[option.key] = check_plugin_value(option, value.strip())
    return {(SECTION, key): OptionValue(value) for key, value in values.items()}


def check_plugin_value(option: PluginOption, value: str) -> str:
    """``value`` if ``option`` can take it; an error that says what is allowed."""
    check_text(value, f"[{SECTION}] {option.key}", answer=True)
    where = f"[{SECTION}] {option.key}: {quote_prefix(value)}"
    if option.kind == "regex":
        try:
            # The plug-in runs .NET regular expressions; (?<name>...) is Python's (?P<name>...).
            re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", value))
        except re.error as exc:
            raise BadInputError(f"{where} is not a regular expression ({exc})") from None
        return value
    if option.kind == "color" and not _COLOR.fullmatch(value):
        raise BadInputError(f"{where} is not allowed; use a hexadecimal colour such as #E7F3FF")
    if option.kind == "font-size":
        points = whole_number(value, signed=False)
        if points is None or not 1 <= points <= 400:
            raise BadInputError(
                f"{where} is not allowed; use a whole number of points from 1 to 400 (the "
                f"plug-in's default is {DEFAULT_FONT_SIZE})"
            )
        return str(points)
    if option.kind in ("workbin", "font-name") and not _NAME.fullmatch(value):
        raise BadInputError(f"{where} is not allowed; give a name")
    return value
