"""`medmassage session …`: log, edit, list, show, sign, amend, void."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NamedTuple

import typer

from medmassage.cli.common import (
    CaseOpt,
    ClientArg,
    FormatOpt,
    OutputOpt,
    database,
    db_path,
    fail,
    guard,
    is_interactive,
    say,
    warn,
)

app = typer.Typer(no_args_is_help=True)
SessionArg = Annotated[str, typer.Argument(help="Session id.")]


def _note(section: str):
    return typer.Option(metavar="TEXT", help=f"SOAP {section}.", show_default=False)


# A note read from --notes-file or written in $EDITOR: at most 1 MB. Six sections of at most
# 20,000 characters each take under 0.5 MB in UTF-8; the cap only stops `--notes-file
# /dev/zero`, a pipe that never ends or a pasted log from filling memory. Read with a bounded
# read(), like the 256 MB cap of `import sessions` from a pipe.
NOTES_MAX_BYTES = 1 << 20
NOTES_MAX_TEXT = "1 MB (1,048,576 bytes)"


def _read_notes_file(notes_file: str) -> str:
    from medmassage.errors import InputError

    try:
        if notes_file == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            data = stdin.read(NOTES_MAX_BYTES + 1) if stdin else None
            if data is None:  # a text-only stdin (embedded use): characters, as close as it gets
                data = sys.stdin.read(NOTES_MAX_BYTES + 1).encode("utf-8", "surrogateescape")
        else:
            with open(notes_file, "rb") as f:
                data = f.read(NOTES_MAX_BYTES + 1)
    except OSError as e:
        raise InputError("notes-file", notes_file, f"cannot read it ({e.strerror})") from None
    if len(data) > NOTES_MAX_BYTES:
        raise InputError(
            "notes-file",
            notes_file,
            f"holds more than {NOTES_MAX_TEXT}, the most a notes file may hold (each section "
            "takes at most 20,000 characters); nothing was saved",
        )
    try:
        return data.decode("utf-8-sig")  # a byte-order mark (Windows Notepad) is not the note
    except UnicodeDecodeError:
        raise InputError(
            "notes-file", notes_file, "cannot read it (not UTF-8 text; save it as UTF-8)"
        ) from None


def _merge_notes(
    given: dict[str, str | None], from_file: dict[str, str | None]
) -> dict[str, str | None]:
    """The notes file's sections beside the options'; one section given both ways is refused."""
    from medmassage.errors import InputError, Withheld

    merged = dict(given)
    for key, value in from_file.items():
        if value and given.get(key):
            raise InputError(  # note text: named by its section, not repeated
                key,
                Withheld(len(given[key] or "")),
                "given both as an option and in the notes file",
            )
        merged[key] = merged.get(key) or value
    return merged


class Written(NamedTuple):
    """A note typed in $EDITOR: its text (kept if the command fails) and its sections."""

    text: str
    notes: dict[str, str | None]


def _write_in_editor(ctx: typer.Context, template: str) -> Written | None:
    """Open $EDITOR on `template` until the note can be read. None: saved unchanged or empty
    (nothing to save). A note that cannot be read is reopened with the problem on top (on a
    terminal) or kept in a recovery file whose path the error names; never lost."""
    from medmassage.errors import InputError
    from medmassage.record.sessions import COMMENT, parse_soap_text

    text = _edit(ctx, template)
    while True:
        if text == template:
            return None
        try:
            notes = parse_soap_text(text)
        except InputError as e:
            if is_interactive():
                body = "\n".join(ln for ln in text.splitlines() if not ln.startswith(COMMENT))
                problem = f"{COMMENT} {e} — fix it and save, or save it empty to give up\n"
                retry = problem + body + "\n"
                again = _edit(ctx, retry)
                if again != retry:
                    text = again
                    continue
            path = _keep(ctx, text)
            raise InputError(
                e.field,
                e.value,
                f"{e.allowed}. What you wrote is kept in {path}: correct it there and give it "
                f"with --notes-file {path}",
            ) from None
        if not any(notes.values()):
            return None
        return Written(text, notes)


def _keep(ctx: typer.Context, text: str) -> Path:
    from medmassage.store.recovery import keep

    return keep(text, db_path(ctx))


@contextmanager
def _keeping(ctx: typer.Context, written: Written | None) -> Iterator[None]:
    """If the command fails after the editor closed, what was typed is kept, and said where."""
    try:
        yield
    except BaseException as e:
        if written is not None and not isinstance(e, typer.Exit):
            path = _keep(ctx, written.text)
            say(f"The note you wrote is kept in {path} (use it with --notes-file {path}).")
        raise


def _edit(ctx: typer.Context, template: str) -> str:
    """Open $VISUAL/$EDITOR on a private temp file; the file is removed afterwards (what was
    typed is kept in a recovery file if the editor fails)."""
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
        text = _read_edited(ctx, path, editor)
        if result.returncode != 0:
            kept = f"; what you wrote is kept in {_keep(ctx, text)}" if text != template else ""
            raise InputError(
                "EDITOR", editor, f"exited with {result.returncode}; nothing saved{kept}"
            )
        return text
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)


def _read_edited(ctx: typer.Context, path: Path, editor: str) -> str:
    """What the editor saved, read with the --notes-file cap. Too big, or not UTF-8, it cannot be
    a note, but it is what the therapist typed: copied whole into the recovery file first."""
    from medmassage.errors import InputError, Withheld

    try:
        with open(path, "rb") as f:
            data = f.read(NOTES_MAX_BYTES + 1)
    except OSError as e:
        raise InputError("EDITOR", editor, f"left no note to read ({e.strerror})") from None
    problem = None
    if len(data) > NOTES_MAX_BYTES:
        problem = f"is more than {NOTES_MAX_TEXT}, the most a note can hold"
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            problem = "is not UTF-8 text (save it as UTF-8)"
    from medmassage.store.recovery import keep_file

    kept = keep_file(path, db_path(ctx))
    raise InputError(
        "note",
        Withheld(path.stat().st_size, "bytes"),
        f"{problem}; nothing saved. What you wrote is kept in {kept}: shorten or fix it there "
        f"and give it with --notes-file {kept}",
    )


PreOpt = Annotated[
    str | None,
    typer.Option(metavar="0-10", help="Pain before the session (asked for on a terminal)."),
]
PostOpt = Annotated[
    str | None,
    typer.Option(metavar="0-10", help="Pain after the session (asked for on a terminal)."),
]
_TECHNIQUE_HELP = (
    "Technique and minutes, e.g. myofascial-release=25 or MFR=25 (see: catalog techniques). "
    "Repeatable."
)
_REGION_HELP = (
    "Region treated, e.g. neck, 'R wrist', 'both shoulders' (see: catalog regions). Repeatable."
)
AgainOpt = Annotated[
    bool,
    typer.Option(
        "--again",
        help="Repeat the case's last visit (not void): its techniques with minutes, regions, "
        "total minutes and home care. --technique, --region, --minutes, --homecare replace "
        "that part.",
    ),
]
DateOpt = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="Session date, optional start time: '2026-11-20 14:30'."),
]
MinutesOpt = Annotated[
    str | None,
    typer.Option(metavar="MIN", help="Total session minutes (default: sum of techniques)."),
]
NotesFileOpt = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="Read SOAP notes from FILE (- for stdin), under # headings; at most 1 MB.",
    ),
]
EditOpt = Annotated[
    bool, typer.Option("--edit", help="Write the SOAP note in $EDITOR (at most 1 MB).")
]
TemplateOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="Fill the note's empty sections from this template (see: template list); the "
        "options, --notes-file and --edit win section by section.",
    ),
]
SignOpt = Annotated[bool, typer.Option("--sign", help="Sign (lock) the note now.")]
AllowExpiredOpt = Annotated[
    str | None,
    typer.Option(
        metavar="REASON",
        help="Workers' comp: record a session outside the Rx or authorization, with why.",
    ),
]
TextFormatOpt = Annotated[
    str | None, typer.Option("--format", "-f", metavar="FORMAT", help="text (default) or json.")
]


@app.command("log")
@guard
def log(
    ctx: typer.Context,
    client: ClientArg,
    pre: PreOpt = None,
    post: PostOpt = None,
    technique: Annotated[
        list[str] | None, typer.Option(metavar="NAME=MIN", help=_TECHNIQUE_HELP)
    ] = None,
    region: Annotated[list[str] | None, typer.Option(metavar="REGION", help=_REGION_HELP)] = None,
    again: AgainOpt = False,
    case: CaseOpt = None,
    date: DateOpt = None,
    minutes: MinutesOpt = None,
    subjective: Annotated[str | None, _note("subjective")] = None,
    objective: Annotated[str | None, _note("objective")] = None,
    assessment: Annotated[str | None, _note("assessment")] = None,
    plan: Annotated[str | None, _note("plan")] = None,
    homecare: Annotated[str | None, _note("home care")] = None,
    feedback: Annotated[str | None, _note("client feedback")] = None,
    notes_file: NotesFileOpt = None,
    edit: EditOpt = False,
    template: TemplateOpt = None,
    sign: SignOpt = False,
    allow_expired: AllowExpiredOpt = None,
    fmt: TextFormatOpt = None,
) -> None:
    """Log a session: prints the visit number, CPT lines with units, and any warnings.

    `--again` repeats the case's last visit; on a terminal, what is missing is asked for (the
    last visit's techniques and regions offered), in a script it is an error. `--template NAME`
    fills the note from a template; `;name` phrase shortcuts expand when the note is saved."""
    from medmassage.record.cases import case_for_client
    from medmassage.record.clients import find_client
    from medmassage.record.sessions import (
        SessionInput,
        check_session,
        log_session,
        parse_soap_text,
        previous_visit,
        repeat_visit,
        soap_template,
    )
    from medmassage.rules.dates import parse_date_time, today

    _check_text_format(fmt)
    _one_notes_source(notes_file, edit)
    day, start = parse_date_time("date", date, allow_future=False) if date else (today(), None)
    options = {
        "subjective": subjective,
        "objective": objective,
        "assessment": assessment,
        "plan": plan,
        "homecare": homecare,
        "feedback": feedback,
    }
    typed = SessionInput(
        pre=pre,
        post=post,
        techniques=technique or [],
        regions=region or [],
        day=day,
        start_time=start,
        minutes=minutes,
        notes=options,
        sign=sign,
        allow_expired=allow_expired,
    )
    with database(ctx) as conn:
        chosen = _template(conn, template)  # an unknown name: refused before anything
        row = find_client(conn, client)
        case_row = case_for_client(conn, row, case)
        last = previous_visit(conn, case_row, day) if again else None
        filled, notes = _fill(options, chosen)  # the template below what was typed
        given = typed._replace(notes=notes)
        given = repeat_visit(given, last) if last else given
        given, offered = _complete_log(conn, case_row, given)
        written = None
        if notes_file or edit:
            check_session(conn, case_row, given)  # refused before anything is typed
            if notes_file:
                notes = _merge_notes(options, parse_soap_text(_read_notes_file(notes_file)))
                typed = typed._replace(notes=notes)
                filled, notes = _fill(notes, chosen)
            else:
                written = _write_in_editor(ctx, soap_template(given.notes))
                if written is None:
                    message = "the note was saved unchanged or empty: the session was not logged"
                    raise fail(message, 1)
                notes = written.notes  # the editor saw the options' text: its result wins
            given = given._replace(notes=notes)
            if last and notes_file:  # home care not in the file: the last visit's
                given = repeat_visit(given, last)
        with _keeping(ctx, written):
            logged = log_session(conn, case_row, given)
    if last:
        _say_repeated(typed, given, last)
    elif offered.parts:
        _say_offered(offered)
    if filled is not None:
        _say_template(template or "", filled, in_editor=edit)
    _report(row, logged, fmt, "saved")


class _Offered(NamedTuple):
    """What guided entry took from the last visit when Enter accepted its default."""

    parts: list[str]  # "techniques", "regions"
    session_id: int | None = None
    day: str | None = None


def _on_terminal() -> bool:
    """Guided entry: both stdin and stdout are terminals (not a script, not a pipe)."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _missing_for_log(given) -> list[str]:
    """The required options of session log not given (nor repeated by --again)."""
    return [
        option
        for option, value in (
            ("--pre", given.pre),
            ("--post", given.post),
            ("--technique", given.techniques),
            ("--region", given.regions),
        )
        if value is None or value == [] or (isinstance(value, str) and not value.strip())
    ]


