"""The one preview, confirm, apply sequence of every command that changes configuration.

A command hands :meth:`Confirmation.apply` a function ``run(dry_run)`` that plans
(``dry_run=True``) or applies its change, and says which plans are risky. The rules
(docs/cli.md, "Confirmations"):

- ``--dry-run`` or ``--detailed-exitcode``: plan only; nothing is ever applied.
- A risky plan (one that deletes, or for bulk commands one that overwrites existing values:
  :meth:`Plan.deletes`, :meth:`Plan.replaces`) is shown and confirmed on a terminal.
  ``--yes`` skips the question; without a terminal and without ``--yes`` it is refused
  (exit 2) with a message naming ``--yes``.
- A wizard on a terminal (without ``--yes``) confirms every plan that changes something.
- "No" raises :class:`CancelledError` (exit 4): nothing was written.

Commands that need no confirmation are applied at once, without planning twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from gsetup.errors import EXIT_CHANGES_PENDING, BadInputError, CancelledError
from gsetup.plan.model import Plan

R = TypeVar("R")
Risk = Callable[[Plan], bool]


def _can_ask() -> bool:
    from gsetup.wizards.collect import can_ask

    return can_ask()


def _ask(question: str, default: bool, *, to_stderr: bool = False) -> bool:
    import questionary

    from gsetup.wizards.collect import answer

    if not to_stderr:
        return bool(answer(questionary.confirm(question, default=default)))
    from prompt_toolkit.output import create_output

    # Standard output holds the --json result or is redirected: ask where the preview went.
    output = create_output(stdout=sys.stderr)
    return bool(answer(questionary.confirm(question, default=default, output=output)))


@dataclass
class Confirmation:
    """How this invocation applies: the options every changing command shares.

    ``wizard``: the command asks its questions on a terminal, so every plan is confirmed.
    ``to_stderr``: the preview goes to standard error (``--json`` keeps standard output
    for the result); so it does when standard output is not a terminal (:attr:`aside`).
    ``busy``: what a spinner says on a terminal while planning or applying (long work).
    ``terminal`` and ``ask`` are replaced by tests that feed key presses (``ask`` None:
    questionary, on the stream the preview went to).
    """

    dry_run: bool = False
    yes: bool = False
    detailed_exitcode: bool = False
    wizard: bool = False
    to_stderr: bool = False
    busy: str = ""
    terminal: Callable[[], bool] = field(default=_can_ask)
    ask: Callable[[str, bool], bool] | None = None

    @property
    def aside(self) -> bool:
        """Preview and question on standard error: for ``--json``, or when standard output
        goes to a file or a pipe (``gsetup install X > log``), where no one would see them."""
        return self.to_stderr or not sys.stdout.isatty()

    @property
    def plan_only(self) -> bool:
        """``--dry-run`` or ``--detailed-exitcode``: nothing is applied."""
        return self.dry_run or self.detailed_exitcode

    def apply(
        self,
        run: Callable[[bool], R],
        plans: Callable[[R], Sequence[Plan]],
        *,
        risky: Risk | None = Plan.deletes,
        exact: bool = True,
    ) -> R:
        """Plan only, or preview and confirm what needs it, then apply; return ``run``'s result.

        ``risky=None``: the command's plans never need a confirmation (a wizard's still do).
        After a confirmation, each apply must write what its plan showed, else it is refused
        (:func:`gsetup.plan.apply.as_confirmed`); ``exact=False``: a command whose plans are
        made again step by step as it goes (a rolling upgrade).
        """
        if self.plan_only:
            return self._run(run, True)
        confirm_all = self.wizard and self.terminal()
        if self.yes or (risky is None and not confirm_all):
            return self._run(run, False)
        shown = plans(self._run(run, True))
        asked = False
        for plan in shown:
            dangerous = risky is not None and risky(plan)
            if plan.pending and (confirm_all or dangerous):
                self.confirm(
                    f"this plan deletes or replaces configuration ({plan.summary_line()})",
                    partial(_show, plan, self.aside),
                    default=not dangerous,
                )
                asked = True
        if not (asked and exact):
            return self._run(run, False)
        from gsetup.plan.apply import as_confirmed

        with as_confirmed(shown):
            return self._run(run, False)

    def apply_plan(self, run: Callable[[bool], Plan], *, risky: Risk | None = Plan.deletes) -> Plan:
        """:meth:`apply` for a command whose result is one plan."""
        return self.apply(run, _one, risky=risky)

    def confirm(self, what: str, show: Callable[[], None], *, default: bool = False) -> None:
        """Show what is about to happen and ask; without a terminal, refuse unless ``--yes``.

        ``what`` completes "gsetup: error: ..." when there is no terminal to ask on.
        """
        if self.yes:
            return
        if not self.terminal():
            raise BadInputError(
                f"{what} and there is no terminal to confirm it on: add --yes to apply it "
                "(--dry-run shows it)"
            )
        if self.aside:  # beside the question, whatever stream ``show`` prints to
            from contextlib import redirect_stdout

            with redirect_stdout(sys.stderr):
                show()
        else:
            show()
        ask = self.ask or partial(_ask, to_stderr=self.aside)
        if not ask("Apply this plan?", default):
            raise CancelledError("cancelled: nothing was written")

    def _run(self, run: Callable[[bool], R], dry_run: bool) -> R:
        if not self.busy:
            return run(dry_run)
        from gsetup.cli.progress import working

        with working(f"{self.busy}: {'planning' if dry_run else 'applying'}"):
            return run(dry_run)

    def exit_for(self, plan: Plan) -> None:
        """``--detailed-exitcode``: exit 3 when changes are pending."""
        import typer

        if self.detailed_exitcode and plan.pending:
            raise typer.Exit(EXIT_CHANGES_PENDING)


def _one(plan: Plan) -> Sequence[Plan]:
    return [plan]


def _show(plan: Plan, to_stderr: bool) -> None:
    from gsetup.cli.render import print_plan

    print_plan(plan, applied=False, to_stderr=to_stderr)
