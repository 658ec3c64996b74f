"""Errors the core raises; the CLI maps them to exit codes in one place (gsetup.cli.errors).

The core never prints or exits. Messages are one clear sentence for the user: they name the
file, key or object at fault and what is allowed, and never contain a secret.
"""

from __future__ import annotations

# Published exit codes (docs/cli.md).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_CHANGES_PENDING = 3
EXIT_CANCELLED = 4
EXIT_HUNG_UP = 129  # 128 + SIGHUP, as a shell reports it
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM


def error_line(message: str) -> str:
    """How every gsetup entry point reports an error on standard error."""
    return f"gsetup: error: {message}"


class GsetupError(Exception):
    """Base of every error gsetup reports to its user."""

    exit_code = EXIT_FAILURE


class BadInputError(GsetupError):
    """Input that gsetup refuses: a file, key, value, name or URL that is not allowed."""

    exit_code = EXIT_BAD_INPUT


class NotFoundError(BadInputError):
    """A named tenant, object, application or package does not exist."""


class PermissionDeniedError(BadInputError):
    """The account may not see or change what it asked for."""


class ConflictError(BadInputError):
    """The change would break a unique rule or another object depends on it."""


def changed_after_shown(what: str, now: str, nothing: str) -> ConflictError:
    """The refusal of an apply whose plan, made again after a confirmation, is not the one
    shown: ``what`` changed, ``now`` says how, ``nothing`` what was left undone."""
    return ConflictError(
        f"{what} changed after the plan was shown (now: {now}); {nothing}: run the command "
        "again to see the new plan"
    )


class DatabaseError(BadInputError):
    """The configuration database cannot be used: unreachable, not gsetup's, too new or behind."""


class NeedsAnswerError(BadInputError):
    """A question has no answer and no terminal to ask it on."""


class CancelledError(GsetupError):
    """The user answered no at a confirmation: nothing was written."""

    exit_code = EXIT_CANCELLED
