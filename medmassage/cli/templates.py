"""`medmassage template …` (note templates) and `medmassage phrase …` (phrase shortcuts)."""

from typing import Annotated

import typer

from medmassage.cli.common import FormatOpt, OutputOpt, database, fail, guard, say, warn

template_app = typer.Typer(no_args_is_help=True)
phrase_app = typer.Typer(no_args_is_help=True)

TemplateArg = Annotated[
    str, typer.Argument(metavar="NAME", help="Template name (see: template list).")
]
PhraseArg = Annotated[str, typer.Argument(metavar="NAME", help="Phrase name (see: phrase list).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace the one of that name.")]


def _preview(text: str | None, size: int = 60) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= size else line[: size - 1] + "…"


def _say_unknown_phrases(unknown: tuple[str, ...]) -> None:
    if unknown:
        names = ", ".join(f";{n}" for n in unknown)
        warn(
            f"{names}: no such phrase yet, so it stays as typed in a note unless you add it "
            "(medmassage phrase add NAME TEXT; see: medmassage phrase list)"
        )


# --- template ----------------------------------------------------------------------------------


@template_app.command("add")
@guard
def template_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Lower-case name, e.g. follow-up.")],
    notes_file: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Read the template from FILE (- for stdin), under the # headings of "
            "session log --notes-file; at most 1 MB.",
        ),
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Write the template in $EDITOR (at most 1 MB).")
    ] = False,
    force: ForceOpt = False,
) -> None:
    """Save a note template from a file or $EDITOR: the SOAP sections under `# Subjective`,
    `# Objective`, `# Assessment`, `# Plan`, `# Home care`, `# Client feedback` headings.

    `session log … --template NAME` fills a note's empty sections from it; phrase shortcuts
    (`;tol`) in it expand when that note is saved. Replacing one needs --force."""
    from medmassage.cli.sessions import (
        _keeping,
        _one_notes_source,
        _read_notes_file,
        _write_in_editor,
    )
    from medmassage.errors import InputError
    from medmassage.record.notetemplates import add_template, check_may_add, get_template
    from medmassage.record.sessions import NOTE_FIELDS, parse_soap_text, soap_template

    _one_notes_source(notes_file, edit)
    if not notes_file and not edit:
        raise InputError(
            "template", None, "give --notes-file FILE (the note under # headings) or --edit"
        )
    with database(ctx, start=True) as conn:  # can begin a practice in an empty file
        written = None
        if notes_file:
            notes = parse_soap_text(_read_notes_file(notes_file))
        else:
            key = check_may_add(conn, name, force)  # refused before anything is typed
            current = None
            if force:
                try:
                    current = get_template(conn, key)
                except InputError:
                    current = None
            start = soap_template({k: current[k] for k in NOTE_FIELDS} if current else None)
            written = _write_in_editor(ctx, start)
            if written is None:
                raise fail("the template was saved unchanged or empty: nothing was saved", 1)
            notes = written.notes
        with _keeping(ctx, written):
            saved = add_template(conn, name, notes, force)
    from medmassage.record.sessions import NOTE_HEADINGS

    sections = ", ".join(NOTE_HEADINGS[k].lower() for k in saved.sections)
    say(
        f"{'Replaced' if saved.replaced else 'Added'} template {saved.name} ({sections}). "
        f"Use it: medmassage session log CLIENT … --template {saved.name}"
    )
    _say_unknown_phrases(saved.unknown_phrases)