def _complete_log(conn, case_row, given):
    """What session log is missing: asked for on a terminal (the last visit's techniques and
    regions as defaults), else refused in one line (exit 2). Returns (given, _Offered)."""
    from medmassage.errors import InputError
    from medmassage.record.sessions import custom_techniques, last_visit
    from medmassage.rules.validate import parse_pain, parse_regions, parse_technique

    missing = _missing_for_log(given)
    if not missing:
        return given, _Offered([])
    if not _on_terminal():
        needs = {
            "--pre": "--pre 0-10",
            "--post": "--post 0-10",
            "--technique": "--technique NAME=MIN",
            "--region": "--region R",
        }
        repeat = (
            ", or --again to repeat the last visit"
            if {"--technique", "--region"} & set(missing)
            else ""
        )
        raise InputError(
            missing[0].lstrip("-"),
            None,
            f"required: give {' '.join(needs[m] for m in missing)}{repeat} "
            "(on a terminal, session log asks for what is missing)",
        )
    last = last_visit(conn, case_row["id"], given.day)
    custom = custom_techniques(conn)
    parts: list[str] = []

    def pain(field: str):
        return lambda answer: str(parse_pain(field, answer))

    def techniques(answer: str) -> list[str]:
        items = [t.strip() for t in answer.replace(";", ",").split(",") if t.strip()]
        if not items:
            raise InputError("technique", None, "give NAME=MINUTES, e.g. MFR=20, STM=15")
        for item in items:
            parse_technique(item, custom)
        return items

    if given.pre is None or not str(given.pre).strip():
        given = given._replace(pre=_ask("pre", "Pain before (0-10)", pain("pre"))[0])
    if given.post is None or not str(given.post).strip():
        given = given._replace(post=_ask("post", "Pain after (0-10)", pain("post"))[0])
    if not given.techniques:
        default = ", ".join(last.technique_specs) if last else None
        answer, took = _ask(
            "technique", "Techniques, NAME=MIN, comma-separated", techniques, default
        )
        given = given._replace(techniques=answer)
        parts += ["techniques"] if took else []
    if not given.regions:
        default = ", ".join(last.regions) if last else None
        answer, took = _ask(
            "region", "Regions, comma-separated", lambda a: parse_regions([a]), default
        )
        given = given._replace(regions=answer)
        parts += ["regions"] if took else []
    if not parts or last is None:
        return given, _Offered([])
    return given, _Offered(parts, last.session_id, last.day.isoformat())


