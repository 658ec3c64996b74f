"""Files written safely and read within bounds.

Writing: content goes to a temporary name in the destination's directory, is fsync'ed, and
is renamed over the destination, so a reader (or a crash) sees the old file or the new one,
never a part. A file that would not change is not touched. Directories are replaced by
renames only (:func:`exchange`).

Reading: only regular files, up to a size limit, so ``/dev/zero``, a FIFO or a huge file is
a clean refusal instead of a hang or an exhausted memory.

Every write, rename and removal passes :func:`checkpoint`, the fault-injection point of the
file crash tests (as ``GSETUP_TEST_CRASH_AFTER`` is for database statements).
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import json
import math
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gsetup.errors import BadInputError, GsetupError

# Fault injection: SIGKILL (SIGINT, or SIGSTOP for the race tests) this process after the Nth
# file operation, or after the first operation of a named site; a trace file, when set,
# receives one site name per line.
CRASH_AT_ENV = "GSETUP_TEST_CRASH_AT_FILE_OP"
INTERRUPT_AT_ENV = "GSETUP_TEST_INTERRUPT_AT"
STOP_AT_ENV = "GSETUP_TEST_STOP_AT"
TRACE_ENV = "GSETUP_TEST_FILE_OPS"
TEMP_MARK = ".gsetup-"  # in every temporary and set-aside name gsetup makes

_operations = itertools.count(1)


def checkpoint(site: str) -> None:
    """Count one file operation at ``site``; the crash tests stop the process here."""
    number = next(_operations)
    trace = os.environ.get(TRACE_ENV)
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(site + "\n")
    for env, sig in (
        (CRASH_AT_ENV, signal.SIGKILL),
        (INTERRUPT_AT_ENV, signal.SIGINT),
        (STOP_AT_ENV, signal.SIGSTOP),
    ):
        wanted = os.environ.get(env)
        if wanted and wanted in (site, str(number)):
            os.kill(os.getpid(), sig)


def temp_name(path: Path, kind: str = "tmp") -> Path:
    """A fresh hidden name beside ``path`` (same directory, so a rename is atomic)."""
    return path.with_name(f".{path.name}{TEMP_MARK}{kind}-{secrets.token_hex(4)}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of the temporary names :func:`temp_name` makes."""
    return name.startswith(".") and TEMP_MARK in name


def write_new(path: Path, data: str | bytes, *, mode: int = 0o644, site: str = "write") -> None:
    """Create ``path`` (which must not exist) with ``data``, fsync'ed; parents are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    checkpoint(site)


def same_content(path: Path, data: str | bytes) -> bool:
    """Whether ``path`` is a regular file holding exactly ``data``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if not path.is_file() or path.stat().st_size != len(raw):
            return False
        return path.read_bytes() == raw
    except OSError:
        return False


def write_atomic(
    path: Path, data: str | bytes, *, mode: int | None = None, refuse_terminal: str = ""
) -> bool:
    """Replace ``path`` with ``data`` all at once; returns False when it already held ``data``.

    The file keeps its permission bits when it exists (``mode`` otherwise, default 0644). An
    existing FIFO or device is written into, not replaced; a terminal is refused (exit 2,
    nothing written) when ``refuse_terminal`` gives why.
    """
    if same_content(path, data):
        return False
    if path.exists() and not path.is_file() and not path.is_dir():
        # A FIFO or a device (--output /dev/stdout): renaming over it would replace it.
        with path.open("wb") as stream:
            if refuse_terminal and stream.isatty():
                raise BadInputError(f"{path} is a terminal: {refuse_terminal}")
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        return True
    if mode is None:
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else 0o644
    temp = temp_name(path)
    try:
        write_new(temp, data, mode=mode)
        replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True


def replace(source: Path, destination: Path, *, site: str = "rename") -> None:
    """Rename ``source`` over ``destination`` and make the rename durable."""
    os.replace(source, destination)
    sync_directory(destination.parent)
    checkpoint(site)


