"""The ``hotline`` command (SPEC §5): import the feed, manage agents, migrate, serve.

Commands live on ``app.cli`` (``init_app``), so tests run them with
``app.test_cli_runner()``; ``main`` is the console script. Commands that need
the tables bring the schema up to date first, so a fresh install needs no
separate migration step.
"""

from __future__ import annotations

import functools
import os
import secrets
import shlex
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from redis import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError

import flows
from domain import workdays
from hotline import config, defaults, demo
from runtime import current_clock, current_flows
from runtime.exceptions import HotlineError
from services import accounts, agent_shift, importer
from services import defaults as services_defaults
from services.feed import FeedError
from storage import db, schema

# Where `hotline serve` listens by default, and so where `hotline call` phones.
DEFAULT_CALL_URL = "http://127.0.0.1:8000"


def make_cli() -> FlaskGroup:
    """The ``hotline`` group: the app's commands, plus Flask's ``shell`` and ``routes``."""
    from hotline import create_app

    cli = FlaskGroup(
        name="hotline",
        create_app=create_app,
        add_default_commands=False,
        help="重疾管家 hotline: import the insurer's feed, manage agents, serve the IVR and API.",
    )
    cli.add_command(shell_command)
    cli.add_command(routes_command)
    return cli


def main() -> None:
    make_cli().main(prog_name="hotline")


def init_app(app: Flask) -> None:
    app.cli.add_command(import_command)
    app.cli.add_command(agent_group)
    app.cli.add_command(db_group)
    app.cli.add_command(serve_command)
    app.cli.add_command(cases_group)
    app.cli.add_command(reports_group)
    app.cli.add_command(call_command)
    app.cli.add_command(calendar_group)


