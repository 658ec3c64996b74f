"""The Business Process installer wizard: the guide's steps, as questions.

1. log in (server databases only), 2. select a tenant, 3. iWD custom properties, 4. the
destination directory for strategy files (and the install home for the scripts), 5. the
capacity rule; then the plan is shown, confirmed and applied. The same questions parse answer
files and ``--set``, so scripted and interactive installs can't drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup.configdb.tenants import DEFAULT_TENANT, check_name
from gsetup.errors import BadInputError, NeedsAnswerError, NotFoundError
from gsetup.interrupts import STOPS
from gsetup.packages.attributes import CAPACITY_RULE
from gsetup.wizards.answers import (
    AnswerSource,
    check_keys,
    check_save_path,
    check_secrets,
    combined,
    flag_answers,
    load_answers_file,
    parse_set,
    save_answers,
)
from gsetup.wizards.collect import Applier, Prompter, answer_again, collect
from gsetup.wizards.questions import Answers as Collected
from gsetup.wizards.questions import Question, answer_label

if TYPE_CHECKING:
    from gsetup.commands.install import Answered, InstallResult
    from gsetup.context import Context
    from gsetup.installer.files import Own
    from gsetup.packages import Package

LOGIN_QUESTIONS = (
    Question(
        "user",
        "Configuration database account:",
        "Account to log in to a server "
        "configuration database with (the embedded database needs none).",
    ),
    Question(
        "password",
        "Password:",
        "Its password: {env: NAME} or {file: PATH}; never written to an answers file.",
        type="secret",
    ),
)


def accepted_questions(*asked: Sequence[Question]) -> list[Question]:
    """The questions an install's answers may answer: the login's, then those of ``asked``
    (each key once). ``install`` and ``answers check`` refuse any other key, listing these."""
    return list({q.key: q for questions in (LOGIN_QUESTIONS, *asked) for q in questions}.values())


def _checked_directory(own: Own) -> Callable[[str], str]:
    """The validator of a directory the package places files in or replaces (``own``)."""

    def check(value: str) -> str:
        from gsetup.installer.files import check_directory

        try:
            return str(check_directory(Path(value), own=own))
        except BadInputError as exc:
            raise ValueError(str(exc).removeprefix("strategy_dir: ")) from None

    return check


def bp_questions(package: Package, ctx: Context | None) -> list[Question]:
    """The questions of ``package``'s wizard; without ``ctx`` the choices are not checked."""
    from platformdirs import user_data_path

    def tenants(_: Collected) -> list[str]:
        from gsetup.commands.tenants import tenants_to_select

        assert ctx is not None
        return tenants_to_select(ctx)

    def rules(answers: Collected) -> list[str]:
        from gsetup.commands.install import capacity_rules

        assert ctx is not None
        existing = capacity_rules(ctx, answers["tenant"])
        return [CAPACITY_RULE, *(r for r in existing if r != CAPACITY_RULE)]

    def home(answers: Collected) -> str:
        return str(user_data_path("gsetup") / "installs" / answers["tenant"] / package.name)

    questions = [
        Question(
            "tenant",
            "Select a tenant:",
            "Tenant to install the Business Process in.",
            type="choice",
            choices=tenants if ctx else None,
            validate=lambda name: check_name(name, "tenant"),  # answers check has no tenants
        ),
        Question(
            "iwd_custom_properties",
            "Add Interaction Custom Properties for iWD integration?",
            "Also create desktop_actionable, desktop_influence and desktop_sentiment (true/false).",
            type="bool",
            default=False,
        ),
        Question(
            "install_home",
            "Installation home (the database scripts go to its Scripts folder):",
            "Directory for the package's files: Scripts/<RDBMS>/ holds the "
            "CleanUp and Alter scripts.",
            type="path",
            default=home,
            validate=_checked_directory("placed"),
        ),
        Question(
            "strategy_dir",
            "Destination directory for strategy files (created, or replaced if it exists):",
            "Directory the strategy files are written to; "
            "replaced as a whole, files changed by hand are backed up.",
            type="path",
            default=lambda a: str(Path(a["install_home"]) / "Strategies"),
            validate=_checked_directory("replaced"),
        ),
        Question(
            "capacity_rule",
            "Select a resource capacity rule:",
            f"Capacity rule made the tenant's default; {CAPACITY_RULE} is the package's "
            "own (created if missing).",
            type="choice",
            default=CAPACITY_RULE,
            choices=rules if ctx else None,
        ),
    ]
    # An add-on always adds the iWD properties and leaves capacity to the package it extends:
    # it asks neither, so an answer to either is refused as an unknown key, not ignored.
    unasked = {"iwd_custom_properties"} if package.requires else set()
    if not package.capacity:
        unasked.add("capacity_rule")
    return [q for q in questions if q.key not in unasked]


