"""`medmassage db check`: is the practice file whole, protected and untampered?

One line per check on stdout ("ok", a warning, or the problem); exit 0 when every check passes,
1 naming the first problem. The checks themselves are in medmassage/store/audit.py.
"""

from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import database, db_path, fail, guard, say, warn
from medmassage.cli.dbcmd import app

CHECK_FORMATS = ("text", "json")


@app.command("check")
@guard
def check(
    ctx: typer.Context,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (default) or json: {ok, checks: [{name, ok, detail, warning}]}.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Fail when part of the audit log cannot be verified (its key is not on this "
            "computer), instead of warning.",
        ),
    ] = False,
    accept_new_key: Annotated[
        bool,
        typer.Option(
            "--accept-new-key",
            help="This database replaced another practice's at this path on purpose: accept "
            "its practice id and anchor it here (otherwise a changed practice id fails).",
        ),
    ] = False,
) -> None:
    """Check the database: integrity, foreign keys, schema version, protective triggers (by
    their SQL), file modes, the audit log's hash chain (against its key outside the database),
    every record's content against the digest its audit log chained, the chain's head
    against the anchor kept beside the key, and the notes' search index against the notes."""
    from medmassage.cli.render import json_text, resolve_format
    from medmassage.errors import RuntimeProblem
    from medmassage.store.checkup import check_database, file_modes
    from medmassage.store.migrations import LATEST_VERSION

    shape = resolve_format(fmt, None, CHECK_FORMATS, default="text")
    path = db_path(ctx)
    if not path.is_file():
        raise RuntimeProblem(f"no database at {path} (see: medmassage db path)")
    # As found: opening the database tightens loose modes (with a warning), which must not
    # hide that they were loose.
    modes = file_modes([path, Path(f"{path}-wal"), Path(f"{path}-shm")])
    with database(ctx) as conn:
        checks = check_database(conn, modes, LATEST_VERSION, accept_new_key)
        checks.append(_search_index(conn))
    # Once the file is known to be ours: copies of the records a killed backup or restore left.
    from medmassage.store.backup import remove_stale_temps, stale_temps_note

    for note in stale_temps_note(remove_stale_temps({path.parent, path.parent / "backups"})):
        warn(note)
    if strict:
        checks = [c._replace(ok=False) if c.warning else c for c in checks]
    ok = all(c.ok for c in checks)
    if shape == "json":
        print(json_text({"ok": ok, "checks": [c._asdict() for c in checks]}))
    else:
        for c in checks:
            print(f"{c.name}: {c.detail}")
    if not ok:
        first = next(c for c in checks if not c.ok)
        raise fail(f"{first.name}: {first.detail}", 1)


def _search_index(conn):
    """The notes' search index (session search): its triggers by their SQL, its words against
    the notes. Derived data: a problem here changes no record, and `db reindex` fixes it."""
    from medmassage.record.search import REINDEX, index_problems
    from medmassage.store.checkup import Check

    name = "search index"
    try:
        problems, indexed = index_problems(conn)
    except Exception as e:  # sqlite3's or sqlcipher3's errors (a database busy, say)
        return Check(name, False, f"could not run: {e}")
    if not problems:
        return Check(name, True, f"ok ({indexed} sessions indexed, in step with the notes)")
    return Check(
        name,
        False,
        f"{'; '.join(problems)} — search may miss or misplace notes; no record is affected. "
        f"Rebuild it from the notes: {REINDEX}",
    )


@app.command("reindex")
@guard
def reindex(ctx: typer.Context) -> None:
    """Rebuild the notes' search index (session search) from the notes, with its triggers.

    The index is derived from the notes and changes no record: rebuilding it is always safe. Run
    it when `db check` says the search index is not in step with the notes."""
    from medmassage.record.search import rebuild_index

    with database(ctx) as conn:
        indexed = rebuild_index(conn)
    say(f"Search index rebuilt from the notes: {indexed} sessions indexed.")
