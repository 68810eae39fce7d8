"""Phrase shortcuts (SPEC §12): `;tol` in note text becomes "Client tolerated treatment well; no
adverse reaction." when the note is saved.

A shortcut expands only as a whole token: `;name` at the start of the text, after white space
or an opening bracket or quote, and followed by the end, white space or punctuation. Inside a
word (`x;tolerance`, `abc;tol`) it is text, left alone. A token of a phrase's shape that names
no phrase is left as typed, and the command's receipt says so. One pass, no recursion: a
phrase's own text is never expanded again, so a phrase holding `;` is safe.

Expanded where medmassage saves a note the therapist is writing now: `session log`, `session
edit` (of a draft) and `session amend` (sessions.py), including the text a note template put
there. Not in `import sessions`: an imported note is another system's record, kept as it was
written (a `;` in it is not a shortcut typed for medmassage).

Phrases are records (digests.py entity `phrase`): audited, with content digests, in backups and
in `export all`. The shipped defaults are inserted once by migration 11; one removed stays
removed.
"""

from __future__ import annotations

import re
import sqlite3
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.rules.dates import now_stamp
from medmassage.store import db

NAME_RULE = "1–20 lowercase letters or digits, starting with a letter (e.g. tol, hep2)"
_NAME = re.compile(r"^[a-z][a-z0-9]{0,19}$")
TEXT_MAX = 2000

# A phrase token: `;` not inside a word (start, white space, or an opening bracket or quote
# before it), a name of the phrase shape, then the end, white space or punctuation. A longer
# run of letters is not a phrase shape at all (never reported). Names match in any case.
_OPENERS = "\\s(\\[{\"'\u201c\u2018\u00ab"
_AFTER = "\\s.,;:!?)\\]}\"'\u201d\u2019\u00bb/\u2026-"
TOKEN = re.compile(rf"(?<![^{_OPENERS}]);([A-Za-z][A-Za-z0-9]{{0,19}})(?=$|[{_AFTER}])")


class Expanded(NamedTuple):
    """Text with its shortcuts expanded, and the names found: used (expanded) and unknown (left
    as typed), each once, in the order they first appear."""

    text: str
    used: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def parse_name(value: str) -> str:
    """A phrase name as stored: lower case, without the `;` one may type before it."""
    name = (value or "").strip()
    name = name[1:] if name.startswith(";") else name
    name = name.lower()
    if not _NAME.match(name):
        raise InputError("phrase name", value, NAME_RULE)
    return name


def phrase_map(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT name, text FROM phrase")}


def expand(text: str, phrases: dict[str, str]) -> Expanded:
    """`text` with each whole-token `;name` of a known phrase replaced by the phrase's text."""
    used: dict[str, None] = {}
    unknown: dict[str, None] = {}

    def one(match: re.Match) -> str:
        name = match.group(1).lower()
        if name in phrases:
            used[name] = None
            text = phrases[name]
            # `;tol.` at the end of a sentence: the phrase's own full stop is enough.
            if text.endswith(".") and match.string.startswith(".", match.end()):
                return text[:-1]
            return text
        unknown[match.group(1)] = None
        return match.group(0)

    out = TOKEN.sub(one, text)
    return Expanded(out, tuple(used), tuple(unknown))


class ExpandedNotes(NamedTuple):
    notes: dict[str, str | None]
    used: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def expand_notes(conn: sqlite3.Connection, notes: dict[str, str | None] | None) -> ExpandedNotes:
    """Every section of a note expanded (read the phrases only when a `;` is there)."""
    notes = dict(notes or {})
    if not any(";" in (v or "") for v in notes.values()):
        return ExpandedNotes(notes)
    phrases = phrase_map(conn)
    used: dict[str, None] = {}
    unknown: dict[str, None] = {}
    for key, value in notes.items():
        if value:
            found = expand(value, phrases)
            notes[key] = found.text
            used.update(dict.fromkeys(found.used))
            unknown.update(dict.fromkeys(found.unknown))
    return ExpandedNotes(notes, tuple(used), tuple(unknown))


def expand_text(conn: sqlite3.Connection, text: str) -> Expanded:
    """One text (an addendum) expanded."""
    if ";" not in (text or ""):
        return Expanded(text)
    return expand(text, phrase_map(conn))


def unknown_names(conn: sqlite3.Connection, texts: list[str | None]) -> tuple[str, ...]:
    """The phrase-shaped tokens in `texts` that name no phrase now (a template's text, said
    when it is saved)."""
    phrases = phrase_map(conn)
    found: dict[str, None] = {}
    for text in texts:
        if text and ";" in text:
            found.update(dict.fromkeys(expand(text, phrases).unknown))
    return tuple(found)


def list_phrases(conn: sqlite3.Connection) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT id, name, text, source, created, changed FROM phrase ORDER BY name"
        )
    ]


def add_phrase(conn: sqlite3.Connection, name: str, text: str, force: bool = False) -> bool:
    """Add a phrase, or with `force` replace the one of that name. Returns True if it replaced
    one. Audited (entity `phrase`)."""
    from medmassage.rules.validate import required_text

    key = parse_name(name)
    body = required_text("text", text, max_len=TEXT_MAX)
    with db.transaction(conn):
        row = conn.execute("SELECT id FROM phrase WHERE name = ?", (key,)).fetchone()
        if row is not None and not force:
            raise InputError(
                "phrase",
                key,
                "already exists; give --force to replace it (see: medmassage phrase list)",
            )
        if row is None:
            phrase_id = db.insert(
                conn,
                "phrase",
                {"name": key, "text": body, "source": "yours", "created": now_stamp()},
            )
            db.audit(conn, "add", "phrase", phrase_id)
            return False
        db.update(conn, "phrase", row[0], {"text": body, "source": "yours", "changed": now_stamp()})
        db.audit(conn, "replace", "phrase", row[0])
        return True


def remove_phrase(conn: sqlite3.Connection, name: str) -> None:
    key = parse_name(name)
    with db.transaction(conn):
        row = conn.execute("SELECT id FROM phrase WHERE name = ?", (key,)).fetchone()
        if row is None:
            raise InputError("phrase", key, "no phrase has this name (see: medmassage phrase list)")
        conn.execute("DELETE FROM phrase WHERE id = ?", (row[0],))
        db.audit(conn, "remove", "phrase", row[0])
