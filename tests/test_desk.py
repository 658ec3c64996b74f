"""The agent desk (``GET /desk``) in a real browser: Debian's chromium, driven headless by
Playwright, on a real ``gsetup route run`` on 127.0.0.1 (SQLite store: the API underneath is
tested on both stores in tests/test_route_http.py). Without chromium or Playwright the tests
are skipped, unless GSETUP_TEST_REQUIRE_BROWSER=1 (scripts/test sets it): then they fail."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import isolate, run_cli, sql_rows
from tests.route_process import RouteProcess, route_run
from tests.runtime_support import DMS, configure_tenant, post

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "agent-pass-123"
AGENT = "alice"
# Debian's chromium, headless, nothing fetched from anywhere but the page's runtime.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000  # every wait of the browser
LOAD = "#capacity tr[data-media='facebook'] td:nth-child(2)"  # the agent's load shown
XSS = '<img src=x onerror="alert(document.domain)"><script>alert(1)</script>'


@dataclass
class Served:
    """The runtime the desk is served by, its configuration database, its store and a DMS
    intake token."""

    runtime: RouteProcess
    config: str
    store: str
    intake: str

    def submit(self, n: int, text: str, **data: str) -> str:
        """Submit interaction ``n`` with ``text`` (and attached ``data``); its id."""
        body = post(n, text=text, Note=XSS, **data)
        answer = self.runtime.request("POST", "/interactions", token=self.intake, body=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def row(self, statement: str, **params: object) -> list[tuple[object, ...]]:
        return sql_rows(self.store, statement, params)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, sqlite_config_template: Path
) -> Iterator[Served]:
    """A tenant with agent ``alice`` (capacity 1, a login) served by one ``route run`` for
    the module."""
    from gsetup.runtime.store import default_store_url

    root = tmp_path_factory.mktemp("desk")
    config = root / "config.db"
    shutil.copyfile(sqlite_config_template, config)
    config.chmod(0o600)
    url = f"sqlite:///{config}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch, root / "home")
        monkeypatch.setenv("GSETUP_DB", url)
        configure_tenant(url, root, agents={AGENT: 1})
        set_password(monkeypatch, url, PASSWORD)
        made = run_cli("route", "token", "create", "--app", DMS, "--json")
        assert made.exit_code == 0, made.stderr
        with route_run({}, cwd=root) as runtime:
            yield Served(runtime, url, default_store_url(url), str(made.json()["token"]))


def set_password(monkeypatch: pytest.MonkeyPatch, config: str, password: str) -> None:
    """(Re)add agent ``alice`` to configuration database ``config`` with ``password``: a new
    one ends its sessions."""
    monkeypatch.setenv("GSETUP_DB", config)
    monkeypatch.setenv("AGENT_PW", password)
    added = run_cli(
        "agent", "add", AGENT, "--skill", "facebook=5", "--capacity-rule", "rule-1",
        "--password-from", "env:AGENT_PW",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, launched once for the module with a fresh temporary profile."""
    required = os.environ.get("GSETUP_TEST_REQUIRE_BROWSER") == "1"
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        why = "Debian's chromium and the playwright package are needed for the desk's tests"
        if required:
            pytest.fail(f"{why} (GSETUP_TEST_REQUIRE_BROWSER=1)")
        pytest.skip(why)
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, timeout=30_000
        )
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page of the desk in a browser context of its own (storage included), with what the
    page reported: console errors, uncaught exceptions, dialogs and every request's URL."""

    page: Page
    url: str
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[tuple[float, str]] = field(default_factory=list)

    def login(self, password: str = PASSWORD) -> None:
        self.page.fill("#login [name=agent]", AGENT)
        self.page.fill("#login [name=password]", password)
        self.page.click("#login button")

    def ready(self) -> None:
        """Open the desk, log in and set the agent ready, as an agent starts a shift."""
        from playwright.sync_api import expect

        self.page.goto(self.url)
        self.login()
        self.page.locator("#desk").wait_for(state="visible")
        self.page.click("#ready")
        expect(self.page.locator("#state")).to_have_text("ready")

    def message(self, line: str = "message") -> str:
        """The error shown (the alert), or with ``line="info"`` the info."""
        message = self.page.locator(f"#{line}")
        message.wait_for(state="visible")
        return str(message.text_content())

    def session_token(self) -> str | None:
        """The token the page keeps (sessionStorage); fails if it is kept anywhere else."""
        kept = self.page.evaluate(
            "() => [sessionStorage.getItem('gsetup-desk-session'), localStorage.length,"
            " document.cookie]"
        )
        assert kept[1:] == [0, ""], kept
        return None if kept[0] is None else str(json.loads(kept[0])["token"])