def _ask(field: str, label: str, parse, default: str | None = None):
    """One question on the terminal until the answer parses: (value, True if Enter took the
    default). End of input (Ctrl-D) gives up, saving nothing."""
    from medmassage.errors import InputError
    from medmassage.rules.textsafety import visible

    prompt = f"{label} [{visible(default)}]: " if default else f"{label}: "
    while True:
        try:
            answer = input(prompt).strip()
        except EOFError:
            raise InputError(field, None, "no answer (end of input); nothing was saved") from None
        if not answer and default:
            return parse(default), True
        try:
            return parse(answer), False
        except InputError as e:
            say(f"  {e}")


def _say_repeated(typed, given, last) -> None:
    """The receipt of --again: what was repeated, from which visit, and what was given instead."""
    from medmassage.record.sessions import repeated_parts

    parts = repeated_parts(typed, given, last)
    shown = []
    for part in parts:
        if part == "techniques":
            shown.append("techniques " + ", ".join(f"{n} {m} min" for n, m in last.techniques))
        elif part == "regions":
            shown.append("regions " + ", ".join(last.regions))
        elif part == "minutes":
            shown.append(f"{last.minutes} minutes in all")
        else:
            shown.append("home care")
    typed_notes = typed.notes or {}
    given_here = [
        part
        for part, value in (
            ("techniques", typed.techniques),
            ("regions", typed.regions),
            ("minutes", typed.minutes),
            ("home care", typed_notes.get("homecare")),
        )
        if value
    ]
    text = f"Repeated from session {last.session_id} ({last.day.isoformat()}): "
    text += "; ".join(shown) if shown else "nothing (every part given)"
    if given_here:
        text += f" (given here: {', '.join(given_here)})"
    say(text)


