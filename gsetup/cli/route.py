"""``gsetup route``: the routing runtime: run it, see its status, submit to it, its tokens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gsetup.cli import route_check
from gsetup.cli.common import (
    DEFAULT_TENANT,
    DETAILED_HELP,
    DMS_APP_HELP,
    DRY_RUN_HELP,
    IF_MISSING_HELP,
    JSON_HELP,
    ROTATE_HELP,
    TENANT_HELP,
    YES_HELP,
    check_store,
    confirmation,
    emit_json,
    finish_plan,
    globals_of,
    open_context,
)
from gsetup.cli.tokens import revoke_command
from gsetup.fileio import quote_prefix

if TYPE_CHECKING:
    from gsetup.commands.app_tokens import TokenKind
    from gsetup.runtime.replay import Progress

app = typer.Typer(
    help="The routing runtime of the installed Business Processes.", no_args_is_help=True
)
token_app = typer.Typer(
    help="Intake tokens: the credential a DMS application sends to the runtime.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")
store_app = typer.Typer(
    help="The other interaction stores the tenants' runtimes used (route run --store), which "
    "gsetup agent remove checks.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")
app.command("check")(route_check.check)

URL_HELP = (
    "The runtime's base URL, e.g. http://127.0.0.1:8470 (default: the runtime recorded as "
    "running for the tenant)."
)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    app_name: str = typer.Option(..., "--app", help=DMS_APP_HELP),
    url: str | None = typer.Option(
        None,
        "--url",
        help="The runtime's base URL, e.g. http://127.0.0.1:8470, stored as intake-url "
        "(default: the intake-url the application has is kept; if none, the runtime recorded "
        "as running for the tenant).",
    ),
    rotate: bool = typer.Option(False, "--rotate", help=ROTATE_HELP),
    if_missing: bool = typer.Option(False, "--if-missing", help=IF_MISSING_HELP),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Make an intake token for a DMS application and print it, once.

    The token is stored as the application's secret option [gsetup-runtime] intake-token,
    beside intake-url (where the DMS sends interactions); it is never shown again. Run
    again, it is refused (exit 2) unless --rotate or --if-missing.

    Example: gsetup route token create --app DMS_1 --url http://127.0.0.1:8470
    """
    from gsetup.cli.render import print_plan
    from gsetup.commands.route_tokens import create_intake_token

    made = create_intake_token(
        open_context(ctx), tenant, app_name, url, rotate=rotate, dry_run=dry_run, keep=if_missing
    )
    if as_json:
        applied = {"applied": not dry_run, "token": made.token, "kept": made.kept, "url": made.url}
        emit_json({**made.plan.to_json(), **applied})
        return
    print_plan(made.plan, applied=not dry_run)
    if made.kept:
        print(f"{app_name} already has an intake token: kept (it was shown when made)")
    elif made.token is not None:
        print(f"intake token of {app_name} (shown once; sent to {made.url}):\n{made.token}")


def _intake() -> TokenKind:
    from gsetup.commands.route_tokens import INTAKE

    return INTAKE


token_app.command("revoke")(
    revoke_command(
        _intake,
        """Revoke a DMS application's intake token: the runtime refuses it from now on (asks
        first on a terminal; --yes does not).

        Example: gsetup route token revoke --app DMS_1 --yes
        """,
    )
)


@store_app.command("list")
def store_list(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant", "-t", help="Only this tenant."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the stores other than the default one that the tenants' runtimes used (passwords
    masked), when last used, and whether gsetup agent remove can read them now.

    Example: gsetup route store list --tenant Environment
    """
    from gsetup.cli.render import print_table
    from gsetup.commands.route_stores import list_stores

    stores = list_stores(open_context(ctx, writes=False), tenant)
    if as_json:
        emit_json(stores)
        return
    rows = [
        (s["store"], s["tenant"], s["last_used_at"], "yes" if s["reachable"] else s["reason"])
        for s in stores
    ]
    print_table("Runtime stores", ("store", "tenant", "last used", "reachable"), rows)


@store_app.command("forget")
def store_forget(
    ctx: typer.Context,
    store: str = typer.Argument(
        ...,
        metavar="URL",
        help="The store's URL, as route store list shows it (or with its password).",
    ),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    skip_unreachable: bool = typer.Option(
        False,
        "--skip-unreachable",
        help="Forget the store even if it cannot be read to check that no runtime serves on it.",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Forget a store dropped for good: gsetup agent remove stops checking it (asks first on
    a terminal; --yes does not). Refused while a runtime serves the tenant on it, and when
    the store cannot be read to check that, unless --skip-unreachable.

    Example: gsetup route store forget postgresql+psycopg://rt@db1/old_store --yes
    """
    from gsetup.commands.route_stores import forget_store

    context = open_context(ctx)
    mode = confirmation(dry_run, yes, detailed, as_json)
    plan = mode.apply_plan(
        lambda dry: forget_store(
            context, tenant, store, dry_run=dry, skip_unreachable=skip_unreachable
        )
    )
    finish_plan(plan, mode, as_json=as_json)