def _reported(command):
    """Errors an operator can act on become one line on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except HotlineError as exc:
            raise click.ClickException(str(exc)) from None
        except (OperationalError, InterfaceError) as exc:
            raise click.ClickException(_database_problem(exc)) from None

    return wrapped


def _database_problem(exc: OperationalError | InterfaceError) -> str:
    url = db.engine().url.render_as_string(hide_password=True)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return f"cannot use the database at {url}: {reason}"


def _ensure_schema() -> None:
    # Migrations may take long: not on the web's time budget.
    engine = db.batch_engine()
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()


def _line_queues() -> list[str]:
    return [queue.name for queue in current_flows().queues() if queue.kind == flows.CALLS]


# -- import --------------------------------------------------------------------------------


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
@_reported
def import_command(file: Path) -> None:
    """Load the insurer's data feed FILE (JSON, SPEC §5).

    An upsert: people, policies and usage in FILE are created or updated;
    records not in FILE are left as they are. The whole file is checked first;
    if any record is bad, every problem is listed and nothing is written.
    """
    _ensure_schema()
    batch_size = current_app.config.get("IMPORT_BATCH_SIZE", services_defaults.IMPORT_BATCH_SIZE)
    # A big file takes long statements, and may wait for the web's short writes.
    engine = db.batch_engine()
    try:
        summary = importer.import_feed(
            engine,
            file,
            current_flows().programme,
            now=current_clock().now(),
            batch_size=batch_size,
        )
    except FeedError as exc:
        click.echo(f"{file}: refused, nothing was written:", err=True)
        for line in exc.lines:
            click.echo(f"  {line}", err=True)
        raise SystemExit(1) from None
    finally:
        engine.dispose()
    for line in summary.lines():
        click.echo(line)


# -- agents --------------------------------------------------------------------------------


@click.group("agent")
def agent_group() -> None:
    """Agent and supervisor accounts and their API tokens."""


@agent_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(accounts.ROLES), default="agent", show_default=True)
@click.option(
    "--queues",
    help="Comma-separated queues the agent serves, in order (default: every line's queue).",
)
@click.option("--password", help="Sign-in password (default: a generated one, printed once).")
@with_appcontext
@_reported
def agent_add(username: str, role: str, queues: str | None, password: str | None) -> None:
    """Add an agent; prints a new API token as the last line."""
    _ensure_schema()
    line_queues = _line_queues()
    wanted = queues.split(",") if queues is not None else line_queues
    generated = password is None
    password = accounts.new_password() if generated else password
    session = db.session()
    agent = accounts.add_agent(session, username, role, wanted, line_queues, password)
    token = accounts.issue_token(session, agent, current_clock().now())
    session.commit()
    click.echo(f'Added {role} "{username}" serving {", ".join(agent.queue_list)}.')
    if generated:
        click.echo(f"Password (shown once): {password}")
    click.echo("API token (shown once; use as Authorization: Bearer TOKEN):")
    click.echo(token)


@agent_group.command("token")
@click.argument("username")
@click.option("--revoke-others", is_flag=True, help="Revoke the agent's other tokens.")
@with_appcontext
@_reported
def agent_token(username: str, revoke_others: bool) -> None:
    """Issue a new API token for USERNAME; prints it as the last line."""
    _ensure_schema()
    session = db.session()
    agent = accounts.find_agent(session, username)
    now = current_clock().now()
    revoked = accounts.revoke_tokens(session, agent, now) if revoke_others else 0
    token = accounts.issue_token(session, agent, now)
    session.commit()
    if revoke_others:
        click.echo(f"Revoked {revoked} earlier token(s) of {username}.")
    click.echo(f"New API token for {username} (shown once):")
    click.echo(token)


@agent_group.command("revoke")
@click.argument("username")
@with_appcontext
@_reported
def agent_revoke(username: str) -> None:
    """Revoke every API token of USERNAME."""
    _ensure_schema()
    session = db.session()
    agent = accounts.find_agent(session, username)
    count = accounts.revoke_tokens(session, agent, current_clock().now())
    session.commit()
    click.echo(f"Revoked {count} token(s) of {username}.")


@agent_group.command("password")
@click.argument("username")
@click.option("--password", help="The new password (default: a generated one, printed once).")
@with_appcontext
@_reported
def agent_password(username: str, password: str | None) -> None:
    """Set the sign-in password of USERNAME."""
    _ensure_schema()
    session = db.session()
    agent = accounts.find_agent(session, username)
    generated = password is None
    password = accounts.new_password() if generated else password
    accounts.set_password(agent, password)
    session.commit()
    click.echo(f"Password of {username} changed.")
    if generated:
        click.echo(f"Password (shown once): {password}")


@agent_group.command("disable")
@click.argument("username")
@with_appcontext
@_reported
def agent_disable(username: str) -> None:
    """Lock USERNAME out at once: no sign-in, no API token, every session and stream ended."""
    _ensure_schema()
    session = db.session()
    agent = accounts.find_agent(session, username)
    changed = accounts.disable(session, agent, current_clock().now())
    session.commit()
    if changed:
        _set_offline(username)
    click.echo(
        f"Disabled {username}: signed out everywhere; sign-in and tokens refused."
        if changed
        else f"{username} was already disabled."
    )


@agent_group.command("enable")
@click.argument("username")
@with_appcontext
@_reported
def agent_enable(username: str) -> None:
    """Undo `agent disable`: USERNAME may sign in and use their live tokens again."""
    _ensure_schema()
    session = db.session()
    agent = accounts.find_agent(session, username)
    changed = accounts.enable(session, agent)
    session.commit()
    click.echo(f"Enabled {username}." if changed else f"{username} was not disabled.")


def _set_offline(username: str) -> None:
    """A disabled agent takes no more calls (their status lives in Redis; best effort)."""
    try:
        agent_shift.sign_out(username)
    except RedisError:
        click.echo(f"(could not set {username} offline: Redis is unreachable)", err=True)


@agent_group.command("list")
@with_appcontext
@_reported
def agent_list() -> None:
    """List agents with their role, queues and number of live tokens."""
    _ensure_schema()
    from sqlalchemy import select

    from storage.models import Agent

    agents = db.session().scalars(select(Agent).order_by(Agent.username)).all()
    if not agents:
        click.echo("No agents yet: add one with `hotline agent add USERNAME`.")
    for agent in agents:
        live = sum(1 for t in agent.tokens if t.revoked_at is None)
        disabled = "  disabled" if agent.disabled_at is not None else ""
        click.echo(
            f"{agent.username:20} {agent.role:11} {agent.queues:20} {live} token(s){disabled}"
        )


# -- database ------------------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """The database schema (Alembic migrations)."""


@db_group.command("upgrade")
@with_appcontext
@_reported
def db_upgrade() -> None:
    """Create or migrate the tables to the latest revision (safe to run again)."""
    engine = db.batch_engine()
    try:
        before = schema.current(engine)
        schema.upgrade(engine)
        after = schema.current(engine)
    finally:
        engine.dispose()
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{url}: already at revision {after}.")
    else:
        click.echo(f"{url}: upgraded from {before or 'an empty database'} to revision {after}.")


# -- cases ---------------------------------------------------------------------


def _recurring(job: str, server_does: str, schedule, minutes_setting: str) -> None:
    """Schedule ``job`` to recur in rq every ``minutes_setting``; without Redis, say who does it."""
    from adapters import background

    app = current_app._get_current_object()
    if background.in_process(app):
        click.echo(f"REDIS_URL is unset: the server {server_does} in-process instead.")
    else:
        job_id = schedule(app, int(app.config[minutes_setting]))
        click.echo(f"Next {job} scheduled as rq job {job_id}.")


@click.group("cases")
def cases_group() -> None:
    """Service requests taken at the desk."""


@cases_group.command("sweep")
@click.option(
    "--schedule",
    is_flag=True,
    help="Also schedule the recurring sweep in rq (every SLA_SWEEP_MINUTES; needs REDIS_URL).",
)
@with_appcontext
@_reported
def cases_sweep(schedule: bool) -> None:
    """Flag service-level deadlines that have passed unmet (safe to run any time)."""
    from services import case_jobs

    _ensure_schema()
    flagged = case_jobs.sweep_overdue_cases()
    click.echo(f"{flagged} deadline(s) newly overdue.")
    if schedule:
        _recurring("sweep", "sweeps", case_jobs.schedule_sweeps, "SLA_SWEEP_MINUTES")


# -- the working-day calendar --------------------------------------------------------


@click.group("calendar")
def calendar_group() -> None:
    """The working-day calendar (法定节假日 and 调休) that SLA deadlines count in."""


@calendar_group.command("check")
@with_appcontext
def calendar_check() -> None:
    """List the years with the State Council's schedule; warn when this or next year is missing.

    Exit status 1 while deadlines are wrong or about to be: this year missing, or
    next year missing from 1 December (the supervisor board shows a banner then too).
    """
    loaded = current_flows()
    found = workdays.coverage(loaded.working_days, current_clock().today())
    for line, warning in calendar_report(loaded, found):
        click.echo(line, err=warning)
    if found.alarm:
        raise SystemExit(1)


def calendar_report(loaded: flows.Flows, found: workdays.Coverage) -> list[tuple[str, bool]]:
    """The lines of ``hotline calendar check``, each with whether it is a warning."""
    calendar, today = loaded.working_days, found.today
    file = loaded.directory / "calendar.toml"
    lines = [(f"Working days (法定节假日 and 调休) as of {today}:", False)]
    library = [year for year, source in found.years.items() if source == "library"]
    if library:
        lines.append((f"  {library[0]}–{library[-1]}: {workdays.LIBRARY}", False))
    for year, source in found.years.items():
        if source == "flows":
            given = calendar.extra_years[year].source
            lines.append((f"  {year}: {file}" + (f" ({given})" if given else ""), False))
    for year in found.missing:
        when = "now" if year == today.year else f"from {year}-01-01"
        lines.append(
            (
                f"warning: no schedule for {year}: SLA deadlines count Monday–Friday {when}. "
                f"Add the State Council's {year} schedule to {file} as soon as it is published "
                "(README: The working-day calendar).",
                True,
            )
        )
    return lines


# -- reports -------------------------------------------------------------------------------


@click.group("reports")
def reports_group() -> None:
    """The supervisors' interval history (SPEC §7)."""


