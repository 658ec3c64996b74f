// The agent desk (docs/runtime.md, "The agent desk"). Every action is a request of the agent
// API with the session token, which is kept in sessionStorage (this tab only, gone when it
// closes), never in localStorage, a cookie or a URL. What the runtime returns is shown with
// textContent and DOM nodes only: an interaction's text is never parsed as markup.
"use strict";

(() => {
  const STORED = "gsetup-desk-session"; // sessionStorage: {"token", "agent", "expires_at"}
  const WAIT = 30; // seconds GET /agents/offers waits for an offer
  const TIMEOUT_MS = (WAIT + 15) * 1000; // a request unanswered by then is given up
  const LOGOUT_TIMEOUT_MS = 5000; // a log out waits no longer: the agent is leaving
  const PAUSE_MS = 2000; // between polls while an offer waits, and after a first failed poll
  const MAX_PAUSE_MS = 30_000; // the pause doubles after each failure in a row, up to this

  const $ = (id) => document.getElementById(id);
  let session = storedSession();
  let polling = null; // the AbortController of the running poll loop
  let cards = 0; // cards made: each one's element ids are card-N-...

  class Refused extends Error {
    constructor(status, reason) {
      super(reason);
      this.status = status;
    }
  }

  function storedSession() {
    try {
      const found = JSON.parse(sessionStorage.getItem(STORED));
      return found && typeof found.token === "string" && typeof found.expires_at === "number"
        ? found : null;
    } catch {
      return null;
    }
  }

  // One request; the answer's JSON, or Refused with the runtime's reason. A 401 with a
  // session means it ended (expired, logged out elsewhere, password changed): log in again,
  // as told in the agent's words (endedText).
  async function api(method, path, body, signal, timeoutMs = TIMEOUT_MS) {
    const headers = {};
    if (session) headers.Authorization = `Bearer ${session.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const timeout = AbortSignal.timeout(timeoutMs);
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      if (signal && signal.aborted) throw error;
      throw new Refused(0, timeout.aborted ? "the runtime did not answer in time"
        : "the runtime does not answer; is gsetup route run running?");
    }
    const answer = await response.json().catch(() => null);
    // The runtime answers every route with a JSON object; anything else came from something
    // in between (a proxy's sign-in page): a failure, not an answer to read offers from.
    const json = answer !== null && typeof answer === "object" && !Array.isArray(answer);
    if (response.ok) {
      if (json) return answer;
      throw new Refused(response.status,
        `the runtime answered ${response.status} without a JSON object: is a proxy in between?`);
    }
    const reason = answer && typeof answer.error === "string" ? answer.error
      : `the runtime answered ${response.status}`;
    if (response.status === 401 && session) {
      const told = endedText(reason);
      ended(told);
      throw new Refused(response.status, told);
    }
    throw new Refused(response.status, reason);
  }

  // The runtime's 401 reasons are worded for programs ("... (POST /agents/login)"): an agent
  // is told in its own words, with why where the runtime says it ("session ended: WHY; ...":
  // a password changed, a removal). Else its token was unknown to the runtime, which does not
  // tell an expired session from one ended by a logout (at another desk, `gsetup agent
  // logout`). The API's reasons stay as they are for other programs (`gsetup agent` words
  // them for the agent as well: runtime_client.py).
  function endedText(reason) {
    const why = /^session ended: ([^;]+);/.exec(reason)?.[1]
      ?? "it expired, or you were logged out elsewhere";
    return `Your session ended (${why}): log in again.`;
  }

  // An error goes to the alert line (read out at once), info ("Reply sent.") to its own
  // line, read out politely: one does not replace the other. Both stay in the page, empty
  // when there is nothing to say, so a screen reader reads what is put in them.
  function say(text, kind = "error") {
    $(kind === "error" ? "message" : "info").textContent = text;
  }

  // Run an action (of a button, disabled meanwhile, when given); a refusal is shown. The focus
  // the disabled button lost comes back to it, or, when the action removed it (its card went),
  // to what `next` gives: a keyboard goes on from where it acted, not from the page's top.
  async function act(button, action, next) {
    const focused = button !== null && document.activeElement === button;
    if (button) button.disabled = true;
    say("");
    say("", "info");
    try {
      await action();
    } catch (error) {
      if (error instanceof Refused) say(error.message);
      else throw error;
    } finally {
      if (button) button.disabled = false;
      if (focused && document.activeElement === document.body) {
        const target = button.isConnected ? button : next?.();
        if (target) target.focus();
      }
    }
  }

  function showLogin() {
    stopPolling();
    $("desk").hidden = true;
    $("login").hidden = false;
    $("who").textContent = "";
    $("login").elements.agent.focus();
  }

  function showDesk() {
    $("login").hidden = true;
    $("desk").hidden = false;
    $("who").textContent = session.agent;
    $("ready").focus();
    startPolling();
  }

  function forget() {
    session = null;
    sessionStorage.removeItem(STORED);
    for (const list of ["offers", "held"]) $(list).replaceChildren();
    showLists();
  }

  function ended(reason) {
    forget();
    showLogin();
    say("", "info");
    say(reason);
  }

  // --- the agent's state, load and capacity ---------------------------------------------

  function showStatus(status) {
    $("state").textContent = status.state.replace("_", " ");
    const rows = Object.keys({ ...status.capacity, ...status.load }).sort().map((media) => {
      const row = document.createElement("tr");
      for (const value of [media, status.load[media] ?? 0, status.capacity[media] ?? 0]) {
        row.append(cell(String(value)));
      }
      row.dataset.media = media;
      return row;
    });
    $("capacity").tBodies[0].replaceChildren(...rows);
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  // GET /status (either credential) is where an agent's load is read between its own actions.
  // An answer that comes after a log out (or a login as another agent) is not this one's.
  async function readStatus() {
    const asked = session;
    const status = await api("GET", "status");
    if (session !== asked) return;
    const mine = status.agents.find((agent) => agent.name === asked.agent);
    if (mine) showStatus(mine);
  }

  async function presence(action) {
    showStatus(await api("POST", `agents/${action}`));
  }

  // --- offers and held interactions -------------------------------------------------------

  function startPolling() {
    if (polling) return;
    polling = new AbortController();
    poll(polling.signal);
  }

  function stopPolling() {
    if (polling) polling.abort();
    polling = null;
  }

  // GET /agents/offers?wait=30 again and again: answered at once while an offer waits (so
  // the next one waits a little), else once one is made or after 30 s. Stops on abort (log
  // out, a 401); after a failure (the runtime stopped, a 500) it waits 2 s, twice as long
  // after each failure in a row, up to 30 s: many desks do not hammer a runtime that
  // is down or failing.
  async function poll(signal) {
    let failures = 0;
    let failed = ""; // the failure it shows, cleared once answered unless something replaced it
    while (!signal.aborted) {
      let pause = 0;
      try {
        // After a failure, a first answer at once says the runtime is back. While an offer is
        // shown, no wait either (the runtime's would end only at another offer): one another
        // desk of the agent accepted, or that went back to routing, leaves within 2 s.
        const wait = failures || $("offers").children.length ? 0 : WAIT;
        const answer = await api("GET", `agents/offers?wait=${wait}`, undefined, signal);
        if (signal.aborted) return;
        if (failures && $("message").textContent === failed) say(""); // answered again
        failures = 0;
        showOffers(answer.offers);
        // The state is read again after each answer, whatever the offers did: one changed
        // elsewhere (a login at another desk, `gsetup agent not-ready`) shows within 30 s,
        // within 2 s while an offer waits. One read per poll: no more requests than those.
        await readStatus();
        if (answer.offers.some((offer) => offer.state === "offered")) pause = PAUSE_MS;
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof Refused)) throw error;
        pause = Math.min(PAUSE_MS * 2 ** failures, MAX_PAUSE_MS);
        failures += 1;
        failed = `${error.message} (trying again in ${pause / 1000} s)`;
        say(failed);
      }
      if (pause) await sleep(pause, signal);
    }
  }

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  async function refresh() {
    const asked = session;
    const answer = await api("GET", "agents/offers");
    if (session !== asked) return; // logged out meanwhile: its cards are gone
    showOffers(answer.offers);
    await readStatus();
  }

  // An action on a card, then its lists read again; also when refused (another desk of the
  // agent accepted or ended the interaction, its offer went back to routing): its card goes,
  // the refusal's reason shown, rather than staying to be acted on again.
  async function onCard(path, body) {
    try {
      await api("POST", path, body);
    } catch (error) {
      if (error instanceof Refused && error.status >= 403) await refresh().catch(() => {});
      throw error;
    }
  }

  // Show the offers and held interactions; a card already shown is kept as it is (a reply
  // being written stays).
  function showOffers(offers) {
    const wanted = new Map(offers.map((offer) => [`${offer.state} ${offer.interaction_id}`, offer]));
    for (const list of [$("offers"), $("held")]) {
      for (const card of [...list.children]) {
        if (!wanted.delete(card.dataset.key)) card.remove();
      }
    }
    for (const [key, offer] of wanted) {
      const list = offer.state === "offered" ? $("offers") : $("held");
      list.append(card(key, offer));
    }
    showLists();
  }

  function showLists() {
    $("no-offers").hidden = $("offers").children.length > 0;
    $("no-held").hidden = $("held").children.length > 0;
  }

  function card(key, offer) {
    const item = $("card").content.firstElementChild.cloneNode(true);
    const part = (name) => item.querySelector(`.${name}`);
    item.dataset.key = key;
    item.dataset.id = offer.interaction_id;
    for (const name of ["media_type", "channel", "queue", "interaction_id"]) {
      part(name).textContent = offer[name] ?? "none";
    }
    part("text").textContent = offer.text ?? "";
    const data = Object.entries(offer.attached_data ?? {}).flatMap(([name, value]) => {
      const term = document.createElement("dt");
      const description = document.createElement("dd");
      term.textContent = name;
      description.textContent = typeof value === "string" ? value : JSON.stringify(value);
      term.dir = description.dir = "auto"; // each in its own direction, as the card's texts
      return [term, description];
    });
    part("attached_data").replaceChildren(...data);
    // Its buttons are described by its line and text: among many cards, a screen reader
    // tells one Accept (or Done) from another.
    const ids = `card-${++cards}`;
    part("meta").id = `${ids}-meta`;
    part("text").id = `${ids}-text`;
    for (const button of item.querySelectorAll("button")) {
      button.setAttribute("aria-describedby", `${ids}-meta ${ids}-text`);
    }
    const path = `agents/interactions/${encodeURIComponent(offer.interaction_id)}`;
    // Where the focus goes when this card is gone: its list's heading.
    const heading = () => $(offer.state === "offered" ? "offers-title" : "held-title");
    if (offer.state === "offered") {
      part("work").remove();
      if (offer.expires_at) {
        const until = new Date(offer.expires_at * 1000).toLocaleTimeString();
        part("expires").textContent = `goes back to routing at ${until} unless accepted`;
      }
      for (const action of ["accept", "reject"]) {
        const button = part(action);
        // an accepted offer's focus goes on to its reply box
        const next = action === "accept" ? () => replyBox(offer.interaction_id) ?? heading()
          : heading;
        button.addEventListener("click", () => act(button, async () => {
          await onCard(`${path}/${action}`);
          await refresh();
        }, next));
      }
    } else {
      part("offer").remove();
      const reply = part("reply");
      reply.addEventListener("submit", (event) => {
        event.preventDefault();
        act(reply.querySelector("button"), async () => {
          await onCard(`${path}/reply`, { text: reply.elements.text.value });
          reply.reset();
          say("Reply sent.", "info");
        });
      });
      const done = part("done");
      done.addEventListener("submit", (event) => {
        event.preventDefault();
        const queue = done.elements.queue.value.trim();
        act(done.querySelector("button"), async () => {
          await onCard(`${path}/done`, queue ? { queue } : undefined);
          await refresh();
        }, heading);
      });
    }
    return item;
  }

  function replyBox(id) {
    const held = [...$("held").children].find((item) => item.dataset.id === id);
    return held ? held.querySelector("textarea") : null;
  }

  // --- wiring -------------------------------------------------------------------------------

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { agent: form.elements.agent.value, password: form.elements.password.value };
    const tenant = form.elements.tenant.value.trim();
    if (tenant) body.tenant = tenant;
    act(form.querySelector("button"), async () => {
      const answer = await api("POST", "agents/login", body);
      form.elements.password.value = "";
      session = { token: answer.token, agent: answer.name, expires_at: answer.expires_at };
      sessionStorage.setItem(STORED, JSON.stringify(session));
      showStatus(answer);
      showDesk();
    });
  });
  for (const action of ["ready", "not-ready"]) {
    $(action).addEventListener("click", () => act($(action), () => presence(action)));
  }
  // Logged out here whatever the runtime answers: whoever uses this browser next must not
  // act as the agent, nor wait long for a runtime that does not answer (hung, a proxy holding
  // the request). A runtime not told (out of reach, failing, too slow) keeps the session until
  // it expires, and the agent's state (offers may still come): said, with how to end them.
  $("logout").addEventListener("click", () => act($("logout"), async () => {
    const until = new Date(session.expires_at * 1000).toLocaleString();
    let failure = null;
    try {
      await api("POST", "agents/logout", undefined, undefined, LOGOUT_TIMEOUT_MS);
    } catch (error) {
      if (!(error instanceof Refused) || !session) throw error; // a 401 ended it already
      failure = error.message;
    }
    forget();
    showLogin();
    if (failure === null) {
      say("Logged out.", "info");
    } else {
      say(`Logged out of this desk only: the runtime could not be told (${failure}). Your`
        + ` session there stays open until ${until}, and your state stays as it was: log in`
        + " and out again to end them.");
    }
  }));

  if (session) {
    showDesk();
    act(null, readStatus); // a reload of the page: the session goes on
  } else {
    showLogin();
  }
})();
