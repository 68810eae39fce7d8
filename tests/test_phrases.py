"""Phrase shortcuts (SPEC §12, issue 14 item 3): `phrase add/list/remove`, and `;name` expanded
when a note is saved — as a whole token only — in every part of a note, in addenda and in
template text; unknown ones left as typed and named on stderr; not in `import sessions`.

Through the real CLI against a real SQLite file.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import count_rows, query
from tests.test_charting import last_session_id, one_line_error, session_row

TOL = "Client tolerated treatment well; no adverse reaction."
VISIT = (
    "session", "log", "Jane", "--date", "2026-11-20", "--pre", "6", "--post", "3",
    "--technique", "MFR=20", "--region", "neck",
)  # fmt: skip


def phrases(cli) -> dict[str, dict]:
    return {p["name"]: p for p in json.loads(cli("phrase", "list", "-f", "json").stdout)}


def logged(practice, db_path, *extra: str):
    """Log a visit with `extra` options; (the session row, the result)."""
    result = practice(*VISIT, *extra)
    return session_row(db_path, last_session_id(db_path)), result


# --- phrase add / list / remove ----------------------------------------------------------------


def test_the_shipped_phrases(cli):
    found = phrases(cli)
    assert set(found) == {"tol", "noadv", "edu", "cont", "consent", "reass"}
    assert found["tol"]["text"] == TOL
    assert {p["source"] for p in found.values()} == {"shipped"}
    assert list(found["tol"]) == ["name", "text", "source", "created", "changed"]
    table = cli("phrase", "list").stdout
    assert ";tol" in table and TOL in table


def test_add_list_replace_with_force_and_remove(cli, db_path):
    done = cli("phrase", "add", "hep", "Home exercise program reviewed.")
    assert done.stderr.strip() == "Added phrase ;hep: type ;hep in a note"
    assert phrases(cli)["hep"]["source"] == "yours"
    before = count_rows(db_path)
    result = cli("phrase", "add", "hep", "Another text.", ok=False)
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "error: phrase: 'hep' — already exists; give --force to replace it "
        "(see: medmassage phrase list)"
    )
    assert count_rows(db_path) == before
    assert phrases(cli)["hep"]["text"] == "Home exercise program reviewed."
    cli("phrase", "add", ";TOL", "Tolerated well.", "--force")  # `;` and capitals: same name
    assert (phrases(cli)["tol"]["text"], phrases(cli)["tol"]["source"]) == (
        "Tolerated well.",
        "yours",
    )
    assert cli("phrase", "remove", "hep").stderr.strip() == "Removed phrase ;hep"
    assert "hep" not in phrases(cli)
    result = cli("phrase", "remove", "hep", ok=False)
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "error: phrase: 'hep' — no phrase has this name (see: medmassage phrase list)"
    )
    actions = [r[0] for r in query(db_path, "SELECT action FROM audit WHERE entity = 'phrase'")]
    assert actions[-3:] == ["add", "replace", "remove"]


RULE = "1–20 lowercase letters or digits, starting with a letter (e.g. tol, hep2)"


@pytest.mark.parametrize(
    "name",
    ["", ";", "1tol", "to-l", "to l", "tol!", "t_ol", "x" * 21, "tö"],
    ids=["empty", "semicolon", "digit-first", "dash", "space", "bang", "underscore", "21-chars",
         "accent"],
)  # fmt: skip
def test_a_bad_phrase_name_is_refused_in_one_line_naming_the_rule(cli, db_path, name):
    cli("client", "list")
    before = count_rows(db_path)
    result = cli("phrase", "add", "--", name, "Some text.", ok=False)
    assert result.exit_code == 2
    shown = "(missing)" if name == "" else repr(name)
    assert one_line_error(result) == f"error: phrase name: {shown} — {RULE}"
    assert count_rows(db_path) == before


def test_phrase_name_boundaries_and_text_limits(cli, db_path):
    cli("phrase", "add", "a", "One letter.")
    cli("phrase", "add", "a" * 19 + "9", "Twenty characters.")
    assert {"a", "a" * 19 + "9"} <= set(phrases(cli))
    before = count_rows(db_path)
    for text, problem in (("", "required: give some text"), ("x" * 2001, "")):
        result = cli("phrase", "add", "long", text, ok=False)
        assert result.exit_code == 2
        assert one_line_error(result).startswith("error: text: ") and problem in result.stderr
    cli("phrase", "add", "long", "x" * 2000)
    assert count_rows(db_path)["phrase"] == before["phrase"] + 1


# --- expansion: a whole token only ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        (";tol", TOL),
        ("Session went fine. ;tol", f"Session went fine. {TOL}"),
        ("(;tol)", f"({TOL})"),
        ('";tol"', f'"{TOL}"'),
        ("\u201c;tol\u201d", f"\u201c{TOL}\u201d"),
        (
            ";tol, then ;edu",
            f"{TOL}, then Client educated on home care and self-stretching; "
            "demonstrated understanding.",
        ),
        ("Line one\n;tol\nLine three", f"Line one\n{TOL}\nLine three"),
        ("Outcome: ;tol.", f"Outcome: {TOL}"),  # one full stop, not two
        (";TOL", TOL),
        ("x;tolerance", "x;tolerance"),
        ("abc;tol", "abc;tol"),
        ("abc;tol def", "abc;tol def"),
        ("; tol", "; tol"),
        ("tol;", "tol;"),
        (";tol;edu", f"{TOL};edu"),  # the second is glued to the first: not a whole token
        (";1tol", ";1tol"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_a_shortcut_expands_only_as_a_whole_token(practice, db_path, typed, saved):
    row, _ = logged(practice, db_path, "--subjective", typed)
    assert row["subjective"] == saved


def test_every_part_of_the_note_expands(practice, db_path):
    row, done = logged(
        practice, db_path, "--subjective", ";consent", "--objective", ";noadv",
        "--assessment", ";tol", "--plan", ";cont ;reass", "--homecare", ";edu",
        "--feedback", "Felt great ;tol",
    )  # fmt: skip
    assert row["subjective"].startswith("Treatment plan reviewed; client gave verbal consent")
    assert row["objective"] == "No adverse reaction to treatment reported or observed."
    assert row["assessment"] == TOL
    assert row["plan"] == "Recommend continued care per plan of care. Reassess at next visit."
    assert row["homecare"].startswith("Client educated on home care")
    assert row["feedback"] == f"Felt great {TOL}"
    assert "Phrases expanded: ;consent, ;noadv, ;tol, ;cont, ;reass, ;edu\n" in done.stderr


def test_an_unknown_shortcut_is_left_as_typed_and_named(practice, db_path):
    row, done = logged(practice, db_path, "--subjective", "Pain ;xyz today ;tol and ;abc ;xyz")
    assert row["subjective"] == f"Pain ;xyz today {TOL} and ;abc ;xyz"
    assert "warning: ;xyz, ;abc are not known phrases: left as typed" in done.stderr
    assert "Phrases expanded: ;tol" in done.stderr
    data = json.loads(practice(*VISIT, "--plan", ";zzz", "-f", "json").stdout)
    assert (data["phrases"], data["unknown_phrases"]) == ([], ["zzz"])


def test_no_shortcut_no_receipt(practice, db_path):
    _, done = logged(practice, db_path, "--subjective", "Plain note; nothing to expand.")
    assert "Phrases" not in done.stderr and "phrase" not in done.stderr


def test_a_note_from_a_notes_file_expands(practice, db_path, tmp_path):
    path = tmp_path / "n.md"
    path.write_text("# Assessment\n;tol\n# Plan\n;cont\n", encoding="utf-8")
    row, _ = logged(practice, db_path, "--notes-file", str(path))
    assert (row["assessment"], row["plan"]) == (TOL, "Recommend continued care per plan of care.")


def test_a_phrase_changed_later_changes_the_next_note_not_the_last(practice, db_path):
    first, _ = logged(practice, db_path, "--assessment", ";tol")
    practice("phrase", "add", "tol", "Tolerated well.", "--force")
    second, _ = logged(practice, db_path, "--assessment", ";tol")
    assert session_row(db_path, first["id"])["assessment"] == TOL
    assert second["assessment"] == "Tolerated well."
    practice("phrase", "remove", "tol")
    third, done = logged(practice, db_path, "--assessment", ";tol")
    assert third["assessment"] == ";tol"
    assert "warning: ;tol is not a known phrase: left as typed" in done.stderr


def test_an_expanded_note_over_the_limit_is_refused_nothing_written(practice, db_path):
    practice("phrase", "add", "big", "x" * 2000)
    before = count_rows(db_path)
    result = practice(*VISIT, "--plan", " ".join([";big"] * 11), ok=False)  # 22,010 characters
    assert result.exit_code == 2
    assert one_line_error(result).startswith("error: plan: ")
    assert count_rows(db_path) == before


def test_session_edit_expands_and_a_draft_leftover_expands_once_added(practice, db_path):
    row, _ = logged(practice, db_path, "--plan", "Next: ;hep")
    assert row["plan"] == "Next: ;hep"
    practice("phrase", "add", "hep", "Home program reviewed.")
    done = practice("session", "edit", str(row["id"]), "--assessment", ";tol")
    edited = session_row(db_path, row["id"])
    assert (edited["plan"], edited["assessment"]) == ("Next: Home program reviewed.", TOL)
    assert "Phrases expanded: ;tol, ;hep" in done.stderr


def test_an_addendum_expands(practice, db_path):
    row, _ = logged(practice, db_path, "--sign")
    done = practice("session", "amend", str(row["id"]), "--text", "Called next day: ;noadv ;qq")
    text = query(db_path, "SELECT text FROM addendum")[0][0]
    assert text == "Called next day: No adverse reaction to treatment reported or observed. ;qq"
    assert done.stderr.splitlines() == [
        f"Addendum 1 added to session {row['id']}",
        "Phrases expanded: ;noadv",
        "warning: ;qq is not a known phrase: left as typed (see: medmassage phrase list; "
        "add one with medmassage phrase add)",
    ]


def test_a_template_naming_an_unknown_phrase_says_so_when_saved(cli, tmp_path):
    path = tmp_path / "t.md"
    path.write_text("# Plan\n;cont ;later\n", encoding="utf-8")
    done = cli("template", "add", "p1", "--notes-file", str(path))
    assert "warning: ;later: no such phrase yet, so it stays as typed" in done.stderr
    assert ";cont" not in done.stderr.split("warning:", 1)[1]


def test_import_sessions_keeps_the_text_as_written(practice, db_path, tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text(
        "client,date,pre,post,techniques,regions,subjective\n"
        "Jane Doe,2026-11-18,6,3,swedish=30,neck,Imported ;tol as written\n",
        encoding="utf-8",
    )
    practice("import", "sessions", str(csv))
    assert query(db_path, "SELECT subjective FROM session")[0][0] == "Imported ;tol as written"


# --- records -------------------------------------------------------------------------------


def test_db_check_stays_clean_and_names_a_phrase_changed_with_another_tool(cli, db_path):
    cli("phrase", "add", "hep", "Home program reviewed.")
    cli("phrase", "remove", "noadv")
    result = cli("db", "check")
    assert "record contents: ok" in result.stdout
    phrase_id = query(db_path, "SELECT id FROM phrase WHERE name = 'tol'")[0][0]
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE phrase SET text = 'Client refused treatment.' WHERE id = ?", (phrase_id,))
    raw.commit()
    raw.close()
    result = cli("db", "check", ok=False)
    assert result.exit_code == 1
    assert f"phrase {phrase_id} changed outside medmassage" in result.stdout + result.stderr
    assert "refused" not in result.stdout + result.stderr  # ids and tables, never content


def test_a_phrase_inserted_with_another_tool_is_named(cli, db_path):
    cli("client", "list")
    raw = sqlite3.connect(db_path)
    raw.execute(
        "INSERT INTO phrase (name, text, source, created) VALUES ('zz', 'x', 'yours', 'now')"
    )
    raw.commit()
    raw.close()
    result = cli("db", "check", ok=False)
    assert (
        result.exit_code == 1
        and "phrase 7 added outside medmassage" in result.stdout + result.stderr
    )


def test_export_all_carries_the_phrases(cli):
    cli("phrase", "add", "hep", "Home program reviewed.")
    data = json.loads(cli("export", "all").stdout)
    assert "hep" in {p["name"] for p in data["tables"]["phrase"]}
    assert data["columns"]["phrase"] == ["id", "name", "text", "source", "created", "changed"]


def test_completion_offers_phrase_names(cli, db_path):
    from tests.test_completion import _ask, _values

    cli("client", "list")
    assert _values(db_path, "medmassage phrase remove c") == ["consent", "cont"]
    done = _ask(db_path, "medmassage phrase remove to", "fish")
    assert done.stdout.strip() == f"plain,tol\t{TOL}"