@pytest.fixture
def tab(browser: Browser, served: Served) -> Iterator[Tab]:
    """A new browser context (empty storage) for one test; afterwards the page must have had
    no uncaught exception and no dialog, and asked nothing of another origin."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    opened = Tab(page, served.runtime.url + "/desk")
    page.on("console", lambda m: opened.console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.exceptions.append(str(e)))
    page.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: opened.requests.append((time.monotonic(), r.url)))
    try:
        yield opened
        assert opened.exceptions == [] and opened.dialogs == []
        # no request left the runtime's origin
        assert all(url.startswith(served.runtime.url + "/") for _, url in opened.requests)
    finally:
        context.close()


def test_the_page_loads_clean_with_strict_headers(tab: Tab, served: Served) -> None:
    answer = tab.page.goto(tab.url)
    assert answer is not None and answer.status == 200
    headers = answer.headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["content-type"] == "text/html; charset=utf-8"
    tab.page.locator("#login").wait_for(state="visible")
    assert tab.page.locator("#desk").is_hidden()
    # the script and style sheet it loaded are the runtime's, with the same headers
    loaded = {url.removeprefix(served.runtime.url) for _, url in tab.requests}
    assert {"/desk", "/desk/desk.js", "/desk/desk.css"} <= loaded
    for path, kind in (("/desk/desk.js", "text/javascript"), ("/desk/desk.css", "text/css")):
        asset = served.runtime.request("GET", path)
        assert asset.status_code == 200
        assert asset.headers["content-type"] == f"{kind}; charset=utf-8"
        assert asset.headers["content-security-policy"] == csp
        assert asset.headers["x-content-type-options"] == "nosniff"
    # only the desk's own files are served: nothing else of the package, no credential needed
    for path in ("/desk/index.html", "/desk/..%2Fdesk.py", "/desk/desk.py"):
        refused = served.runtime.request("GET", path)
        assert refused.status_code == 404 and "error" in refused.json(), path
    assert tab.console == []
    assert tab.session_token() is None


def test_a_wrong_password_shows_the_refusal_and_opens_no_session(tab: Tab, served: Served) -> None:
    sessions = "SELECT count(*) FROM runtime_sessions WHERE agent = :agent"
    before = served.row(sessions, agent=AGENT)
    tab.page.goto(tab.url)
    tab.login("not-the-password")
    assert tab.message() == "login failed: wrong agent or password"
    assert tab.page.locator("#login").is_visible() and tab.page.locator("#desk").is_hidden()
    assert tab.session_token() is None
    assert served.row(sessions, agent=AGENT) == before

    # a reason in a right-to-left script (a proxy's, a translated runtime's) is shown so
    reason = "كلمة المرور خاطئة (401)"
    body = json.dumps({"error": reason})
    page = tab.page
    page.route(
        "**/agents/login",
        lambda route: route.fulfill(status=401, content_type="application/json", body=body),
    )
    tab.login()
    page.locator("#message").filter(has_text=reason).wait_for()
    assert page.locator("#message").evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert [page.get_attribute(f"#{line}", "dir") for line in ("message", "info")] == ["auto"] * 2


def test_an_agent_takes_an_interaction_from_offer_to_done(tab: Tab, served: Served) -> None:
    from playwright.sync_api import expect

    page = tab.page
    page.goto(tab.url)
    tab.login()
    page.locator("#desk").wait_for(state="visible")
    assert page.text_content("#state") == "not ready"
    token = tab.session_token()
    assert token is not None and token not in page.url
    page.click("#ready")
    expect(page.locator("#state")).to_have_text("ready")
    assert served.row("SELECT state FROM runtime_agents WHERE name = :a", a=AGENT) == [("ready",)]

    # an interaction submitted now is offered: the long poll brings it, its text as text
    itx = served.submit(1, XSS)
    offer = page.locator(f"#offers li[data-id='{itx}']")
    offer.wait_for()
    assert offer.locator(".text").text_content() == XSS
    assert offer.locator(".channel").text_content() == "channel-facebook"
    assert offer.locator(".media_type").text_content() == "facebook"
    assert page.locator("img, #offers script").count() == 0  # no markup made of the data
    data = dict(
        zip(
            offer.locator("dt").all_text_contents(),
            offer.locator("dd").all_text_contents(),
            strict=True,
        )
    )
    assert data["Note"] == XSS and data["FacebookItxType"] == "2"

    offer.locator("button.accept").click()
    held = page.locator(f"#held li[data-id='{itx}']")
    held.wait_for()
    assert page.locator("#offers li").count() == 0
    assert served.row("SELECT state, assigned_to FROM interactions WHERE id = :i", i=itx) == [
        ("agent", AGENT)
    ]
    expect(page.locator(LOAD)).to_have_text("1")

    held.locator("textarea").fill("Thanks, we are on it")
    held.locator("form.reply button").click()
    assert tab.message("info") == "Reply sent."
    replies = "SELECT type, text FROM interactions WHERE parent_id = :i"
    assert served.row(replies, i=itx) == [("Outbound", "Thanks, we are on it")]

    # a refusal of the API is shown as its text, and changes nothing
    held.locator("form.done [name=queue]").fill("No such queue")
    held.locator("form.done button").click()
    refused = served.runtime.request(
        "POST", f"/agents/interactions/{itx}/done", token=token, body={"queue": "No such queue"}
    )
    assert refused.status_code == 404
    assert tab.message() == refused.json()["error"]
    assert held.is_visible()

    held.locator("form.done [name=queue]").fill("")
    held.locator("form.done button").click()
    held.wait_for(state="detached")
    expect(page.locator(LOAD)).to_have_text("0")
    [(state, agent)] = served.row(
        "SELECT state, assigned_to FROM interactions WHERE id = :i", i=itx
    )
    assert state not in {"offered", "agent"}, (state, agent)
    loads = "SELECT media_type, load FROM runtime_agent_loads WHERE agent = :a AND load > 0"
    assert served.row(loads, a=AGENT) == []
    assert tab.dialogs == []
    assert page.locator("#held li").count() == 0


def test_an_ended_session_brings_back_the_login_and_log_out_ends_it(
    tab: Tab, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent is told in its words that its session ended, and why when the runtime says
    it, not the API's words for programs ("log in again (POST /agents/login)")."""
    from playwright.sync_api import expect

    page = tab.page
    page.goto(tab.url)
    tab.login()
    page.locator("#desk").wait_for(state="visible")
    # the agent logs out from elsewhere: every session of it ends
    token = tab.session_token()
    assert served.runtime.request("POST", "/agents/logout", token=token).status_code == 200
    # the 401 brings back the login and stops the poll: the one waiting is given up
    polled = "/agents/offers"
    with page.expect_event("requestfailed", lambda request: polled in request.url):
        page.click("#ready")
    assert tab.message() == (
        "Your session ended (it expired, or you were logged out elsewhere): log in again."
    )
    page.locator("#login").wait_for(state="visible")
    assert page.locator("#desk").is_hidden() and tab.session_token() is None
    ended = time.monotonic()
    page.wait_for_timeout(2500)  # longer than the desk's pause between polls
    assert [u for t, u in tab.requests if t > ended and polled in u] == []

    tab.login()
    page.locator("#desk").wait_for(state="visible")
    # a reload keeps the tab's session: the desk comes back with the agent's state
    page.reload()
    page.locator("#desk").wait_for(state="visible")
    expect(page.locator("#state")).to_have_text("not ready")
    assert tab.session_token() is not None

    # its password changed: the runtime's why is kept
    set_password(monkeypatch, served.config, "a-new-password-456")
    page.click("#ready")
    assert tab.message() == (
        "Your session ended (the agent's password changed or the agent was removed): log in again."
    )
    assert tab.session_token() is None
    assert served.row("SELECT state FROM runtime_agents WHERE name = :a", a=AGENT) == [
        ("not_ready",)
    ]
    set_password(monkeypatch, served.config, PASSWORD)
    tab.login()
    page.locator("#desk").wait_for(state="visible")
    page.click("#logout")
    assert tab.message("info") == "Logged out."
    page.locator("#login").wait_for(state="visible")
    assert tab.session_token() is None
    assert served.row("SELECT state FROM runtime_agents WHERE name = :a", a=AGENT) == [
        ("logged_out",)
    ]
    sessions = "SELECT count(*) FROM runtime_sessions WHERE agent = :agent"
    assert served.row(sessions, agent=AGENT) == [(0,)]


