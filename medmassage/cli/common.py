"""What every command shares: the database handle, shared options, messages, error handling.

Errors are turned into one line on stderr at this edge: bad input exits 2, runtime trouble
exits 1, and no traceback (with its local variables: client data) ever reaches the user.
"""

import functools
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from medmassage.errors import MedmassageError
from medmassage.rules.textsafety import visible

# --- shared options (one bundle for every command that prints data) ---------------------------

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="table (default), json, csv or md. Inferred from the -o file's extension.",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write to this file (created owner-only) instead of stdout.",
    ),
]
CaseOpt = Annotated[
    str | None,
    typer.Option(
        "--case",
        metavar="ID",
        help="Case id; default: the client's only open case.",
        show_default=False,
    ),
]
ClientArg = Annotated[
    str, typer.Argument(metavar="CLIENT", help="Client id or an unambiguous part of the name.")
]


class Group(TyperGroup):
    """Help lists each command with the whole first sentence of its help, wrapped (Click would
    cut it at the width of the window and add "...")."""

    def format_commands(self, ctx: typer.Context, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class DefaultGroup(Group):
    """A group whose words, when they do not start with one of its subcommands, go to its
    `default` subcommand: `intake CLIENT …` is `intake record CLIENT …`, beside `intake edit`."""

    default = ""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        help_words = set(ctx.help_option_names)
        if args and args[0] not in self.commands and args[0] not in help_words:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


class State:
    """What the root callback parsed, kept on the Typer context for every command."""

    def __init__(self, db_option: str | None = None) -> None:
        self.db_option = db_option


# --- messages on stderr -----------------------------------------------------------------------


def _colour(text: str, code: str) -> str:
    if os.environ.get("NO_COLOR") or not _stderr_is_terminal():
        return text
    return f"\033[{code}m{text}\033[0m"


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# Every message goes through visible(): it may quote a name stored by another tool, or a value
# Click echoes as typed, and a bidi override or an escape sequence must not reach the terminal.


def say(message: str) -> None:
    """A message for the person at the keyboard (stderr, so stdout stays data)."""
    print(visible(message), file=sys.stderr)


def warn(message: str) -> None:
    print(_colour("warning:", "33;1") + " " + visible(message), file=sys.stderr)


def fail(message: str, code: int) -> typer.Exit:
    print(_colour("error:", "31;1") + " " + visible(message), file=sys.stderr)
    return typer.Exit(code)


# --- errors at the edge -----------------------------------------------------------------------


def _database_errors(base: str = "Error") -> tuple[type[BaseException], ...]:
    """sqlite3's error class `base`, and sqlcipher3's when an encrypted database is open (its
    classes do not derive from sqlite3's). Never imports sqlcipher3."""
    cipher = sys.modules.get("sqlcipher3.dbapi2")
    found: tuple[type[BaseException], ...] = (getattr(sqlite3, base),)
    return (*found, getattr(cipher, base)) if cipher is not None else found


def _database_message(error: sqlite3.Error) -> tuple[str, int]:
    text = str(error)
    if isinstance(error, _database_errors("OperationalError")) and "locked" in text:
        return (
            "the database is busy: another medmassage command (or a backup) is writing; "
            "try again in a moment",
            1,
        )
    if (
        isinstance(error, _database_errors("IntegrityError"))
        or "locked" in text
        or "append-only" in text
    ):
        # CHECK/trigger messages name columns and rules, never values.
        return f"the database refused the change: {text}", 2
    if "session_fts" in text:  # the notes' search index (derived: rebuilt from the notes)
        return f"the notes' search index is damaged ({text}); rebuild it: medmassage db reindex", 1
    return f"database error: {text}", 1


@contextmanager
def guarded() -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except MedmassageError as e:
        raise fail(str(e), e.exit_code) from None
    except _database_errors() as e:  # evaluated when an exception arrives
        message, code = _database_message(e)
        raise fail(message, code) from None
    except KeyboardInterrupt:
        raise fail("interrupted; nothing more was saved", 130) from None
    except BrokenPipeError:
        # `medmassage … | head`: the reader left; not an error worth a message.
        sys.stderr.close()
        raise typer.Exit(0) from None
    except Exception as e:
        if os.environ.get("MEDMASSAGE_DEBUG"):
            raise
        raise fail(
            f"unexpected {type(e).__name__}; details are hidden to keep client data off the "
            "screen (MEDMASSAGE_DEBUG=1 shows them). Changes are saved only when a command "
            "reports success.",
            1,
        ) from None


def guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body under `guarded()`, keeping its signature for Typer."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with guarded():
            return func(*args, **kwargs)

    return wrapper  # functools.wraps sets __wrapped__: Typer reads the real signature


# --- the database -----------------------------------------------------------------------------


def db_path(ctx: typer.Context) -> Path:
    from medmassage.paths import resolve_db_path

    state = ctx.find_root().obj if ctx.find_root().obj else State()
    return resolve_db_path(state.db_option)[0]


@contextmanager
def database(ctx: typer.Context, *, start: bool = False) -> Iterator[sqlite3.Connection]:
    """The practice database, opened (and created, when there is no file) by db.connect.

    `start`: the command can begin a practice (profile set, client add…), so an existing empty
    file becomes a new database. Every other command needs records an empty file cannot hold:
    it refuses one in a line and leaves it as it was (as it does another program's database).
    """
    from medmassage.store.db import connect

    conn, notes = connect(db_path(ctx), may_start=start)
    for note in notes:
        warn(note)
    try:
        yield conn
    finally:
        conn.close()


def is_interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False
