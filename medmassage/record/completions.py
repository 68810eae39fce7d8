"""What the shell may offer while a command is typed: client names and ids, case ids, session
ids, techniques, regions, payer types, conditions, note templates and phrase shortcuts.

Read straight from the practice file, read-only (`mode=ro`): completing a word must never
migrate, lock or create anything, and an encrypted or missing file simply offers nothing. Each
function returns (value, help) pairs whose value starts with — or, for names, has a word
starting with — what has been typed so far.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from medmassage.rules import catalog

Candidate = tuple[str, str]  # (value to insert, help shown by zsh and fish)
LIMIT = 50  # a shell listing hundreds of names helps nobody; keep typing narrows it


def _connect(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.1)
        conn.execute("SELECT 1 FROM client LIMIT 1")  # encrypted or foreign: no such table
    except sqlite3.Error:
        return None
    return conn


def _rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = _connect(path)
    if conn is None:
        return []
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def _word_match(name: str, typed: str) -> bool:
    typed = typed.casefold()
    return any(
        word.startswith(typed) for word in name.casefold().split()
    ) or name.casefold().startswith(typed)


def clients(path: Path, typed: str) -> list[Candidate]:
    """Ids when digits are typed (the name as help), otherwise whole names (the id as help).

    Active clients first: a discharged client is still offered, after them."""
    rows = _rows(
        path,
        "SELECT id, name, status FROM client ORDER BY status = 'discharged', name COLLATE NOCASE",
    )
    if typed.isdigit():
        found = [(str(i), name) for i, name, _ in rows if str(i).startswith(typed)]
    else:
        found = [
            (name, f"client {i}" + (" (discharged)" if status == "discharged" else ""))
            for i, name, status in rows
            if _word_match(name, typed)
        ]
    return found[:LIMIT]


def cases(path: Path, typed: str, client: str | None = None) -> list[Candidate]:
    """Case ids, open first, newest first; only the named client's when one is on the line."""
    rows = _rows(
        path,
        "SELECT care_case.id, client.id, client.name, payer_type, care_case.status"
        " FROM care_case JOIN client ON client.id = care_case.client_id"
        " ORDER BY care_case.status = 'closed', care_case.id DESC",
    )
    if client:
        rows = [r for r in rows if _client_is(r[1], r[2], client)] or rows
    return [
        (str(case_id), f"{name}, {payer} ({status})")
        for case_id, _, name, payer, status in rows
        if str(case_id).startswith(typed)
    ][:LIMIT]


def _client_is(client_id: int, name: str, ref: str) -> bool:
    if ref.isdigit():
        return int(ref) == client_id
    return ref.casefold() in name.casefold()


def sessions(path: Path, typed: str, drafts_first: bool = False) -> list[Candidate]:
    """Session ids, newest first (drafts first for `session sign`)."""
    order = "session.status != 'draft', " if drafts_first else ""
    rows = _rows(
        path,
        "SELECT session.id, session.date, client.name, session.status FROM session"
        " JOIN care_case ON care_case.id = session.case_id"
        " JOIN client ON client.id = care_case.client_id"
        f" WHERE CAST(session.id AS TEXT) LIKE ? || '%' ORDER BY {order}session.id DESC LIMIT ?",
        (typed, LIMIT),
    )
    return [(str(i), f"{day} {name} ({status})") for i, day, name, status in rows]


def claims(path: Path, typed: str, first: str | None = None) -> list[Candidate]:
    """Claim ids, newest first (those of status `first` before the rest: drafts for print and
    export, submitted ones for a replacement)."""
    order = "claim.status != ?, " if first else ""
    rows = _rows(
        path,
        "SELECT claim.id, client.name, claim.status, substr(claim.created, 1, 10) FROM claim"
        " JOIN care_case ON care_case.id = claim.case_id"
        " JOIN client ON client.id = care_case.client_id"
        f" WHERE CAST(claim.id AS TEXT) LIKE ? || '%' ORDER BY {order}claim.id DESC LIMIT ?",
        (typed, *((first,) if first else ()), LIMIT),
    )
    return [(str(i), f"{day} {name} ({status})") for i, name, status, day in rows]


def techniques(path: Path, typed: str) -> list[Candidate]:
    """`NAME=` (minutes follow the `=`), shipped techniques and the practice's own."""
    own = {name: cpt for name, cpt in _rows(path, "SELECT name, cpt FROM custom_technique")}
    every = {**catalog.TECHNIQUES, **own}
    if "=" in typed:
        return []
    return [(f"{name}=", f"CPT {cpt}") for name, cpt in every.items() if name.startswith(typed)]


def templates(path: Path, typed: str) -> list[Candidate]:
    """Note template names (`--template`, `template show/remove`), the sections as help."""
    rows = _rows(
        path,
        "SELECT name, source FROM note_template WHERE name LIKE ? || '%' ORDER BY name LIMIT ?",
        (typed.lower(), LIMIT),
    )
    return [(name, f"template ({source})") for name, source in rows]


def phrases(path: Path, typed: str) -> list[Candidate]:
    """Phrase shortcut names (`phrase remove`), the start of the text as help."""
    rows = _rows(
        path,
        "SELECT name, text FROM phrase WHERE name LIKE ? || '%' ORDER BY name LIMIT ?",
        (typed.lower().lstrip(";"), LIMIT),
    )
    return [(name, text if len(text) <= 60 else text[:59] + "…") for name, text in rows]


def regions(typed: str) -> list[Candidate]:
    return [(name, "") for name in catalog.REGIONS if name.startswith(typed)]


def payer_types(typed: str) -> list[Candidate]:
    return [(name, "") for name in catalog.PAYER_TYPES if name.startswith(typed)]


def conditions(typed: str) -> list[Candidate]:
    return [
        (key, condition.label)
        for key, condition in catalog.CONDITIONS.items()
        if key.startswith(typed)
    ]


def fee_codes(typed: str) -> list[Candidate]:
    """`profile set --fee CPT=DOLLARS`: the CPT codes, with `=` to follow."""
    return [
        (f"{code}=", cpt.label) for code, cpt in catalog.CPT_CODES.items() if code.startswith(typed)
    ]