def focused(page: Page) -> str:
    """What has the focus: ``TAG#id.class`` of the element, ``@ID`` of its card if in one."""
    return str(
        page.evaluate(
            "() => { const e = document.activeElement; const card = e.closest('li');"
            " return `${e.tagName}#${e.id}.${e.className}` + (card ? `@${card.dataset.id}` : '') }"
        )
    )


def test_a_keyboard_alone_takes_an_interaction_from_offer_to_done(tab: Tab, served: Served) -> None:
    """Tab and Enter only: each action leaves the focus where the next one is, never on the
    page's body (a disabled button loses it while its request runs)."""
    from playwright.sync_api import expect

    page = tab.page
    page.goto(tab.url)
    assert focused(page) == "INPUT#."  # the agent's name
    page.keyboard.type(AGENT)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.locator("#desk").wait_for(state="visible")
    assert focused(page) == "BUTTON#ready."
    page.keyboard.press("Enter")
    expect(page.locator("#state")).to_have_text("ready")
    assert focused(page) == "BUTTON#ready."
    # the state is told when it changes (also by another desk: see the idle desk's test)
    assert page.locator("p:has(#state)").get_attribute("aria-live") == "polite"

    # a right-to-left message and name: each shown so, beside what is left-to-right
    itx = served.submit(2, "طلبي لم يصل!", Customer="سارة")
    card = page.locator(f"#offers li[data-id='{itx}']")
    card.wait_for()
    direction = "e => getComputedStyle(e).direction"
    assert card.locator(".text").evaluate(direction) == "rtl"
    assert card.locator("dd").nth(0).evaluate(direction) == "ltr"  # _facebookPostId
    assert card.locator("dt:text-is('Customer') + dd").evaluate(direction) == "rtl"
    assert card.locator(".queue").evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    for expected in ("BUTTON#not-ready.", "BUTTON#logout.", f"SUMMARY#.@{itx}"):
        page.keyboard.press("Tab")
        assert focused(page) == expected
    page.keyboard.press("Tab")
    assert focused(page) == f"BUTTON#.accept@{itx}"
    # among many offers, a screen reader tells each Accept by its card's line and text
    meta = f"facebook · channel-facebook · queue Facebook Agent Delivery Queue · {itx}"
    expect(card.locator("button.accept")).to_have_accessible_description(f"{meta} طلبي لم يصل!")
    page.keyboard.press("Enter")  # accepted: on to its reply box
    page.locator(f"#held li[data-id='{itx}']").wait_for()
    expect(page.locator(f"#held li[data-id='{itx}'] textarea")).to_be_focused()
    page.keyboard.type("Thanks")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert tab.message("info") == "Reply sent."
    assert focused(page) == f"BUTTON#.@{itx}"  # still on Send reply
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Done: the card goes, the focus to its list's heading
    page.locator(f"#held li[data-id='{itx}']").wait_for(state="detached")
    expect(page.locator("#held-title")).to_be_focused()
    replies = "SELECT type, text FROM interactions WHERE parent_id = :i"
    assert served.row(replies, i=itx) == [("Outbound", "Thanks")]
    [(state,)] = served.row("SELECT state FROM interactions WHERE id = :i", i=itx)
    assert state not in {"offered", "agent"}