@reports_group.command("rebuild")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]))
@with_appcontext
@_reported
def reports_rebuild(first, last) -> None:
    """Write the half-hour history of the days --from to --to (local, both included) again.

    From the call records, the callbacks and the agents' state log in SQL, e.g. after
    an outage; the days' rows are replaced in one transaction. Safe to run any time.
    """
    from services import agent_history, history_upkeep

    first, last = first.date(), last.date()
    if last < first:
        raise click.BadParameter("must not be before --from", param_hint="--to")
    _ensure_schema()
    session, clock = db.session(), current_clock()
    rebuilt = history_upkeep.rebuild(session, first, last, current_flows(), clock.tz)
    session.commit()
    folded = agent_history.fold(session, clock.tz)
    session.commit()
    click.echo(
        f"{first}–{last}: {rebuilt.queue_rows} queue and {rebuilt.agent_rows} agent interval "
        f"row(s) from {rebuilt.calls} call record(s), {rebuilt.callbacks} callback(s) and "
        f"{rebuilt.spells} agent spell(s); {folded} ended spell(s) newly counted."
    )


@reports_group.command("upkeep")
@click.option(
    "--schedule",
    is_flag=True,
    help="Also schedule it to recur in rq (every REPORTS_UPKEEP_MINUTES; needs REDIS_URL).",
)
@with_appcontext
@_reported
def reports_upkeep(schedule: bool) -> None:
    """Fold the calls and the agents' ended spells into the history; prune past keep_days
    (and forget failed authentication tries past their window)."""
    from services import report_jobs

    _ensure_schema()
    done = report_jobs.upkeep()
    click.echo(
        f"{done['calls']} call record(s) folded, {done['folded']} spell(s) counted, "
        f"{done['pruned']} old interval row(s) pruned."
    )
    click.echo(
        f"{done['failed_tries']} failed authentication try(ies) past their window forgotten."
    )
    if schedule:
        _recurring(
            "upkeep", "runs the upkeep", report_jobs.schedule_upkeep, "REPORTS_UPKEEP_MINUTES"
        )


