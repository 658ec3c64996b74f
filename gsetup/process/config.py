"""How an application is started and stopped: its attributes and ``[gsetup-process]`` options."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gsetup.configdb.database import ENV_DB
from gsetup.context import ENV_PASSWORD, ENV_USER
from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.numbers import decimal_number

SECTION = "gsetup-process"
KEYS = ("adapter", "start", "stop", "status", "timeout")
ADAPTERS = ("local", "command")
DEFAULT_TIMEOUT = 30.0
# How gsetup reaches its configuration database: GSETUP_DB's URL may hold the password.
DATABASE_VARIABLES = (ENV_DB, ENV_USER, ENV_PASSWORD)

Adapter = Literal["local", "command"]


@dataclass(frozen=True)
class ProcessConfig:
    """One application's process settings, checked.

    ``start_cmd`` is the application's own command line (local adapter); ``start``, ``stop``
    and ``status`` are the command adapter's lines; ``timeout`` bounds each command and the
    grace between SIGTERM and SIGKILL. ``env`` is added to the environment of a command line
    that runs gsetup itself (:func:`environment`).
    """

    app: str
    app_type: str
    host: str
    port: int | None
    working_dir: Path | None
    adapter: Adapter
    start_cmd: str = ""
    start: str = ""
    stop: str = ""
    status: str = ""
    timeout: float = DEFAULT_TIMEOUT
    env: Mapping[str, str] = field(default_factory=dict)


def process_config(
    app: str,
    attrs: Mapping[str, Any],
    options: Mapping[str, str],
    env: Mapping[str, str] | None = None,
) -> ProcessConfig:
    """Check ``attrs`` (the application's fields) and ``options`` (its ``[gsetup-process]``)."""
    where = f"application {quote_prefix(app)}, [{SECTION}]"
    adapter, timeout = checked_options(options, where)
    working = attrs.get("working_dir") or ""
    if working and (not Path(working).is_absolute() or not Path(working).is_dir()):
        raise BadInputError(
            f"application {app!r}: its working directory {working} is not an existing absolute "
            "directory on this machine"
        )
    config = ProcessConfig(
        app=app,
        app_type=attrs.get("app_type", ""),
        host=attrs.get("host") or "",
        port=attrs.get("port"),
        working_dir=Path(working) if working else None,
        adapter=adapter,
        start_cmd=attrs.get("start_cmd") or "",
        start=options.get("start", ""),
        stop=options.get("stop", ""),
        status=options.get("status", ""),
        timeout=timeout,
        env=dict(env or {}),
    )
    _check_commands(config, where)
    return config


def environment(config: ProcessConfig, argv: Sequence[str]) -> dict[str, str]:
    """The environment ``argv`` runs with. gsetup itself (the DMS stand-in) gets gsetup's, and
    ``config.env``: it reads the same database. Any other program gets gsetup's without the
    database variables, whose password it has no use for."""
    if runs_gsetup(argv):
        return {**os.environ, **config.env}
    return {name: value for name, value in os.environ.items() if name not in DATABASE_VARIABLES}


def runs_gsetup(argv: Sequence[str]) -> bool:
    """Whether the command line ``argv`` runs gsetup: ``[DIR/]gsetup ...`` or
    ``[DIR/]python[VERSION] -m gsetup ...`` (not through a shell or another program)."""
    if not argv:
        return False
    program = Path(argv[0]).name
    if program == "gsetup":
        return True
    return program.startswith("python") and list(argv[1:3]) == ["-m", "gsetup"]


def checked_options(
    options: Mapping[str, str], where: str, *, echo: bool = True
) -> tuple[Adapter, float]:
    """The adapter and timeout of ``options`` (a ``[gsetup-process]`` section); refuses an
    unknown key or a value outside what is allowed. ``gsetup options`` checks what it writes
    with it, the app commands what they read (a value an older gsetup stored unchecked).
    ``where`` names the section in the message, which shows the value only when ``echo``."""
    unknown = sorted(set(options) - set(KEYS))
    if unknown:
        raise BadInputError(f"{where} {unknown[0]}: unknown key; allowed: {', '.join(KEYS)}")
    adapter = options.get("adapter", "local")
    if adapter not in ADAPTERS:
        shown = quote_prefix(adapter) if echo else "the value is not allowed"
        raise BadInputError(f"{where} adapter: {shown}; allowed: {', '.join(ADAPTERS)}")
    return ("command" if adapter == "command" else "local"), _timeout(
        options.get("timeout"), where, echo
    )


def _timeout(value: str | None, where: str, echo: bool) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    seconds = decimal_number(value, signed=False)
    if seconds is None or not 0 < seconds <= 3600:
        shown = quote_prefix(value) if echo else "the value is not allowed"
        raise BadInputError(
            f"{where} timeout: {shown}; allowed: seconds above 0 and at most "
            "3600, a plain decimal number (e.g. 30 or 2.5)"
        )
    return seconds


def _check_commands(config: ProcessConfig, where: str) -> None:
    if config.adapter == "command":
        missing = [k for k in ("start", "stop", "status") if not getattr(config, k)]
        if missing:
            raise BadInputError(
                f"{where}: the command adapter needs start, stop and status command lines; "
                f"missing: {', '.join(missing)}"
            )
        return
    if not config.start_cmd or config.working_dir is None:
        raise BadInputError(
            f"application {config.app!r} has no start command or working directory: set them "
            "(gsetup app update --start-cmd ... --working-dir ...), or configure the command "
            f"adapter in [{SECTION}] (adapter=command, start, stop, status)"
        )
