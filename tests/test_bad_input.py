"""Every bad input of issue 10: exit 2, one message naming what is wrong, nothing written.

Each case runs the CLI against a database holding a DMS, and checks the exit status, the
message, that no traceback is shown, and that every configuration table and every file in the
work directory are as they were.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.helpers import PG_ADMIN_PASSWORD, run_cli, snapshot, store_unchecked, write_tree
from tests.test_driver_cli import API_KEY, HUB_PASSWORD, _add_dms

ROOT = Path(__file__).resolve().parent.parent
FACEBOOK = (ROOT / "examples" / "facebook-bp.yaml").read_text(encoding="utf-8")
TWITTER_DRIVER = (ROOT / "examples" / "driver-twitter.yaml").read_text(encoding="utf-8")
BIG_VALUE = "9" * 500_000
LONG = "x" * 3000  # a value echoed in a message is cut to its first 40 characters
CUT = "'" + "x" * 40 + "'... (3000 characters)"


def _with(key: str, value: str) -> str:
    """The Facebook example with ``key`` answered by ``value``."""
    lines = FACEBOOK.split("\n")
    if not any(line.startswith(f"{key}:") for line in lines):
        lines.append(f"{key}: {value}")
    return "\n".join(f"{key}: {value}" if ln.startswith(f"{key}:") else ln for ln in lines)


@pytest.fixture
def work(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work directory (the current one) with a DMS and files."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _add_dms(db_url, "DMS_1", tmp_path / "SMServer")
    monkeypatch.setenv("GSETUP_HUB_API_KEY", API_KEY)
    write_tree(Path.home() / ".config" / "gsetup", {"hub-password": HUB_PASSWORD + "\n"})
    write_tree(work, {"fb.yaml": FACEBOOK})
    os.mkfifo(work / "fifo")
    (work / "folder").mkdir()
    (work / "loop-a").symlink_to(work / "loop-b")
    (work / "loop-b").symlink_to(work / "loop-a")
    return work


def _files(work: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(work)): p.read_bytes()
        for p in sorted(work.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _install(answers: str, *extra: str) -> Callable[[Path], tuple[str, ...]]:
    def prepare(work: Path) -> tuple[str, ...]:
        (work / "bad.yaml").write_bytes(answers.encode("utf-8", "surrogateescape"))
        return ("install", "facebook-bp", "--answers", "bad.yaml", "--yes", *extra)

    return prepare


def _secret_file(secret: str) -> Callable[[Path], tuple[str, ...]]:
    def prepare(work: Path) -> tuple[str, ...]:
        (work / "secret").write_text(secret, encoding="utf-8")
        return _install(_with("password", "{file: secret}"))(work)

    return prepare


def _answers_check(answers: str) -> Callable[[Path], tuple[str, ...]]:
    def prepare(work: Path) -> tuple[str, ...]:
        (work / "bad.yaml").write_text(answers, encoding="utf-8")
        return ("answers", "check", "bad.yaml", "--package", "facebook-bp")

    return prepare


def _args(*args: str) -> Callable[[Path], tuple[str, ...]]:
    return lambda _work: args


def _options_file(
    content: str | bytes, size: int | None = None
) -> Callable[[Path], tuple[str, ...]]:
    def prepare(work: Path) -> tuple[str, ...]:
        path = work / "bad.cfg"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        if size is not None:
            os.truncate(path, size)  # sparse: as large as wanted, at no cost
        return ("options", "import", "bad.cfg", "--app", "DMS_1")

    return prepare


def _big_answers(work: Path) -> tuple[str, ...]:
    path = work / "bad.yaml"
    path.write_text(FACEBOOK, encoding="utf-8")
    os.truncate(path, 2 * 1024 * 1024)
    return ("install", "facebook-bp", "--answers", "bad.yaml", "--yes")


def _driver_set(*options: str) -> Callable[[Path], tuple[str, ...]]:
    def prepare(work: Path) -> tuple[str, ...]:
        (work / "drv.yaml").write_text(TWITTER_DRIVER, encoding="utf-8")
        sets = [arg for option in options for arg in ("--set", option)]
        return ("driver", "install", "twitter", "--answers", "drv.yaml", "--yes", *sets)

    return prepare


def _process_timeout(timeout: str) -> Callable[[Path], tuple[str, ...]]:
    """``app start DMS_1`` with the command adapter (its start command writes a file in the
    work directory) and ``[gsetup-process] timeout`` = ``timeout``, stored unchecked (as an
    older gsetup did: ``options set`` refuses it now)."""

    def prepare(work: Path) -> tuple[str, ...]:
        lines = {
            "adapter": "command",
            "start": f"touch {work / 'started'}",
            "stop": "true",
            "status": "false",
            "timeout": "30",
        }
        for key, value in lines.items():
            set_option = ("options", "set", "--app", "DMS_1", f"gsetup-process/{key}", value)
            assert run_cli(*set_option).exit_code == 0
        store_unchecked(os.environ["GSETUP_DB"], "DMS_1", "gsetup-process", "timeout", timeout)
        return ("app", "start", "DMS_1")

    return prepare


CASES: dict[str, tuple[Callable[[Path], tuple[str, ...]], str]] = {
    # Secret references, checked even where the database needs no login.
    "vault reference": (
        _install(_with("password", "{vault: x}")),
        "key 'password': {vault: ...} is not a secret reference; give {env: NAME} or {file: PATH}",
    ),
    "empty env name": (_install(_with("password", "{env: ''}")), "{env: ...} needs an environment"),
    "missing variable": (_install(_with("password", "{env: NOT_SET_X}")), "NOT_SET_X is not set"),
    "missing secret file": (
        _install(_with("password", "{file: /nonexistent/pw}")),
        "secret file /nonexistent/pw: no such file",
    ),
    "plain password": (_install(_with("password", "hunter2")), "never the value itself"),
    # Option values are one line of text.
    "NUL in an imported value": (
        _options_file(b"[a]\nk=x\x00y\n"),
        "bad.cfg, line 2: the value holds a control character (U+0000)",
    ),
    "newline through options set": (
        _args("options", "set", "--app", "DMS_1", "a/k", "x\ny"),
        "[a] k: the value holds a line break",
    ),
    "null strategy_dir": (
        _install(_with("strategy_dir", "~")),
        "bad.yaml: key 'strategy_dir': expected text, not nothing (null): leave the key out "
        "for its default\n",
    ),
    "a list as tenant, answers check": (
        _answers_check(_with("tenant", "[Environment]")),
        "bad.yaml: key 'tenant': expected text, not a list\n",
    ),
    "newline in an install_home": (
        _install(_with("install_home", '"home\\nnext"')),
        "bad.yaml: key 'install_home': the value holds a line break at position 5",
    ),
    "escape character in a strategy_dir, answers check": (
        _answers_check(_with("strategy_dir", '"s\\e[31m"')),
        "bad.yaml: key 'strategy_dir': the value holds a control character (U+001B)",
    ),
    "newline through driver --set": (
        _driver_set("option.reconnection-timeout=30\n0"),
        "the value holds a line break",
    ),
    # C1 controls (NEL a line break to some readers, CSI an escape) were taken in answers.
    "NEL in an answers value": (
        _install(_with("strategy_dir", '"s\\x85t"')),
        "bad.yaml: key 'strategy_dir': the value holds a control character (U+0085) at position 2",
    ),
    "a C1 control through install --set": (
        _install(FACEBOOK, "--set", "strategy_dir=s\x9bt"),
        "--set: key 'strategy_dir': the value holds a control character (U+009B)",
    ),
    "a C1 control through driver --set": (
        _driver_set("gsa_channel_name=ACME\x85Twitter"),
        "--set: key 'gsa_channel_name': the value holds a control character (U+0085) at position 5",
    ),
    "a line separator (U+2028) through install --set": (
        _install(FACEBOOK, "--set", "strategy_dir=s\u2028t"),
        "--set: key 'strategy_dir': the value holds a line break at position 2",
    ),
    "a paragraph separator (U+2029) in an answers value": (
        _install(_with("strategy_dir", '"s\\u2029t"')),
        "bad.yaml: key 'strategy_dir': the value holds a line break at position 2",
    ),
    "a C1 control in a secret file": (
        _secret_file("pass\x85word"),
        "key 'password': the value holds a control character (U+0085)",
    ),
    # Numbers are plain ASCII decimals: int() and float() take 1_0 (10), spaces and other
    # scripts' digits; isdigit() takes a superscript two, which int() then refuses.
    "underscores in a number": (
        _args("agent", "offers", "--wait", "1_0"),
        "Invalid value for '--wait': '1_0'; allowed: a plain decimal number (e.g. 30 or 2.5) "
        "from 0 to 60",
    ),
    "another script's digits": (
        _args("history", "--limit", "\u0665"),
        "Invalid value for '--limit' / '-n': '\u0665'; allowed: a whole number of at least 1",
    ),
    "spaces around a number": (
        _args("app", "create", "X", "--type", "DigitalMessagingServer", "--port", " 80"),
        "Invalid value for '--port': ' 80'; allowed: a whole number from 1 to 65535",
    ),
    "a superscript port": (
        _args("route", "run", "--listen", "127.0.0.1:\u00b2"),
        "--listen '127.0.0.1:\u00b2': use HOST:PORT, e.g. 127.0.0.1:8470",
    ),
    # Long values were echoed whole.
    "a long --skill level": (
        _args("agent", "add", "carol", "--no-login", "--skill", "x" * 40 + "=" + "1" * 2959),
        f"--skill {CUT}: use NAME=LEVEL",
    ),
    "a long skill name": (
        _args("agent", "add", "carol", "--no-login", "--skill", LONG),
        f"invalid skill name {CUT}",
    ),
    "a long agent name": (_args("agent", "add", LONG, "--no-login"), f"invalid agent name {CUT}"),
    "a long tenant": (_args("agent", "list", "--tenant", LONG), f"unknown tenant {CUT}"),
    "a long agent to remove": (_args("agent", "remove", LONG), "Persons/" + "x" * 32),
    "a long --wait": (
        _args("agent", "offers", "--wait", LONG),
        f"Invalid value for '--wait': {CUT}; allowed: a plain decimal number",
    ),
    "a long account": (
        _args("account", "grant", LONG, "--tenant", "Environment", "--role", "admin"),
        f"unknown account {CUT}",
    ),
    "a long role": (
        _args("account", "grant", "admin", "--tenant", "Environment", "--role", LONG),
        f"unknown role {CUT}; roles: ",
    ),
    "a long tenant to create": (_args("tenant", "create", LONG), f"invalid tenant name {CUT}"),
    "a long --listen": (_args("route", "run", "--listen", LONG), f"--listen {CUT}: use HOST:PORT"),
    "a long --url": (
        _args("route", "token", "create", "--app", "DMS_1", "--url", LONG),
        f"--url {CUT}: use http://HOST:PORT",
    ),
    "a long --app": (_args("route", "token", "create", "--app", LONG), "Applications/" + "x" * 27),
    "a long package": (_args("answers", "schema", LONG), f"no package {CUT}; the packages are"),
    "a long --set": (_install(FACEBOOK, "--set", LONG), f"--set {CUT}: use --set key=value"),
    "a long option to get": (
        _args("options", "get", "--app", "DMS_1", "a/" + LONG),
        "no option 'a/" + "x" * 38 + "'... (3002 characters) on application 'DMS_1'",
    ),
    "a long --app of options": (
        _args("options", "export", "--app", LONG),
        f"no application {CUT} in tenant 'Environment'",
    ),
    "a long --annex": (
        _args("options", "get", "--annex", "Applications/" + LONG, "a/b"),
        "no object 'Applications/" + "x" * 27 + "'... (3013 characters) in tenant 'Environment'",
    ),
    "a long driver": (_args("driver", "install", LONG, "--yes"), f"unknown driver {CUT}; use one"),
    "a long --dms to uninstall from": (
        _args("driver", "uninstall", "twitter", "--dms", LONG, "--yes"),
        f"no application {CUT} in tenant",
    ),
    "a long driver to upgrade": (
        _args("driver", "upgrade", LONG, "--package", ".", "--dms", "DMS_1", "--yes"),
        f"unknown driver {CUT}; use one",
    ),
    "a long application type": (
        _args("app", "create", "X", "--type", LONG),
        f"unknown application type {CUT}; types: ",
    ),
    "a long redundancy type": (
        _args("app", "create", "X", "--type", "DigitalMessagingServer", "--redundancy-type", LONG),
        f"unknown redundancy type {CUT}; types: ",
    ),
    "a long application to start": (_args("app", "start", LONG), f"no application {CUT} in"),
    "a long --dms to configure": (
        _args("configure", "dms-utf8", "--dms", LONG),
        f"no application {CUT} in tenant",
    ),
    "a long plug-in --set": (
        _args("configure", "workspace", "--set", LONG),
        f"--set {CUT} is not allowed; use KEY=VALUE",
    ),
    "a long --dbms": (_args("sql", "list", "--dbms", LONG), f"Unknown DBMS {CUT}: use one of"),
    "a long script": (
        _args("sql", "show", LONG, "--dbms", "mssql"),
        f"No script named {CUT}: run 'gsetup sql list'",
    ),
    "a long sql --package": (_args("sql", "list", "--package", LONG), f"Unknown package {CUT}"),
    "a long dialect": (
        _args("sql", "apply", "--url", LONG + "://x", "--dry-run"),
        f"Unknown database dialect {CUT} in the URL",
    ),
    "a long --app of dms run": (_args("dms", "run", "--app", LONG), f"no application {CUT} in"),
    "a long extra argument": (
        _args("object", "list", "x" * 5000),
        "Got unexpected extra argument(s) ('" + "x" * 40 + "'... (5000 characters)) (gsetup",
    ),
    "extra arguments": (
        _args("history", "a", "b"),
        "Got unexpected extra argument(s) ('a b') (gsetup history -h shows the usage)",
    ),
    # A store URL that cannot be parsed was refused without naming --store.
    "a long --store of route run": (
        _args("route", "run", "--store", LONG),
        f"--store {CUT} is not a store URL; use e.g. sqlite:///",
    ),
    "an empty --store of route status": (
        _args("route", "status", "--store", ""),
        "--store '' is not a store URL; use e.g. sqlite:///",
    ),
    "a --store of route replay": (
        _args("route", "replay", "x.jsonl", "--store", "not a url"),
        "--store 'not a url' is not a store URL",
    ),
    "a --store of agent remove": (
        _args("agent", "remove", "bob", "--store", "sqlite:///ok.db", "--store", "::"),
        "--store '::' is not a store URL",
    ),
    "a long store to forget": (
        _args("route", "store", "forget", LONG),
        f"{CUT} is not a store URL; give one that gsetup route store list shows",
    ),
    # Path.is_file() of a path the system refuses raised OSError: exit 1, the path whole.
    "a too long SQLite file to apply SQL to": (
        _args("sql", "apply", "--url", f"sqlite:///{LONG}", "--dry-run"),
        f"The SQLite database file {CUT}: file name too long",
    ),
    "a too long SQLite --db": (
        _args("--db", f"sqlite:///{LONG}", "object", "list"),
        f"the database file {CUT}: file name too long",
    ),
    # DEL and the C1 controls (NEL a line break to some terminals) were taken in names.
    "DEL in an agent name": (
        _args("agent", "add", "a\x7fb", "--no-login"),
        "invalid agent name 'a\\x7fb': use 1 to 255 characters without '/', control characters",
    ),
    "NEL in a tenant name": (_args("tenant", "create", "a\x85b"), "invalid tenant name 'a\\x85b'"),
    # An empty value was taken as none given: every package checked, exit 0.
    "an empty --package": (
        _args("answers", "check", "fb.yaml", "--package", ""),
        "no package ''; the packages are: ",
    ),
    # Python's type names were shown (expected text, not NoneType).
    "no value as the tenant": (  # it has no default: leaving the key out is no answer
        _install(_with("tenant", "")),
        "bad.yaml: key 'tenant': expected text, not nothing (null)\n",
    ),
    # A null true/false answer said "'None' is not true or false", unlike every other key.
    "null iwd_custom_properties": (
        _install(_with("iwd_custom_properties", "null")),
        "bad.yaml: key 'iwd_custom_properties': expected true or false, not nothing (null): "
        "leave the key out for its default\n",
    ),
    "a list as iwd_custom_properties, answers check": (
        _answers_check(_with("iwd_custom_properties", "[true]")),
        "bad.yaml: key 'iwd_custom_properties': expected true or false, not a list\n",
    ),
    "a list as the tenant": (
        _install(_with("tenant", "[a, b]")),
        "bad.yaml: key 'tenant': expected text, not a list",
    ),
    "a mapping as the tenant": (
        _install(_with("tenant", "{a: 1}")),
        "bad.yaml: key 'tenant': expected text, not a mapping",
    ),
    "a date as the tenant": (
        _install(_with("tenant", "2024-01-31")),
        "bad.yaml: key 'tenant': expected text, not a date",
    ),
    # A sign was taken (+80 was port 80, -0 was 0): the ranges start at 0 or above.
    "a signed port": (
        _args("app", "create", "X", "--type", "DigitalMessagingServer", "--port", "+80"),
        "Invalid value for '--port': '+80'; allowed: a whole number from 1 to 65535",
    ),
    "a signed --limit": (
        _args("history", "--limit", "+3"),
        "Invalid value for '--limit' / '-n': '+3'; allowed: a whole number of at least 1",
    ),
    "a signed --wait": (_args("agent", "offers", "--wait", "-0"), "'--wait': '-0'; allowed: "),
    "a signed --listen port": (
        _args("route", "run", "--listen", "127.0.0.1:+80"),
        "--listen '127.0.0.1:+80': use HOST:PORT",
    ),
    # Values gsetup checks against a range starting at 0 or above took a sign as well
    # (+180 was 180, -0 was 0); they follow the command line's rule.
    "a signed option in an option file": (
        _options_file("[channel-twitter]\nreconnection-timeout=+180\n"),
        "bad.cfg: [channel-twitter] reconnection-timeout: the value is not allowed; use a "
        "whole number of at least 10\n",
    ),
    "a signed driver option through --set": (
        _driver_set("option.grouping-timeout=+60"),
        "--set option.grouping-timeout: [channel-twitter] grouping-timeout: '+60' is not "
        "allowed; use a whole number from 10 to 3600\n",
    ),
    "a signed RPC cache timeout through --set": (
        _driver_set("rpc_cache_timeout=-0"),
        "the RPC cache timeout: '-0' is not allowed; use a whole number from 0 to 3600",
    ),
    "a signed driver port through --set": (
        _driver_set("port=+4000"),
        "'+4000' is not a port; use a whole number from 1 to 65535",
    ),
    "a signed [gsetup-process] timeout": (
        _process_timeout("+1"),
        "application 'DMS_1', [gsetup-process] timeout: '+1'; allowed: seconds above 0 and "
        "at most 3600, a plain decimal number (e.g. 30 or 2.5)\n",
    ),
    "a signed [gsetup-process] timeout through options set": (
        _args("options", "set", "--app", "DMS_1", "gsetup-process/timeout", "+1"),
        "application 'DMS_1' in tenant 'Environment': [gsetup-process] timeout: the value is "
        "not allowed; allowed: seconds above 0 and at most 3600, a plain decimal number (e.g. "
        "30 or 2.5)\n",
    ),
    # Bounded reads of regular files only.
    "options import of /dev/zero": (
        _args("options", "import", "/dev/zero", "--app", "DMS_1"),
        "option file /dev/zero is a character device, not a regular file",
    ),
    "options import of a FIFO": (
        _args("options", "import", "fifo", "--app", "DMS_1"),
        "option file fifo is a FIFO (named pipe), not a regular file",
    ),
    "option file over 64 MiB": (
        _options_file("[a]\nk=v\n", 65 * 1024 * 1024),
        "larger than 64 MiB",
    ),
    "answers file over 1 MiB": (_big_answers, "answers file bad.yaml is larger than 1 MiB"),
    "a huge value in an option file": (
        _options_file(f"[channel-twitter]\nreconnection-timeout={BIG_VALUE}\n"),
        "[channel-twitter] reconnection-timeout: the value is not allowed",
    ),
    "a huge value in an answers file": (
        _install(_with("iwd_custom_properties", "x" + BIG_VALUE)),
        "'x999999999999999999999999999999999999999'... (500001 characters) is not true or false",
    ),
    # Exit 1 before issue 10.
    "symlink loop as strategy_dir": (
        _install(_with("strategy_dir", "loop-a/Strategies")),
        "loop-a/Strategies cannot be resolved (a symbolic link loop?)",
    ),
    "symlink loop as install_home": (
        _install(_with("install_home", "loop-a")),
        "key 'install_home': ",  # then the path and: cannot be resolved (a symbolic link loop?)
    ),
    "asyncpg": (
        _args("--db", "postgresql+asyncpg://u@localhost/x", "object", "list"),
        "unsupported",
    ),
    "pysqlcipher": (_args("--db", "sqlite+pysqlcipher:///x.db", "object", "list"), "unsupported"),
    "an unknown database scheme": (_args("--db", "bogus://x", "object", "list"), "unsupported"),
    # Listed nothing with exit 0, so a mistyped tenant read as "no history".
    "history of an unknown tenant": (
        _args("history", "--tenant", "Nope", "--json"),
        "gsetup: error: unknown tenant 'Nope'",
    ),
    "options export to a directory": (
        _args("options", "export", "--app", "DMS_1", "--output", "folder"),
        "folder is a directory; give the option file's name",
    ),
    # YAML errors: line and cause.
    "a number too long": (
        _install(_with("iwd_custom_properties", BIG_VALUE)),
        "bad.yaml: a number in the file is too long to be an answer",
    ),
    "duplicate key": (
        _install(FACEBOOK + "tenant: Other\n"),
        'duplicate key "tenant" (each key once)',
    ),
    "tab": (_install(FACEBOOK + "\tx: 1\n"), "(indent with spaces, not tabs)"),
    "not UTF-8": (_install(FACEBOOK + "x: \udcff\n"), "not UTF-8 (save the file as UTF-8)"),
    "directory as answers": (
        _args("install", "facebook-bp", "--answers", "folder", "--yes"),
        "answers file folder is a directory",
    ),
    "FIFO as answers": (
        _args("install", "facebook-bp", "--answers", "fifo", "--yes"),
        "answers file fifo is a FIFO (named pipe)",
    ),
    # Checked before the commit.
    "save answers to a directory": (
        _install(FACEBOOK, "--save-answers", "folder"),
        "--save-answers folder is a directory",
    ),
    "save answers in a file": (
        _install(FACEBOOK, "--save-answers", "fb.yaml/answers.yaml"),
        "--save-answers fb.yaml/answers.yaml: fb.yaml is a file, not a directory\n",
    ),
    "save answers in a missing directory": (
        _install(FACEBOOK, "--save-answers", "missing/answers.yaml"),
        "gsetup: error: --save-answers missing/answers.yaml: the directory missing does not "
        "exist\n",
    ),
    "save a driver's answers in a missing directory": (
        lambda work: (*_driver_set()(work), "--save-answers", "missing/sub/drv.yaml"),
        "gsetup: error: --save-answers missing/sub/drv.yaml: the directory missing/sub does not "
        "exist\n",
    ),
    "export options into a missing directory": (
        _args("options", "export", "--app", "DMS_1", "--output", "missing/sub/dms.cfg"),
        "gsetup: error: missing/sub/dms.cfg: cannot write the option file: the directory "
        "missing/sub does not exist\n",
    ),
    "save answers where nothing can be written": (
        _install(FACEBOOK, "--save-answers", "/proc/answers.yaml"),
        "--save-answers /proc/answers.yaml: not writable",
    ),
    # Directories no install may take: the strategy directory is replaced as a whole, and the
    # install home gets Scripts/, Rules/ and, by default, the strategy directory. Dry runs, so
    # a gsetup that let them through writes nothing there either.
    "filesystem root as install_home": (
        _install(_with("install_home", "/"), "--dry-run"),
        "gsetup: error: bad.yaml: key 'install_home': / is the filesystem root; give a "
        "directory of its own\n",
    ),
    "home directory as install_home": (
        _install(_with("install_home", '"~"'), "--dry-run"),
        "is the home directory; give a directory of its own in it\n",
    ),
    "filesystem root as install_home, answers check": (
        _answers_check(_with("install_home", "/")),
        "bad.yaml: key 'install_home': / is the filesystem root",
    ),
    "home directory as strategy_dir through --set": (
        _install(FACEBOOK, "--set", "strategy_dir=~", "--dry-run"),
        "gsetup: error: --set: key 'strategy_dir': ",  # then the path: is the home directory
    ),
    "a directory holding the home as strategy_dir": (
        _install(_with("strategy_dir", ".."), "--dry-run"),  # the work directory's parent
        "holds the home directory ",
    ),
    "--set given twice": (
        _install(FACEBOOK, "--set", "strategy_dir=a", "--set", "strategy_dir=b"),
        "gsetup: error: --set strategy_dir given twice; give each key once\n",
    ),
    "driver --set given twice": (
        _driver_set("option.reconnection-timeout=10", "option.reconnection-timeout=20"),
        "gsetup: error: --set option.reconnection-timeout given twice; give each key once\n",
    ),
    # The flag that answers a key and --set are one source: neither silently wins.
    "--tenant and --set tenant": (
        _install(FACEBOOK, "--tenant", "Environment", "--set", "tenant=Other"),
        "gsetup: error: --tenant and --set tenant both given; give each key once\n",
    ),
    "driver --dms and --set dms": (
        lambda work: (*_driver_set("dms=DMS_2")(work), "--dms", "DMS_1"),
        "gsetup: error: --dms and --set dms both given; give each key once\n",
    ),
    "driver --tenant and --set tenant": (
        lambda work: (*_driver_set("tenant=Other")(work), "--tenant", "Environment"),
        "gsetup: error: --tenant and --set tenant both given; give each key once\n",
    ),
    "driver --channel and --set channel": (
        lambda work: (*_driver_set("channel=channel-b")(work), "--channel", "channel-a"),
        "gsetup: error: --channel and --set channel both given; give each key once\n",
    ),
    # A driver answer outside the questions (the channel, its options, the login) is known.
    "driver --set of an unknown key": (
        _driver_set("chanel=x"),
        "gsetup: error: --set: unknown key 'chanel'; known keys: tenant, dms, host, port, "
        "accept_terms, gsa_account_name, gsa_api_key, gsa_channel_id, gsa_channel_name, "
        "gsa_url_base, gsa_user_name, gsa_password, rpc_cache_timeout, channel, options, "
        "option.<key>, user, password\n",
    ),
    "unwritable install home": (
        _install(_with("install_home", "/proc/gsetup-home")),
        "key 'install_home': /proc is not writable",
    ),
    # YAML's recursion on deep nesting escaped as RecursionError (exit 1)
    "answers nested too deeply": (
        _install("tenant: " + "[" * 3000 + "]" * 3000),
        "bad.yaml: nested too deeply to read (more than a few hundred levels)",
    ),
    # bytes that are not UTF-8 on the command line come as lone surrogates (exit 1 before)
    "a name that is not UTF-8": (
        _args("tenant", "create", "ab\udcff"),
        "gsetup: error: Invalid value for 'NAME': byte 0xFF at position 3 is not UTF-8; "
        "gsetup takes UTF-8 text",
    ),
    "a tenant that is not UTF-8": (
        _args("object", "list", "--tenant", "ab\udcff"),
        "Invalid value for '--tenant' / '-t': byte 0xFF at position 3 is not UTF-8",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_and_writes_nothing(db_url: str, work: Path, case: str) -> None:
    prepare, words = CASES[case]
    args = prepare(work)
    before = snapshot(db_url), _files(work)
    result = run_cli(*args)
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr) < 1000 and result.stderr.count("\n") == 1
    assert (snapshot(db_url), _files(work)) == before
    assert not (work / "missing").exists()  # no directory made either


@pytest.mark.parametrize("given", ["+5", "-0", "1_0"])  # a sign was taken: +5 was 5 seconds
def test_a_bad_lock_timeout_is_one_error_naming_the_variable(
    db_url: str, work: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    before = snapshot(db_url), _files(work)
    monkeypatch.setenv("GSETUP_LOCK_TIMEOUT", given)
    result = run_cli("options", "set", "--app", "DMS_1", "a/k", "v")
    assert result.exit_code == 2
    assert result.stderr == (
        f"gsetup: error: GSETUP_LOCK_TIMEOUT='{given}': give seconds, 0 or more and below "
        "10000000, as a plain decimal number (e.g. 120 or 2.5)\n"
    )
    monkeypatch.delenv("GSETUP_LOCK_TIMEOUT")
    assert (snapshot(db_url), _files(work)) == before


@pytest.mark.parametrize("given", ["0", "-1", "1_0"])
def test_a_bad_store_timeout_is_one_error_naming_the_variable(
    db_url: str, work: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """``GSETUP_STORE_TIMEOUT`` is refused before the runtime makes its store's file."""
    assert run_cli("install", "facebook-bp", "--answers", "fb.yaml", "--yes").exit_code == 0
    monkeypatch.setenv("GSETUP_STORE_TIMEOUT", given)
    result = run_cli("route", "run", "--listen", "127.0.0.1:0", "--store", "sqlite:///s.db")
    assert result.exit_code == 2
    assert result.stderr == (
        f"gsetup: error: GSETUP_STORE_TIMEOUT='{given}': give seconds, above 0 and below "
        "10000000, as a plain decimal number (e.g. 30 or 2.5)\n"
    )
    assert not (work / "s.db").exists()


