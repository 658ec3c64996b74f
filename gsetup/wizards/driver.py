"""The Cloud API driver installer wizard: where its answers come from and what it runs.

Answers come from prompts (the questions are in :mod:`gsetup.wizards.driver_questions`),
answer files, ``--set`` and, for a re-install, the last install's history record. Two keys of
answer files stand outside the question model because their values are not single answers:
``channel`` (the channel name) and ``options`` (a mapping of more channel options,
``--set option.<key>=value`` on the command line).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup.commands.upgrade_report import DEFAULT_TIMEOUT
from gsetup.configdb.tenants import DEFAULT_TENANT
from gsetup.drivers.specs import (
    DRIVERS,
    Driver,
    channel_section,
)
from gsetup.drivers.terms import SOCIAL_ENGAGEMENT_TERMS as TERMS
from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.interrupts import STOPS
from gsetup.options import check_text
from gsetup.wizards.answers import (
    SET_SOURCE,
    AnswerSource,
    check_save_path,
    combined,
    flag_answers,
    load_answers_file,
    parse_set,
    save_answers,
)
from gsetup.wizards.collect import Applier, Prompter, answer_again, collect
from gsetup.wizards.driver_questions import (
    HUB_ANSWERS,
    driver_questions,
    require_acceptance,
)
from gsetup.wizards.questions import Question

if TYPE_CHECKING:
    from gsetup.commands.drivers import DriverResult
    from gsetup.commands.upgrade_report import UpgradeProgress, UpgradeReport
    from gsetup.context import Context

OPTION_PREFIX = "option."
_LOGIN_KEYS = ("user", "password")
_UPGRADE_KEYS = ("tenant", "dms", "accept_terms")
_SET_ON_UPGRADE = (*_UPGRADE_KEYS, *_LOGIN_KEYS)  # accept_terms too: --rollback ignores it


@dataclass(frozen=True)
class UpgradeFlags:
    """``gsetup driver upgrade``'s own flags."""

    single: bool = False
    switch_back: bool = False
    rollback: bool = False
    force: bool = False
    timeout: float = DEFAULT_TIMEOUT

    def as_kwargs(self) -> dict[str, Any]:
        """As keyword arguments of :class:`gsetup.commands.upgrade.UpgradeRequest`."""
        return asdict(self)


@dataclass
class DriverRequest:
    """What the command line gave ``gsetup driver install`` or ``upgrade``."""

    driver: str
    dms: str | None = None
    channel: str | None = None
    package: Path | None = None
    answers_file: Path | None = None
    sets: Sequence[str] = ()
    save_answers: Path | None = None
    yes: bool = False
    tenant: str | None = None
    upgrade: UpgradeFlags = field(default_factory=UpgradeFlags)


@dataclass
class _Extras:
    """The answers outside the question model: the channel and more channel options."""

    channel: str | None = None
    options: dict[str, object] = field(default_factory=dict)
    where: str = "options"


def parse_driver(name: str) -> Driver:
    """``facebook`` or ``twitter``; anything else is refused naming both."""
    for driver in DRIVERS:
        if name == driver:
            return driver
    raise BadInputError(f"unknown driver {quote_prefix(name)}; use one of: {', '.join(DRIVERS)}")


def answer_sources(request: DriverRequest) -> list[AnswerSource]:
    """``--dms``/``--tenant``/``--channel`` first, then ``--set``, then the answers file.

    ``--save-answers`` is checked here, before anything is applied.
    """
    if request.save_answers is not None:
        check_save_path(request.save_answers)
    sets = parse_set(request.sets)
    given = {"dms": request.dms, "tenant": request.tenant, "channel": request.channel}
    flags = flag_answers("command line", given, sets)
    sources = [flags, sets]
    if request.answers_file is not None:
        sources.append(load_answers_file(request.answers_file))
    return sources


# -- sources -------------------------------------------------------------------------------