# -- a call from the terminal -----------------------------------------------------------------


@click.command("call")
@click.option(
    "--url",
    default=DEFAULT_CALL_URL,
    show_default=True,
    help="The running hotline (`hotline serve --demo`).",
)
@click.option(
    "--from", "caller", default="+8613900000606", show_default=True, help="The caller's number."
)
@click.option(
    "--script",
    help='Answers in order, comma-separated: digits are keys, other text is speech, "" silence '
    '(e.g. "000606,张伟,1,2,1"); without it, answers are typed.',
)
@click.option(
    "--auth-token",
    help="The server's TWILIO_AUTH_TOKEN (default: the environment's, else the demo's "
    "instance/demo_twilio_auth_token).",
)
@click.option(
    "--in-process", is_flag=True, help="Run the hotline inside this command instead of a server."
)
@click.option("--demo", is_flag=True, help="With --in-process: load the demo data first.")
@click.option(
    "--max-wait",
    type=click.FloatRange(0),
    help="Hang up after waiting this many seconds in a queue (default: until answered).",
)
@click.option(
    "--every",
    "wait_every",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between the queue's announcements (Twilio re-requesting the waitUrl).",
)
@click.option(
    "--hold",
    is_flag=True,
    help="Stay on the line once an agent answers (until the agent hangs up, or Ctrl-C).",
)
@click.option(
    "--answer",
    is_flag=True,
    help="Wait for the hotline to call --from (a callback) and answer it, instead of dialling.",
)
@click.option(
    "--sms-wait",
    default=3.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds the phone's screen stays on after the call, for texts still on their way.",
)
@click.option(
    "--speak",
    is_flag=True,
    help="Also read the prompts aloud with espeak-ng (Mandarin voice cmn), if installed.",
)
@with_appcontext
def call_command(
    url: str,
    caller: str,
    script: str | None,
    auth_token: str | None,
    in_process: bool,
    demo: bool,
    max_wait: float | None,
    wait_every: float,
    hold: bool,
    answer: bool,
    sms_wait: float,
    speak: bool,
) -> None:
    """Place a call to the hotline from the terminal, as Twilio would (signed webhooks).

    Prints what the caller hears, asks for keys or speech, waits in the queue with
    the simulator (on with `hotline serve --demo`) until an agent takes the call.
    """
    from simulator import terminal
    from simulator.softphone import Exchange, FlaskTransport, HttpTransport

    try:
        voice = terminal.espeak() if speak else None
    except terminal.CallFailed as exc:
        raise click.ClickException(str(exc)) from None
    token = auth_token or current_app.config.get("TWILIO_AUTH_TOKEN") or _demo_auth_token()
    if in_process:
        app = _in_process_app(token or secrets.token_hex(16), demo)
        transport = FlaskTransport(app.test_client())
        base = app.config.get("PUBLIC_BASE_URL") or "http://localhost"
        token = app.config["TWILIO_AUTH_TOKEN"]
    else:
        if not token:
            raise click.ClickException(terminal.NO_TOKEN)
        transport = HttpTransport(url)
        base = current_app.config.get("PUBLIC_BASE_URL") or url
    exchange = Exchange(transport, token, base_url=base.rstrip("/"))
    answers = terminal.Answers(terminal.script(script), terminal.stdin_or_none())
    phone = terminal.Terminal(
        exchange,
        answers,
        caller=caller,
        echo=click.echo,
        wait_every=wait_every,
        max_wait=max_wait,
        hold=hold,
        speak=voice,
        answer=answer,
        sms_wait=sms_wait,
    )
    try:
        status = phone.run()
    except terminal.CallFailed as exc:
        raise click.ClickException(str(exc)) from None
    raise SystemExit(status)