@dataclass
class InstallRequest:
    """What the command line gave ``gsetup install`` or ``gsetup uninstall``."""

    package: str
    answers_file: Path | None = None
    sets: Sequence[str] = ()
    save_answers: Path | None = None
    yes: bool = False
    tenant: str | None = None


def answer_sources(request: InstallRequest) -> list[AnswerSource]:
    """``--tenant`` and ``--set`` first, then the answers file.

    ``--save-answers`` is checked here too, before anything is applied.
    """
    if request.save_answers is not None:
        check_save_path(request.save_answers)
    sets = parse_set(request.sets)
    sources = [flag_answers("--tenant", {"tenant": request.tenant}, sets), sets]
    if request.answers_file is not None:
        sources.append(load_answers_file(request.answers_file))
    return sources


def login(
    db_url: str | None,
    user: str | None,
    sources: list[AnswerSource],
    prompter: Prompter,
    yes: bool,
) -> Context:
    """Step 1: log in; the embedded database trusts its owner and asks nothing."""
    import os

    from gsetup.configdb.database import open_database, resolve_url
    from gsetup.context import ENV_PASSWORD, ENV_USER, connect

    db = open_database(resolve_url(db_url))
    if db.embedded:
        # No login, but a broken password reference is still an error (it breaks elsewhere).
        check_secrets(LOGIN_QUESTIONS, [_only(s, "password") for s in sources])
        return connect(db_url)
    given = [
        AnswerSource(
            "command line",
            {
                k: v
                for k, v in (
                    ("user", user or os.environ.get(ENV_USER)),
                    ("password", os.environ.get(ENV_PASSWORD)),
                )
                if v
            },
            clear_secrets=True,
        ),
        *sources,
    ]
    creds = collect(
        LOGIN_QUESTIONS, [_only(s, "user", "password") for s in given], prompter=prompter, yes=yes
    )
    return connect(db_url, user=creds["user"], password=lambda: str(creds["password"]))


def _only(source: AnswerSource, *keys: str) -> AnswerSource:
    values = {k: v for k, v in source.values.items() if k in keys}
    return AnswerSource(source.name, values, source.clear_secrets)


def _without(source: AnswerSource, *keys: str) -> AnswerSource:
    values = {k: v for k, v in source.values.items() if k not in keys}
    return AnswerSource(source.name, values, source.clear_secrets)


def run_install(
    ctx: Context,
    request: InstallRequest,
    sources: list[AnswerSource],
    prompter: Prompter,
    applier: Applier,
) -> InstallResult:
    """Ask what is left, then plan or apply through ``applier``; write ``--save-answers``.

    A plan that deletes (a version change removes the old one) is risky.
    """
    from gsetup.commands.install import install
    from gsetup.packages import get_package
    from gsetup.plan.model import Plan

    package = get_package(request.package)
    questions = bp_questions(package, ctx)
    for source in sources:  # before the login's keys are set apart: an unknown key lists them
        check_keys(source, accepted_questions(questions))
    bp_sources = [_without(s, "user", "password") for s in sources]
    ask = prompter.interactive and not request.yes
    recorded = _recorded_answers(ctx, package.name, bp_sources, ask=ask)

    def keep_partial(partial: dict[str, Any]) -> None:
        if request.save_answers is not None:
            save_answers(request.save_answers, questions, _decisions(partial))

    origins: dict[str, str] = {}
    collected = collect(
        questions,
        bp_sources,
        prompter=prompter,
        yes=request.yes,
        recorded=recorded,
        on_interrupt=keep_partial,
        origins=origins,
    )
    labels = {key: answer_label(origin, key) for key, origin in origins.items()}
    answered = _answered(collected)
    again = answer_again(
        questions,
        bp_sources,
        collected,
        origins,
        recorded=lambda given: _recorded_answers(ctx, package.name, given, ask=False),
        prompter=prompter,
    )

    def settle() -> Answered:
        """What is applied is what ``--save-answers`` saves."""
        nonlocal answered
        assert again is not None
        answered = _answered(again())
        return answered

    try:
        result = applier.apply(
            lambda dry: install(
                ctx,
                package.name,
                answered[0],
                answered[1],
                dry_run=dry,
                recorded_answers=answered[2],
                labels=labels,
                settle=settle if again is not None else None,
            ),
            lambda r: [r.plan],
            risky=Plan.deletes,
        )
    except STOPS:  # at the confirmation: every answer was given, keep them
        keep_partial(answered[2])
        raise
    keep_partial(answered[2])
    return result