def _say_offered(offered: _Offered) -> None:
    parts = " and ".join(offered.parts)
    say(f"{parts.capitalize()} as on session {offered.session_id} of {offered.day}")


def _template(conn, name: str | None):
    """The note sections of template `name`, or None when none was asked for (the templates
    module is imported only then: session log's start-up stays as it was)."""
    if name is None:
        return None
    from medmassage.record.notetemplates import template_notes

    return template_notes(conn, name)


def _fill(notes, chosen):
    """(notetemplates.Filled or None, the note): `chosen`'s sections in the empty ones."""
    if chosen is None:
        return None, dict(notes or {})
    from medmassage.record.notetemplates import fill_notes

    filled = fill_notes(notes, chosen)
    return filled, filled.notes


def _say_template(name: str, filled, in_editor: bool = False) -> None:
    """What a template gave the note: the sections it filled, and those it left as written."""
    from medmassage.record.sessions import NOTE_HEADINGS

    def words(keys: list[str]) -> str:
        return ", ".join(NOTE_HEADINGS[k].lower() for k in keys)

    shown = name.strip().lower()
    if in_editor:
        say(f"Template {shown} was the starting text in the editor")
        return
    text = f"Template {shown}: " + (f"filled {words(filled.filled)}" if filled.filled else "")
    if filled.kept:
        text += ("; " if filled.filled else "") + f"kept what was written in {words(filled.kept)}"
    if not filled.filled and not filled.kept:
        text += "nothing to fill"
    say(text)


