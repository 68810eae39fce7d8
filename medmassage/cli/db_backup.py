"""`medmassage db backup` and `medmassage db restore`: verified copies of the practice database.

Thin: medmassage.store.backup does the work (online backup API, checks, locks); this module parses
the options, asks before a restore, and reports on stderr.
"""

from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import db_path, fail, guard, is_interactive, say, warn
from medmassage.cli.dbcmd import app


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


@app.command("backup")
@guard
def backup(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="Where to write the copy. Default: backups/practice-DATE-TIME.db in the data "
            "folder (created owner-only).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Copy the database to FILE (owner-only) with SQLite's online backup API, and verify the
    copy (integrity check, row counts) before reporting success. Safe while other commands
    write. The copy is one standalone file; keep it off this computer too."""
    from medmassage.store.backup import backup as run_backup

    done = run_backup(db_path(ctx), file, force=force)
    for note in done.notes:
        warn(note)
    say(f"Backed up to {done.path} ({done.sessions} sessions, {_megabytes(done.size)}), verified")


@app.command("restore")
@guard
def restore(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A backup made by `medmassage db backup`."),
    ],
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (needed in scripts)."),
    ] = False,
) -> None:
    """Replace the database with a backup. FILE is checked first (integrity, a medmassage
    database, a schema this version knows); the current database is kept beside it as
    practice.db.before-restore-DATE-TIME. Refused while another program has the database
    open."""
    from medmassage.store.backup import Facts
    from medmassage.store.backup import restore as run_restore

    if not yes and not is_interactive():
        raise fail(
            "restore replaces the practice database: add --yes to confirm (there is no "
            "terminal to ask on); nothing was changed",
            2,
        )
    live = db_path(ctx)

    def confirm(incoming: Facts, current: Facts | str | None) -> bool:
        if yes:
            return True
        if current is None:
            now = f"there is no database at {live} yet"
        elif isinstance(current, Facts):
            now = f"the current one ({current.sessions} sessions) is kept beside it"
        else:
            now = "the current one cannot be read; it is kept beside it as it is"
        say(f"Restore {file} ({incoming.sessions} sessions) as the practice database: {now}.")
        return typer.confirm("Replace the practice database?", default=False, err=True)

    done = run_restore(live, file, confirm=confirm)
    for note in done.notes:
        warn(note)
    migrated = f", schema {done.version} migrated" if done.version < _latest() else ""
    say(f"Restored {done.source} into {done.database} ({done.sessions} sessions{migrated})")
    if done.aside is not None:
        if done.aside_sessions is None:
            say(f"The previous database (damaged or unreadable) is kept as it was: {done.aside}")
        else:
            say(f"The previous database ({done.aside_sessions} sessions) is kept as {done.aside}")


def _latest() -> int:
    from medmassage.store.migrations import LATEST_VERSION

    return LATEST_VERSION