def _answered(collected: dict[str, Any]) -> Answered:
    """What ``install`` takes of the wizard's answers: the package's, the install home, and
    the answers to record."""
    from gsetup.packages import Answers

    rule = collected.get("capacity_rule", CAPACITY_RULE)
    answers = Answers(
        collected["tenant"],
        bool(collected.get("iwd_custom_properties", False)),
        collected["strategy_dir"],
        None if rule == CAPACITY_RULE else rule,
    )
    return answers, Path(collected["install_home"]), _decisions(collected)


def _decisions(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers to record or save: no password, and a strategy_dir left to its default
    left out, so it follows install_home when a re-run or a replay changes that."""
    decided = {k: v for k, v in answers.items() if k != "password"}
    home = decided.get("install_home")
    if home is not None and decided.get("strategy_dir") == str(Path(home) / "Strategies"):
        del decided["strategy_dir"]
    return decided


def _recorded_answers(
    ctx: Context, package: str, sources: list[AnswerSource], *, ask: bool
) -> dict[str, Any]:
    """The answers of the last install of ``package`` in the tenant the sources name; without
    one, in the one tenant where it is installed, else in Environment (tenant included).
    Installed in several tenants, none Environment, a run that cannot ask is told which."""
    from gsetup import deployment
    from gsetup.commands.install import tenants_with

    tenant = next((s.values["tenant"] for s in sources if "tenant" in s.values), None)
    if tenant is not None:
        chosen = str(tenant)
    else:
        where = tenants_with(ctx, package)
        chosen = where[0] if len(where) == 1 else DEFAULT_TENANT
        if len(where) > 1 and chosen not in where and not ask:
            raise NeedsAnswerError(
                f"no answer for 'tenant': {package} is installed in tenants "
                f"{', '.join(map(repr, where))}; give the one to install in with --tenant NAME "
                "(or --set tenant=NAME) or in the answers file"
            )
    try:
        with deployment.open_tenant(ctx, chosen) as (conn, tid):
            answers = dict(deployment.recorded_answers(conn, tid, package))
    except NotFoundError:  # the tenant question itself says which tenants there are
        return {}
    if tenant is not None:
        answers.pop("tenant", None)
    return answers


def check_answers_file(
    path: Path, package_name: str | None, sets: Sequence[str] = (), tenant: str | None = None
) -> dict[str, Any]:
    """Validate an answers file without a database: keys, types, secret references, and
    the answers a run without prompts needs, with ``--tenant`` and ``--set`` as ``install``
    takes them (a genesys_silent.ini file cannot name the tenant)."""
    from gsetup.packages import catalogue, get_package
    from gsetup.wizards.collect import check_source, require_answers

    sources = answer_sources(InstallRequest(package_name or "", path, sets, tenant=tenant))
    packages = catalogue() if package_name is None else [get_package(package_name)]
    asked = [bp_questions(p, None) for p in packages]
    # Without --package the file may be for any package: a key one of them asks is known,
    # and each package checks the answers to its own questions.
    known = accepted_questions(*asked)
    for source in sources:
        check_keys(source, known)
    checked: dict[str, Any] = {}
    for questions in asked:
        answered = accepted_questions(questions)
        keys = [q.key for q in answered]
        for source in reversed(sources):  # lowest precedence first, so later ones win
            checked.update(check_source(answered, _only(source, *keys)))
        require_answers(questions, combined(sources))
    return checked


def bp_answers_schema(package_name: str) -> dict[str, Any]:
    """The JSON Schema of ``package_name``'s answers file (YAML)."""
    from gsetup.packages import get_package
    from gsetup.wizards.schema import answers_schema

    package = get_package(package_name)
    title = f"gsetup answers file: {package.name} {package.version}"
    return answers_schema(title, bp_questions(package, None), LOGIN_QUESTIONS)
