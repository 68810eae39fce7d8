"""`medmassage intake` and `medmassage measure add`: the assessment and outcome measures."""

from typing import Annotated

import typer

from medmassage.cli.common import (
    CaseOpt,
    ClientArg,
    DefaultGroup,
    database,
    guard,
    is_interactive,
    say,
    warn,
)


class IntakeGroup(DefaultGroup):
    """`intake CLIENT …` records an intake (the `record` subcommand); `intake edit CASE …`
    corrects one."""

    default = "record"

    def format_usage(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, "CLIENT [OPTIONS] | edit CASE [OPTIONS]")


intake_app = typer.Typer(cls=IntakeGroup, no_args_is_help=True)
measure_app = typer.Typer(no_args_is_help=True)

# Outcome measures: taken at intake (baseline) and by `measure add` (re-assessments).
NdiOpt = Annotated[
    str | None, typer.Option(metavar="0-100", help="Neck Disability Index, 0–100 %.")
]
OdiOpt = Annotated[
    str | None, typer.Option(metavar="0-100", help="Oswestry Disability Index, 0–100 %.")
]
PsfsOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="ACTIVITY=N", help='PSFS "ACTIVITY=0-10". Repeatable.'),
]


def _ask_missing(given) -> None:
    """Rich prompts for the required answers not given on the command line."""
    from rich.prompt import Prompt

    from medmassage.errors import InputError
    from medmassage.rules.validate import parse_pain, parse_regions, required_text

    while not (given.complaint or "").strip():
        answer = Prompt.ask("Chief complaint (in the client's words)")
        try:
            given.complaint = required_text("complaint", answer, max_len=2000)
        except InputError as e:
            say(f"  {e}")
    while given.pain is None:
        answer = Prompt.ask("Pain today, 0–10")
        try:
            given.pain = str(parse_pain("pain", answer))
        except InputError as e:
            say(f"  {e}")
    while not given.regions:
        answer = Prompt.ask("Pain regions (comma-separated, e.g. neck, shoulder-left)")
        try:
            given.regions = parse_regions([answer])
        except InputError as e:
            say(f"  {e}")


@intake_app.command("record")
@guard
def intake(
    ctx: typer.Context,
    client: ClientArg,
    case: CaseOpt = None,
    complaint: Annotated[str | None, typer.Option(metavar="TEXT", help="Chief complaint.")] = None,
    pain: Annotated[
        str | None, typer.Option(metavar="0-10", help="Pain today, 0–10 (the NPRS baseline).")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(metavar="REGION", help="Pain region. Repeatable.")
    ] = None,
    date: Annotated[
        str | None, typer.Option(metavar="DATE", help="Intake date (default today).")
    ] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME", help="Condition from the catalog. Repeatable."),
    ] = None,
    onset: Annotated[str | None, typer.Option(metavar="DATE", help="Onset date.")] = None,
    mechanism: Annotated[
        str | None, typer.Option(metavar="TEXT", help="e.g. rear-end motor vehicle accident.")
    ] = None,
    aggravating: Annotated[
        str | None, typer.Option(metavar="TEXT", help="What makes it worse.")
    ] = None,
    relieving: Annotated[str | None, typer.Option(metavar="TEXT", help="What eases it.")] = None,
    limitation: Annotated[
        list[str] | None, typer.Option(metavar="TEXT", help="Functional limitation. Repeatable.")
    ] = None,
    history: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Relevant medical history.")
    ] = None,
    medications: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Current medications.")
    ] = None,
    contraindications: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Contraindications / red flags.")
    ] = None,
    consent_date: Annotated[
        str | None, typer.Option(metavar="DATE", help="Written consent date.")
    ] = None,
    goal: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TEXT|TARGET|DATE",
            help='Functional goal: "TEXT | TARGET | BY DATE". Repeatable.',
        ),
    ] = None,
    ndi: NdiOpt = None,
    odi: OdiOpt = None,
    psfs: PsfsOpt = None,
) -> None:
    """Record the intake assessment of a client's case: complaint, pain, regions, history, goals (`intake CLIENT …` for short).

    On a terminal, missing required answers (complaint, pain, regions) are asked for; in a script they are an error.
    """  # noqa: E501 (one paragraph: Typer's help keeps docstring line breaks)
    from medmassage.record.cases import case_for_client
    from medmassage.record.clients import find_client
    from medmassage.record.intake import IntakeInput, missing_answers, record_intake
    from medmassage.rules.dates import parse_date

    given = IntakeInput(
        complaint=complaint,
        pain=pain,
        regions=region or [],
        day=parse_date("date", date, allow_future=False) if date else None,
        conditions=condition or [],
        onset=onset,
        mechanism=mechanism,
        aggravating=aggravating,
        relieving=relieving,
        limitations=limitation or [],
        history=history,
        medications=medications,
        contraindications=contraindications,
        consent_date=consent_date,
        goals=goal or [],
        ndi=ndi,
        odi=odi,
        psfs=psfs or [],
    )
    with database(ctx) as conn:
        row = find_client(conn, client)
        case_row = case_for_client(conn, row, case)
        if missing_answers(given) and is_interactive():
            _ask_missing(given)
        intake_id, warnings = record_intake(conn, case_row, given)
    print(intake_id)
    say(f"Intake recorded for {row['name']}, case {case_row['id']}")
    for w in warnings:
        warn(w)


