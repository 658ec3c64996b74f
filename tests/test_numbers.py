"""Numbers users give (command-line values, option files, the environment) are plain ASCII
decimals, as the docs say: Python's int() and float() would take 1_0 (10), spaces around,
other scripts' digits, exponents, nan and inf, and str.isdigit() a superscript two, which
int() then refuses with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gsetup.commands.serve import Listen, parse_listen
from gsetup.configdb.database import LOCK_TIMEOUT_ENV, lock_timeout
from gsetup.errors import BadInputError, DatabaseError
from gsetup.numbers import decimal_number, whole_number
from gsetup.process.config import process_config
from gsetup.runtime.errors import StoreError
from gsetup.runtime.store import STORE_TIMEOUT_ENV, store_timeout
from gsetup.runtime.worker import main as worker_main
from gsetup.wizards.driver_questions import _port
from tests.runtime_support import ROOT, configure_tenant

NOT_PLAIN = ["1_0", " 1", "1 ", "\u0665", "\u00b2", "1e1", "nan", "inf", "0x1", "", "1.", ".5"]


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_only_plain_ascii_decimals_are_numbers(text: str) -> None:
    assert decimal_number(text) is None
    assert whole_number(text) is None


def test_plain_decimals() -> None:
    assert [decimal_number(t) for t in ("30", "2.5", "-1", "+0.25")] == [30, 2.5, -1, 0.25]
    assert [whole_number(t) for t in ("30", "-1", "+7")] == [30, -1, 7]
    assert whole_number("2.5") is None
    assert [whole_number(t, signed=False) for t in ("+7", "-0", "07")] == [None, None, 7]
    assert [decimal_number(t, signed=False) for t in ("+7", "-0.5", "2.5")] == [None, None, 2.5]
    assert whole_number("9" * 19) is None  # past every range, and int() of a huge text fails


@pytest.mark.parametrize("text", ["1_0", "\u0665", "\u00b2"])
def test_places_that_read_numbers_refuse_others(
    text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BadInputError, match="use HOST:PORT"):
        parse_listen(f"127.0.0.1:{text}")
    with pytest.raises(BadInputError, match=r"timeout: .*; allowed: seconds above 0 and"):
        process_config("A", {}, {"timeout": text})
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, text)
    with pytest.raises(DatabaseError, match=LOCK_TIMEOUT_ENV):
        lock_timeout()
    monkeypatch.setenv(STORE_TIMEOUT_ENV, text)
    with pytest.raises(StoreError, match=STORE_TIMEOUT_ENV):
        store_timeout()
    with pytest.raises(ValueError, match="is not a port"):
        _port(text)
    for option in ("--batch-size", "--lease"):
        with pytest.raises(SystemExit) as exited:
            worker_main([option, text])
        assert exited.value.code == 2
        assert f"argument {option}: {text!r}; allowed: " in capsys.readouterr().err


def test_plain_numbers_are_read() -> None:
    assert parse_listen("127.0.0.1:8470") == Listen("127.0.0.1", 8470)
    attrs = {"start_cmd": "true", "working_dir": "/"}
    assert process_config("A", attrs, {"timeout": "2.5"}).timeout == 2.5
    assert _port("8080") == 8080


@pytest.mark.parametrize(("option", "given"), [("--batch-size", "+50"), ("--lease", "+2")])
def test_worker_arguments_take_no_sign(tmp_path: Path, option: str, given: str) -> None:
    """A sign was taken (--lease +2 was 2 seconds): exit 2 naming the argument, as gsetup's
    command line does, and the store is not created."""
    config = f"sqlite:///{tmp_path / 'config.db'}"
    configure_tenant(config, tmp_path, agents={"alice": 1})
    store = tmp_path / "store.db"
    argv = ["--config", config, "--store", f"sqlite:///{store}", option, given]
    worker = subprocess.run(
        [sys.executable, "-m", "gsetup.runtime.worker", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,  # one that took the sign runs until killed here
        check=False,
    )
    assert worker.returncode == 2, worker.stderr
    assert worker.stdout == ""
    kind = "a whole number" if option == "--batch-size" else "a plain decimal number"
    assert worker.stderr == (
        f"gsetup: error: argument {option}: {given!r}; allowed: {kind} above 0 "
        "(python -m gsetup.runtime.worker -h shows the usage)\n"
    )
    assert not store.exists()


def test_a_worker_refusal_is_one_gsetup_error_line(tmp_path: Path) -> None:
    """The worker module refuses as gsetup does: one line ``gsetup: error: ...``, exit 2,
    nothing made (it printed ``error: ...``)."""
    config = f"sqlite:///{tmp_path / 'config.db'}"
    configure_tenant(config, tmp_path, agents={"alice": 1})
    store = tmp_path / "store.db"
    worker = subprocess.run(
        [sys.executable, "-m", "gsetup.runtime.worker", "--config", config],
        cwd=ROOT,
        env={**os.environ, STORE_TIMEOUT_ENV: "0"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert worker.returncode == 2, worker.stderr
    assert (worker.stdout, worker.stderr) == (
        "",
        f"gsetup: error: {STORE_TIMEOUT_ENV}='0': give seconds, above 0 and below 10000000, "
        "as a plain decimal number (e.g. 30 or 2.5)\n",
    )
    assert not store.exists() and not (tmp_path / "gsetup-runtime.db").exists()
