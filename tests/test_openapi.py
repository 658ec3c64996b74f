"""The routing runtime's OpenAPI document (gsetup/runtime/openapi.json) as a contract: a
valid OpenAPI 3.1 document of exactly the routes the app serves and docs/runtime.md lists,
served by ``gsetup route run``, and a real runtime fuzzed against it with schemathesis (no
5xx; every status, content type, header and body as the document says)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from gsetup.runtime.http import OPENAPI_DOCUMENT
from tests.helpers import run_cli
from tests.route_process import RouteProcess, route_run, wait_for
from tests.runtime_support import CHANNEL, DMS, configure_tenant

DOCUMENT = json.loads(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))
# The OpenAPI Initiative's JSON Schema of OpenAPI 3.1 documents (spec.openapis.org, 2022-10-07).
OAS_31 = Path(__file__).parent / "data" / "openapi-3.1-schema.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PASSWORD = "agent-pass-123"
# Examples per operation and generation mode (data that fits the document, and data that
# does not): the 17 operations take about 20 s on SQLite as on PostgreSQL.
EXAMPLES = 8


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_document_is_valid_openapi_3_1() -> None:
    from jsonschema import Draft202012Validator

    oas = json.loads(OAS_31.read_text(encoding="utf-8"))
    errors = [e.message for e in Draft202012Validator(oas).iter_errors(DOCUMENT)]
    assert errors == []
    for name, schema in DOCUMENT["components"]["schemas"].items():
        assert Draft202012Validator.check_schema(schema) is None, name
    for ref in _refs(DOCUMENT):  # every reference is to this document, and resolves
        assert ref.startswith("#/"), ref
        node = DOCUMENT
        for part in ref[2:].split("/"):
            node = node[part]


def test_the_document_has_every_route_and_nothing_else() -> None:
    from starlette.routing import Route

    from gsetup import __version__
    from gsetup.runtime.http import Api, build_app

    app = build_app(Api(runtime=cast(Any, None), config=cast(Any, None)))
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        # Starlette answers HEAD wherever GET is served, as HTTP asks: no operation of its own
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert _operations(DOCUMENT) == served  # docs/runtime.md lists them too (test_route_http)
    assert DOCUMENT["info"]["version"] == __version__


@pytest.mark.parametrize(
    "wait",
    [
        *("0", "30", "2.5", "60", "60.000", "059.5", "000000000000000060", "0.000000000000000001"),
        *("60.001", "61", "100", "1e1", "+5", " 30", "1_0", "", ".5", "5.", "0000000000000000005"),
        *("\u0665", "0.0000000000000000001"),
    ],
)
def test_the_wait_pattern_takes_what_the_runtime_takes(wait: str) -> None:
    from gsetup.numbers import decimal_number
    from gsetup.runtime.http import MAX_OFFER_WAIT

    offers = DOCUMENT["paths"]["/agents/offers"]["get"]["parameters"][0]
    seconds = decimal_number(wait, signed=False)
    taken = seconds is not None and seconds <= MAX_OFFER_WAIT
    assert bool(re.search(offers["schema"]["pattern"], wait)) == taken


def test_attached_data_keys_are_typed_as_the_intake_checks_them() -> None:
    from gsetup.runtime.udata_types import INTEGER_KEYS, STRING_KEYS

    keys = DOCUMENT["components"]["schemas"]["AttachedData"]["properties"]
    integer = {"$ref": "#/components/schemas/KvInteger"}
    assert {k for k, v in keys.items() if v == integer} == INTEGER_KEYS
    assert {k for k, v in keys.items() if v == {"type": "string"}} == STRING_KEYS
    assert set(keys) == INTEGER_KEYS | STRING_KEYS


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fuzzed]:
    """A configured tenant served by ``gsetup route run``: agents alice (ready, with offers)
    and bob, both with logins, and an intake token."""
    configure_tenant(db_url, tmp_path, agents={"alice": 1, "bob": 1})
    monkeypatch.setenv("AGENT_PW", PASSWORD)
    for name in ("alice", "bob"):
        skill = ("--skill", "facebook=5")
        added = run_cli("agent", "add", name, *skill, "--password-from", "env:AGENT_PW")
        assert added.exit_code == 0, added.stderr
    with route_run({}, cwd=tmp_path) as served:
        made = run_cli("route", "token", "create", "--app", DMS, "--json")
        assert made.exit_code == 0, made.stderr
        fuzzed = Fuzzed(served, made.json()["token"], _login(served, "alice"))
        assert served.request("POST", "/agents/ready", token=fuzzed.session).status_code == 200
        for n in range(4):
            body = {"media_type": "facebook", "channel": CHANNEL, "external_id": f"seed-{n}"}
            stored = served.request("POST", "/interactions", token=fuzzed.intake, body=body)
            assert stored.status_code == 201, stored.text
        wait_for(lambda: len(fuzzed.held("offered")) == 4, "alice's offers")
        yield fuzzed
        assert "Traceback" not in served.errors()


@dataclass(frozen=True)
class Fuzzed:
    """The runtime under test, an intake token and alice's session."""

    served: RouteProcess
    intake: str
    session: str

    def held(self, state: str) -> list[str]:
        """The ids of alice's interactions in ``state`` (offered, or agent: accepted)."""
        answer = self.served.request("GET", "/agents/offers", token=self.session)
        assert answer.status_code == 200, answer.text
        return [o["interaction_id"] for o in answer.json()["offers"] if o["state"] == state]