@intake_app.command("edit")
@guard
def intake_edit(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(metavar="CASE", help="Case id.")],
    complaint: Annotated[str | None, typer.Option(metavar="TEXT", help="Chief complaint.")] = None,
    pain: Annotated[
        str | None, typer.Option(metavar="0-10", help="Intake pain (the NPRS baseline).")
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(metavar="REGION", help="Pain regions (all of them: replaces the list)."),
    ] = None,
    date: Annotated[str | None, typer.Option(metavar="DATE", help="Intake date.")] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME", help="Conditions (all of them: replaces the list)."),
    ] = None,
    onset: Annotated[str | None, typer.Option(metavar="DATE", help="Onset date.")] = None,
    mechanism: Annotated[str | None, typer.Option(metavar="TEXT", help="Mechanism.")] = None,
    aggravating: Annotated[
        str | None, typer.Option(metavar="TEXT", help="What makes it worse.")
    ] = None,
    relieving: Annotated[str | None, typer.Option(metavar="TEXT", help="What eases it.")] = None,
    limitation: Annotated[
        list[str] | None,
        typer.Option(metavar="TEXT", help="Limitations (all of them: replaces the list)."),
    ] = None,
    history: Annotated[str | None, typer.Option(metavar="TEXT", help="Medical history.")] = None,
    medications: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Current medications.")
    ] = None,
    contraindications: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Contraindications / red flags.")
    ] = None,
    consent_date: Annotated[
        str | None, typer.Option(metavar="DATE", help="Written consent date.")
    ] = None,
    goal: Annotated[
        list[str] | None,
        typer.Option(metavar="TEXT|TARGET|DATE", help="Another functional goal. Repeatable."),
    ] = None,
    ndi: NdiOpt = None,
    odi: OdiOpt = None,
    psfs: PsfsOpt = None,
) -> None:
    """Complete or correct a case's intake: the options given replace what is recorded ("" clears an optional field; a list given replaces the list; goals are added; NDI/ODI/PSFS replace the intake day's scores). Audited."""  # noqa: E501
    from medmassage.errors import InputError
    from medmassage.record.cases import find_case
    from medmassage.record.intake import IntakeInput, edit_intake
    from medmassage.rules.dates import parse_date

    given = IntakeInput(
        complaint=complaint,
        pain=pain,
        regions=region or [],
        day=parse_date("date", date, allow_future=False) if date else None,
        conditions=condition or [],
        onset=onset,
        mechanism=mechanism,
        aggravating=aggravating,
        relieving=relieving,
        limitations=limitation or [],
        history=history,
        medications=medications,
        contraindications=contraindications,
        consent_date=consent_date,
        goals=goal or [],
        ndi=ndi,
        odi=odi,
        psfs=psfs or [],
    )
    if given == IntakeInput(complaint=None, pain=None, regions=[]):
        raise InputError("intake", case, "nothing to change: give any option of intake")
    with database(ctx) as conn:
        row = find_case(conn, case)
        changed = edit_intake(conn, row, given)
    if changed:
        say(f"Intake of case {row['id']} updated: {', '.join(dict.fromkeys(changed))}")
    else:
        say(f"Intake of case {row['id']}: nothing changed (the values given are on record)")


@measure_app.command("add")
@guard
def measure_add(
    ctx: typer.Context,
    client: ClientArg,
    case: CaseOpt = None,
    date: Annotated[
        str | None, typer.Option(metavar="DATE", help="Date measured (default today).")
    ] = None,
    nprs: Annotated[str | None, typer.Option(metavar="0-10", help="Pain, 0–10.")] = None,
    ndi: NdiOpt = None,
    odi: OdiOpt = None,
    psfs: PsfsOpt = None,
) -> None:
    """Record outcome measures for a re-assessment."""
    from medmassage.record.cases import case_for_client
    from medmassage.record.clients import find_client
    from medmassage.record.intake import MeasureInput, add_measures
    from medmassage.rules.dates import parse_date, today

    day = parse_date("date", date, allow_future=False) if date else today()
    given = MeasureInput(nprs=nprs, ndi=ndi, odi=odi, psfs=psfs or [])
    with database(ctx) as conn:
        row = find_client(conn, client)
        case_row = case_for_client(conn, row, case)
        count = add_measures(conn, case_row, given, day)
    say(
        f"Recorded {count} measure(s) for {row['name']}, case {case_row['id']} on {day.isoformat()}"
    )