def _say_phrases(used: tuple[str, ...], unknown: tuple[str, ...]) -> None:
    """The receipt of phrase shortcuts: the ones expanded, and `;name`s left as typed."""
    if used:
        say("Phrases expanded: " + ", ".join(f";{n}" for n in used))
    if unknown:
        names = ", ".join(f";{n}" for n in unknown)
        many = len(unknown) > 1
        warn(
            f"{names} {'are' if many else 'is'} not {'known phrases' if many else 'a known phrase'}"
            ": left as typed (see: medmassage phrase list; add one with medmassage phrase add)"
        )


@app.command("edit")
@guard
def edit_(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="Session id (a draft).")],
    pre: Annotated[str | None, typer.Option(metavar="0-10", help="Pain before.")] = None,
    post: Annotated[str | None, typer.Option(metavar="0-10", help="Pain after.")] = None,
    technique: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME=MIN", help="Techniques (all of them: replaces the list)."),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(metavar="REGION", help="Regions (all of them: replaces the list)."),
    ] = None,
    case: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Move the draft to another case of the client."),
    ] = None,
    date: DateOpt = None,
    minutes: MinutesOpt = None,
    subjective: Annotated[str | None, _note("subjective ('' clears it)")] = None,
    objective: Annotated[str | None, _note("objective")] = None,
    assessment: Annotated[str | None, _note("assessment")] = None,
    plan: Annotated[str | None, _note("plan")] = None,
    homecare: Annotated[str | None, _note("home care")] = None,
    feedback: Annotated[str | None, _note("client feedback")] = None,
    notes_file: Annotated[
        str | None,
        typer.Option(
            metavar="FILE", help="Replace the note with FILE's (- for stdin; at most 1 MB)."
        ),
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Open the note as it is now in $EDITOR (at most 1 MB).")
    ] = False,
    template: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Fill the draft's empty sections from this template (see: template list); "
            "what the draft holds and the options given are kept.",
        ),
    ] = None,
    sign: Annotated[bool, typer.Option("--sign", help="Sign (lock) it once changed.")] = False,
    allow_expired: AllowExpiredOpt = None,
    fmt: TextFormatOpt = None,
) -> None:
    """Correct a draft before signing: any option of session log. Units, the prescription
    check and the warnings are worked out again; a signed note takes an addendum instead."""
    from medmassage.errors import InputError
    from medmassage.record.cases import parse_case_id
    from medmassage.record.sessions import (
        SessionEdit,
        draft_notes,
        edit_session,
        editable_draft,
        parse_session_id,
        parse_soap_text,
        soap_template,
    )
    from medmassage.rules.dates import parse_date_time

    _check_text_format(fmt)
    _one_notes_source(notes_file, edit)
    session_id = parse_session_id(session)
    day, start = parse_date_time("date", date, allow_future=False) if date else (None, None)
    options = {
        "subjective": subjective,
        "objective": objective,
        "assessment": assessment,
        "plan": plan,
        "homecare": homecare,
        "feedback": feedback,
    }
    given = {k: v for k, v in options.items() if v is not None}
    change = SessionEdit(
        pre=pre,
        post=post,
        techniques=technique,
        regions=region,
        day=day,
        start_time=start,
        minutes=minutes,
        notes=given,
        allow_expired=allow_expired,
        case_id=parse_case_id(case) if case is not None else None,
        sign=sign,
    )
    with database(ctx) as conn:
        chosen = _template(conn, template)  # an unknown name: refused before anything
        row = editable_draft(conn, session_id)
        written = None
        filled = None
        if notes_file:
            from_file = parse_soap_text(_read_notes_file(notes_file))
            change = change._replace(notes=_merge_notes(given, from_file))
        typed_notes = change.notes
        if chosen is not None:  # below the draft's text and what was given here
            filled, _ = _fill({**draft_notes(row), **(change.notes or {})}, chosen)
            if filled.filled:
                change = change._replace(
                    notes={**(change.notes or {}), **{k: filled.notes[k] for k in filled.filled}}
                )
        if edit and not notes_file:
            start = soap_template({**draft_notes(row), **(change.notes or {})})
            written = _write_in_editor(ctx, start)
            if written is not None:
                change = change._replace(notes=written.notes)
            else:  # saved unchanged: the note stays as it was (the template's text too)
                change, filled = change._replace(notes=typed_notes), None
            if written is None and change.empty:
                say(f"The note was saved unchanged or empty: session {session_id} not changed.")
                return
        if change.empty and filled is not None:
            _say_template(template or "", filled)
            say(f"Session {session_id} not changed.")
            return
        if change.empty:
            raise InputError(
                "session",
                session_id,
                "nothing to change: give what to correct (any option of session log, "
                "e.g. --pre 4 or --edit)",
            )
        with _keeping(ctx, written):
            logged = edit_session(conn, session_id, change)
        client = conn.execute(
            "SELECT c.id, c.name FROM client c JOIN care_case k ON k.client_id = c.id "
            "WHERE k.id = ?",
            (logged.case_id,),
        ).fetchone()
    if filled is not None:
        _say_template(template or "", filled, in_editor=written is not None)
    _report(client, logged, fmt, "updated")