def _split(
    sources: Sequence[AnswerSource], request: DriverRequest, keep: Sequence[str] | None = None
) -> tuple[list[AnswerSource], _Extras]:
    """Take the login answers, ``channel`` and the options out of the sources (``--channel``
    is the first of them, :func:`answer_sources`: it wins as any earlier source does).

    ``keep`` (upgrade) also drops any other key of an answers file (an install's may be
    reused), and refuses one given with ``--set``, which would be dropped without a word.
    """
    extras = _Extras()
    asked = [q.key for q in driver_questions(parse_driver(request.driver), None)]
    cleaned = []
    for source in reversed(sources):  # lowest precedence first, so later ones win
        values: dict[str, Any] = {}
        for key, value in source.values.items():
            if keep is not None and source.name == SET_SOURCE and key not in _SET_ON_UPGRADE:
                raise BadInputError(
                    f"--set {quote_prefix(key)}: the upgrade reads only tenant, dms and "
                    "accept_terms (change channel options with gsetup options set)"
                )
            if key.startswith(OPTION_PREFIX):
                extras.options[key.removeprefix(OPTION_PREFIX)] = value
                extras.where = f"{source.name} {key}"
            elif key == "options":
                if not isinstance(value, Mapping):
                    raise BadInputError(f"{source.name}: options must be a mapping of key: value")
                extras.options.update({str(k): v for k, v in value.items()})
                extras.where = f"{source.name}: options"
            elif key == "channel":
                if value is not None:  # "channel:" left empty: the first channel
                    extras.channel = str(value)
            elif keep is None and key not in asked and key not in _LOGIN_KEYS:
                known = [*asked, "channel", "options", f"{OPTION_PREFIX}<key>", *_LOGIN_KEYS]
                raise BadInputError(
                    f"{source.name}: unknown key {quote_prefix(key)}; known keys: "
                    + ", ".join(known)
                )
            elif key not in _LOGIN_KEYS and (keep is None or key in keep):
                values[key] = value
        cleaned.append(AnswerSource(source.name, values, source.clear_secrets))
    for key, value in extras.options.items():
        check_text(str(value), f"{extras.where} ({key})", answer=True)
        answer = next((a for a, option in HUB_ANSWERS.items() if option == key), None)
        if answer is not None:
            raise BadInputError(f"{extras.where}: give {key} with the answer {answer!r}")
    return list(reversed(cleaned)), extras


def _recorded(
    ctx: Context, driver: Driver, sources: list[AnswerSource], channel: str | None
) -> dict[str, Any]:
    """The answers of the last install of this driver channel on the DMS the sources name."""
    from gsetup.commands.history import list_history

    def given(key: str) -> Any:
        return next((s.values[key] for s in sources if key in s.values), None)

    tenant, dms = given("tenant") or DEFAULT_TENANT, given("dms")
    if dms is None:
        return {}
    # An unknown tenant has no history here: the tenant question refuses it, naming the choices.
    for entry in list_history(ctx, tenant, limit=10_000, known_tenant=False):
        answers = entry["answers"] or {}
        if (
            entry["package"] == f"driver-{driver}"
            and entry["operation"] == "driver install"
            and answers.get("dms") == dms
            and answers.get("channel") == channel
        ):
            skip = {"tenant", "dms", "accept_terms", "terms", "channel", "options", "package"}
            return {k: v for k, v in answers.items() if k not in skip}
    return {}


# -- running -------------------------------------------------------------------------------