def _demo_auth_token() -> str | None:
    path = Path(current_app.instance_path) / defaults.DEMO_AUTH_TOKEN_FILENAME
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _in_process_app(token: str, load_demo: bool) -> Flask:
    """The hotline in this process, with this command's settings and the simulator on."""
    from hotline import create_app

    kept = ("DATABASE_URL", "REDIS_URL", "HOTLINE_TZ", "HOTLINE_FLOWS_DIR", "SECRET_KEY")
    settings = {key: current_app.config[key] for key in kept if current_app.config.get(key)}
    if current_app.config.get("CLOCK") is not None:
        settings["CLOCK"] = current_app.config["CLOCK"]
    app = create_app({**settings, "HOTLINE_SIMULATOR": True, "TWILIO_AUTH_TOKEN": token})
    schema.upgrade(db.engine(app))
    if load_demo:
        with app.app_context():
            demo.load(db.engine(app), current_flows().programme, current_clock().now())
    return app


# -- serve ---------------------------------------------------------------------------------


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1), help="Worker processes (needs REDIS_URL).")
@click.option("--threads", type=click.IntRange(1), help="Threads per worker.")
@click.option("--demo", is_flag=True, help="Load the demo data and print demo accounts first.")
@with_appcontext
@_reported
def serve_command(
    host: str, port: int, workers: int | None, threads: int | None, demo: bool
) -> None:
    """Serve the IVR webhooks, the API and the agent pages with gunicorn."""
    from hotline import create_app, gunicorn_app

    try:
        _ensure_schema()
    except (OperationalError, InterfaceError) as exc:
        if demo:
            raise
        # Callers still get the degraded answer; the workers migrate once it answers.
        click.echo(f"{_database_problem(exc)}: serving without it for now.", err=True)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    factory = create_app
    if demo:
        _load_demo(base)
        factory = functools.partial(create_app, _demo_settings(base))
    db.engine().dispose()  # the workers open their own connections
    options = gunicorn_app.settings(bind=f"{host}:{port}", workers=workers, threads=threads)
    if workers and workers > options["workers"]:
        click.echo("REDIS_URL is unset: one worker process (the in-process store is not shared).")
    click.echo(f"Serving on {base} (Ctrl-C to stop).")
    gunicorn_app.Server(factory, options).run()


