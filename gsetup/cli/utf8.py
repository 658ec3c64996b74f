"""Command-line text must be UTF-8: names, keys and values end up in a database.

Python reads a byte that is not UTF-8 (in an argument, or an option's environment variable) as
a lone surrogate, which no database can store: the write failed with an unexplained error
(exit 1). Each text parameter is checked as it is parsed, so the refusal names it (exit 2).
Paths are left alone: a file name may be any bytes.
"""

from __future__ import annotations

from typing import Any

import typer

from gsetup.fileio import not_utf8


def require_utf8(command: Any) -> None:
    """Make every text parameter of ``command`` and its subcommands refuse non-UTF-8 text."""
    for param in command.params:
        if not param.type_descriptor.is_path and param.bare_type() in ("str", "list[str]"):
            param.callback = _checked(param.callback)
    for sub in getattr(command, "commands", {}).values():
        require_utf8(sub)


def _checked(callback: Any) -> Any:
    def check(ctx: Any, param: Any, value: Any) -> Any:
        for text in value if isinstance(value, (list, tuple)) else [value]:
            problem = not_utf8(text) if isinstance(text, str) else None
            if problem:
                raise typer.BadParameter(f"{problem}; gsetup takes UTF-8 text", ctx, param)
        return value if callback is None else callback(ctx, param, value)

    return check
