"""Note templates (SPEC §12): a SOAP note written once, filled into a visit's note with
`session log … --template NAME` (or `session edit ID --template NAME` on a draft).

A template holds the sections of a note (subjective, objective, assessment, plan, home care,
client feedback), read from the same `# Heading` text as `--notes-file` and `--edit`
(sessions.parse_soap_text). Filling a note, a template gives only the sections still empty:
what was typed as an option, in a notes file or in the editor wins section by section, and a
draft's own text is never overwritten. Its `;name` phrase shortcuts are kept as typed and expand
when the note is saved (phrases.py), so a phrase changed later changes the next note.

Templates are records (digests.py entity `template`): audited, with content digests, in backups
and in `export all`. The shipped defaults are inserted once by migration 11; one removed stays
removed.
"""

from __future__ import annotations

import re
import sqlite3
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.record.sessions import NOTE_FIELDS, NOTE_HEADINGS, clean_notes
from medmassage.rules.dates import now_stamp
from medmassage.store import db

NAME_RULE = "1–40 lowercase letters, digits or dashes, starting with a letter (e.g. follow-up)"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_COLUMNS = ", ".join(NOTE_FIELDS)


def parse_name(value: str) -> str:
    """A template name as stored: lower case, spaces as dashes."""
    name = (value or "").strip().lower().replace(" ", "-")
    if not _NAME.match(name):
        raise InputError("template name", value, NAME_RULE)
    return name


def _missing(name: str) -> InputError:
    return InputError("template", name, "no template has this name (see: medmassage template list)")


def get_template(conn: sqlite3.Connection, name: str) -> dict:
    """The template named `name` (any case) as a dict: name, the note sections, source, dates.
    An unknown name is refused in one line naming it and where to list them."""
    key = (name or "").strip().lower().replace(" ", "-")
    row = conn.execute(
        f"SELECT id, name, {_COLUMNS}, source, created, changed FROM note_template WHERE name = ?",
        (key,),
    ).fetchone()
    if row is None:
        raise _missing(name)
    return dict(row)


def template_notes(conn: sqlite3.Connection, name: str | None) -> dict[str, str | None] | None:
    """The note sections of template `name` (None: no template asked for)."""
    if name is None:
        return None
    found = get_template(conn, name)
    return {k: found[k] for k in NOTE_FIELDS}


def list_templates(conn: sqlite3.Connection) -> list[dict]:
    rows = conn.execute(
        f"SELECT id, name, {_COLUMNS}, source, created, changed FROM note_template ORDER BY name"
    ).fetchall()
    out = []
    for r in rows:
        item = dict(r)
        item["sections"] = [k for k in NOTE_FIELDS if r[k]]
        out.append(item)
    return out


class Saved(NamedTuple):
    template_id: int
    name: str
    replaced: bool
    sections: list[str]  # the NOTE_FIELDS keys it holds
    unknown_phrases: tuple[str, ...]  # `;name` tokens that name no phrase (yet)


def add_template(
    conn: sqlite3.Connection, name: str, notes: dict[str, str | None], force: bool = False
) -> Saved:
    """Save a template from its note sections (as parse_soap_text reads them); with `force`
    replace the one of that name. An empty one is refused. Audited (entity `template`)."""
    from medmassage.record.phrases import unknown_names

    key = parse_name(name)
    sections = clean_notes(notes)
    held = [k for k in NOTE_FIELDS if sections[k]]
    if not held:
        raise InputError(
            "template",
            key,
            "is empty: write at least one section under a heading (# Subjective, # Objective, "
            "# Assessment, # Plan, # Home care, # Client feedback)",
        )
    with db.transaction(conn):
        row = conn.execute("SELECT id FROM note_template WHERE name = ?", (key,)).fetchone()
        check_new(row, key, force)
        if row is None:
            template_id = db.insert(
                conn,
                "note_template",
                {"name": key, **sections, "source": "yours", "created": now_stamp()},
            )
            db.audit(conn, "add", "template", template_id)
        else:
            template_id = row[0]
            db.update(
                conn,
                "note_template",
                template_id,
                {**sections, "source": "yours", "changed": now_stamp()},
            )
            db.audit(conn, "replace", "template", template_id)
        unknown = unknown_names(conn, list(sections.values()))
    return Saved(template_id, key, row is not None, held, unknown)


def check_new(row: object, key: str, force: bool) -> None:
    if row is not None and not force:
        raise InputError(
            "template",
            key,
            f"already exists; give --force to replace it (see: medmassage template show {key})",
        )


def check_may_add(conn: sqlite3.Connection, name: str, force: bool) -> str:
    """The name checked before a template is typed in $EDITOR: a bad name, or one taken
    without --force, is refused before anything is written."""
    key = parse_name(name)
    row = conn.execute("SELECT id FROM note_template WHERE name = ?", (key,)).fetchone()
    check_new(row, key, force)
    return key


def remove_template(conn: sqlite3.Connection, name: str) -> str:
    key = (name or "").strip().lower().replace(" ", "-")
    with db.transaction(conn):
        row = conn.execute("SELECT id FROM note_template WHERE name = ?", (key,)).fetchone()
        if row is None:
            raise _missing(name)
        conn.execute("DELETE FROM note_template WHERE id = ?", (row[0],))
        db.audit(conn, "remove", "template", row[0])
    return key


def template_text(template: dict) -> str:
    """The template under `# Heading` lines, as --notes-file reads it (so `template show NAME >
    f.md`, edited, goes back with `template add NAME --force --notes-file f.md`)."""
    parts = []
    for key in NOTE_FIELDS:
        if template.get(key):
            parts.append(f"# {NOTE_HEADINGS[key]}\n{template[key]}\n")
    return "\n".join(parts)


class Filled(NamedTuple):
    notes: dict[str, str | None]
    filled: list[str]  # sections the template gave
    kept: list[str]  # sections the template has but the note already held (kept as they were)


def fill_notes(
    notes: dict[str, str | None] | None, template: dict[str, str | None] | None
) -> Filled:
    """The note with the template's sections in the sections still empty; what the note holds
    (typed options, a notes file, a draft's text) wins section by section."""
    out = dict(notes or {})
    if not template:
        return Filled(out, [], [])
    filled, kept = [], []
    for key in NOTE_FIELDS:
        text = template.get(key)
        if not text:
            continue
        if (out.get(key) or "").strip():
            kept.append(key)
        else:
            out[key] = text
            filled.append(key)
    return Filled(out, filled, kept)