def _demo_settings(base: str) -> dict:
    """The demo answers ``hotline call`` without a Twilio account: the simulator, signed webhooks.

    Settings for the workers' apps. Webhooks stay signature-checked: without
    TWILIO_AUTH_TOKEN the demo signs with a token of its own, made once and kept in
    the instance folder, where ``hotline call`` finds it. HOTLINE_SIMULATOR set in
    the environment (even to 0) is left to decide.
    """
    settings = {}
    if "HOTLINE_SIMULATOR" not in os.environ:
        settings["HOTLINE_SIMULATOR"] = True
    if not current_app.config.get("TWILIO_AUTH_TOKEN"):
        settings["TWILIO_AUTH_TOKEN"] = config.instance_secret(
            current_app.instance_path, defaults.DEMO_AUTH_TOKEN_FILENAME
        )
        where = Path(current_app.instance_path) / defaults.DEMO_AUTH_TOKEN_FILENAME
        click.echo(f"Webhooks are signed with the demo token in {where} (hotline call reads it).")
    if settings.get("HOTLINE_SIMULATOR") or "simulator" in current_app.blueprints:
        if not current_app.config.get("TWILIO_ACCOUNT_SID"):
            settings.update(_simulated_twilio(base))
        url = "" if base == DEFAULT_CALL_URL else f"--url {base} "
        click.echo(
            "Sign in at the desk and go 空闲 Available; calls are offered to you by themselves:"
        )
        click.echo(f"  {base}/agent/  (demo-agent, or a second agent: hotline agent add …)")
        click.echo("Place a call without Twilio (in another terminal):")
        click.echo(f"  hotline call {url}--script 000606,张伟,1,2,1 --hold")
        click.echo("")
    return settings


def _simulated_twilio(base: str) -> dict:
    """Without a Twilio account the simulator is Twilio: its REST API at the demo's own origin.

    The distribution, SMS and callback calls then run through the production code
    (``adapters.twilio_rest``), authenticated with the demo account and token.
    """
    settings = {
        "TWILIO_ACCOUNT_SID": defaults.DEMO_ACCOUNT_SID,
        "TWILIO_API_BASE_URL": base,
    }
    if not current_app.config.get("PUBLIC_BASE_URL"):
        settings["PUBLIC_BASE_URL"] = base
    if not current_app.config.get("TWILIO_CALLER_ID"):
        settings["TWILIO_CALLER_ID"] = defaults.DEMO_NUMBER
    account = defaults.DEMO_ACCOUNT_SID
    click.echo(f"Twilio's REST API is simulated at {base}/2010-04-01 (account {account}).")
    if current_app.config.get("REDIS_URL"):
        # The rq worker makes the offers then: it needs the same settings as the server.
        token = Path(current_app.instance_path) / defaults.DEMO_AUTH_TOKEN_FILENAME
        every = {**settings, "HOTLINE_SIMULATOR": "1"}
        if not current_app.config.get("TWILIO_AUTH_TOKEN"):
            every["TWILIO_AUTH_TOKEN"] = f"$(cat {token})"
        exports = " ".join(f"{key}={value}" for key, value in every.items())
        worker = (
            "rq worker --with-scheduler --worker-class hotline.worker.Worker "
            f"--url {current_app.config['REDIS_URL']} hotline"
        )
        click.echo(
            "REDIS_URL is set: the rq worker makes the offers. Start it with these settings:"
        )
        click.echo(f"  {exports} {worker}")
    return settings


def _load_demo(base: str) -> None:
    clock = current_clock()
    summary = demo.load(db.engine(), current_flows().programme, clock.now())
    session = db.session()
    accounts = demo.ensure_accounts(session, _line_queues(), clock.now())
    session.commit()
    for line in summary.lines():
        click.echo(line)
    click.echo("")
    click.echo("Demo insured people:")
    for person_id, case in demo.CASES.items():
        click.echo(f"  {person_id}  {case}")
    click.echo("")
    click.echo("Demo accounts (new passwords and tokens at every start):")
    for account in accounts:
        click.echo(f"  {account.username:16} {account.role:11} password: {account.password}")
        click.echo(f"  {'':16} {'':11} token:    {account.token}")
    url = f"{base}/api/insureds/D03/eligibility"
    header = f"Authorization: Bearer {accounts[0].token}"
    click.echo("")
    click.echo("Try the eligibility API:")
    click.echo(f"  curl -H {shlex.quote(header)} {shlex.quote(url)}")
    click.echo("")