def remove_file(path: Path, *, site: str = "remove") -> None:
    """Delete one file (gone already is fine)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    checkpoint(site)


def remove_tree(path: Path, *, site: str = "remove-tree") -> None:
    """Delete a set-aside or staged directory (gone already is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
        checkpoint(site)


def remove_directory_if_empty(directory: Path, *, site: str = "rmdir") -> None:
    """Remove ``directory`` itself once it holds nothing (gone already is fine)."""
    if directory.is_dir() and not directory.is_symlink() and not any(directory.iterdir()):
        directory.rmdir()
        checkpoint(site)


def missing_directories(directory: Path) -> list[Path]:
    """``directory`` and its ancestors that do not exist yet, deepest first: what creating
    it with its parents makes."""
    return list(itertools.takewhile(lambda d: not d.exists(), (directory, *directory.parents)))


def remove_empty_directories(directory: Path, *, site: str = "rmdir") -> None:
    """Remove ``directory`` and its subdirectories that hold no file, deepest first."""
    if not directory.is_dir() or directory.is_symlink():
        return
    for path in sorted(directory.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
            checkpoint(site)
    if not any(directory.iterdir()):
        directory.rmdir()
        checkpoint(site)


def writable(directory: Path) -> bool:
    """Whether a file can be created in ``directory``: tried, since permission bits say
    nothing for root or on a read-only file system."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def private(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open` creating files only their owner may read (message
    texts, tokens)."""
    return os.open(path, flags, 0o600)


def sync_directory(directory: Path) -> None:
    """fsync a directory so the renames in it survive a power loss."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories; the rename itself is atomic
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(first: Path, second: Path, *, site: str = "exchange") -> bool:
    """Swap two directories in one atomic step (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result != 0:
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            return False
        raise OSError(code, os.strerror(code), str(second))
    sync_directory(second.parent)
    checkpoint(site)
    return True


# Size limits of the files gsetup reads (issue 10: a limit keeps a wrong file from hanging it).
OPTIONS_LIMIT = 64 * 1024 * 1024
ANSWERS_LIMIT = 1024 * 1024
JSONL_LIMIT = 256 * 1024 * 1024  # traffic and submission files: events of a long recording
RULES_LIMIT = 16 * 1024 * 1024  # a strategy or classification rule file (a long lexicon)


def lookup(
    path: Path, what: str, error: type[GsetupError] = BadInputError
) -> os.stat_result | None:
    """``path``'s status, None when nothing is there. A path the system cannot look up (too
    long, a symbolic link loop...) is an ``error`` naming ``what`` and the path, cut: Path's
    ``is_file`` and ``exists`` raise a bare OSError for it."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise error(f"{what} {quote_prefix(str(path))}: {_reason(exc)}") from None


def not_a_directory(
    directory: Path, what: str, error: type[GsetupError] = BadInputError
) -> Path | None:
    """The nearest of ``directory`` and its ancestors that exists, when it is no directory:
    a file standing where a directory would be (None: that nearest one is a directory). A
    bare mkdir or open says only "File exists" or "Not a directory" for it."""
    for parent in (directory, *directory.parents):
        info = lookup(parent, what, error)
        if info is not None:
            return None if stat.S_ISDIR(info.st_mode) else parent
    return None


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refused unless it is a regular file of at most ``limit`` bytes.

    ``what`` names the file in messages ("the answers file", "options file"...).
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise BadInputError(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise BadInputError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise BadInputError(f"{what} {path}: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInputError(f"{what} {path} is {_file_type(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise BadInputError(f"{what} {path} is larger than {_size(limit)}")
        chunks = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:  # grew while being read
                raise BadInputError(f"{what} {path} is larger than {_size(limit)}")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise BadInputError(f"{what} {path}: {_reason(exc)}") from None
    finally:
        os.close(fd)


def read_lines(path: Path, limit: int, what: str) -> list[str]:
    """The lines of a UTF-8 text file, read as :func:`read_regular` reads it."""
    return read_text(path, limit, what).splitlines()


def read_text(path: Path, limit: int, what: str) -> str:
    """A UTF-8 text file, read as :func:`read_regular` reads it, without a leading byte order
    mark (editors on Windows write one; option and answers files take it too)."""
    try:
        return read_regular(path, limit, what).decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


def json_loads(text: str | bytes) -> Any:
    """``text`` parsed as JSON. ``json.loads`` also takes NaN, Infinity and numbers past a
    float's range (``1e999``), which are not JSON: stored, they would make every later answer
    that holds them fail to encode. They raise ValueError here, as any other bad JSON does,
    and so do a lone UTF-16 surrogate (``"\\ud800"``), which UTF-8 cannot store, and U+0000
    (``"\\u0000"``), which PostgreSQL text cannot."""
    data = json.loads(text, parse_constant=_not_a_number, parse_float=_finite)
    check_escaped(text, data)
    return data


def check_escaped(text: str | bytes, data: Any) -> None:
    """:func:`check_encodable` for ``data`` read from the JSON ``text``, when ``text`` may
    hold what it refuses: both are only ever written escaped (a JSON string holds no raw
    control character), so other texts need no check."""
    if isinstance(text, bytes):
        escaped = b"\\ud" in text.lower() or b"\\u0000" in text
    else:
        escaped = "\\ud" in text.lower() or "\\u0000" in text
    if escaped:
        check_encodable(data)


def check_encodable(data: Any) -> None:
    """ValueError when a string of ``data`` (a key or a value) holds a lone surrogate or
    U+0000: JSON allows both (escaped); UTF-8 cannot store the one, PostgreSQL text the other
    (it failed the request there, and SQLite stored it)."""
    try:
        text = json.dumps(data, ensure_ascii=False)
        text.encode()
    except UnicodeEncodeError as exc:
        found = ord(exc.object[exc.start])
        raise ValueError(
            f"a string holds a lone surrogate (\\u{found:04x}); text is UTF-8 characters"
        ) from None
    if "\\u0000" in text and _holds_nul(data):  # json.dumps escapes it so
        raise ValueError("a string holds U+0000 (NUL), which PostgreSQL text cannot hold")


def _holds_nul(data: Any) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_holds_nul(v) for v in data)
    return False


# Python reads each byte of the command line and the environment that is not UTF-8 as a lone
# surrogate (surrogateescape); UTF-8, so no database, can store one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def not_utf8(text: str) -> str | None:
    """What in ``text`` is not UTF-8 and where (``byte 0xFF at position 3 is not UTF-8``);
    None when ``text`` can be stored."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    what = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
    return f"{what} at position {found.start() + 1} is not UTF-8"


def _not_a_number(token: str) -> float:
    raise ValueError(f"{token} is not a JSON number")


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"{token} is past the range of a number")
    return value


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    return (exc.strerror or str(exc)).lower()


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


# DEL and the C1 controls (U+0080-U+009F: NEL is a line break to some readers, CSI starts a
# terminal escape): refused with the C0 controls in names and answers.
DEL_AND_C1 = "\x7f-\x9f"


def elide_middle(text: str) -> str:
    """``text`` (a path, a URL) whole up to 200 characters, else its first 120 and last 60
    characters and its length: unlike :func:`quote_prefix`, a usual one is shown whole, and a
    long one keeps its start (scheme, host) and its end (file or database name)."""
    if len(text) <= 200:
        return text
    return f"{text[:120]}...{text[-60:]} ({len(text)} characters)"


def quote_prefix(value: object, limit: int = 40) -> str:
    """``value`` quoted for a message, cut to a short prefix (values may be megabytes); a value
    of a file that is not text (a JSON array...) as Python shows it, cut alike."""
    if not isinstance(value, str):
        shown = repr(value)
        return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(shown)} characters)"
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


