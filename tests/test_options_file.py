"""Option files: every awkward case is imported exactly or refused with its line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsetup.errors import BadInputError
from gsetup.options import format_options, parse_options, read_options, write_options
from gsetup.state import OptionValue, options

# A Digital Messaging Server export as GAX writes it, after a user's hand edits.
GAX_EXPORT = """\
; Exported from Genesys Administrator Extension
# Application: DMS_1
[channel-facebook]
driver-classname=com.genesyslab.mcr.smserver.channel.facebook.FacebookDriver
inbound-route=101:facebook_queue,101:facebook_session
gsa-url-base = socialanalytics.genesyscloud.com/api/v2.0
gsa-api-key=
x-inbound-media=facebook
  ; an indented comment
[endpoints:101]
facebook_queue=Facebook Inbound Queue
"""


def _refused(text: str | bytes, line: int, words: str) -> None:
    with pytest.raises(BadInputError) as caught:
        parse_options(text, "dms.cfg")
    message = str(caught.value)
    assert message.startswith(f"dms.cfg, line {line}: "), message
    assert words in message


def test_a_gax_export_reads_in_order_with_comments_dropped() -> None:
    parsed = parse_options(GAX_EXPORT, "dms.cfg")
    assert list(parsed) == ["channel-facebook", "endpoints:101"]
    assert list(parsed["channel-facebook"].items()) == [
        ("driver-classname", "com.genesyslab.mcr.smserver.channel.facebook.FacebookDriver"),
        ("inbound-route", "101:facebook_queue,101:facebook_session"),
        ("gsa-url-base", "socialanalytics.genesyscloud.com/api/v2.0"),
        ("gsa-api-key", ""),
        ("x-inbound-media", "facebook"),
    ]
    assert parsed["endpoints:101"] == {"facebook_queue": "Facebook Inbound Queue"}


def test_hash_semicolon_and_equals_inside_values_are_text() -> None:
    text = (
        "[interaction-workspace]\n"
        "facebook.url-regex=https?://\\S+#\\w+\n"
        "contact.history.media-filters=facebook;twitter;twitterdirect\n"
        "help-page=http://intranet/social#top ; see section 2\n"
        "expression=a=b==c\n"
        "hash-only=#\n"
    )
    assert parse_options(text, "wde.cfg")["interaction-workspace"] == {
        "facebook.url-regex": "https?://\\S+#\\w+",
        "contact.history.media-filters": "facebook;twitter;twitterdirect",
        "help-page": "http://intranet/social#top ; see section 2",
        "expression": "a=b==c",
        "hash-only": "#",
    }


def test_quotes_one_wrapping_pair_is_removed_other_quotes_are_text() -> None:
    text = (
        "[interaction-workspace]\n"
        'twitter.font-name="Segoe UI Emoji"\n'
        "padded='  two spaces each side  '\n"
        "inner=say \"hi\" to 'them'\n"
        'open-only="unterminated\n'
        "mixed=\"a'\n"
        'wrapped-twice=""inner""\n'
        'empty-quoted=""\n'
    )
    assert parse_options(text, "wde.cfg")["interaction-workspace"] == {
        "twitter.font-name": "Segoe UI Emoji",
        "padded": "  two spaces each side  ",
        "inner": "say \"hi\" to 'them'",
        "open-only": '"unterminated',
        "mixed": "\"a'",
        "wrapped-twice": '"inner"',
        "empty-quoted": "",
    }


def test_quotes_inside_or_ending_keys_and_section_names_are_text() -> None:
    text = "[a'b\"]\nk\"=1\nsay'what'=2\n"
    data = parse_options(text, "x.cfg")
    assert data == {"a'b\"": {'k"': "1", "say'what'": "2"}}
    assert parse_options(format_options(data), "x.cfg") == data


def test_empty_values_and_empty_sections_are_kept() -> None:
    parsed = parse_options("[a]\nk=\nl =   \n[b]\n", "x.cfg")
    assert parsed == {"a": {"k": "", "l": ""}, "b": {}}


def test_utf8_text_with_a_byte_order_mark_and_windows_line_endings() -> None:
    data = "\ufeff[channel-twitter]\r\ngsa-channel-name=Café \u2013 Twitter Service ✓\r\n".encode()
    assert parse_options(data, "x.cfg") == {
        "channel-twitter": {"gsa-channel-name": "Café \u2013 Twitter Service ✓"}
    }


def test_unicode_line_separators_inside_a_value_do_not_split_the_line() -> None:
    assert parse_options("[a]\nk=one\u2028two\x85three\n", "x.cfg") == {
        "a": {"k": "one\u2028two\x85three"}
    }


def test_an_empty_file_has_no_sections() -> None:
    assert parse_options(b"", "x.cfg") == {}


def test_duplicate_key_refused_at_the_line_of_the_duplicate() -> None:
    _refused(
        "[channel-facebook]\npassword=a\n# again\npassword=b\n",
        4,
        "duplicate key 'password' in section [channel-facebook]",
    )


def test_the_same_key_in_two_sections_is_fine() -> None:
    assert parse_options("[a]\nk=1\n[b]\nk=2\n", "x.cfg") == {"a": {"k": "1"}, "b": {"k": "2"}}


def test_duplicate_section_refused_at_the_line_of_the_duplicate() -> None:
    _refused("[a]\nk=1\n[b]\n\n[a]\nl=2\n", 5, "duplicate section [a]")


def test_key_outside_any_section_refused() -> None:
    _refused("# header\nk=v\n[a]\n", 2, "key outside any [section]")


def test_nested_section_refused() -> None:
    _refused("[a]\nk=v\n[[b]]\nl=w\n", 3, "nested sections")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[a]\njust words\n", 2, "expected [section], key=value or a comment"),
        ("[a]\n=value\n", 2, "no key before '='"),
        ("[a\nk=v\n", 1, "malformed section header"),
        ("[a] # trailing comment\n", 1, "malformed section header"),
        ("[ ]\n", 1, "malformed section header"),
        ('[a]\n"k=v\n', 2, "a key cannot start with a quote"),
        ('[a]\n"my key"=1\n', 2, "a key cannot start with a quote"),
        ("[a]\nx=1\n  'k'=c\n", 3, "a key cannot start with a quote"),
        ("[a]\nk=v\rl=w\n", 2, "stray carriage return"),
        ("[a]\njust words\nk=v\rl=w\n", 2, "expected [section], key=value or a comment"),
    ],
)
def test_malformed_lines_refused(text: str, line: int, words: str) -> None:
    _refused(text, line, words)


def test_text_that_is_not_utf8_refused_with_its_line() -> None:
    _refused(b"[a]\nk=ok\nname=Caf\xe9\n", 3, "not UTF-8")


def test_utf16_refused_with_advice() -> None:
    with pytest.raises(BadInputError, match="UTF-16; save it as UTF-8"):
        parse_options("[a]\n".encode("utf-16"), "x.cfg")


def test_a_secret_value_never_appears_in_an_error() -> None:
    with pytest.raises(BadInputError) as caught:
        parse_options("[a]\npassword=s3cret!\npassword=s3cret!\n", "x.cfg")
    assert "s3cret" not in str(caught.value)


AWKWARD = {
    "channel-facebook": {
        "driver-classname": "com.genesyslab.mcr.smserver.channel.facebook.FacebookDriver",
        "equals": "a=b",
        "hash": "page#top",
        "semicolon": "a;b;c",
        "leading": "  leading",
        "trailing": "trailing\t",
        "double": '"quoted"',
        "single": "'quoted'",
        "ends-with-quote": 'x"',
        "quote-only": '"',
        "both-quotes": "\"'",
        "empty": "",
        "non-ascii": "Grüße 👋 日本",
    },
    "endpoints:101": {},
    "interaction-workspace": {"twitter.font-name": "Segoe UI Emoji"},
}


def test_writing_then_reading_gives_identical_data() -> None:
    text = format_options(AWKWARD)
    assert parse_options(text, "x.cfg") == AWKWARD
    assert parse_options(format_options(parse_options(text, "x.cfg")), "x.cfg") == AWKWARD


def test_plain_values_are_written_as_gax_writes_them() -> None:
    text = format_options({"a": {"k": "v w", "l": "", "m": "  x"}, "b": {}})
    assert text == '[a]\nk=v w\nl=\nm="  x"\n\n[b]\n'


def test_write_options_to_a_file_round_trips(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "dms.cfg"
    write_options(path, AWKWARD)
    assert read_options(path) == AWKWARD
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_read_options_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"option file .*missing\.cfg: no such file"):
        read_options(tmp_path / "missing.cfg")


@pytest.mark.parametrize(
    ("sections", "words"),
    [
        ({"a": {"k": "two\nlines"}}, "line break"),
        ({"a": {"k": "carriage\rreturn"}}, "line break"),
        ({"a": {"k=": "v"}}, "cannot be written"),
        ({"a": {" k": "v"}}, "cannot be written"),
        ({"a": {"#k": "v"}}, "cannot be written"),
        ({"a": {"": "v"}}, "cannot be written"),
        ({"a]": {}}, "cannot be written"),
        ({"": {}}, "cannot be written"),
        ({" a": {}}, "cannot be written"),
    ],
)
def test_unwritable_data_refused(sections: dict[str, dict[str, str]], words: str) -> None:
    with pytest.raises(BadInputError, match=words):
        format_options(sections)


def test_parsed_sections_feed_desired_options_without_overwrite() -> None:
    parsed = parse_options("[channel-twitter]\npassword=x\ncompliance-enabled=true\n", "t.cfg")
    desired = options(parsed, overwrite=False, secret_keys={"password"})
    assert desired == {
        ("channel-twitter", "password"): OptionValue("x", overwrite=False, secret=True),
        ("channel-twitter", "compliance-enabled"): OptionValue("true", overwrite=False),
    }


def test_the_documented_example_reads_as_documented() -> None:
    from ruamel.yaml import YAML

    docs = (Path(__file__).parent.parent / "docs" / "options.md").read_text(encoding="utf-8")
    example, expected = (block.split("\n", 1)[1] for block in docs.split("```")[1:4:2])
    assert parse_options(example, "docs/options.md") == YAML(typ="safe").load(expected)