def test_a_failing_offers_poll_is_shown_and_retried_ever_more_slowly(tab: Tab) -> None:
    """The poll answered 200 with a page that is not the runtime's (a proxy's login page),
    then 500 (the runtime's store failing), then by the runtime again: the page says what
    failed and backs off (2 s, 4 s... up to 30 s: many desks must not hammer a runtime),
    then recovers without a reload. Its timers run on a fake clock, moved on by the test."""
    from playwright.sync_api import Route, expect

    page = tab.page
    failure = json.dumps({"error": "the interaction store does not answer; the log says why"})

    def foreign(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<p>Sign in</p>")

    def fail(route: Route) -> None:
        route.fulfill(status=500, content_type="application/json", body=failure)

    polls = "**/agents/offers?*"
    page.clock.install()
    page.route(polls, foreign)
    page.goto(tab.url)
    tab.login()
    page.locator("#desk").wait_for(state="visible")
    message = page.locator("#message")
    expect(message).to_have_text(
        "the runtime answered 200 without a JSON object: is a proxy in between?"
        " (trying again in 2 s)"
    )
    page.unroute(polls)
    page.route(polls, fail)

    def polled() -> int:
        return sum("/agents/offers" in url for _, url in tab.requests)

    def run_for(seconds: int) -> None:
        for _ in range(seconds // 2):  # 2 s at a time: each answer sets the next timer
            page.clock.run_for(2000)
            page.wait_for_timeout(20)

    run_for(62)  # polls at 0, 2, 6, 14, 30 and 60 s (a fixed 2 s pause: 31 polls)
    assert polled() <= 7, polled()
    expect(message).to_have_text(f"{json.loads(failure)['error']} (trying again in 30 s)")
    page.unroute(polls)
    page.clock.run_for(30_000)  # the runtime answers: at once, not after its 30 s wait
    expect(message).to_be_hidden()
    assert tab.session_token() is not None and page.locator("#desk").is_visible()


def test_a_desk_drops_what_another_desk_of_its_agent_took_or_ended(
    browser: Browser, tab: Tab, served: Served
) -> None:
    """The same agent at two desks: an offer withdrawn by the other's login leaves the first
    within seconds (not at its 30 s poll's end), and a done refused because the other desk
    ended the interaction shows the reason and drops the card (no stale card to act on)."""
    from playwright.sync_api import expect

    soon = 5000  # well within the 30 s a poll waits when nothing is offered
    first = tab.page
    tab.ready()
    itx = served.submit(3, "two desks")
    offer = first.locator(f"#offers li[data-id='{itx}']")
    offer.wait_for()

    context = browser.new_context()
    try:
        other = context.new_page()
        second = Tab(other, tab.url)
        other.goto(tab.url)
        second.login()  # the agent starts again not ready: its offer goes back to routing
        other.locator("#desk").wait_for(state="visible")
        expect(offer).to_have_count(0, timeout=soon)
        expect(first.locator("#state")).to_have_text("not ready")

        other.click("#ready")  # offered again, accepted at the other desk
        other.locator(f"#offers li[data-id='{itx}'] button.accept").click()
        other.locator(f"#held li[data-id='{itx}']").wait_for()
        held = first.locator(f"#held li[data-id='{itx}']")
        held.wait_for()
        other.locator(f"#held li[data-id='{itx}'] form.done button").click()
        other.locator(f"#held li[data-id='{itx}']").wait_for(state="detached")
    finally:
        context.close()
    [(state,)] = served.row("SELECT state FROM interactions WHERE id = :i", i=itx)
    assert state not in {"offered", "agent"}

    held.locator("form.done button").click()
    refused = served.runtime.request(
        "POST", f"/agents/interactions/{itx}/done", token=tab.session_token()
    )
    assert refused.status_code in {403, 409}, refused.text
    assert tab.message() == refused.json()["error"]
    expect(held).to_have_count(0, timeout=soon)
    assert first.locator("#offers li, #held li").count() == 0


def test_a_state_changed_elsewhere_shows_at_an_idle_desk(tab: Tab, served: Served) -> None:
    """A desk with nothing offered, its agent ready, while the agent logs in elsewhere (it
    starts again not ready): the desk shows it once its poll's wait ends, instead of Ready
    for ever (no offer comes to a not-ready agent to make it read its state again). The
    test shortens the page's 30 s wait to 1 s."""
    from playwright.sync_api import Route, expect

    page = tab.page

    def shorten(route: Route) -> None:
        route.continue_(url=route.request.url.replace("wait=30", "wait=1"))

    page.route("**/agents/offers?wait=30", shorten)
    tab.ready()
    elsewhere = {"agent": AGENT, "password": PASSWORD}
    assert served.runtime.request("POST", "/agents/login", body=elsewhere).status_code == 200
    expect(page.locator("#state")).to_have_text("not ready", timeout=5000)


def taken(page: Page, held: Sized, what: str) -> None:
    """Wait (at most the browser's timeout) until a route handler has put a request in
    ``held``: Playwright hands over routes only while it runs."""
    for _ in range(TIMEOUT_MS // 100):
        if held:
            return
        page.wait_for_timeout(100)
    raise AssertionError(what)


def test_a_status_answered_after_log_out_is_dropped(tab: Tab) -> None:
    """The state a reloaded desk reads may come back after the agent logged out (no
    session any more): it is dropped, not read as the agent's (an uncaught error that the
    tab fixture would report)."""
    from playwright.sync_api import APIResponse, Route

    page, held = tab.page, list[tuple[Route, APIResponse]]()
    page.goto(tab.url)
    tab.login()
    page.locator("#desk").wait_for(state="visible")
    # The runtime answers the status read at once; the page gets the answer only later.
    page.route("**/status", lambda route: held.append((route, route.fetch())))
    page.reload()  # the session goes on: the page reads the agent's state
    taken(page, held, "no status read after the reload")
    page.click("#logout")
    page.locator("#login").wait_for(state="visible")
    route, answer = held[0]
    route.fulfill(response=answer)
    page.wait_for_timeout(300)  # the page takes the late answer
    assert tab.exceptions == []


def logged_out_here_only(tab: Tab, served: Served, token: str, failure: str) -> None:
    """The desk logged out of session ``token`` without the runtime told (``failure``): the
    login is back, the session forgotten by the page and alive in the store, until the time
    the page says."""
    page = tab.page
    page.locator("#login").wait_for(state="visible")
    assert page.locator("#desk").is_hidden() and tab.session_token() is None
    mine = "SELECT expires_at FROM runtime_sessions WHERE token_hash = :h"
    [(expires,)] = served.row(mine, h=hashlib.sha256(token.encode()).hexdigest())
    until = page.evaluate("at => new Date(at * 1000).toLocaleString()", expires)
    assert tab.message() == (
        f"Logged out of this desk only: the runtime could not be told ({failure}). Your session"
        f" there stays open until {until}, and your state stays as it was: log in and out again"
        " to end them."
    )


def test_a_working_desk_keeps_its_state_messages_and_logout_true(tab: Tab, served: Served) -> None:
    """The agent's state set elsewhere shows at the next poll round while an offer waits,
    unchanged. Info (a reply sent) and errors are told apart: an alert for errors only, info
    read out politely; and an offers poll that answers again clears its own failure only, not
    what an action said meanwhile. Its timers run on a fake clock; its waits are shortened to
    0.1 s. Logged out with the runtime out of reach, the desk forgets its session all the same
    and says until when the runtime keeps it."""
    from playwright.sync_api import Locator, Route, expect

    page = tab.page
    failing = json.dumps({"error": "the interaction store does not answer; the log says why"})
    down = [False]

    def poll(route: Route) -> None:
        if down[0]:
            route.fulfill(status=500, content_type="application/json", body=failing)
        else:
            route.continue_(url=route.request.url.replace("wait=30", "wait=0.1"))

    page.clock.install()
    page.route("**/agents/offers?*", poll)
    tab.ready()
    error, info = page.locator("#message"), page.locator("#info")
    assert error.get_attribute("role") == "alert"
    assert info.get_attribute("role") != "alert" and info.get_attribute("aria-live") == "polite"
    itx = served.submit(4, "two messages")
    offer = page.locator(f"#offers li[data-id='{itx}']")
    offer.wait_for()
    # set not ready with a session of the agent elsewhere (`gsetup agent not-ready`): its
    # offer stays, and the desk reads the state after its next poll all the same
    elsewhere = served.runtime.request("POST", "/agents/not-ready", token=tab.session_token())
    assert elsewhere.status_code == 200
    page.clock.run_for(2000)  # the poll's pause while an offer waits
    expect(page.locator("#state")).to_have_text("not ready")
    assert offer.is_visible()
    assert served.row("SELECT state FROM runtime_agents WHERE name = :a", a=AGENT) == [
        ("not_ready",)
    ]
    offer.locator("button.accept").click()
    held = page.locator(f"#held li[data-id='{itx}']")
    held.wait_for()

    def fail_then(form: str, value: str, says: tuple[Locator, str], empty: Locator) -> None:
        """The poll fails; meanwhile the held card's ``form`` is sent with ``value`` and
        ``says`` its text in its line; then the runtime answers the poll again: that stays,
        the ``empty`` line stays empty."""
        line, text = says
        down[0] = True
        page.clock.run_for(2000)  # a poll asleep (its pause after an offer) asks again
        expect(error).to_contain_text("(trying again in ")
        held.locator(f"form.{form} [name]").fill(value)
        held.locator(f"form.{form} button").click()
        expect(line).to_contain_text(text)
        down[0] = False
        with page.expect_response(lambda r: "/agents/offers?wait=0&" in r.url + "&" and r.ok):
            page.clock.run_for(4000)  # its next try, without waiting: answered
        page.wait_for_timeout(100)  # the answer read
        expect(line).to_contain_text(text)
        expect(empty).to_be_hidden()

    fail_then("reply", "On it", says=(info, "Reply sent."), empty=error)
    replies = "SELECT type, text FROM interactions WHERE parent_id = :i"
    assert served.row(replies, i=itx) == [("Outbound", "On it")]
    fail_then("done", "No such queue", says=(error, "No such queue"), empty=info)
    assert served.row("SELECT state FROM interactions WHERE id = :i", i=itx) == [("agent",)]

    held.locator("form.done [name=queue]").fill("")
    held.locator("form.done button").click()
    held.wait_for(state="detached")
    expect(error).to_be_hidden()

    # Log out with the runtime out of reach: logged out here all the same, and told that the
    # session lives on there until it expires (and the agent's state as it was)
    token = tab.session_token()
    assert token is not None
    page.route("**/agents/logout", lambda route: route.abort())
    page.click("#logout")
    logged_out_here_only(
        tab, served, token, "the runtime does not answer; is gsetup route run running?"
    )
    assert served.row("SELECT state FROM runtime_agents WHERE name = :a", a=AGENT) == [
        ("not_ready",)
    ]


def test_log_out_gives_up_soon_on_a_runtime_that_never_answers(tab: Tab, served: Served) -> None:
    """A runtime that takes the log out's request and never answers it (hung, or a proxy
    holding it): the desk logs out after a few seconds, not after the 45 s it gives other
    requests, and says until when the session lives there. Its timers run on a fake clock."""
    from playwright.sync_api import Route

    page, held = tab.page, list[Route]()
    page.clock.install()
    page.goto(tab.url)
    tab.login()
    page.locator("#desk").wait_for(state="visible")
    token = tab.session_token()
    assert token is not None

    def hold(route: Route) -> None:
        held.append(route)  # never answered

    page.route("**/agents/logout", hold)
    page.click("#logout")
    taken(page, held, "no log out request")
    page.clock.run_for(5000)
    logged_out_here_only(tab, served, token, "the runtime did not answer in time")
