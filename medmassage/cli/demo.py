"""Fill a throwaway database with a small realistic practice and show a progress table."""

from typing import Annotated

import typer

from medmassage.cli.common import guard, say


@guard
def demo(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Where to build the demo (must be new or empty). Default: a temp folder.",
        ),
    ] = None,
) -> None:
    """Build a demo practice (never in your real database unless you name it) and show progress."""
    import tempfile
    from pathlib import Path

    from medmassage.cli.progress_view import render_progress
    from medmassage.cli.render import resolve_format
    from medmassage.documents.progress_report import build_progress
    from medmassage.record.demo import build_demo
    from medmassage.rules.dates import today
    from medmassage.store.db import connect

    root = ctx.find_root().obj
    chosen = db or (root.db_option if root else None)  # MEDMASSAGE_DB is never used here
    path = (
        Path(chosen)
        if chosen
        else Path(tempfile.mkdtemp(prefix="medmassage-demo-")) / "practice.db"
    )
    conn, _ = connect(path, may_start=True)  # new or empty, as the help says
    try:
        case_id = build_demo(conn, today())
        report = build_progress(conn, case_id, today())
    finally:
        conn.close()
    render_progress(report, resolve_format(None, None, ("table",)), None, last=None)
    say("")
    say(f"Demo practice written to {path}")
    say("Explore it:")
    first = report.client["name"].split()[0]
    for example in (
        "client list",
        f"progress {first}",
        "case list",
        "session list --from last month",
        f"summary {first} -o {first.lower()}-progress.pdf",
        f"superbill {first} --from 'last month' -o {first.lower()}-superbill.pdf",
        "claim create James",
        "claim print 1 --proof -o claim-proof.pdf",
    ):
        say(f"  medmassage --db {path} {example}")