def _accepted(ctx: Context, collected: Mapping[str, Any]) -> dict[str, Any]:
    """The acceptance the history records: who accepted which terms, when."""
    require_acceptance(collected.get("accept_terms"))
    return {
        "title": TERMS.title,
        "version": TERMS.version,
        "accepted_by": ctx.identity.name,
        "accepted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _check_host(ctx: Context, collected: Mapping[str, Any]) -> None:
    from gsetup.commands.drivers import dms_application

    app = dms_application(ctx, collected["tenant"], collected["dms"])
    if app.host and str(collected["host"]).lower() != app.host.lower():
        raise BadInputError(
            f"host: {collected['dms']!r} runs on {app.host!r}, not {collected['host']!r}; "
            "the driver's files go to its working directory on that host"
        )
    if "port" in collected and collected["port"] != app.port:
        raise BadInputError(
            f"port: {collected['dms']!r} listens on port {app.port}, not {collected['port']}"
        )


def _collect(
    questions: list[Question],
    sources: list[AnswerSource],
    request: DriverRequest,
    prompter: Prompter,
    recorded: Mapping[str, Any] | None = None,
    origins: dict[str, str] | None = None,
) -> dict[str, Any]:
    def keep_partial(partial: dict[str, Any]) -> None:
        if request.save_answers is not None:
            save_answers(request.save_answers, questions, partial)

    return collect(
        questions,
        sources,
        prompter=prompter,
        yes=request.yes,
        recorded=recorded,
        on_interrupt=keep_partial,
        origins=origins,
    )


def run_driver_install(
    ctx: Context,
    request: DriverRequest,
    sources: list[AnswerSource],
    prompter: Prompter,
    applier: Applier,
) -> DriverResult:
    """Ask what is left, then plan or apply through ``applier``; write ``--save-answers``.

    A plan that deletes or replaces existing values is risky.
    """
    from gsetup.commands.drivers import DriverAnswers, install_driver
    from gsetup.drivers.channel_options import check_channel_options

    driver = parse_driver(request.driver)
    questions = driver_questions(driver, ctx)
    cleaned, extras = _split(sources, request)
    section = channel_section(driver, extras.channel)  # a bad name is refused before asking
    options = check_channel_options(driver, section, extras.options, extras.where)
    recorded = _recorded(ctx, driver, cleaned, extras.channel)
    origins: dict[str, str] = {}
    collected = _collect(questions, cleaned, request, prompter, recorded, origins)
    terms = _accepted(ctx, collected)
    _check_host(ctx, collected)
    secret = {q.key for q in questions if q.secret}

    def driver_answers(collected: Mapping[str, Any]) -> DriverAnswers:
        history = {k: v for k, v in collected.items() if k not in secret}
        history.update(
            channel=extras.channel,
            package=str(request.package) if request.package else None,
            options=options,
            terms=terms,
        )
        return DriverAnswers(
            driver,
            collected["tenant"],
            collected["dms"],
            extras.channel,
            request.package,
            {option: str(collected[key]) for key, option in HUB_ANSWERS.items()},
            options,
            history,
        )

    answers = driver_answers(collected)
    again = answer_again(
        questions,
        cleaned,
        collected,
        origins,
        recorded=lambda given: _recorded(ctx, driver, given, extras.channel),
        prompter=prompter,
        locked=("tenant", "dms"),
    )

    def settle() -> DriverAnswers:
        """What is applied is what ``--save-answers`` saves and the next steps name."""
        nonlocal collected
        assert again is not None
        collected = again()
        _check_host(ctx, collected)
        return driver_answers(collected)

    def save() -> None:
        if request.save_answers is not None:
            extra = {"channel": extras.channel, "options": options}
            saved = {**collected, **{k: v for k, v in extra.items() if v}}
            save_answers(request.save_answers, [*questions, *_extra_questions()], saved)

    try:
        result = applier.apply(
            lambda dry: install_driver(
                ctx, answers, dry_run=dry, settle=settle if again is not None else None
            ),
            lambda r: [r.plan],
            risky=lambda plan: plan.replaces(),
        )
    except STOPS:  # at the confirmation: every answer was given, keep them
        save()
        raise
    result.next_steps.append(
        f"In Hub, set the RPC cache timeout of channel {collected['gsa_channel_name']!r} to "
        f"{collected['rpc_cache_timeout']} seconds (guide: Configure connections)."
    )
    save()
    return result


def _extra_questions() -> list[Question]:
    """The extra keys, described for ``--save-answers`` (never asked)."""
    return [
        Question("channel", "", "Channel name: the section becomes channel-<driver>-<name>."),
        Question("options", "", "More channel options, key: value, checked against the specs."),
    ]


def run_driver_upgrade(
    ctx: Context,
    request: DriverRequest,
    sources: list[AnswerSource],
    prompter: Prompter,
    applier: Applier,
    progress: UpgradeProgress | None = None,
) -> UpgradeReport:
    """The rolling upgrade: tenant, DMS and terms, then the steps (gsetup.commands.upgrade).

    ``--rollback`` asks no terms: it puts back the version whose terms were accepted. Every
    plan that changes something is risky: it replaces the driver's files.
    """
    from gsetup.commands.upgrade import run_upgrade
    from gsetup.commands.upgrade_report import UpgradeRequest

    driver = parse_driver(request.driver)
    if request.package is None and not request.upgrade.rollback:
        raise BadInputError("--package: give the new driver package (directory or archive)")
    keys = _UPGRADE_KEYS[:2] if request.upgrade.rollback else _UPGRADE_KEYS
    questions = [q for q in driver_questions(driver, ctx) if q.key in keys]
    cleaned, _extras = _split(sources, request, keep=keys)
    collected = _collect(questions, cleaned, request, prompter)
    history: dict[str, Any] = {
        "tenant": collected["tenant"],
        "dms": collected["dms"],
        "package": str(request.package) if request.package else None,
    }
    if not request.upgrade.rollback:
        history["terms"] = _accepted(ctx, collected)

    def run(dry_run: bool) -> UpgradeReport:
        upgrade = UpgradeRequest(
            driver,
            collected["tenant"],
            collected["dms"],
            request.package,
            history,
            dry_run=dry_run,
            **request.upgrade.as_kwargs(),
        )
        return run_upgrade(ctx, upgrade, progress if not dry_run else None)

    # Each member's step is planned again when it is reached, between the journal's records.
    return applier.apply(
        run,
        lambda report: [step.plan for step in report.plans],
        risky=lambda plan: plan.pending,
        exact=False,
    )


def check_driver_answers_file(
    path: Path, driver_name: str, sets: Sequence[str] = (), tenant: str | None = None
) -> dict[str, Any]:
    """Validate a driver answers file without a database: keys, types, ranges, the channel
    name, its options against the specs, and secret references, with ``--tenant`` and
    ``--set`` as ``driver install`` takes them."""
    from gsetup.drivers.channel_options import check_channel_options
    from gsetup.wizards.bp import LOGIN_QUESTIONS
    from gsetup.wizards.collect import check_source, require_answers

    driver = parse_driver(driver_name)
    request = DriverRequest(driver_name, answers_file=path, sets=sets, tenant=tenant)
    sources = answer_sources(request)
    checked: dict[str, Any] = {}
    for source in reversed(sources):  # lowest precedence first, so later ones win
        login = {k: v for k, v in source.values.items() if k in _LOGIN_KEYS}
        checked.update(
            check_source(LOGIN_QUESTIONS, AnswerSource(source.name, login, source.clear_secrets))
        )
    cleaned, extras = _split(sources, DriverRequest(driver_name))
    questions = driver_questions(driver, None)
    for source in reversed(cleaned):
        checked.update(check_source(questions, source))
    require_answers(questions, combined(cleaned))
    section = channel_section(driver, extras.channel)
    options = check_channel_options(driver, section, extras.options, extras.where)
    return {**checked, "channel": extras.channel, "options": options}


def driver_answers_schema(driver_name: str) -> dict[str, Any]:
    """The JSON Schema of a ``gsetup driver install`` answers file (YAML)."""
    from gsetup.wizards.bp import LOGIN_QUESTIONS
    from gsetup.wizards.schema import answers_schema

    driver = parse_driver(driver_name)
    shapes: tuple[dict[str, Any], ...] = (
        {"type": "string", "minLength": 1},
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    )
    extra = {
        q.key: {"description": q.help, **shape}
        for q, shape in zip(_extra_questions(), shapes, strict=True)
    }
    title = f"gsetup answers file: driver install {driver}"
    return answers_schema(title, driver_questions(driver, None), LOGIN_QUESTIONS, extra)
