"""The medmassage command line: parse, call the domain, render. No SQL and no clinical rules here.

Read this file as the table of contents of the product; each sub-app lives in its own module.
"""

import copy
import importlib
import sys
from typing import Annotated

import typer

from medmassage import __version__
from medmassage.cli.common import Group, State

# The commands, in the order `--help` lists them: name → (module, attribute, one-line help).
# An attribute named `app` is a group of subcommands; anything else is a single command whose
# full help (`medmassage NAME --help`) is the function's docstring.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "profile": ("profile", "app", "The therapist's profile, fees and report rules."),
    "client": ("clients", "app", "Add, list, show, edit and discharge clients."),
    "case": ("cases", "app", "Cases (claims): payer, diagnoses, prescriptions and renewals."),
    "intake": (
        "intake",
        "intake_app",
        "Record a case's intake (complaint, pain, history, goals), or correct it.",
    ),
    "measure": ("intake", "measure_app", "Outcome measures: NPRS, NDI, ODI, PSFS."),
    "goal": ("goals", "app", "Functional goals and their status."),
    "session": ("sessions", "app", "Log, correct, list, show, sign, amend and void sessions."),
    "template": ("templates", "template_app", "Note templates that fill a session's note."),
    "phrase": ("templates", "phrase_app", "Phrase shortcuts (;tol) that expand in note text."),
    "progress": (
        "progress",
        "progress",
        "Progress table: pain pre→post, MCID, reports due.",
    ),
    "summary": ("documents", "summary", "Insurer progress summary: PDF, HTML, Markdown or JSON."),
    "superbill": ("documents", "superbill", "Superbill for FSA/HSA or self-pay reimbursement."),
    "notes": ("documents", "notes", "Chart notes of a period, signed, for an adjuster."),
    "claim": ("claims", "app", "CMS-1500 claims and 837P files from signed visits."),
    "report": ("reports", "app", "Monthly, period and due reports (JSON/CSV for scripts)."),
    "export": ("exporting", "app", "Export everything (JSON/CSV), or a client as a FHIR bundle."),
    "import": ("importing", "app", "Import sessions from another system (CSV)."),
    "catalog": ("catalog", "app", "Techniques (CPT), regions and conditions."),
    "db": ("dbcmd", "app", "Where the database is; check, back up, restore, encrypt it."),
    "demo": ("demo", "demo", "Build a demo practice (a temp folder unless --db) and show it."),
    "completion": (
        "completion",
        "completion",
        "Print the shell completion script (bash, zsh, fish).",
    ),
}


def _version(value: bool) -> None:
    if value:
        print(f"medmassage {__version__}")
        raise typer.Exit()


def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Database file. Default: $MEDMASSAGE_DB, else practice.db in the user data "
            "folder (see: medmassage db path).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
    pinned_today: Annotated[
        str | None,
        typer.Option(
            "--today",
            metavar="DATE",
            hidden=True,  # for reproducible reports and tests; same as MEDMASSAGE_TODAY
            help="Act as if today were DATE (ISO).",
        ),
    ] = None,
) -> None:
    if pinned_today is not None:
        import os
        from datetime import date

        from medmassage.cli.common import fail

        try:
            date.fromisoformat(pinned_today)
        except ValueError:
            raise fail(f"today: {pinned_today!r} — an ISO date like 2026-11-27", 2) from None
        os.environ["MEDMASSAGE_TODAY"] = pinned_today
    ctx.obj = State(db_option=db)


class _Root(Group):
    """Lists the commands in COMMANDS order (Typer would list single commands before groups)."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [name for name in COMMANDS if name in self.commands]


def build_app(only: str | None = None, sub: str | None = None) -> typer.Typer:
    """The Typer app with every command, or with just the command `only` (and, for a group,
    just its subcommand `sub`).

    Typer inspects the signature of every registered command on each run (~30 ms for the
    whole tree, 3x bare Python start-up); a command that is about to run needs only its own.
    """
    app = typer.Typer(
        name="medmassage",
        help="Clinical records, progress tables and insurer reports for medical massage. "
        "All data stays in one local SQLite file you own.",
        no_args_is_help=True,
        # Locals in a traceback would print client data: never show them.
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        cls=_Root,
        add_completion=False,
        # Plain help, as git and uv print it: Typer's Rich help imports Rich, its Markdown
        # renderer and markdown-it on every --help (about 80 ms, 15x bare Python start-up
        # against 7x for this), and boxes do not survive `| less` or a narrow window anyway.
        rich_markup_mode=None,
    )
    app.callback()(main_options)
    for name, (module, attribute, help_text) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"medmassage.cli.{module}"), attribute)
        if not attribute.endswith("app"):
            app.command(name, help=target.__doc__, short_help=help_text)(target)
            continue
        if sub is not None and any(c.name == sub for c in target.registered_commands):
            target = copy.copy(target)  # the module's group keeps all its commands
            target.registered_commands = [c for c in target.registered_commands if c.name == sub]
        # A group of its own kind (intake: a default subcommand) keeps its class.
        cls = target.info.cls if isinstance(target.info.cls, type) else Group
        app.add_typer(target, name=name, help=help_text, cls=cls)
    return app


def _command_path(argv: list[str]) -> tuple[str | None, str | None]:
    """The command and subcommand words in argv (after global options), if they are ours.

    Anything unexpected gives (None, None): the whole tree, so Click's own messages
    ("No such command", help listings) stay complete.
    """
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in ("--db", "--today"):
            next(args, None)
        elif not arg.startswith("-"):
            words.append(arg)
            if len(words) == 2:
                break
        elif not words:
            continue  # --version, --help, --db=PATH before the command
        else:
            break  # an option of the command: no subcommand word follows
    if not words or words[0] not in COMMANDS:
        return None, None
    return words[0], words[1] if len(words) > 1 else None


def __getattr__(name: str) -> typer.Typer:
    # `from medmassage.cli import app` (tests, docs) gets the whole tree, built on demand.
    if name == "app":
        return build_app()
    raise AttributeError(name)


def main() -> None:
    """Console entry point: usage errors become one line (exit 2), like our own input errors."""
    import os

    from medmassage.cli.common import fail

    instruction = os.environ.get("_MEDMASSAGE_COMPLETE")
    if instruction:  # the shell asking for candidates (cli/completion.py), never a user
        from medmassage.cli.completion import complete

        sys.exit(complete(instruction))
    try:
        code = build_app(*_command_path(sys.argv[1:]))(standalone_mode=False)
    except typer.Abort:
        print("Aborted; nothing was saved.", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as e:  # Click's usage errors: unknown option, missing value…
        if type(e).__name__ == "NoArgsIsHelpError":
            print(e.format_message())  # type: ignore[attr-defined]
            sys.exit(0)
        ctx = getattr(e, "ctx", None)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        fail(message + where, e.exit_code)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