# What values are called in messages: YAML's words for answers and strategy files, JSON's for
# bodies and traffic lines, never Python's (NoneType, dict). In order: bool is an int, a
# datetime a date.
_YAML_KINDS: dict[type, str] = {
    type(None): "nothing (null)",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    list: "a list",
    tuple: "a list",
    dict: "a mapping",
    datetime: "a timestamp",
    date: "a date",
    bytes: "binary data",
    set: "a set",
}
_JSON_KINDS = {
    **_YAML_KINDS,
    type(None): "null",
    int: "a number",
    str: "a string",
    list: "an array",
    tuple: "an array",
    dict: "an object",
}


def kind_name(kind: type, *, json: bool = False) -> str:
    """The type ``kind`` in the words of YAML (of JSON with ``json``): ``a list``."""
    for known, name in (_JSON_KINDS if json else _YAML_KINDS).items():
        if issubclass(kind, known):
            return name
    return "a value of another kind"


def value_kind(value: object, *, json: bool = False) -> str:
    """What ``value`` is, in the words of YAML (of JSON with ``json``): ``a mapping``."""
    return kind_name(type(value), json=json)


def kind_of_type_named(name: str) -> str:
    """The Python type called ``name`` in a Python message (``'NoneType'``, ``'str'``) in the
    words of YAML: ``nothing (null)``, ``text``."""
    return _YAML_KINDS_BY_NAME.get(name, "a value of another kind")


_YAML_KINDS_BY_NAME = {kind.__name__: name for kind, name in _YAML_KINDS.items()}