def default_url(ctx: typer.Context, tenant: str, given: str | None = None) -> str:
    """``--url``, else the runtime recorded as running for ``tenant``, else the default
    (a given URL needs no configuration database: a desk may have none)."""
    from gsetup.commands.route_tokens import check_base_url
    from gsetup.commands.runtime_client import runtime_url

    if given is not None:
        return check_base_url(given)
    return runtime_url(open_context(ctx), tenant)


def _log_level(given: str) -> str:
    from gsetup.runtime.logs import LEVELS

    if given.lower() not in LEVELS:
        raise typer.BadParameter(f"{quote_prefix(given)}; allowed: {', '.join(LEVELS)}")
    return given.lower()


@app.command("run")
def run(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    store: str | None = typer.Option(
        None,
        "--store",
        help="Interaction store URL (sqlite:///... or postgresql+psycopg://...); default: "
        "gsetup-runtime.db beside the embedded configuration database, or the same PostgreSQL "
        "database.",
    ),
    listen: str | None = typer.Option(
        None,
        "--listen",
        help="HOST:PORT to serve the HTTP API on (default 127.0.0.1:8470; port 0: any free "
        "port). Only this host can connect unless you give another address; put TLS in a "
        "reverse proxy in front.",
    ),
    worker_id: str | None = typer.Option(
        None, "--worker-id", help="This worker's name among those sharing the store (host:pid)."
    ),
    log_level: str = typer.Option(
        "warning",
        "--log-level",
        metavar="LEVEL",
        parser=_log_level,
        help="What the log on standard error shows: debug (also every interaction's state "
        "change), info, warning (the default: failures and refusals) or error.",
    ),
) -> None:
    """Run the routing runtime of the tenant's installed Business Processes until SIGTERM.

    Loads every active strategy first (a broken one is refused, nothing served), then
    routes interactions and serves the HTTP API (docs/runtime.md). SIGTERM finishes the
    requests and the turn in flight, then exits 0.

    Example: gsetup route run --listen 127.0.0.1:8470
    """
    from functools import partial

    from gsetup.cli.errors import reported
    from gsetup.cli.progress import show_rule_loading
    from gsetup.commands.serve import parse_listen, run_tenant

    check_store(store)
    address = parse_listen(listen)
    show_rule_loading()

    def ready(url: str) -> None:
        print(f"routing tenant {tenant} at {url}", flush=True)

    run_tenant(
        open_context(ctx),
        tenant,
        store=store,
        listen=address,
        worker_id=worker_id,
        ready=ready,
        failed=partial(reported, debug=globals_of(ctx).debug),
        log_level=log_level,
    )


