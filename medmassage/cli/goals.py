"""`medmassage goal …`: functional goals and their status (shown on progress summaries)."""

from typing import Annotated

import typer

from medmassage.cli.common import CaseOpt, ClientArg, FormatOpt, OutputOpt, database, guard, say

app = typer.Typer(no_args_is_help=True)


@app.command("add")
@guard
def add(
    ctx: typer.Context,
    client: ClientArg,
    goal: Annotated[
        str, typer.Argument(metavar='"TEXT | TARGET | DATE"', help="The goal, its target and date.")
    ],
    case: CaseOpt = None,
) -> None:
    """Add a functional goal to a client's case; prints its id."""
    from medmassage.record.cases import case_for_client
    from medmassage.record.clients import find_client
    from medmassage.record.goals import add_goal

    with database(ctx) as conn:
        case_row = case_for_client(conn, find_client(conn, client), case)
        goal_id = add_goal(conn, case_row["id"], goal)
    print(goal_id)
    say(f"Goal {goal_id} added to case {case_row['id']}")


@app.command("list")
@guard
def list_(
    ctx: typer.Context,
    client: ClientArg,
    case: CaseOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """A case's goals with their status."""
    from medmassage.cli.render import Col, print_rows, resolve_format
    from medmassage.record.cases import case_with_history
    from medmassage.record.clients import find_client
    from medmassage.record.intake import goals

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        case_row = case_with_history(conn, find_client(conn, client), case)
        rows = goals(conn, case_row["id"])
    columns = [
        Col("id", "ID", right=True),
        Col("text", "Goal"),
        Col("target", "Target"),
        Col("target_date", "By"),
        Col("status", "Status"),
    ]
    print_rows(
        columns, rows, chosen, output, title=f"Goals of case {case_row['id']}", empty="No goals."
    )


@app.command("set")
@guard
def set_(
    ctx: typer.Context,
    goal: Annotated[str, typer.Argument(metavar="ID", help="Goal id (see: goal list CLIENT).")],
    status: Annotated[
        str, typer.Option(metavar="STATUS", help="progressing, met or not-met.", show_default=False)
    ],
) -> None:
    """Set a goal's status: progressing, met or not-met."""
    from medmassage.record.goals import set_goal_status

    with database(ctx) as conn:
        row = set_goal_status(conn, goal, status)
    say(
        f"Goal {row['id']} ({row['client']}, case {row['case_id']}): {row['was']} → {row['status']}"
    )