@template_app.command("list")
@guard
def template_list(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Note templates: shipped ones (until you replace them) and yours."""
    from medmassage.cli.render import Col, print_rows, resolve_format
    from medmassage.record.notetemplates import list_templates
    from medmassage.record.sessions import NOTE_FIELDS, NOTE_HEADINGS

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        rows = list_templates(conn)
    for r in rows:
        r["shown_sections"] = ", ".join(NOTE_HEADINGS[k].lower() for k in r["sections"])
        r["preview"] = _preview(next((r[k] for k in NOTE_FIELDS if r[k]), ""))
    columns = [
        Col("name", "Template"),
        Col("source", "Source"),
        Col("shown_sections", "Sections"),
        Col("preview", "Begins"),
    ]
    keys = ["name", "source", "sections", *NOTE_FIELDS, "created", "changed"]
    print_rows(
        columns,
        rows,
        chosen,
        output,
        keys=keys,
        empty="No templates. Add one: medmassage template add NAME --notes-file FILE",
    )


@template_app.command("show")
@guard
def template_show(
    ctx: typer.Context, template: TemplateArg, fmt: FormatOpt = None, output: OutputOpt = None
) -> None:
    """Show a template under its # headings: the text `template add NAME --force --notes-file`
    reads back, so `template show NAME > t.md`, edited, replaces it."""
    from medmassage.cli.render import json_text, on_screen
    from medmassage.errors import InputError
    from medmassage.record.notetemplates import get_template, template_text
    from medmassage.record.sessions import NOTE_FIELDS
    from medmassage.store.files import write_output

    chosen = (fmt or "text").strip().lower()
    if chosen not in ("text", "json"):
        raise InputError("format", fmt, "text (default) or json")
    with database(ctx) as conn:
        found = get_template(conn, template)
    if chosen == "json":
        data = {
            "name": found["name"],
            "source": found["source"],
            "sections": [k for k in NOTE_FIELDS if found[k]],
            **{k: found[k] for k in NOTE_FIELDS},
            "created": found["created"],
            "changed": found["changed"],
        }
        write_output(on_screen(json_text(data), output, as_json=True), output)
        return
    write_output(on_screen(template_text(found), output), output)


@template_app.command("remove")
@guard
def template_remove(ctx: typer.Context, template: TemplateArg) -> None:
    """Remove a template (a shipped one too: it does not come back). Notes made from it keep
    their text."""
    from medmassage.record.notetemplates import remove_template

    with database(ctx) as conn:
        name = remove_template(conn, template)
    say(f"Removed template {name}")


# --- phrase ------------------------------------------------------------------------------------


@phrase_app.command("add")
@guard
def phrase_add(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="1–20 lowercase letters or digits, starting with a letter (typed as ;NAME).",
        ),
    ],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What ;NAME expands to.")],
    force: ForceOpt = False,
) -> None:
    """Add a phrase shortcut: `;NAME` in note text (any SOAP section, home care, feedback, an
    addendum, a template) becomes TEXT when the note is saved. Only as a whole word: not inside
    one (`x;tol`). Replacing one needs --force."""
    from medmassage.record.phrases import add_phrase, parse_name

    with database(ctx, start=True) as conn:
        replaced = add_phrase(conn, name, text, force)
    key = parse_name(name)
    say(f"{'Replaced' if replaced else 'Added'} phrase ;{key}: type ;{key} in a note")


@phrase_app.command("list")
@guard
def phrase_list(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Phrase shortcuts, and the text each expands to."""
    from medmassage.cli.render import Col, print_rows, resolve_format
    from medmassage.record.phrases import list_phrases

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        rows = list_phrases(conn)
    for r in rows:
        r["typed"] = f";{r['name']}"
    columns = [Col("typed", "Type"), Col("text", "Expands to"), Col("source", "Source")]
    print_rows(
        columns,
        rows,
        chosen,
        output,
        keys=["name", "text", "source", "created", "changed"],
        empty="No phrases. Add one: medmassage phrase add NAME TEXT",
    )


@phrase_app.command("remove")
@guard
def phrase_remove(ctx: typer.Context, phrase: PhraseArg) -> None:
    """Remove a phrase shortcut (a shipped one too: it does not come back). Notes already saved
    keep their text; `;NAME` typed later stays as typed."""
    from medmassage.record.phrases import parse_name, remove_phrase

    with database(ctx) as conn:
        remove_phrase(conn, phrase)
    say(f"Removed phrase ;{parse_name(phrase)}")