def _check_text_format(fmt: str | None) -> None:
    from medmassage.errors import InputError

    if fmt not in (None, "text", "json"):
        raise InputError("format", fmt, "text or json")


def _one_notes_source(notes_file: str | None, edit: bool) -> None:
    from medmassage.errors import InputError

    if notes_file and edit:
        raise InputError("notes-file", notes_file, "use either --notes-file or --edit, not both")


def _report(client, logged, fmt: str | None, done: str) -> None:
    """What session log and session edit print: the receipt (or JSON), then warnings."""
    if fmt == "json":
        from medmassage.cli.render import json_text, on_screen

        authorization = logged.authorization
        print(
            on_screen(
                json_text(
                    {
                        "session_id": logged.session_id,
                        "client_id": client["id"],
                        "case_id": logged.case_id,
                        "visit": logged.visit,
                        "visits_authorized": logged.visits_authorized,
                        "authorization_id": authorization.id if authorization else None,
                        "authorization_visit": logged.place,
                        "rx_flag": logged.rx_flag,
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
                        "phrases": list(logged.phrases),
                        "unknown_phrases": list(logged.unknown_phrases),
                    }
                ),
                None,
                as_json=True,
            )
        )
    else:
        state = "signed" if logged.signed else "draft — sign with: medmassage session sign "
        state += "" if logged.signed else str(logged.session_id)
        from medmassage.rules.textsafety import visible

        print(
            visible(
                f"Session {logged.session_id} {done}: {client['name']}, case {logged.case_id}, "
                f"{logged.standing} on {logged.day.isoformat()} ({state})"
            )
        )
        print("\n".join(billing_lines(logged.billing)))
    _say_phrases(logged.phrases, logged.unknown_phrases)
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
    drafts: Annotated[
        bool, typer.Option("--drafts", help="Only unsigned drafts (to sign or correct).")
    ] = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """List sessions, oldest first, with visit numbers and flags as they stand now."""
    from medmassage.cli.progress_view import SESSION_COLUMNS, SESSION_KEYS
    from medmassage.cli.render import print_rows, resolve_format
    from medmassage.documents.progress_report import visit_flag_words
    from medmassage.record.cases import find_case
    from medmassage.record.clients import find_client
    from medmassage.record.sessions import list_sessions
    from medmassage.rules.dates import parse_span

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    start, end = parse_span(from_, to)
    with database(ctx) as conn:
        client_id = find_client(conn, client)["id"] if client else None
        case_id = find_case(conn, case)["id"] if case else None
        rows = list_sessions(conn, client_id, case_id, start, end, drafts=drafts)
    for r in rows:
        r["pain"] = f"{r['pain_pre']} → {r['pain_post']}"
        r["flags"] = " · ".join(visit_flag_words(r["rx_flag"], r["over_authorized"]))
    print_rows(
        SESSION_COLUMNS,
        rows,
        chosen,
        output,
        title=f"{len(rows)} session(s)",
        keys=SESSION_KEYS,
        empty="No drafts: every note is signed." if drafts else "No sessions match.",
    )