def _login(served: RouteProcess, agent: str) -> str:
    answer = served.request("POST", "/agents/login", body={"agent": agent, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


@pytest.fixture
def hypothesis_home(tmp_path: Path) -> Iterator[None]:
    """Hypothesis keeps caches in ``.hypothesis`` of the working directory: the checkout."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


# PostgreSQL only: the store where the fuzzing found failures (U+0000); the same requests on
# SQLite are the cases of tests/test_route_http.py, and the suite's time is bounded (CI).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.usefixtures("hypothesis_home")
def test_route_run_serves_the_document_and_answers_as_it_says(runtime: Fuzzed) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ignored_auth,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    served = runtime.served
    answer = served.request("GET", "/openapi.json")  # no credential, as /healthz
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == DOCUMENT

    schema = schemathesis.openapi.from_dict(answer.json(), config=schemathesis.Config())
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
        ignored_auth,
    ]
    credential = {"intakeToken": runtime.intake, "agentSession": runtime.session}
    bounded = settings(
        max_examples=EXAMPLES,
        deadline=timedelta(seconds=10),
        derandomize=True,
        database=None,
        phases=[Phase.generate],  # the first failure found, not shrunk: the time stays bounded
        suppress_health_check=list(HealthCheck),
    )

    def send(case: Any, real: bool) -> None:
        path, negative = case.operation.path, case.meta.generation.mode.is_negative
        schemes = [next(iter(s)) for s in case.operation.definition.raw.get("security", [])]
        token = credential[schemes[0]] if schemes else None
        if case.meta.is_negative_at(ParameterLocation.HEADER):
            token = None  # the credential is what is wrong: left out, or not a bearer's
        elif path == "/agents/logout":
            token = _login(served, "bob")  # alice's session stays for the other operations
        if real and not negative:  # deeper than a refusal: a stored interaction, alice's own
            if path == "/interactions":
                case.body.update(media_type="facebook", channel=CHANNEL)
            elif path.startswith("/agents/interactions/"):
                ids = runtime.held("offered" if path.endswith(("accept", "reject")) else "agent")
                case.path_parameters["id"] = ids[0] if ids else case.path_parameters["id"]
        if isinstance((case.query or {}).get("wait"), str):
            case.query["wait"] = _short(case.query["wait"])
        headers = {"Authorization": f"Bearer {token}"} if token else None
        case.call_and_validate(base_url=served.url, headers=headers, checks=checks)

    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [schemathesis.GenerationMode.POSITIVE]
        if operation.body or operation.query or operation.path_parameters:  # else none fits
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        for mode in modes:
            cases = operation.as_strategy(generation_mode=mode)
            bounded(given(case=cases, real=st.booleans())(send))()


def _short(wait: str) -> str:
    """A wait for offers the runtime takes, cut to none: a fuzzed 60 s would hold the test
    up (tests/test_route_http.py waits for real)."""
    from gsetup.numbers import decimal_number
    from gsetup.runtime.http import MAX_OFFER_WAIT

    seconds = decimal_number(wait, signed=False)
    return "0" if seconds is not None and seconds <= MAX_OFFER_WAIT else wait
