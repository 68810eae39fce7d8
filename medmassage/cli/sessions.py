"""`medmassage session …` and `medmassage progress`."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import (
    CaseOpt,
    ClientArg,
    FormatOpt,
    OutputOpt,
    database,
    guard,
    say,
    warn,
)

app = typer.Typer(no_args_is_help=True)
SessionArg = Annotated[str, typer.Argument(help="Session id.")]


def _note(section: str):
    return typer.Option(metavar="TEXT", help=f"SOAP {section}.", show_default=False)


def _notes_from(
    given: dict[str, str | None], notes_file: str | None, edit: bool
) -> dict[str, str | None]:
    """Merge SOAP notes from options with a notes file (or stdin) or an $EDITOR session."""
    from medmassage.errors import InputError
    from medmassage.sessions import parse_soap_text, soap_template

    if notes_file and edit:
        raise InputError("notes-file", notes_file, "use either --notes-file or --edit, not both")
    if notes_file:
        if notes_file == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(notes_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                reason = getattr(e, "strerror", None) or "not UTF-8 text"
                raise InputError("notes-file", notes_file, f"cannot read it ({reason})") from None
    elif edit:
        text = _edit(soap_template(given))
        return parse_soap_text(text)  # the editor saw the options' text: its result wins
    else:
        return given
    from_file = parse_soap_text(text)
    merged = dict(given)
    for key, value in from_file.items():
        if value and given.get(key):
            raise InputError(key, given[key], "given both as an option and in the notes file")
        merged[key] = merged.get(key) or value
    return merged


def _edit(template: str) -> str:
    """Open $VISUAL/$EDITOR on a private temp file; the file is removed afterwards."""
    import os
    import shlex
    import subprocess
    import tempfile

    from medmassage.errors import InputError

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    folder = tempfile.mkdtemp(prefix="medmassage-")  # 0700
    path = Path(folder) / "soap-note.md"
    try:
        path.write_text(template, encoding="utf-8")
        path.chmod(0o600)
        try:
            result = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except OSError as e:
            raise InputError("EDITOR", editor, f"cannot start it ({e.strerror})") from None
        if result.returncode != 0:
            raise InputError("EDITOR", editor, f"exited with {result.returncode}; nothing saved")
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)


@app.command("log")
@guard
def log(
    ctx: typer.Context,
    client: ClientArg,
    pre: Annotated[str, typer.Option(metavar="0-10", help="Pain before the session.")],
    post: Annotated[str, typer.Option(metavar="0-10", help="Pain after the session.")],
    technique: Annotated[
        list[str],
        typer.Option(
            metavar="NAME=MIN",
            help="Technique and minutes, e.g. myofascial-release=25. Repeatable.",
        ),
    ],
    region: Annotated[
        list[str], typer.Option(metavar="REGION", help="Region treated, e.g. neck. Repeatable.")
    ],
    case: CaseOpt = None,
    date: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Session date, optional start time: '2026-11-20 14:30'."),
    ] = None,
    minutes: Annotated[
        str | None,
        typer.Option(metavar="MIN", help="Total session minutes (default: sum of techniques)."),
    ] = None,
    subjective: Annotated[str | None, _note("subjective")] = None,
    objective: Annotated[str | None, _note("objective")] = None,
    assessment: Annotated[str | None, _note("assessment")] = None,
    plan: Annotated[str | None, _note("plan")] = None,
    homecare: Annotated[str | None, _note("home care")] = None,
    feedback: Annotated[str | None, _note("client feedback")] = None,
    notes_file: Annotated[
        str | None,
        typer.Option(
            metavar="FILE", help="Read SOAP notes from FILE (- for stdin), under # headings."
        ),
    ] = None,
    edit: Annotated[bool, typer.Option("--edit", help="Write the SOAP note in $EDITOR.")] = False,
    sign: Annotated[bool, typer.Option("--sign", help="Sign (lock) the note now.")] = False,
    allow_expired: Annotated[
        str | None,
        typer.Option(
            metavar="REASON",
            help="Workers' comp: record a session outside the Rx or authorization, with why.",
        ),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", metavar="FORMAT", help="text (default) or json.")
    ] = None,
) -> None:
    """Log a session: prints the visit number, CPT lines with units, and any warnings."""
    from medmassage.cases import case_for_client
    from medmassage.clients import find_client
    from medmassage.dates import parse_date_time, today
    from medmassage.errors import InputError
    from medmassage.sessions import SessionInput, log_session

    if fmt not in (None, "text", "json"):
        raise InputError("format", fmt, "text or json")
    if date:
        day, start = parse_date_time("date", date, allow_future=False)
    else:
        day, start = today(), None
    notes = _notes_from(
        {
            "subjective": subjective,
            "objective": objective,
            "assessment": assessment,
            "plan": plan,
            "homecare": homecare,
            "feedback": feedback,
        },
        notes_file,
        edit,
    )
    given = SessionInput(
        pre=pre,
        post=post,
        techniques=technique,
        regions=region,
        day=day,
        start_time=start,
        minutes=minutes,
        notes=notes,
        sign=sign,
        allow_expired=allow_expired,
    )
    with database(ctx) as conn:
        row = find_client(conn, client)
        case_row = case_for_client(conn, row, case)
        logged = log_session(conn, case_row, given)
    if fmt == "json":
        from medmassage.render import json_text

        print(
            json_text(
                {
                    "session_id": logged.session_id,
                    "client_id": row["id"],
                    "case_id": logged.case_id,
                    "visit": logged.visit,
                    "visits_authorized": logged.visits_authorized,
                    "date": logged.day.isoformat(),
                    "minutes": logged.minutes,
                    "units_rule": logged.billing.rule,
                    "timed_minutes": logged.billing.timed_minutes,
                    "cpt": [
                        {"code": ln.code, "minutes": ln.minutes, "units": ln.units}
                        for ln in logged.billing.lines
                    ],
                    "total_units": logged.billing.total_units,
                    "signed": logged.signed,
                    "warnings": logged.warnings,
                }
            )
        )
    else:
        state = "signed" if logged.signed else "draft — sign with: medmassage session sign "
        state += "" if logged.signed else str(logged.session_id)
        print(
            f"Session {logged.session_id} saved: {row['name']}, case {logged.case_id}, "
            f"visit {logged.visit} of {logged.visits_authorized} on {logged.day.isoformat()} "
            f"({state})"
        )
        print("\n".join(billing_lines(logged.billing)))
    for message in logged.warnings:
        warn(message)


def billing_lines(billing) -> list[str]:
    """The CPT lines of a logged visit, as `session log` prints them."""
    lines = []
    for line in billing.lines:
        unit_word = "unit" if line.units == 1 else "units"
        kind = "" if line.timed else " (untimed)"
        lines.append(
            f"  {line.code}  {line.label:<27} {line.minutes:>3} min  {line.units} {unit_word}{kind}"
        )
    rule = "CMS 8-minute rule" if billing.rule == "cms" else "AMA midpoint rule"
    lines.append(
        f"  timed minutes {billing.timed_minutes} → {billing.timed_units} timed units ({rule}); "
        f"{billing.total_units} units in all"
    )
    return lines


@app.command("list")
@guard
def list_(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Argument(help="Only this client's sessions.")] = None,
    case: CaseOpt = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="From this date or month (2026-10)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option(metavar="DATE", help="Up to this date or month.")
    ] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """List sessions, oldest first."""
    from medmassage.cases import find_case
    from medmassage.clients import find_client
    from medmassage.dates import parse_span
    from medmassage.render import print_rows, resolve_format
    from medmassage.sessions import list_sessions
    from medmassage.views import SESSION_COLUMNS, SESSION_KEYS

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    start, end = parse_span(from_, to)
    with database(ctx) as conn:
        client_id = find_client(conn, client)["id"] if client else None
        case_id = find_case(conn, case)["id"] if case else None
        rows = list_sessions(conn, client_id, case_id, start, end)
    for r in rows:
        r["pain"] = f"{r['pain_pre']} → {r['pain_post']}"
    print_rows(
        SESSION_COLUMNS,
        rows,
        chosen,
        output,
        title=f"{len(rows)} session(s)",
        keys=SESSION_KEYS,
        empty="No sessions match.",
    )


@app.command("show")
@guard
def show(ctx: typer.Context, session: SessionArg, fmt: FormatOpt = None, output: OutputOpt = None):
    """Show a session: SOAP note, techniques, CPT lines, addenda, status."""
    from medmassage.render import print_record, resolve_format
    from medmassage.sessions import NOTE_HEADINGS, parse_session_id, session_detail

    chosen = resolve_format(fmt, output, ("table", "json", "md"))
    with database(ctx) as conn:
        data = session_detail(conn, parse_session_id(session))
    status = data["status"]
    if status == "signed":
        status += f" {data['signed_at']} (locked)"
    if status == "void":
        status += f" — {data['void_reason']}"
    flags = []
    if data["rx_flag"]:
        flags.append(f"Rx {data['rx_flag']}")
    if data["over_authorized"]:
        flags.append("over authorized visits")
    if data["override_reason"]:
        flags.append(f"override: {data['override_reason']}")
    pairs = [
        ("Session", f"{data['id']} — {status}"),
        (
            "Client",
            f"{data['client_id']} {data['client']}, case {data['case_id']} ({data['payer_type']})",
        ),
        ("Visit", f"{data['visit']} of {data['visits_authorized']}" if data["visit"] else "void"),
        ("Date", " ".join(x for x in (data["date"], data["start_time"]) if x)),
        ("Minutes", data["minutes"]),
        (
            "Pain",
            f"{data['pain_pre']} → {data['pain_post']} "
            f"(relief {data['pain_pre'] - data['pain_post']})",
        ),
        ("Regions", data["regions"]),
        (
            "Techniques",
            ", ".join(f"{t['technique']} {t['minutes']} min" for t in data["techniques"]),
        ),
        (
            "CPT",
            ", ".join(f"{c['cpt']} {c['minutes']} min × {c['units']}" for c in data["cpt"])
            + f" ({data['units_rule']})",
        ),
        ("Flags", "; ".join(flags)),
        *[(NOTE_HEADINGS[k], data[k]) for k in NOTE_HEADINGS],
    ]
    for a in data["addenda"]:
        pairs.append((f"Addendum {a['id']}", f"{a['created']} by {a['author']}:\n{a['text']}"))
    print_record(pairs, data, chosen, output)


@app.command("sign")
@guard
def sign(ctx: typer.Context, session: SessionArg) -> None:
    """Sign a session note; it is locked from then on (corrections are addenda)."""
    from medmassage.sessions import parse_session_id, sign_session

    session_id = parse_session_id(session)
    with database(ctx) as conn:
        sign_session(conn, session_id)
    say(f"Session {session_id} signed and locked")


@app.command("amend")
@guard
def amend(
    ctx: typer.Context,
    session: SessionArg,
    text: Annotated[
        str, typer.Option(metavar="TEXT", help="The addendum text (the original stays as it was).")
    ],
) -> None:
    """Add a dated addendum to a session (signed notes are corrected this way)."""
    from medmassage.sessions import amend_session, parse_session_id

    session_id = parse_session_id(session)
    with database(ctx) as conn:
        addendum_id = amend_session(conn, session_id, text)
    say(f"Addendum {addendum_id} added to session {session_id}")


@app.command("void")
@guard
def void(
    ctx: typer.Context,
    session: SessionArg,
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why (entered in error, wrong client…).")
    ],
) -> None:
    """Void a session: it stays on record with the reason but no longer counts as a visit."""
    from medmassage.sessions import parse_session_id, void_session

    session_id = parse_session_id(session)
    with database(ctx) as conn:
        void_session(conn, session_id, reason)
    say(f"Session {session_id} voided")


@guard
def progress(
    ctx: typer.Context,
    client: ClientArg,
    case: CaseOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Show every visit, not the last 20.")] = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Progress table: visits, pain pre→post, units, flags; baseline, change, MCID, due dates."""
    from medmassage.cases import case_with_history
    from medmassage.chart import build_progress
    from medmassage.clients import find_client
    from medmassage.dates import today
    from medmassage.render import resolve_format
    from medmassage.views import render_progress

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        row = find_client(conn, client)
        case_row = case_with_history(conn, row, case)
        report = build_progress(conn, case_row["id"], today())
    render_progress(report, chosen, output, last=None if all_ else 20)
