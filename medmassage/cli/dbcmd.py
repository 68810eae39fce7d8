"""`medmassage db path`: where the data lives."""

import typer

from medmassage.cli.common import guard, say

app = typer.Typer(no_args_is_help=True)


@app.command("path")
@guard
def path(ctx: typer.Context) -> None:
    """Print the database file in use (and, on stderr, why that one)."""
    from medmassage.paths import resolve_db_path

    state = ctx.find_root().obj
    file, source = resolve_db_path(state.db_option if state else None)
    print(file)
    say(f"(from the {source}{'' if file.exists() else '; not created yet'})")


# The other `db` commands live in modules of their own and register on this group.
from medmassage.cli import db_backup, db_check, db_crypto  # noqa: E402, F401
