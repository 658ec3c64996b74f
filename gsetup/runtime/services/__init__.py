"""The external services a ``service`` block calls: UCS, ClassificationServer, DMS, Klout.

UCS, ClassificationServer and Klout answer within the turn; a request that fails is retried
up to the block's ``attempts``. DMS requests go through the outbox: the interaction waits
(state routing, waiting ``service``) until the delivery loop has the DMS's answer or has
given up, then resumes here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gsetup.runtime.services.ucs import METHODS as UCS_METHODS
from gsetup.runtime.services.ucs import ServiceError

if TYPE_CHECKING:
    from gsetup.runtime.interpreter import Machine
    from gsetup.runtime.services.classification import Classifier
    from gsetup.strategy.model import Service

Method = Callable[["Machine", dict[str, Any]], Any]


def _classifier(run: Machine) -> Classifier:
    """The classifier of the Business Process whose strategy is running."""
    ctx = run.turn.ctx
    process = run.program.process_of.get(run.position["stack"][-1]["s"])
    return ctx.classifiers.get(process.bp.name, ctx.classifier) if process else ctx.classifier


def _screen(run: Machine, args: dict[str, Any]) -> Any:
    text, rules = str(args.get("text") or ""), str(args.get("rules") or "")
    try:
        return dict(_classifier(run).screen(text, rules))
    except ValueError as exc:
        raise ServiceError(str(exc)) from None


def _classify(run: Machine, args: dict[str, Any]) -> Any:
    root = str(args.get("category_root") or "")
    language = args.get("language")
    try:
        return dict(_classifier(run).classify(str(args.get("text") or ""), root, language))
    except ValueError as exc:
        raise ServiceError(str(exc)) from None


def _score(run: Machine, args: dict[str, Any]) -> Any:
    return dict(run.turn.ctx.influence.score(args, run.itx.udata))


SYNC: dict[tuple[str, str], Method] = {
    **{("UCS", name): method for name, method in UCS_METHODS.items()},
    ("ClassificationServer", "Screen"): _screen,
    ("ClassificationServer", "Classify"): _classify,
    ("Klout", "Score"): _score,
}


def call_service(run: Machine, block: Service, args: dict[str, Any]) -> None:
    """Run a service block: answer now, or (DMS) suspend until the outbox has the answer."""
    if block.service == "DMS":
        from gsetup.runtime.outbox import enqueue

        enqueue(run, block, args)  # suspends, or answers from the RPC cache
        return
    method = SYNC[(block.service, block.method)]
    error: ServiceError | None = None
    for _attempt in range(block.attempts):
        try:
            value = method(run, args)
        except ServiceError as exc:
            error = exc
            continue
        if block.result is not None:
            run.scope[block.result] = value
        return
    failed(run, block, f"{block.service}.{block.method} failed: {error}")


def failed(run: Machine, block: Service, reason: str) -> None:
    """Every attempt failed: ``on_error`` runs; without it the result is none."""
    run.turn.log(run.itx, "service-failed", service=block.service, reason=reason)
    if block.result is not None:
        run.scope[block.result] = None
    if block.on_error:
        run.push(block, "on_error")


def answered(run: Machine, block: Service, answer: str | None) -> None:
    """A DMS answer arrived: it becomes the block's result."""
    if block.result is not None:
        run.scope[block.result] = json.loads(answer) if answer else {}


def resume_service(run: Machine) -> None:
    """Continue after a DMS request: its outbox row says how it ended."""
    from gsetup.runtime.outbox import outcome

    pending = run.position.pop("pending")
    block = run.program.blocks[(pending["s"], pending["b"])]
    assert block.__class__.__name__ == "Service"
    state, answer, error = outcome(run.turn, pending["o"])
    if state == "sent":
        answered(run, block, answer)  # type: ignore[arg-type]
    elif state == "failed":
        failed(run, block, error or "the DMS request failed")  # type: ignore[arg-type]
    else:  # woken early (e.g. a restart): keep waiting for the answer
        run.position["pending"] = pending
        run.suspend("service", None)