def _show_chart_note(ctx, session_id: int, fmt: str, output, verify: bool) -> None:
    """`session show ID -o visit.pdf`: one visit's chart note (chart_notes.visit_notes), written
    as `notes` writes a period's; --verify's answer goes to stderr."""
    from medmassage.documents import render
    from medmassage.documents.chart_notes import visit_notes
    from medmassage.errors import InputError
    from medmassage.rules.dates import today
    from medmassage.store.files import write_file

    if fmt == "table":
        fmt = "md"  # a chart note is a document: Markdown on the screen
    if fmt == "pdf" and output is None:
        raise InputError("output", None, "a PDF needs -o FILE (e.g. -o visit.pdf)")
    verified = None
    with database(ctx) as conn:
        note = visit_notes(conn, session_id, today())
        if verify:
            from medmassage.store.checkup import verify_record
            from medmassage.store.db import read_snapshot

            with read_snapshot(conn):
                verified = verify_record(conn, "session", session_id)
    data = render("notes", note.to_dict(), fmt)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_file(output, data)
        say(f"Wrote {output}: chart note of session {session_id}")
    if verified is not None:
        if not verified[0]:
            raise fail(f"session {session_id} does not verify: {verified[1]}", 1)
        say(f"Verified: {verified[1]}")


@app.command("show")
@guard
def show(
    ctx: typer.Context,
    session: SessionArg,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check the note against its audit log: its content digest equals the one "
            "chained when it was last changed (signed, amended), and the log verifies under "
            "the key on this computer. Exit 1 if not.",
        ),
    ] = False,
    chart_note: Annotated[
        bool,
        typer.Option(
            "--chart-note",
            help="The visit as a chart note, in the layout of `medmassage notes` (therapist, "
            "signature, page numbers), as md or json. Implied by pdf and html.",
        ),
    ] = False,
):
    """Show a session: SOAP note, techniques, CPT lines, addenda, status.

    -o visit.pdf (or .html, or -f pdf|html, or --chart-note) gives the visit's chart note in
    the layout of `medmassage notes`: the note, CPT lines, addenda and signature, for an
    adjuster.
    """
    from medmassage.cli.render import print_record, resolve_format
    from medmassage.documents.progress_report import visit_flag_words
    from medmassage.record.sessions import NOTE_HEADINGS, parse_session_id, session_detail

    chosen = resolve_format(fmt, output, ("table", "json", "md", "pdf", "html"))
    if chart_note or chosen in ("pdf", "html"):
        _show_chart_note(ctx, parse_session_id(session), chosen, output, verify)
        return
    verified = None
    with database(ctx) as conn:
        data = session_detail(conn, parse_session_id(session))
        if verify:
            from medmassage.store.checkup import verify_record
            from medmassage.store.db import read_snapshot

            with read_snapshot(conn):
                verified = verify_record(conn, "session", data["id"])
            data["verification"] = {"ok": verified[0], "detail": verified[1]}
    status = data["status"]
    if status == "signed":
        status += f" {data['signed_at']} (locked)"
    if status == "void":
        status += f" — {data['void_reason']}"
    flags = visit_flag_words(data["rx_flag"], data["over_authorized"])
    if data["override_reason"]:
        flags.append(f"override: {data['override_reason']}")
    logged = visit_flag_words(data["logged_rx_flag"], bool(data["logged_over_authorized"]))
    if data["visit"] is None:
        visit = "void"
    elif data["authorization"] is None:
        visit = f"{data['visit']} (outside the prescription)"
    elif data["authorizations"] == 1:
        visit = f"{data['visit']} of {data['visits_authorized']}"
    else:
        a = data["authorization"]
        label = "the prescription" if a["number"] == 1 else f"renewal {a['number']}"
        visit = (
            f"{data['visit']} on the claim; {data['authorization_visit']} of "
            f"{data['visits_authorized']} under {label} of {a['written']}"
        )
    pairs = [
        ("Session", f"{data['id']} — {status}"),
        (
            "Client",
            f"{data['client_id']} {data['client']}, case {data['case_id']} ({data['payer_type']})",
        ),
        ("Visit", visit),
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
        ("Warned when logged", "; ".join(logged)),
        *[(NOTE_HEADINGS[k], data[k]) for k in NOTE_HEADINGS],
    ]
    for a in data["addenda"]:
        pairs.append((f"Addendum {a['id']}", f"{a['created']} by {a['author']}:\n{a['text']}"))
    if verified is not None:
        pairs.append(("Verified", ("yes: " if verified[0] else "NO: ") + verified[1]))
    print_record(pairs, data, chosen, output)
    if verified is not None and not verified[0]:
        raise fail(f"session {data['id']} does not verify: {verified[1]}", 1)


