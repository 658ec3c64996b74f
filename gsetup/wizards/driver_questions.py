"""The driver installer wizard's questions, as the Genesys driver installers ask them.

The Genesys installers ask for the host, the Configuration Server, its port, a user and a
password, then a Digital Messaging Server object, then their own questions. gsetup's
configuration server is its database (shown, never asked), so the questions are: the tenant,
the DMS, its host and port (checked against the application), the acceptance of the legal
terms, and the Hub connection options of the guide's "Configure connections".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gsetup.configdb.tenants import DEFAULT_TENANT, check_name
from gsetup.drivers.specs import CHANNEL_OPTIONS, RPC_CACHE_TIMEOUT, Driver, validate_value
from gsetup.drivers.terms import SOCIAL_ENGAGEMENT_TERMS as TERMS
from gsetup.errors import EXIT_BAD_INPUT, BadInputError, GsetupError
from gsetup.fileio import quote_prefix
from gsetup.numbers import whole_number
from gsetup.wizards.questions import Answers as Collected
from gsetup.wizards.questions import Question

if TYPE_CHECKING:
    from gsetup.context import Context
    from gsetup.deployment import Application

# Answer key -> the channel option it sets ("Configure connections"). The Hub password is
# gsa_password: "password" is the configuration database login's answer.
HUB_ANSWERS: dict[str, str] = {
    "gsa_account_name": "gsa-account-name",
    "gsa_api_key": "gsa-api-key",
    "gsa_channel_id": "gsa-channel-id",
    "gsa_channel_name": "gsa-channel-name",
    "gsa_url_base": "gsa-url-base",
    "gsa_user_name": "gsa-user-name",
    "gsa_password": "password",
}


class TermsNotAcceptedError(GsetupError):
    """The legal terms were refused: nothing may be deployed (exit 2, as any refused answer).

    Not a BadInputError on purpose: the wizard re-asks after those, and a "no" must end it.
    """

    exit_code = EXIT_BAD_INPUT


def require_acceptance(value: Any) -> bool:
    if value is not True:
        raise TermsNotAcceptedError(
            f"accept_terms: the {TERMS.title} were not accepted; read them ({TERMS.where}) "
            "and answer true (answers file: accept_terms: true) to install or upgrade a driver"
        )
    return True


def terms_question() -> Question:
    """Where the legal terms are, and whether they are accepted (asked on every install)."""
    return Question(
        "accept_terms",
        f"{TERMS.title}: {TERMS.notice}\n  Read them in the {TERMS.where}.\n  {TERMS.question}",
        f"You accept the {TERMS.title} (true/false); they must be read and accepted before "
        f"deploying or upgrading the drivers. Where they are: {TERMS.where}.",
        type="bool",
        validate=require_acceptance,
        literal=True,
    )


def driver_questions(driver: Driver, ctx: Context | None) -> list[Question]:
    """The install wizard's questions; without ``ctx`` the choices are not checked."""
    return [*_target_questions(ctx), terms_question(), *_hub_questions(driver)]


def _target_questions(ctx: Context | None) -> list[Question]:
    apps: dict[tuple[str, str], Application] = {}

    def dms(answers: Collected) -> Application:
        from gsetup.commands.drivers import dms_application

        assert ctx is not None
        key = (answers["tenant"], answers["dms"])
        if key not in apps:
            apps[key] = dms_application(ctx, *key)
        return apps[key]

    def host(answers: Collected) -> str:
        import socket

        return str(dms(answers).host or socket.gethostname()) if ctx else ""

    return [
        Question(
            "tenant",
            "Select a tenant:",
            "Tenant of the Digital Messaging Server.",
            type="choice",
            default=DEFAULT_TENANT,
            choices=(lambda _: _tenants(ctx)) if ctx else None,
            validate=lambda name: check_name(name, "tenant"),  # answers check has no tenants
        ),
        Question(
            "dms",
            "Select a Digital Messaging Server:",
            "The DigitalMessagingServer application the driver is installed into (--dms).",
            type="choice",
            choices=(lambda a: _dms_choices(ctx, a["tenant"])) if ctx else None,
        ),
        Question(
            "host",
            "Host name of the Digital Messaging Server:",
            "Host the DMS runs on; must be the application's host when it has one.",
            default=host,
        ),
        Question(
            "port",
            "Network port of the Digital Messaging Server:",
            "Port of the DMS (1-65535); must be the application's port. Asked only when the "
            "application has one.",
            default=lambda a: dms(a).port if ctx else None,
            validate=_port,
            when=lambda a: ctx is None or dms(a).port is not None,
        ),
    ]


def _tenants(ctx: Context | None) -> list[str]:
    from gsetup.commands.tenants import tenants_to_select

    assert ctx is not None
    return tenants_to_select(ctx)


def _dms_choices(ctx: Context | None, tenant: str) -> list[str]:
    from gsetup.commands.drivers import dms_names

    assert ctx is not None
    names = dms_names(ctx, tenant)
    if not names:
        raise BadInputError(
            f"tenant {tenant!r} has no DigitalMessagingServer application; create one first: "
            "gsetup app create NAME --type DigitalMessagingServer --working-dir DIR"
        )
    return names


def _port(value: Any) -> int:
    port = whole_number(str(value), signed=False)
    if port is None or not 1 <= port <= 65535:
        raise ValueError(
            f"{quote_prefix(str(value))} is not a port; use a whole number from 1 to 65535"
        )
    return port


def _rpc_cache_timeout(value: Any) -> int:
    try:
        return int(validate_value(RPC_CACHE_TIMEOUT, str(value), where="the RPC cache timeout"))
    except BadInputError as exc:
        raise ValueError(str(exc)) from None


RPC_QUESTION = Question(
    "rpc_cache_timeout",
    f"Hub: {RPC_CACHE_TIMEOUT.help} (RPC cache timeout, 0-3600 seconds):",
    "RPC cache timeout of the Hub channel in seconds (0-3600, default 90). A Hub field, not "
    "a DMS option: gsetup checks it, records it and names it in the next steps.",
    default=RPC_CACHE_TIMEOUT.default,
    validate=_rpc_cache_timeout,
)


def _hub_questions(driver: Driver) -> list[Question]:
    specs = CHANNEL_OPTIONS[driver]
    questions = []
    for key, option in HUB_ANSWERS.items():
        spec = specs[option]
        secret = " Give it as {env: NAME} or {file: PATH}." if spec.secret else ""
        questions.append(
            Question(
                key,
                f"Hub: {spec.help} ({option}):",
                f"Channel option {option}: {spec.help} (guide: Configure connections).{secret}",
                type="secret" if spec.secret else "text",
                default=spec.default or None,
            )
        )
    questions.append(RPC_QUESTION)
    return questions