def test_a_dropped_table_is_one_sentence(db_url: str, work: Path) -> None:
    assert run_cli("install", "facebook-bp", "--answers", "fb.yaml", "--yes").exit_code == 0
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE strategy"))
    engine.dispose()
    result = run_cli("install", "facebook-bp", "--answers", "fb.yaml", "--yes")
    assert result.exit_code == 2
    assert result.stderr.startswith("gsetup: error: the configuration database has no 'strategy'")
    assert "SELECT" not in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_on_a_server_needs_a_superuser(
    server_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GSETUP_NEW_PASSWORD", "otto-password")
    assert run_cli("account", "create", "otto").exit_code == 0
    assert (
        run_cli("account", "grant", "otto", "--tenant", "Environment", "--role", "admin").exit_code
        == 0
    )
    monkeypatch.setenv("GSETUP_USER", "otto")
    monkeypatch.setenv("GSETUP_PASSWORD", "otto-password")
    result = run_cli("db", "upgrade")
    assert result.exit_code == 2
    assert "superuser" in result.stderr
    monkeypatch.setenv("GSETUP_USER", "admin")
    monkeypatch.setenv("GSETUP_PASSWORD", PG_ADMIN_PASSWORD)
    assert run_cli("db", "upgrade").exit_code == 0


def test_a_too_long_sqlite_store_is_a_store_error(tmp_path: Path) -> None:
    """Opening or peeking at a store whose file name the system refuses: one short StoreError
    (Path.is_file() raised OSError, shown whole as an unexpected error)."""
    from gsetup.fileio import quote_prefix
    from gsetup.runtime.errors import StoreError
    from gsetup.runtime.store import peek, store_engine

    (tmp_path / "stores").mkdir()
    path = tmp_path / "stores" / LONG
    cut = quote_prefix(str(path))
    with pytest.raises(StoreError) as opened:
        store_engine(f"sqlite:///{path}", create=False)
    assert str(opened.value) == f"the interaction store {cut}: file name too long"
    with pytest.raises(StoreError) as peeked, peek(f"sqlite:///{path}", "agents"):
        pass
    assert str(peeked.value) == f"the interaction store {cut}: file name too long"
    assert list((tmp_path / "stores").iterdir()) == []