@app.command("sign")
@guard
def sign(
    ctx: typer.Context,
    sessions: Annotated[list[str], typer.Argument(metavar="ID...", help="Session ids (drafts).")],
) -> None:
    """Sign session notes (one or several); they are locked from then on (corrections are
    addenda). All or none: one that is signed or void already signs none."""
    from medmassage.record.sessions import parse_session_id, sign_sessions

    ids = [parse_session_id(s) for s in sessions]
    with database(ctx) as conn:
        sign_sessions(conn, ids)
    shown = ", ".join(map(str, dict.fromkeys(ids)))
    say(f"Session{'s' if len(set(ids)) > 1 else ''} {shown} signed and locked")


@app.command("amend")
@guard
def amend(
    ctx: typer.Context,
    session: SessionArg,
    text: Annotated[
        str, typer.Option(metavar="TEXT", help="The addendum text (the original stays as it was).")
    ],
) -> None:
    """Add a dated addendum to a session (signed notes are corrected this way). Phrase
    shortcuts (`;tol`) expand as in a note."""
    from medmassage.record.sessions import amend_session, parse_session_id

    session_id = parse_session_id(session)
    with database(ctx) as conn:
        amended = amend_session(conn, session_id, text)
    say(f"Addendum {amended.addendum_id} added to session {session_id}")
    _say_phrases(amended.phrases, amended.unknown_phrases)


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
    from medmassage.record.sessions import parse_session_id, void_session

    session_id = parse_session_id(session)
    with database(ctx) as conn:
        void_session(conn, session_id, reason)
        from medmassage.claims.store import open_claims_billing

        billed = open_claims_billing(conn, session_id)
    say(f"Session {session_id} voided")
    for claim_id, status in billed:  # a void visit must not stay billed
        if status == "draft":
            warn(
                f"session {session_id} is on draft claim {claim_id}, which can no longer be "
                f"sent: void it (medmassage claim void {claim_id} --reason …) and make it again"
            )
        else:
            warn(
                f"session {session_id} is on submitted claim {claim_id}: send the payer a "
                f"corrected claim without it (medmassage claim create CLIENT --replaces "
                f"{claim_id} --original-ref REF)"
            )


# `session search` lives in a module of its own and registers on this group.
from medmassage.cli import session_search  # noqa: E402, F401