@app.command("status")
def status(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    store: str | None = typer.Option(None, "--store", help="Interaction store URL (see run)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show the runtime's queues (depth, oldest wait), agents (state, load), throughput,
    workers and its requests to DMS applications (per state, oldest pending), read from its
    store."""
    from gsetup.commands.route_status import runtime_status

    check_store(store)
    data = runtime_status(open_context(ctx, writes=False), tenant, store)
    if as_json:
        emit_json(data)
        return
    print_status(data)


def print_status(data: dict[str, Any]) -> None:
    """The status as tables."""
    from gsetup.cli.render import print_mapping, print_table

    print_mapping(
        f"Routing runtime of {data['tenant']}",
        {
            "finished in the last minute": data["finished_last_minute"],
            "throughput": f"{data['throughput']:.1f}/s",
            "interactions by state": ", ".join(f"{k}={v}" for k, v in data["states"].items()),
        },
    )
    wait = "{:.1f}s".format
    queues = [
        (q["name"], q["depth"], "" if q["oldest_wait"] is None else wait(q["oldest_wait"]))
        for q in data["queues"]
    ]
    print_table("Queues", ("queue", "depth", "oldest wait"), queues)
    agents = [
        (
            a["name"],
            a["state"],
            ", ".join(f"{m}={n}/{a['capacity'].get(m, 1)}" for m, n in sorted(a["load"].items())),
        )
        for a in data["agents"]
    ]
    print_table("Agents", ("agent", "state", "load/capacity"), agents)
    workers = [
        (w["worker_id"], w["processed"], "yes" if w["alive"] else "no") for w in data["workers"]
    ]
    print_table("Workers", ("worker", "processed", "alive"), workers)
    sent = data["outbox"]
    pending = sent["oldest_pending"]
    print_mapping(
        "Requests to DMS applications",
        {
            "by state": ", ".join(f"{k}={v}" for k, v in sent["states"].items()) or "none",
            "oldest pending": "" if pending is None else wait(pending),
        },
    )


@app.command("submit")
def submit(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="JSON Lines file: one submission (JSON object) a line."),
    app_name: str = typer.Option(
        ..., "--app", help="The DMS application submitting (its intake token is used)."
    ),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Post every submission of a JSON Lines file to the runtime's intake, in order.

    The whole file is checked first (a bad line is named, nothing sent). Submissions are
    idempotent on channel and external id, so submitting a file again stores nothing new.

    Example: gsetup route submit inbound.jsonl --app DMS_1
    """
    from gsetup.commands.runtime_client import submit_file

    answers = submit_file(open_context(ctx, writes=False), tenant, app_name, file, url)
    if as_json:
        emit_json(answers)
        return
    repeats = sum(1 for a in answers if a.get("duplicate"))
    print(f"{len(answers)} submitted: {len(answers) - repeats} new, {repeats} already stored")


# route replay and route simulate: runs on a virtual clock, whose rows are kept only if asked.
_VIRTUAL_STORE_HELP = (
    "Keep the rows in this interaction store URL (an empty one); default: a throw-away SQLite file."
)


@contextmanager
def virtual_run(what: str) -> Iterator[Progress]:
    """The progress of a run on a virtual clock (a bar on a terminal); SIGTERM and SIGHUP stop
    it as Ctrl-C does, its throw-away store removed."""
    from gsetup.cli.progress import measured
    from gsetup.interrupts import signals_stop

    with signals_stop() as stopped, measured(what, "virtual seconds") as update:

        def progress(done: float, total: float) -> None:
            stopped()
            update(done, total)

        yield progress


@app.command("replay")
def replay(
    ctx: typer.Context,
    traffic: Path = typer.Argument(..., help="JSON Lines traffic file (docs/traffic.md)."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    store: str | None = typer.Option(None, "--store", help=_VIRTUAL_STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Replay recorded traffic through the tenant's Business Processes, in-process, on a
    virtual clock, and show what happened to each interaction.

    The whole file is checked first: a bad line is named with the reason (exit 2) and
    nothing runs. Outbound requests are answered by the file's driver lines, never sent.

    Example: gsetup route replay tests/traffic/fb-merge.jsonl --json
    """
    from gsetup.cli.progress import show_rule_loading
    from gsetup.commands.route_replay import replay_file
    from gsetup.runtime.views import to_json

    check_store(store)
    show_rule_loading()
    with virtual_run("Replaying") as update:
        report = replay_file(open_context(ctx, writes=False), tenant, traffic, store, update)
    if as_json:
        emit_json(to_json(report))
        return
    print_replay(report)


def print_replay(report: Any) -> None:
    """Interactions, outbound requests, agent loads and refused actions as tables."""
    from gsetup.cli.render import print_table

    print_table(
        f"Replay of {report.tenant}: {report.seconds:g} virtual seconds",
        ("interaction", "media type", "state", "queue / reason", "agent", "offered to"),
        [
            (
                i["ref"],
                i["media_type"],
                i["state"],
                i["stop_reason"] or i["error"] or i["queue"],
                i["agent"],
                ", ".join(i["offered_to"]),
            )
            for i in report.interactions
        ],
    )
    outbound = [(o["interaction"], o["method"], o["state"], o["attempts"]) for o in report.outbound]
    if outbound:
        print_table("Outbound requests", ("interaction", "method", "state", "attempts"), outbound)
    loads = [
        (agent, ", ".join(f"{m}={n}" for m, n in sorted(by_media.items())))
        for agent, by_media in sorted(report.agents.items())
    ]
    if loads:
        print_table("Agent loads", ("agent", "load"), loads)
    if report.refused:
        print_table(
            "Agent actions refused",
            ("line", "status", "reason"),
            [(r["line"], r["status"], r["reason"]) for r in report.refused],
        )


@app.command("simulate")
def simulate(
    ctx: typer.Context,
    scenario: Path = typer.Argument(..., help="YAML scenario file (docs/simulate.md)."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    store: str | None = typer.Option(None, "--store", help=_VIRTUAL_STORE_HELP),
    report_dir: Path | None = typer.Option(
        None,
        "--report",
        metavar="DIR",
        help="Also write report.json and PNG charts into DIR (made if missing).",
    ),
    save_traffic: Path | None = typer.Option(
        None,
        "--save-traffic",
        metavar="FILE",
        help="Write the traffic the run made (docs/traffic.md): route replay FILE runs it again.",
    ),
    seed: int = typer.Option(
        1, "--seed", help="Seed of the random draws: the same seed, the same run (default 1)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Simulate a traffic scenario through the tenant's Business Processes, in-process, on a
    virtual clock, and show what a planner reads: counts, waits, service level, occupancy.

    The scenario gives the arrivals per channel and the agents' behaviour; the engine is the
    one route replay runs. The whole file is checked first (a bad key is named, exit 2) and
    nothing runs.

    Example: gsetup route simulate examples/scenarios/facebook-bp.yaml --report sim-report
    """
    from gsetup.cli.progress import show_rule_loading
    from gsetup.commands.route_simulate import simulate_file

    check_store(store)
    show_rule_loading()
    with virtual_run("Simulating") as update:
        report = simulate_file(
            open_context(ctx, writes=False),
            tenant,
            scenario,
            store=store,
            seed=seed,
            report_dir=report_dir,
            save_traffic=save_traffic,
            progress=update,
            warn=_warn,
        )
    if as_json:
        emit_json(report)
        return
    print_simulation(report)


def _warn(message: str) -> None:
    print(f"gsetup: warning: {message}", file=sys.stderr, flush=True)


def _seconds(value: float | None) -> str:
    """Seconds as a planner reads them (``--json`` keeps the milliseconds)."""
    return "" if value is None else f"{value:,.1f}"


def print_simulation(report: dict[str, Any]) -> None:
    """The planner's report as tables."""
    from gsetup.cli.render import print_mapping, print_table
    from gsetup.runtime.sim_report import OUTCOME_NAMES

    level = report["service_level"]
    share = "" if level["share"] is None else f"{level['share']:.1%}"
    print_mapping(
        f"Simulation of {report['tenant']}: {report['duration']:g} virtual seconds, "
        f"seed {report['seed']}",
        {
            **{k.replace("_", " "): v for k, v in report["totals"].items()},
            "service level": f"{share} offered within {level['threshold']:g} s "
            f"({level['within']} of {level['counted']})",
            "stop reasons": ", ".join(f"{k}={v}" for k, v in report["stop_reasons"].items()),
            "agent actions refused": report["refused"],
        },
    )
    names = ("arrived", *OUTCOME_NAMES)
    print_table(
        "Per media type",
        ("media type", *(n.replace("_", " ") for n in names)),
        [(m, *(c[n] for n in names)) for m, c in report["by_media_type"].items()],
    )
    print_table(
        "Per queue (where each interaction is now)",
        ("queue", *(n.replace("_", " ") for n in OUTCOME_NAMES)),
        [(q, *(c[n] for n in OUTCOME_NAMES)) for q, c in report["by_queue"].items()],
    )
    spread = ("count", "p50", "p90", "p99", "max")
    print_table(
        "Waits from arrival (seconds)",
        ("to", *spread),
        [
            (
                to,
                report[f"wait_to_{to}"]["count"],
                *(_seconds(report[f"wait_to_{to}"][k]) for k in spread[1:]),
            )
            for to in ("offer", "accept")
        ],
    )
    print_table(
        "Agents",
        ("agent", "handled", "rejected", "replies", "busy s", "logged in s", "occupancy"),
        [
            (
                name,
                a["handled"],
                a["rejected"],
                a["replies"],
                _seconds(a["busy"]),
                _seconds(a["logged_in"]),
                "" if a["occupancy"] is None else f"{a['occupancy']:.1%}",
            )
            for name, a in report["agents"].items()
        ],
    )
    sends = report["outbound"]
    print_mapping(
        "Outbound",
        {
            "replies": sends["replies"],
            "sends": ", ".join(f"{k}={v}" for k, v in sends["sends"].items()) or "none",
        },
    )
    print_table(
        "Per interval",
        ("from (s)", "arrived", "finished"),
        [(f"{i['start']:g}", i["arrived"], i["finished"]) for i in report["intervals"]],
    )
