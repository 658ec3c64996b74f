"""Help placeholders that read as words: ``--tenant NAME``, ``--db URL``, ``FILE``.

typer (0.29, pinned in pyproject) shows a parameter's type (``<str>``, ``<list[str]>``) and a
required argument as ``{NAME}``; the click command it builds is walked once here: every
value-taking parameter without its own metavar gets a word, and arguments show as click
shows them (``NAME``, ``[VALUE]``) without their type.
"""

from __future__ import annotations

import functools
from typing import Any

import typer

# Options whose value is better named than by the option itself.
_WORDS = {
    "--db": "URL",
    "--url": "URL",
    "--user": "NAME",
    "--tenant": "NAME",
    "--app": "NAME",
    "--dms": "NAME",
    "--workspace": "NAME",
    "--chat-server": "NAME",
    "--interaction-server": "NAME",
    "--facebook-bp": "PACKAGE",
    "--twitter-bp": "PACKAGE",
    "--emoji-attribute": "NAME",
    "--value-env": "VAR",
    "--annex": "PATH",
    "--working-dir": "DIR",
    "--start-cmd": "COMMAND",
    "--stop-cmd": "COMMAND",
    "--secret-key": "KEY",
    "--role": "ROLE",
}


@functools.cache
def build_command(app: typer.Typer) -> Any:
    """The click command of ``app`` with word placeholders, taking UTF-8 text only.

    Built once a process: building it walks every command's signature (40 ms or more), and a
    process that runs many commands (the test suite's in-process runs) would pay it each time.
    """
    from gsetup.cli.utf8 import require_utf8

    command = typer.main.get_command(app)
    _name(command)
    require_utf8(command)
    return command


def _name(command: Any) -> None:
    for param in command.params:
        if param.metavar is None and param.bare_type() != "bool":
            param.metavar = _word(param)
        if param.param_type_name == "argument":
            word = param.metavar if param.required else f"[{param.metavar}]"
            param.display_type_rich = lambda ctx: None
            param._usage_display_name = lambda word=word, many=param.nargs != 1: (
                f"{word}..." if many else word
            )
    for sub in getattr(command, "commands", {}).values():
        _name(sub)


def _word(param: Any) -> str:
    if param.param_type_name == "argument":
        return str(param.name).upper()
    long = str(max(param.opts, key=len))
    if long in _WORDS:
        return _WORDS[long]
    if param.type_descriptor.is_path:
        return "PATH"
    if param.bare_type() in ("int", "list[int]"):
        return "N"
    return long.lstrip("-").upper()
