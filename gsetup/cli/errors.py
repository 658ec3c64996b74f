"""Map every way a command can end to the published exit codes (docs/cli.md)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from gsetup.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_HUNG_UP,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    CancelledError,
    GsetupError,
    error_line,
)
from gsetup.interrupts import HungUp, Terminated

if TYPE_CHECKING:
    import typer


def run(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status; never shows local variables in a traceback."""
    import typer

    from gsetup.cli.placeholders import build_command

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])

    def main() -> int:
        try:
            result = build_command(app).main(args=argv, standalone_mode=False, prog_name="gsetup")
        except typer.Abort:
            print("\naborted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except typer.Exit as exc:
            return int(exc.exit_code)
        except typer.TyperException as exc:  # usage errors: unknown option, bad value...
            _error(_usage_message(exc), debug)
            return EXIT_BAD_INPUT
        if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent exit status 130
            print("\ninterrupted", file=sys.stderr)
        return result if isinstance(result, int) else 0

    return guarded(main, debug)


def guarded(command: Callable[[], int], debug: bool) -> int:
    """Run ``command`` and map how it ended to the published exit codes (also for the quick
    read commands, which run without typer)."""
    try:
        return command()
    except CancelledError as exc:  # "no" at a confirmation: not an error, one line
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except GsetupError as exc:
        _error(str(exc), debug)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except HungUp:
        # The terminal may be gone for good: the line is written if it can still be.
        with contextlib.suppress(OSError):
            print("\ninterrupted: the terminal was closed (SIGHUP)", file=sys.stderr)
        return EXIT_HUNG_UP
    except Terminated:
        print("\ninterrupted: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        # The output's reader went away (`| head`): stop quietly, as typer does for the
        # commands it runs; stdout goes to /dev/null so the flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:  # the last resort: a bug, reported without locals
        from gsetup.configdb.database import explain_failure, unexpected_failure

        explained = explain_failure(exc)
        if explained is not None:
            _error(str(explained), debug)
            return explained.exit_code
        _error(f"{unexpected_failure(exc)} (run with --debug for details)", debug)
        return EXIT_FAILURE


def reported(failure: Exception, debug: bool) -> int:
    """Report ``failure`` as a command raising it would end, and return that exit status:
    for one that ends the process from another thread (``route run``'s abandoned stop)."""

    def fail() -> int:
        raise failure

    return guarded(fail, debug)


_EXTRA_ARGS = re.compile(r"(Got unexpected extra argument\(s\)) \((.*)\)", re.DOTALL)


def _usage_message(exc: Exception) -> str:
    """``No such option: --bogus (gsetup tenant list -h shows the usage)``."""
    from gsetup.fileio import quote_prefix

    format_message = getattr(exc, "format_message", None)
    message = format_message() if format_message is not None else str(exc)
    extra = _EXTRA_ARGS.fullmatch(message)
    if extra:  # click repeats the extra arguments whole: they may be megabytes
        message = f"{extra[1]} ({quote_prefix(extra[2])})"
    command = getattr(getattr(exc, "ctx", None), "command_path", None)
    return f"{message.rstrip('.')} ({command} -h shows the usage)" if command else message


def _error(message: str, debug: bool) -> None:
    # The last guard for a driver's error that reached here unexplained (or a traceback),
    # which may echo a database URL's password.
    from gsetup.configdb.database import scrub

    if debug:
        print(scrub(traceback.format_exc()), end="", file=sys.stderr)
    print(error_line(scrub(message)), file=sys.stderr)
