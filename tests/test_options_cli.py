"""``gsetup options``: option files into applications that already hold values, export round
trips, single options on applications and annexes, and secrets that are never printed."""

from __future__ import annotations

import io
import json
import re
import shlex
import stat
from pathlib import Path

import pytest

from gsetup.errors import EXIT_BAD_INPUT, EXIT_CHANGES_PENDING, EXIT_OK
from gsetup.plan.model import MASK
from tests.helpers import in_a_terminal, run_cli, snapshot, sql_rows

REPO_ROOT = Path(__file__).parent.parent
Rows = dict[tuple[str, str], tuple[str, bool]]

# A DMS export from GAX after hand edits, with every awkward case the reader accepts. It is
# written with a byte-order mark and Windows line endings.
DMS_FILE = """\
; Digital Messaging Server DMS_1, exported from Genesys Administrator Extension
# hand-edited for the Facebook channel
[channel-facebook]
driver-classname=com.genesyslab.mcr.smserver.channel.facebook.FacebookDriver
inbound-route=101:facebook_queue
gsa-url-base = socialanalytics.genesyscloud.com/api/v2.0
gsa-api-key=
x-help-page=http://intranet/social#top
x-media-filters=facebook;facebookprivatemessage;facebooksession
x-equation=a=b==c
x-greeting="  Bonjour, ça va ?  "
x-quote=say "hi"
x-label=Réseaux sociaux — ソーシャル
  ; an indented comment
[endpoints:101]
facebook_queue=Facebook Inbound Queue
facebook_session=Facebook Session Queue

[settings]
x-inbound-media=facebook,facebookprivatemessage
"""
# What the application holds before the import: two values differ from the file, one is equal.
HELD = {
    ("channel-facebook", "inbound-route"): "101:my_facebook_queue",
    ("endpoints:101", "facebook_queue"): "My Facebook Queue",
    ("settings", "x-inbound-media"): "facebook,facebookprivatemessage",
    ("log", "verbose"): "all",
}
FROM_FILE = {
    ("channel-facebook", "driver-classname"): (
        "com.genesyslab.mcr.smserver.channel.facebook.FacebookDriver"
    ),
    ("channel-facebook", "gsa-url-base"): "socialanalytics.genesyscloud.com/api/v2.0",
    ("channel-facebook", "gsa-api-key"): "",
    ("channel-facebook", "x-help-page"): "http://intranet/social#top",
    ("channel-facebook", "x-media-filters"): "facebook;facebookprivatemessage;facebooksession",
    ("channel-facebook", "x-equation"): "a=b==c",
    ("channel-facebook", "x-greeting"): "  Bonjour, ça va ?  ",
    ("channel-facebook", "x-quote"): 'say "hi"',
    ("channel-facebook", "x-label"): "Réseaux sociaux — ソーシャル",
    ("endpoints:101", "facebook_session"): "Facebook Session Queue",
}
# Workspace Desktop options (interaction-workspace), for the export round trip.
WORKSPACE_FILE = """\
[interaction-workspace]
twitter.font-name="Segoe UI Emoji"
facebook.ux.comment-list-page-size=25
interaction.case-data.format-business-attribute=Business Attributes/Case Data
keyboard.shortcut.interaction.twitter.reply=Ctrl+Shift+R ; not a comment
toast.window-title=Nouvelle interaction : $Contact.FirstName$
spaces="'quoted'"
padding='  x  '
empty=
[KPIs]
kpi.facebook=Facebook réponses/heure
"""


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans are read line by line: keep rich from cutting them at 80 columns."""
    monkeypatch.setenv("COLUMNS", "250")


def options_of(url: str, path: str) -> Rows:
    """The option rows of the object at ``path`` in tenant Environment, read with SQL."""
    rows = sql_rows(
        url,
        "SELECT o.section, o.key, o.value, o.secret FROM cfg_option o "
        "JOIN cfg_object c ON c.id = o.object_id "
        "JOIN tenant t ON t.id = c.tenant_id "
        "WHERE t.name = 'Environment' AND c.path = :path",
        {"path": path},
    )
    return {(str(s), str(k)): (str(v), bool(secret)) for s, k, v, secret in rows}


def app_options(url: str, app: str) -> Rows:
    """The option rows of application ``app``."""
    return options_of(url, f"Applications/{app}")


def _ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == EXIT_OK, result.stderr
    return result.stdout


def _app(name: str, app_type: str = "DigitalMessagingServer") -> None:
    _ok("app", "create", name, "--type", app_type)


def _dms_with_values(tmp_path: Path) -> Path:
    _app("DMS_1")
    held = tmp_path / "held.cfg"
    sections: dict[str, dict[str, str]] = {}
    for (section, key), value in HELD.items():
        sections.setdefault(section, {})[key] = value
    from gsetup.options import write_options

    write_options(held, sections)
    _ok("options", "import", str(held), "--app", "DMS_1")
    dms = tmp_path / "dms_1.cfg"
    dms.write_bytes(b"\xef\xbb\xbf" + DMS_FILE.replace("\n", "\r\n").encode("utf-8"))
    return dms


def test_import_keeps_held_values_and_adds_the_rest(db_url: str, tmp_path: Path) -> None:
    dms = _dms_with_values(tmp_path)
    before = app_options(db_url, "DMS_1")

    dry = run_cli("options", "import", str(dms), "--app", "DMS_1", "--dry-run", "--json")
    assert dry.exit_code == EXIT_OK, dry.stderr
    assert app_options(db_url, "DMS_1") == before
    changes = {(c["section"], c["key"]): c for c in dry.json()["changes"] if "key" in c}
    kept = changes[("endpoints:101", "facebook_queue")]
    assert kept["action"] == "keep" and kept["before"] == "My Facebook Queue"
    assert "'Facebook Inbound Queue'" in kept["note"]
    # The key held with the file's value is counted, not listed.
    assert ("settings", "x-inbound-media") not in changes
    assert dry.json()["unchanged_options"] == 1
    assert {k for k, c in changes.items() if c["action"] == "create"} == set(FROM_FILE)
    listed = run_cli("options", "import", str(dms), "--app", "DMS_1", "--dry-run", "--all")
    assert "= keep   1 option(s) already as desired" in listed.stdout
    unlisted = run_cli("options", "import", str(dms), "--app", "DMS_1", "--dry-run")
    assert "already as desired" not in unlisted.stdout

    text = _ok("options", "import", str(dms), "--app", "DMS_1")
    assert (
        "= keep   Environment/Applications/DMS_1 [channel-facebook] inbound-route  "
        "kept '101:my_facebook_queue'  (existing value kept; not overwritten with "
        "'101:facebook_queue')"
    ) in text
    assert "10 to create, 0 to update, 0 to delete, 4 unchanged" in text
    rows = app_options(db_url, "DMS_1")
    for key, value in HELD.items():
        assert rows[key] == (value, False), key
    for key, value in FROM_FILE.items():
        assert rows[key] == (value, key[1] == "gsa-api-key"), key
    assert len(rows) == len(HELD) + len(FROM_FILE)

    state = snapshot(db_url)
    again = run_cli(
        "options", "import", str(dms), "--app", "DMS_1", "--dry-run", "--detailed-exitcode"
    )
    assert again.exit_code == EXIT_OK, again.stdout
    assert "0 to create, 0 to update, 0 to delete, 14 unchanged" in _ok(
        "options", "import", str(dms), "--app", "DMS_1"
    )
    assert snapshot(db_url) == state
    history = run_cli("history", "--json").json()
    assert [h["operation"] for h in history].count("options import") == 2


def test_overwrite_replaces_held_values(db_url: str, tmp_path: Path) -> None:
    dms = _dms_with_values(tmp_path)
    dry = run_cli(
        "options",
        "import",
        str(dms),
        "--app",
        "DMS_1",
        "--overwrite",
        "--dry-run",
        "--detailed-exitcode",
    )
    assert dry.exit_code == EXIT_CHANGES_PENDING
    assert "'101:my_facebook_queue' -> '101:facebook_queue'" in dry.stdout
    _ok("options", "import", "--yes", str(dms), "--app", "DMS_1", "--overwrite")
    rows = app_options(db_url, "DMS_1")
    assert rows[("channel-facebook", "inbound-route")] == ("101:facebook_queue", False)
    assert rows[("endpoints:101", "facebook_queue")] == ("Facebook Inbound Queue", False)
    assert rows[("log", "verbose")] == ("all", False)  # not in the file: untouched
    assert all(rows[key][0] == value for key, value in FROM_FILE.items())


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "[channel-facebook]\r\ninbound-route=101:a\r\ninbound-route=101:b\r\n",
            3,
            "duplicate key 'inbound-route' in section [channel-facebook]",
        ),
        (
            "; DMS\n[endpoints:101]\na=1\n[channel-twitter]\nb=2\n[endpoints:101]\nc=3\n",
            6,
            "duplicate section [endpoints:101]",
        ),
        (
            "\ufeffpassword=secret-in-clear\n[channel-facebook]\na=1\n",
            1,
            "key outside any [section]",
        ),
        ("[channel-facebook]\nx-label=Réseaux\n[[nested]]\n", 3, "nested sections"),
    ],
)
def test_a_refused_file_writes_nothing(
    db_url: str, tmp_path: Path, text: str, line: int, words: str
) -> None:
    dms = _dms_with_values(tmp_path)
    _ok("options", "import", str(dms), "--app", "DMS_1")
    bad = tmp_path / "bad.cfg"
    bad.write_text(text, encoding="utf-8")
    before = snapshot(db_url)
    result = run_cli("options", "import", "--yes", str(bad), "--app", "DMS_1", "--overwrite")
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{bad}, line {line}: {words}" in result.stderr
    assert "secret-in-clear" not in result.stderr
    assert snapshot(db_url) == before


def test_export_then_import_into_an_empty_application(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_KEY_FOR_TEST", "k-1;#x=")
    dms = _dms_with_values(tmp_path)
    _ok("options", "import", str(dms), "--app", "DMS_1")
    workspace = tmp_path / "workspace.cfg"
    workspace.write_text(WORKSPACE_FILE, encoding="utf-8")
    _ok("options", "import", str(workspace), "--app", "DMS_1")
    _ok(
        "options",
        "set",
        "--app",
        "DMS_1",
        "channel-facebook/gsa-api-key",
        "--value-env",
        "HUB_KEY_FOR_TEST",
        "--secret",
    )
    source = app_options(db_url, "DMS_1")
    assert source[("channel-facebook", "gsa-api-key")] == ("k-1;#x=", True)
    _ok(
        "options", "set", "--app", "DMS_1", "x/token", "--value-env", "HUB_KEY_FOR_TEST", "--secret"
    )

    backup = tmp_path / "backup.cfg"
    assert _ok("options", "export", "--app", "DMS_1", "--include-secrets", "-o", str(backup)) == ""
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert "k-1;#x=" in backup.read_text(encoding="utf-8")

    _app("DMS_2")
    _ok("options", "import", str(backup), "--app", "DMS_2", "--secret-key", "token")
    assert app_options(db_url, "DMS_2") == app_options(db_url, "DMS_1")
    assert len(app_options(db_url, "DMS_2")) == len(HELD) + len(FROM_FILE) + 10


def test_export_masks_secrets_and_import_refuses_the_mask(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_PASSWORD_FOR_TEST", "pa55word;#")
    _app("DMS_1")
    _ok(
        "options",
        "set",
        "--app",
        "DMS_1",
        "channel-facebook/password",
        "--value-env",
        "HUB_PASSWORD_FOR_TEST",
    )
    _ok("options", "set", "--app", "DMS_1", "channel-facebook/gsa-account-name", "Acme")
    shown = _ok("options", "export", "--app", "DMS_1")
    assert shown == f"[channel-facebook]\npassword={MASK}\ngsa-account-name=Acme\n"

    refused = run_cli("options", "export", "--app", "DMS_1", "--include-secrets")
    assert refused.exit_code == EXIT_BAD_INPUT and "give --output" in refused.stderr
    assert refused.stdout == ""

    masked = tmp_path / "masked.cfg"
    _ok("options", "export", "--app", "DMS_1", "--output", str(masked))
    _app("DMS_2")
    before = snapshot(db_url)
    for app in ("DMS_1", "DMS_2"):
        result = run_cli("options", "import", "--yes", str(masked), "--app", app, "--overwrite")
        assert result.exit_code == EXIT_BAD_INPUT
        assert "[channel-facebook] password holds ********" in result.stderr
    assert snapshot(db_url) == before
    assert app_options(db_url, "DMS_1")[("channel-facebook", "password")] == ("pa55word;#", True)


def test_get_set_unset_on_an_application(db_url: str) -> None:
    _app("DMS_1")
    name = "endpoints:101/facebook_queue"
    dry = run_cli(
        "options",
        "set",
        "--app",
        "DMS_1",
        name,
        "Facebook Inbound Queue",
        "--dry-run",
        "--detailed-exitcode",
        "--json",
    )
    assert dry.exit_code == EXIT_CHANGES_PENDING and dry.json()["applied"] is False
    assert app_options(db_url, "DMS_1") == {}
    _ok("options", "set", "--app", "DMS_1", name, "Facebook Inbound Queue")
    again = run_cli(
        "options",
        "set",
        "--app",
        "DMS_1",
        name,
        "Facebook Inbound Queue",
        "--dry-run",
        "--detailed-exitcode",
    )
    assert again.exit_code == EXIT_OK and "Nothing to change" in again.stdout
    assert _ok("options", "get", "--app", "DMS_1", name) == "Facebook Inbound Queue\n"
    assert run_cli("options", "get", "--app", "DMS_1", name, "--json").json() == {
        "tenant": "Environment",
        "path": "Environment/Applications/DMS_1",
        "section": "endpoints:101",
        "key": "facebook_queue",
        "value": "Facebook Inbound Queue",
        "secret": False,
    }
    # split at the first '/': the value may hold any text
    _ok("options", "set", "--app", "DMS_1", "channel-facebook/x-page", "a/b=c #d")
    assert app_options(db_url, "DMS_1")[("channel-facebook", "x-page")] == ("a/b=c #d", False)

    assert "1 to delete" in _ok("options", "unset", "--yes", "--app", "DMS_1", name)
    assert "Nothing to change" in _ok("options", "unset", "--yes", "--app", "DMS_1", name)
    missing = run_cli("options", "get", "--app", "DMS_1", name)
    assert missing.exit_code == EXIT_BAD_INPUT
    assert "no option 'endpoints:101/facebook_queue' on application 'DMS_1'" in missing.stderr


def _media_type_facebook(url: str) -> None:
    from gsetup.context import connect
    from gsetup.plan.run import run_plan
    from gsetup.state import DesiredObject, DesiredState

    state = DesiredState(
        "Environment",
        [
            DesiredObject(
                "business_attribute",
                "Business Attributes/Media Type",
                {"display_name": "Media Type"},
            ),
            DesiredObject("attribute_value", "Business Attributes/Media Type/facebook"),
        ],
    )
    run_plan(connect(url), state, "test setup", dry_run=False)


def test_annex_of_any_object(db_url: str) -> None:
    _media_type_facebook(db_url)
    value = "Business Attributes/Media Type/facebook"
    _ok("options", "set", "--annex", value, "translation/translate-to", "facebookPostId")
    full = f"Environment/{value}"
    assert _ok("options", "get", "--annex", full, "translation/translate-to") == "facebookPostId\n"
    assert options_of(db_url, value) == {("translation", "translate-to"): ("facebookPostId", False)}

    _ok("options", "set", "--annex", "Environment", "settings/region", "emea")
    assert options_of(db_url, "") == {("settings", "region"): ("emea", False)}
    clash = run_cli("options", "get", "--annex", full, "--tenant", "Other", "a/b")
    assert clash.exit_code == EXIT_BAD_INPUT and "drop --tenant" in clash.stderr

    _ok("options", "unset", "--yes", "--annex", full, "translation/translate-to")
    assert options_of(db_url, value) == {}
    unknown = run_cli("options", "set", "--annex", "Business Attributes/Media Type/rss", "a/b", "1")
    assert unknown.exit_code == EXIT_BAD_INPUT
    assert "no object 'Business Attributes/Media Type/rss' in tenant 'Environment'" in (
        unknown.stderr
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("get", "--app", "DMS_9", "a/b"), "no application 'DMS_9' in tenant 'Environment'"),
        (("import", "x.cfg", "--app", "DMS_9"), "no application 'DMS_9'"),
        (("export", "--app", "DMS_9"), "no application 'DMS_9'"),
        (("set", "--app", "DMS_9", "a/b", "1"), "no application 'DMS_9'"),
        (("unset", "--app", "DMS_9", "a/b"), "no application 'DMS_9'"),
        (("get", "--app", "DMS_1", "--tenant", "Nowhere", "a/b"), "unknown tenant 'Nowhere'"),
        (("get", "--app", "DMS_1", "facebook_queue"), "is not SECTION/KEY"),
        (("set", "--app", "DMS_1", "/key", "1"), "section name '' cannot be written"),
        (("set", "--app", "DMS_1", "[a]/key", "1"), "without brackets"),
        (("set", "--app", "DMS_1", "a/#key", "1"), "not start with [ # ; or a quote"),
        (("set", "--app", "DMS_1", "a/k=v", "1"), "without '='"),
        (("set", "--app", "DMS_1", "a/b", "two\nlines"), "the value holds a line break"),
        (("set", "--app", "DMS_1", "a/b", MASK), "placeholder gsetup writes for a secret"),
        (("set", "--app", "DMS_1", "a/b"), "give a VALUE"),
        (("set", "--app", "DMS_1", "a/b", "1", "--value-env", "X"), "not both"),
        (("set", "--app", "DMS_1", "a/b", "--value-env", "NOT_SET_X"), "NOT_SET_X is not set"),
        (("get", "a/b"), "give either --app NAME or --annex PATH"),
        (
            ("export", "--app", "DMS_1", "--output", "/nonexistent-dir/x.cfg"),
            "/nonexistent-dir/x.cfg: cannot write the option file: the directory "
            "/nonexistent-dir does not exist",
        ),
        (
            ("set", "--app", "DMS_1", "channel-twitter/reconnection-timeout", "5"),
            "[channel-twitter] reconnection-timeout: the value is not allowed; use a whole number "
            "of at least 10",
        ),
        (
            ("set", "--app", "DMS_1", "channel-twitter-Support/compliance-enabled", "maybe"),
            "compliance-enabled: the value is not allowed; use true or false",
        ),
        (
            ("set", "--app", "DMS_1", "channel-twitter/x-submit-comments-itx", "true"),
            "[channel-twitter] x-submit-comments-itx is an option of the facebook driver's "
            "channels; a twitter channel does not read it",
        ),
        (
            ("set", "--app", "DMS_1", "channel-facebook-acme/grouping-timeout", "30"),
            "[channel-facebook-acme] grouping-timeout is an option of the twitter driver's",
        ),
        (("set", "--app", "DMS_1", "a/" + "k" * 256, "1"), "(256 characters) is too long"),
        (("get", "--app", "DMS_1", "--annex", "Environment", "a/b"), "give either"),
        (("get", "--annex", "", "a/b"), "--annex '' names no object: give a path"),
        (("set", "--annex", "/", "a/b", "1"), "--annex '/' names no object: give a path"),
        (("unset", "--yes", "--annex", " ", "a/b"), "--annex ' ' names no object: give a path"),
    ],
)
def test_bad_input_is_refused_with_exit_2(db_url: str, args: tuple[str, ...], words: str) -> None:
    _app("DMS_1")
    before = snapshot(db_url)
    result = run_cli("options", *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.stdout
    assert words in result.stderr
    assert snapshot(db_url) == before


# A byte that is not UTF-8 reaches Python as a lone surrogate (surrogateescape), on the command
# line as in the environment; the database cannot store it.
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("set", "--app", "DMS_1", "a/b", "ab\udcff"), "for 'VALUE': byte 0xFF at position 3 "),
        (("set", "--app", "DMS_1", "a/k\udc85", "1"), "for 'NAME': byte 0x85 at position 4 "),
        (("get", "--app", "DMS\udcff", "a/b"), "for '--app': byte 0xFF at position 4 "),
        (
            ("set", "--app", "DMS_1", "a/b", "--value-env", "NOT_UTF8_X"),
            "[a] b: in the value, byte 0xFF at position 3 ",
        ),
    ],
)
def test_text_that_is_not_utf8_is_refused_with_exit_2(
    db_url: str, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], words: str
) -> None:
    monkeypatch.setenv("NOT_UTF8_X", "ab\udcff")
    _app("DMS_1")
    before = snapshot(db_url)
    result = run_cli("options", *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.stderr
    assert f"{words}is not UTF-8" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(db_url) == before


@pytest.mark.parametrize("under", ["a.cfg/x.cfg", "a.cfg/sub/x.cfg"])
def test_export_under_a_file_says_it_is_not_a_directory(
    db_url: str, tmp_path: Path, under: str
) -> None:
    _app("DMS_1")
    (tmp_path / "a.cfg").write_text("[a]\nb=1\n")
    output = tmp_path / under
    result = run_cli("options", "export", "--app", "DMS_1", "--output", str(output))
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == (
        f"gsetup: error: {output}: cannot write the option file: {tmp_path / 'a.cfg'} is not "
        "a directory\n"
    )
    assert (tmp_path / "a.cfg").read_text() == "[a]\nb=1\n"


def test_driver_option_out_of_range_or_too_long_names_are_refused_whole(
    db_url: str, tmp_path: Path
) -> None:
    _app("DMS_1")
    before = snapshot(db_url)
    ranged = tmp_path / "ranged.cfg"
    ranged.write_text("[log]\nverbose=all\n[channel-facebook]\nreconnection-timeout=5\n")
    result = run_cli("options", "import", str(ranged), "--app", "DMS_1")
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{ranged}: [channel-facebook] reconnection-timeout: the value is not allowed" in (
        result.stderr
    )
    other = tmp_path / "other.cfg"
    other.write_text("[channel-twitter]\ncompliance-enabled=true\nskip-private=false\n")
    result = run_cli("options", "import", str(other), "--app", "DMS_1")
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{other}: [channel-twitter] skip-private is an option of the facebook driver's" in (
        result.stderr
    )
    # A section longer than the database holds, with a secret in it: refused before any write,
    # and the secret is not in the message (a database error would have carried it).
    long = tmp_path / "long.cfg"
    long.write_text(f"[channel-facebook-{'s' * 250}]\npassword=Hunter2-SECRET\n")
    result = run_cli("options", "import", str(long), "--app", "DMS_1")
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{long}: Applications/DMS_1: option section 'channel-facebook-sss" in result.stderr
    assert "(267 characters) is too long; at most 255 characters are allowed" in result.stderr
    assert "Hunter2" not in result.stderr + result.stdout
    assert snapshot(db_url) == before


def test_driver_options_are_stored_in_canonical_form(db_url: str, tmp_path: Path) -> None:
    """Import and set store a spec'd integer or boolean as driver install does (docs/drivers.md,
    "Option specs"); text without a spec stays as written, and a re-run plans nothing."""
    _app("DMS_1")
    cfg = tmp_path / "twitter.cfg"
    cfg.write_text(
        '[channel-twitter]\nreconnection-timeout=" 0180"\ngrouping-timeout=060\n'
        'ucs-in-use=TRUE\ncompliance-enabled= False\nx-other=" 007"\n'
    )
    _ok("options", "import", str(cfg), "--app", "DMS_1")
    _ok("options", "set", "--app", "DMS_1", "channel-twitter-Support/reconnection-timeout", "0200")
    assert app_options(db_url, "DMS_1") == {
        ("channel-twitter", "reconnection-timeout"): ("180", False),
        ("channel-twitter", "grouping-timeout"): ("60", False),
        ("channel-twitter", "ucs-in-use"): ("true", False),
        ("channel-twitter", "compliance-enabled"): ("false", False),
        ("channel-twitter", "x-other"): (" 007", False),
        ("channel-twitter-Support", "reconnection-timeout"): ("200", False),
    }

    state = snapshot(db_url)
    for overwrite in ((), ("--overwrite",)):
        again = run_cli(
            "options",
            "import",
            str(cfg),
            "--app",
            "DMS_1",
            "--dry-run",
            "--detailed-exitcode",
            *overwrite,
        )
        assert again.exit_code == EXIT_OK, again.stdout
        assert "0 to create, 0 to update, 0 to delete" in again.stdout
    key = "channel-twitter-Support/reconnection-timeout"
    same = run_cli(
        "options", "set", "--app", "DMS_1", key, "200 ", "--dry-run", "--detailed-exitcode"
    )
    assert same.exit_code == EXIT_OK, same.stdout
    assert snapshot(db_url) == state


PROCESS = "application 'DMS_1' in tenant 'Environment': [gsetup-process]"
TIMEOUT_ALLOWED = (
    "allowed: seconds above 0 and at most 3600, a plain decimal number (e.g. 30 or 2.5)"
)


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("timeout", "+5", f"timeout: the value is not allowed; {TIMEOUT_ALLOWED}"),
        ("timeout", "0", f"timeout: the value is not allowed; {TIMEOUT_ALLOWED}"),
        ("adapter", "systemd", "adapter: the value is not allowed; allowed: local, command"),
        ("timout", "5", "timout: unknown key; allowed: adapter, start, stop, status, timeout"),
    ],
)
def test_process_options_are_checked_when_written(
    db_url: str, tmp_path: Path, key: str, value: str, words: str
) -> None:
    """What app start/stop would refuse in [gsetup-process] is refused by set and import."""
    _app("DMS_1")
    _ok("options", "set", "--app", "DMS_1", "gsetup-process/timeout", "2.5")
    before = snapshot(db_url)
    result = run_cli("options", "set", "--app", "DMS_1", f"gsetup-process/{key}", value)
    assert result.exit_code == EXIT_BAD_INPUT, result.stdout
    assert result.stderr == f"gsetup: error: {PROCESS} {words}\n"
    cfg = tmp_path / "process.cfg"
    cfg.write_text(f"[log]\nverbose=all\n[gsetup-process]\nstop=true\n{key}={value}\n")
    for overwrite in ((), ("--overwrite",)):
        result = run_cli("options", "import", str(cfg), "--app", "DMS_1", *overwrite)
        assert result.exit_code == EXIT_BAD_INPUT, result.stdout
        assert f"{cfg}: [gsetup-process] {words}" in result.stderr
    assert snapshot(db_url) == before
    assert app_options(db_url, "DMS_1") == {("gsetup-process", "timeout"): ("2.5", False)}


def test_an_out_of_range_secret_is_not_echoed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app("DMS_1")
    monkeypatch.setenv("MYV", "s3cr3t-Value")
    key = "channel-facebook/reconnection-timeout"
    result = run_cli("options", "set", "--app", "DMS_1", key, "--value-env", "MYV", "--secret")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "reconnection-timeout: the value is not allowed" in result.stderr
    bad = tmp_path / "bad.cfg"
    bad.write_text("[channel-facebook]\nreconnection-timeout=s3cr3t-Value\n")
    args = ("options", "import", str(bad), "--app", "DMS_1", "--secret-key", "reconnection-timeout")
    imported = run_cli(*args)
    assert imported.exit_code == EXIT_BAD_INPUT
    assert "s3cr3t" not in result.stderr + result.stdout + imported.stderr + imported.stdout


def test_database_errors_never_show_bound_values(db_url: str) -> None:
    from gsetup.configdb.database import open_database

    assert open_database(db_url).engine.hide_parameters


def test_secrets_are_never_printed(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Xy9-secret;#value"
    monkeypatch.setenv("HUB_KEY_FOR_TEST", secret)
    _app("DMS_1")
    outputs = []
    for args in (
        (
            "set",
            "--app",
            "DMS_1",
            "hub/key",
            "--secret",
            "--value-env",
            "HUB_KEY_FOR_TEST",
            "--dry-run",
            "--json",
        ),
        ("set", "--app", "DMS_1", "hub/key", "--secret", "--value-env", "HUB_KEY_FOR_TEST"),
        ("get", "--app", "DMS_1", "hub/key"),
        ("get", "--app", "DMS_1", "hub/key", "--json"),
        ("export", "--app", "DMS_1"),
        ("unset", "--app", "DMS_1", "hub/key", "--dry-run", "--json"),
    ):
        outputs.append(_ok("options", *args))
    outputs.append(_ok("app", "show", "DMS_1", "--json"))
    outputs.append(_ok("history", "--json", "--changes"))
    assert all(secret not in out for out in outputs)
    assert outputs[2] == f"{MASK}\n"
    assert run_cli("options", "get", "--app", "DMS_1", "hub/key", "--json").json()["secret"]
    assert app_options(db_url, "DMS_1") == {("hub", "key"): (secret, True)}

    # a secret stays secret, and its value is refused on the command line
    on_line = run_cli("options", "set", "--app", "DMS_1", "hub/key", "new-value")
    assert on_line.exit_code == EXIT_BAD_INPUT and "--value-env" in on_line.stderr
    for given in (("hub/other", "v", "--secret"), ("channel-x/gsa-api-key", "v")):
        refused = run_cli("options", "set", "--app", "DMS_1", *given)
        assert refused.exit_code == EXIT_BAD_INPUT and "secret" in refused.stderr
    assert app_options(db_url, "DMS_1") == {("hub", "key"): (secret, True)}
    again = run_cli(
        "options",
        "set",
        "--app",
        "DMS_1",
        "hub/key",
        "--value-env",
        "HUB_KEY_FOR_TEST",
        "--dry-run",
        "--detailed-exitcode",
    )
    assert again.exit_code == EXIT_OK


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_secret_is_asked_for_twice_without_echo(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app("DMS_1")
    no_tty = run_cli("options", "set", "--app", "DMS_1", "hub/password", "--secret")
    assert no_tty.exit_code == EXIT_BAD_INPUT
    assert "no terminal to ask for it: give --value-env NAME" in no_tty.stderr

    # typed differently the second time: asked again; three tries
    answers = iter(["typo-secret", "typed-secret", "typed-secret", "typed-secret"])
    answers = iter([*answers, *["one", "other"] * 3])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin", _Terminal())
    done = run_cli("options", "set", "--app", "DMS_1", "hub/password", "--secret")
    assert done.exit_code == EXIT_OK and "typed-secret" not in done.stdout
    assert done.stderr == "the two secret values differ; type it again\n"
    assert app_options(db_url, "DMS_1") == {("hub", "password"): ("typed-secret", True)}
    differ = run_cli("options", "set", "--app", "DMS_1", "hub/password", "--secret")
    assert differ.exit_code == EXIT_BAD_INPUT
    assert differ.stderr.splitlines() == [
        *["the two secret values differ; type it again"] * 2,
        "gsetup: error: the two secret values differ; nothing written",
    ]
    assert next(answers, None) is None
    assert app_options(db_url, "DMS_1") == {("hub", "password"): ("typed-secret", True)}


def test_docs_examples_run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every console example of the Commands section of docs/options.md, in order, prints what
    the page shows (each line shown appears in the output) and ends as it shows."""
    docs = (REPO_ROOT / "docs" / "options.md").read_text(encoding="utf-8")
    commands = docs[docs.index("\n## Commands\n") :]
    monkeypatch.chdir(tmp_path)
    for name, content in re.findall(r"`([\w.-]+\.cfg)`:\n\n```ini\n(.*?)```", commands, re.S):
        (tmp_path / name).write_text(content, encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", commands, re.S)
    steps: list[tuple[str, list[str]]] = []
    for block in blocks:
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip():
                steps[-1][1].append(line)
    assert len(steps) >= 20
    for command, shown in steps:
        args = shlex.split(command)
        if args[0] == "export":
            variable, _, value = args[1].partition("=")
            monkeypatch.setenv(variable, value)
            continue
        assert args[0] == "gsetup", command
        result = run_cli(*args[1:])
        output = result.stdout + result.stderr
        failed = any(line.startswith("gsetup: error:") for line in shown)
        assert result.exit_code == (EXIT_BAD_INPUT if failed else EXIT_OK), (command, output)
        for line in shown:
            assert line in output, (command, line, output)


def test_export_into_a_fifo_writes_into_it_and_keeps_it(db_url: str, tmp_path: Path) -> None:
    import os
    import threading

    _app("DMS_1")
    _ok("options", "set", "--app", "DMS_1", "settings/x", "1")
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    _ok("options", "export", "--app", "DMS_1", "--output", str(fifo))
    reader.join(timeout=30)
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file
    assert received == [b"[settings]\nx=1\n"]


def test_gsetup_credentials_stay_secret_when_set_or_imported_by_hand(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tokens restored from an --include-secrets export (or made by hand, as the runtime's
    # outbound-token is) are secrets as the commands that make them store them.
    _app("DMS_1")
    tokens = tmp_path / "tokens.cfg"
    tokens.write_text(
        "[gsetup-runtime]\nintake-token=tok-in-1\noutbound-token=tok-out-1\n"
        "[gsetup-dms]\ncontrol-token=tok-ctl-1\n",
        encoding="utf-8",
    )
    imported = _ok("options", "import", str(tokens), "--app", "DMS_1")
    shown = imported + _ok("options", "export", "--app", "DMS_1")
    shown += _ok("app", "show", "DMS_1", "--json") + _ok("history", "--json", "--changes")
    assert "tok-" not in shown
    assert app_options(db_url, "DMS_1") == {
        ("gsetup-runtime", "intake-token"): ("tok-in-1", True),
        ("gsetup-runtime", "outbound-token"): ("tok-out-1", True),
        ("gsetup-dms", "control-token"): ("tok-ctl-1", True),
    }
    _app("DMS_2")
    for key in ("gsetup-runtime/outbound-token", "gsetup-dms/control-token"):
        on_line = run_cli("options", "set", "--app", "DMS_2", key, "tok-2")
        assert on_line.exit_code == EXIT_BAD_INPUT and "is secret" in on_line.stderr
    monkeypatch.setenv("TOKEN_FOR_TEST", "tok-out-2")
    key = "gsetup-runtime/outbound-token"
    _ok("options", "set", "--app", "DMS_2", key, "--value-env", "TOKEN_FOR_TEST")
    stored = app_options(db_url, "DMS_2")
    assert stored == {("gsetup-runtime", "outbound-token"): ("tok-out-2", True)}
    _ok("agent", "add", "bob", "--no-login")
    key = "gsetup-runtime/password-hash"
    on_line = run_cli("options", "set", "--annex", "Persons/bob", key, "scrypt$tok-hash")
    assert on_line.exit_code == EXIT_BAD_INPUT and "is secret" in on_line.stderr
    monkeypatch.setenv("TOKEN_FOR_TEST", "scrypt$tok-hash")
    assert "tok-" not in _ok(
        "options", "set", "--annex", "Persons/bob", key, "--value-env", "TOKEN_FOR_TEST"
    )
    assert options_of(db_url, "Persons/bob") == {
        ("gsetup-runtime", "password-hash"): ("scrypt$tok-hash", True)
    }


def test_a_runtime_url_option_with_a_password_is_refused_unechoed(
    db_url: str, tmp_path: Path
) -> None:
    # intake-url and outbound-url are plain options (plans, history, the DMS stand-in's
    # /health): a password in them was stored and shown in clear. Tokens are the credentials.
    _app("DMS_1")
    before = snapshot(db_url)
    for key in ("intake-url", "outbound-url"):
        url = "http://u:pw-in-url@127.0.0.1:8470/x"
        refused = run_cli("options", "set", "--app", "DMS_1", f"gsetup-runtime/{key}", url)
        assert refused.exit_code == EXIT_BAD_INPUT, refused.stderr
        assert f"[gsetup-runtime] {key}: a URL with a user or password" in refused.stderr
        assert "pw-in-url" not in refused.stderr
        given = tmp_path / "runtime.cfg"
        given.write_text(f"[gsetup-runtime]\n{key}={url}\n", encoding="utf-8")
        refused = run_cli("options", "import", str(given), "--app", "DMS_1")
        assert refused.exit_code == EXIT_BAD_INPUT and "pw-in-url" not in refused.stderr
    # one no HTTP client can send to was stored, and failed every message after (the DMS
    # stand-in's forwarder stopped for good on http://[::1)
    for url in ("http://[::1", "http://h:abc/x", "http://h:0/x", "ftp://h/x", "h:1/x"):
        refused = run_cli("options", "set", "--app", "DMS_1", "gsetup-runtime/intake-url", url)
        assert refused.exit_code == EXIT_BAD_INPUT, (url, refused.stderr)
        assert "[gsetup-runtime] intake-url: " in refused.stderr
        assert "is not a URL gsetup can send to" in refused.stderr
    assert snapshot(db_url) == before
    _ok("options", "set", "--app", "DMS_1", "gsetup-runtime/intake-url", "http://h:1/interactions")


def test_new_history_entries_hold_no_secret_in_clear(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that writes a credential or a secret option records it masked, made,
    replaced or deleted: ``history --changes --json`` shows the change, never the value."""
    _app("DMS_1")
    url = ("--url", "http://127.0.0.1:8470")
    made = run_cli("route", "token", "create", "--app", "DMS_1", *url, "--json").json()["token"]
    rotated = run_cli("route", "token", "create", "--app", "DMS_1", "--rotate", "--json")
    _ok("dms", "token", "create", "--app", "DMS_1")
    control = app_options(db_url, "DMS_1")[("gsetup-dms", "control-token")][0]
    monkeypatch.setenv("AGENT_PW_FOR_TEST", "agent-pw-in-clear")
    _ok("agent", "add", "bob", "--password-from", "env:AGENT_PW_FOR_TEST")
    digest = options_of(db_url, "Persons/bob")[("gsetup-runtime", "password-hash")][0]
    for value in ("pw-in-clear-1", "pw-in-clear-2"):  # a driver's secret key, set plain
        monkeypatch.setenv("PW_FOR_TEST", value)
        _ok("options", "set", "--app", "DMS_1", "channel-x/password", "--value-env", "PW_FOR_TEST")
    _ok("options", "unset", "--app", "DMS_1", "channel-x/password", "--yes")
    _ok("route", "token", "revoke", "--app", "DMS_1", "--yes")
    _ok("dms", "token", "revoke", "--app", "DMS_1", "--yes")

    shown = _ok("history", "--changes", "--json")
    clear = (made, rotated.json()["token"], control, digest, "agent-pw-in-clear", "pw-in-clear")
    assert [value for value in clear if value in shown] == []
    changes = [c for entry in json.loads(shown) for c in entry["changes"] if "key" in c]
    secret_keys = {"intake-token", "control-token", "password-hash", "password"}
    recorded = sorted(
        (c["key"], c["action"], c.get("before"), c.get("after"))
        for c in changes
        if c["key"] in secret_keys
    )
    assert recorded == [
        ("control-token", "create", None, MASK),
        ("control-token", "delete", MASK, None),
        ("intake-token", "create", None, MASK),
        ("intake-token", "delete", MASK, None),
        ("intake-token", "update", MASK, MASK),
        ("password", "create", None, MASK),
        ("password", "delete", MASK, None),
        ("password", "update", MASK, MASK),
        ("password-hash", "create", None, MASK),
    ]


def test_export_with_secrets_to_a_terminal_is_refused_and_through_a_pipe_written(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--include-secrets goes to a file, never to a terminal: an --output that opens one
    (/dev/stdout on a terminal, /dev/tty) is refused; a pipe (to gpg, say) is written to."""
    import subprocess
    import sys

    import pexpect

    secret = "Tty9-secret-value"
    monkeypatch.setenv("HUB_KEY_FOR_TEST", secret)
    _app("DMS_1")
    _ok(
        "options", "set", "--app", "DMS_1", "hub/key", "--secret", "--value-env", "HUB_KEY_FOR_TEST"
    )
    export = "$GSETUP options export --app DMS_1 --include-secrets --output"
    shell = f'{export} /dev/stdout; echo "exit $?"; {export} /dev/tty; echo "exit $?"'
    child = in_a_terminal(shell, db_url, tmp_path)
    child.expect(pexpect.EOF)
    why = "--include-secrets writes secret values in clear, so only to a file or a pipe"
    assert child.before.splitlines() == [
        f"gsetup: error: /dev/stdout is a terminal: {why}",
        "exit 2",
        f"gsetup: error: /dev/tty is a terminal: {why}",
        "exit 2",
    ]
    piped = subprocess.run(
        [
            sys.executable,
            "-m",
            "gsetup",
            *shlex.split(export.removeprefix("$GSETUP ")),
            "/dev/stdout",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (piped.returncode, piped.stderr) == (0, "")
    assert piped.stdout == f"[hub]\nkey={secret}\n"


def test_a_plan_changed_while_its_confirmation_was_asked_is_not_applied(
    db_url: str, tmp_path: Path
) -> None:
    """The overwrite shown created [s] c; while the question waited, someone else set c. The
    apply re-planned under the lock and overwrote their c without showing it: what is applied
    must be what was confirmed, or nothing."""
    from gsetup.cli.confirm import Confirmation
    from gsetup.commands.options import find_target, import_options
    from gsetup.errors import ConflictError
    from gsetup.plan.model import Plan
    from gsetup.wizards.bp import login
    from gsetup.wizards.collect import Prompter

    _app("DMS_1")
    _ok("options", "set", "--app", "DMS_1", "s/a", "1")
    given = tmp_path / "import.cfg"
    given.write_text("[s]\na=2\nc=2\n", encoding="utf-8")

    def someone_else_sets_c_then_yes(_question: str, _default: bool) -> bool:
        _ok("options", "set", "--app", "DMS_1", "s/c", "theirs")
        return True

    ctx = login(None, None, [], Prompter(), yes=False)
    target = find_target(ctx, tenant=None, app="DMS_1")
    confirm = Confirmation(terminal=lambda: True, ask=someone_else_sets_c_then_yes)
    before = snapshot(db_url)
    with pytest.raises(ConflictError, match="changed after the plan was shown") as refused:
        confirm.apply_plan(
            lambda dry: import_options(ctx, target, given, overwrite=True, dry_run=dry),
            risky=Plan.replaces,
        )
    assert "nothing was written" in str(refused.value)
    assert snapshot(db_url) != before  # their c, and only it
    assert app_options(db_url, "DMS_1") == {("s", "a"): ("1", False), ("s", "c"): ("theirs", False)}
