"""Note templates (SPEC §12, issue 14 item 3): `template add/list/show/remove`, `session log …
--template NAME` and `session edit ID --template NAME`, the shipped defaults and how they reach
a database, audit and content digests, export and completion.

Everything through the real CLI against a real SQLite file (the guided entry in a real
pseudo-terminal).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from medmassage.store import db, migrations
from tests.conftest import Cli, count_rows, query
from tests.test_charting import Terminal, last_session_id, one_line_error, session_row

VISIT = (
    "session", "log", "Jane", "--date", "2026-11-20", "--pre", "6", "--post", "3",
    "--technique", "MFR=20", "--technique", "STM=15", "--region", "neck",
)  # fmt: skip

NECK = """\
# Subjective
Neck stiff after desk work.
# Objective
Upper trapezius hypertonic L>R.
# Assessment
;tol Rotation improved.
# Plan
Continue 2x/week.
# Home care
Chin tucks 3x a day.
"""


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def templates(cli: Cli) -> dict[str, dict]:
    return {t["name"]: t for t in json.loads(cli("template", "list", "-f", "json").stdout)}


def check_lines(cli: Cli) -> dict[str, str]:
    result = cli("db", "check", ok=False)
    return {k: v for k, _, v in (ln.partition(": ") for ln in result.stdout.splitlines())}


def editor(tmp_path: Path, monkeypatch, body: str, name: str = "editor.py") -> Path:
    """$EDITOR: a script that records the text it was given and saves `body` ("" = unchanged)."""
    seen = tmp_path / f"{name}.seen"
    script = tmp_path / name
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        f"pathlib.Path({str(seen)!r}).write_text(p.read_text())\n"
        f"body = {body!r}\n"
        "if body:\n"
        "    p.write_text(body)\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    return seen


# --- the shipped defaults ------------------------------------------------------------------------


def test_a_new_database_has_the_shipped_templates_checked_clean(cli, db_path):
    found = templates(cli)
    assert set(found) == {"follow-up", "reassessment"}
    assert {t["source"] for t in found.values()} == {"shipped"}
    follow_up = found["follow-up"]
    assert follow_up["sections"] == ["assessment", "plan", "homecare"]
    assert follow_up["plan"] == ";cont ;reass"  # shortcuts kept as typed: they expand in a note
    assert list(follow_up) == [
        "name", "source", "sections", "subjective", "objective", "assessment", "plan",
        "homecare", "feedback", "created", "changed",
    ]  # fmt: skip
    lines = check_lines(cli)
    assert all(v.startswith("ok") for v in lines.values()), lines
    # each is a record of its own, chained as added by the migration
    audited = query(db_path, "SELECT action, entity_id FROM audit WHERE entity = 'template'")
    ids = [r["id"] for r in query(db_path, "SELECT id FROM note_template ORDER BY id")]
    assert [tuple(r) for r in audited] == [("add", i) for i in ids]


def _database_at(path: Path, version: int, monkeypatch) -> None:
    """A practice at schema `version` (an older medmassage), with a client and a visit."""
    latest = migrations.LATEST_VERSION
    older = [m for m in migrations.MIGRATIONS if m[0] <= version]
    monkeypatch.setattr(db, "MIGRATIONS", older)
    monkeypatch.setattr(db, "LATEST_VERSION", version)
    monkeypatch.setattr(migrations, "LATEST_VERSION", version)
    old = Cli(path)
    old("client", "add", "Jane Doe")
    old(
        "case", "open", "Jane", "--payer", "self-pay", "--dx", "M54.2", "--referrer", "Dr B",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
    )  # fmt: skip
    old(*VISIT)
    assert query(path, "PRAGMA user_version")[0][0] == version
    assert "note_template" not in {r[0] for r in query(path, "SELECT name FROM sqlite_master")}
    monkeypatch.setattr(db, "MIGRATIONS", migrations.MIGRATIONS)
    monkeypatch.setattr(db, "LATEST_VERSION", latest)
    monkeypatch.setattr(migrations, "LATEST_VERSION", latest)


def test_an_existing_practice_gets_the_defaults_once_and_a_removed_one_stays_removed(
    tmp_path, monkeypatch
):
    path = tmp_path / "older.db"
    ours = next(v for v, name, _ in migrations.MIGRATIONS if name == "m011_templates_phrases")
    _database_at(path, ours - 1, monkeypatch)  # the schema just before the templates came
    before = count_rows(path)
    cli = Cli(path)
    assert set(templates(cli)) == {"follow-up", "reassessment"}  # the upgrade brought them
    after = count_rows(path)
    assert after["session"] == before["session"] and after["client"] == before["client"]
    assert query(path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    assert all(v.startswith("ok") for v in check_lines(cli).values())
    cli("template", "remove", "follow-up")
    cli("phrase", "remove", "tol")
    for _ in range(2):  # opened again and again: the migration never runs twice
        assert set(templates(cli)) == {"reassessment"}
        assert "tol" not in {
            p["name"] for p in json.loads(cli("phrase", "list", "-f", "json").stdout)
        }
    assert all(v.startswith("ok") for v in check_lines(cli).values())


# --- template add / list / show / remove -------------------------------------------------------


def test_add_from_a_notes_file_then_show_reads_back_into_add(cli, db_path, tmp_path):
    done = cli("template", "add", "neck-routine", "--notes-file", write(tmp_path / "t.md", NECK))
    assert done.stderr.startswith(
        "Added template neck-routine (subjective, objective, assessment, plan, home care). "
    )
    found = templates(cli)["neck-routine"]
    assert found["source"] == "yours"
    assert found["assessment"] == ";tol Rotation improved."
    assert found["feedback"] is None
    shown = cli("template", "show", "neck-routine").stdout
    assert shown.startswith("# Subjective\nNeck stiff after desk work.\n")
    assert "# Client feedback" not in shown  # only the sections it holds
    # what show prints is what add reads: replaced by itself, nothing changes but the stamp
    cli(
        "template",
        "add",
        "neck-routine",
        "--force",
        "--notes-file",
        write(tmp_path / "s.md", shown),
    )
    again = templates(cli)["neck-routine"]
    assert {k: again[k] for k in found if k != "changed"} == {
        k: found[k] for k in found if k != "changed"
    }
    assert again["changed"] is not None
    as_json = json.loads(cli("template", "show", "neck-routine", "-f", "json").stdout)
    assert as_json == again


def test_a_name_taken_needs_force_and_nothing_is_written_without_it(cli, db_path, tmp_path):
    path = write(tmp_path / "t.md", NECK)
    cli("template", "add", "neck-routine", "--notes-file", path)
    before = count_rows(db_path)
    result = cli("template", "add", "Neck-Routine", "--notes-file", path, ok=False)
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "error: template: 'neck-routine' — already exists; give --force to replace it "
        "(see: medmassage template show neck-routine)"
    )
    assert count_rows(db_path) == before
    # a shipped one too; with --force it becomes yours
    short = write(tmp_path / "short.md", "# Plan\n;cont\n")
    result = cli("template", "add", "follow-up", "--notes-file", short, ok=False)
    assert result.exit_code == 2 and count_rows(db_path) == before
    done = cli("template", "add", "follow-up", "--notes-file", short, "--force")
    assert done.stderr.startswith("Replaced template follow-up (plan). ")
    replaced = templates(cli)["follow-up"]
    assert (replaced["source"], replaced["plan"], replaced["assessment"]) == (
        "yours",
        ";cont",
        None,
    )
    actions = query(db_path, "SELECT action FROM audit WHERE entity = 'template' ORDER BY id")
    assert [r[0] for r in actions][-1] == "replace"
    assert all(v.startswith("ok") for v in check_lines(cli).values())


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "# Subjective\n# Objective\n\n# Plan\n", "#! only an instruction line\n"],
    ids=["empty", "blank-lines", "headings-only", "instructions-only"],
)
def test_an_empty_template_file_is_refused(cli, db_path, tmp_path, text):
    cli("client", "list")
    before = count_rows(db_path)
    result = cli(
        "template", "add", "nothing", "--notes-file", write(tmp_path / "e.md", text), ok=False
    )
    assert result.exit_code == 2
    assert one_line_error(result).startswith(
        "error: template: 'nothing' — is empty: write at least"
    )
    assert count_rows(db_path) == before


@pytest.mark.parametrize(
    "name",
    ["", "-x", "1st", "neck_routine", "neck/routine", "x" * 41, "né"],
    ids=["empty", "dash-first", "digit-first", "underscore", "slash", "41-chars", "accent"],
)
def test_a_bad_template_name_is_refused_in_one_line(cli, db_path, tmp_path, name):
    cli("client", "list")
    before = count_rows(db_path)
    path = write(tmp_path / "t.md", NECK)
    result = cli("template", "add", "--notes-file", path, "--", name, ok=False)
    assert result.exit_code == 2
    assert "1–40 lowercase letters, digits or dashes, starting with a letter" in one_line_error(
        result
    )
    assert count_rows(db_path) == before


def test_template_name_boundaries_one_and_forty_characters(cli, tmp_path):
    path = write(tmp_path / "t.md", NECK)
    cli("template", "add", "a", "--notes-file", path)
    cli("template", "add", "a" + "-9" * 19 + "z", "--notes-file", path)  # 40 characters
    assert {"a", "a" + "-9" * 19 + "z"} <= set(templates(cli))


def test_add_needs_a_source_and_only_one(cli, tmp_path):
    result = cli("template", "add", "x", ok=False)
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "error: template: (missing) — give --notes-file FILE (the note under # headings) or --edit"
    )
    result = cli(
        "template", "add", "x", "--edit", "--notes-file", write(tmp_path / "t.md", NECK), ok=False
    )
    assert result.exit_code == 2 and "not both" in one_line_error(result)


def test_add_in_the_editor_and_an_unchanged_or_unreadable_one_is_never_lost(
    cli, db_path, tmp_path, monkeypatch
):
    seen = editor(tmp_path, monkeypatch, "# Plan\nRe-check ROM ;reass\n")
    done = cli("template", "add", "quick", "--edit")
    assert "Write the note under the headings" in seen.read_text()  # the SOAP headings offered
    assert done.stderr.startswith("Added template quick (plan). ")
    assert templates(cli)["quick"]["plan"] == "Re-check ROM ;reass"
    # --force starts from the template as it is
    editor(tmp_path, monkeypatch, "", name="unchanged.py")
    before = count_rows(db_path)
    result = cli("template", "add", "quick", "--edit", "--force", ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: the template was saved unchanged or empty: nothing was saved"
    )
    assert "# Plan\nRe-check ROM ;reass" in (tmp_path / "unchanged.py.seen").read_text()
    assert count_rows(db_path) == before
    # a name taken without --force is refused before the editor opens
    marker = editor(tmp_path, monkeypatch, "# Plan\nx\n", name="never.py")
    result = cli("template", "add", "quick", "--edit", ok=False)
    assert result.exit_code == 2 and "already exists" in one_line_error(result)
    assert not marker.exists()
    # a heading it cannot read, off a terminal: kept in a recovery file the error names
    editor(tmp_path, monkeypatch, "# Assesment\nLooser.\n", name="typo.py")
    result = cli("template", "add", "typo", "--edit", ok=False)
    assert result.exit_code == 2
    line = one_line_error(result)
    kept = Path(line.split("kept in ", 1)[1].split(":", 1)[0])
    assert kept.read_text() == "# Assesment\nLooser.\n"
    assert "typo" not in templates(cli)


def test_a_template_too_long_after_the_editor_is_kept(cli, db_path, tmp_path, monkeypatch):
    editor(tmp_path, monkeypatch, "# Plan\n" + "x" * 20_001 + "\n")
    cli("client", "list")
    before = count_rows(db_path)
    result = cli("template", "add", "long", "--edit", ok=False)
    assert result.exit_code == 2
    assert "recovered-notes" in result.stderr and "plan" in result.stderr
    assert count_rows(db_path) == before


def test_remove_and_an_unknown_name(cli, db_path):
    done = cli("template", "remove", "Reassessment")
    assert done.stderr.strip() == "Removed template reassessment"
    assert "reassessment" not in templates(cli)
    assert query(db_path, "SELECT action FROM audit ORDER BY id DESC LIMIT 1")[0][0] == "remove"
    before = count_rows(db_path)
    for args in (("remove", "reassessment"), ("show", "nope")):
        result = cli("template", *args, ok=False)
        assert result.exit_code == 2
        assert one_line_error(result) == (
            f"error: template: '{args[1]}' — no template has this name "
            "(see: medmassage template list)"
        )
    assert count_rows(db_path) == before
    assert all(v.startswith("ok") for v in check_lines(cli).values())


def test_list_formats(cli):
    table = cli("template", "list").stdout
    assert "follow-up" in table and "shipped" in table and "assessment, plan, home care" in table
    csv = cli("template", "list", "-f", "csv").stdout.splitlines()
    assert csv[0] == (
        "name,source,sections,subjective,objective,assessment,plan,homecare,feedback,created,changed"
    )
    result = cli("template", "show", "follow-up", "-f", "csv", ok=False)
    assert result.exit_code == 2 and "text (default) or json" in one_line_error(result)


# --- session log --template --------------------------------------------------------------------


def test_log_fills_the_note_from_the_template_with_its_phrases_expanded(practice, db_path):
    done = practice(*VISIT, "--template", "follow-up")
    saved = session_row(db_path, last_session_id(db_path))
    assert saved["assessment"] == (
        "Client tolerated treatment well; no adverse reaction. Response to treatment consistent "
        "with the plan of care."
    )
    assert saved["plan"] == "Recommend continued care per plan of care. Reassess at next visit."
    assert saved["homecare"].startswith("Client educated on home care and self-stretching")
    assert saved["subjective"] is None and saved["objective"] is None
    assert "Template follow-up: filled assessment, plan, home care\n" in done.stderr
    assert "Phrases expanded: ;tol, ;cont, ;reass, ;edu\n" in done.stderr
    template = templates(practice)["follow-up"]
    assert template["plan"] == ";cont ;reass"  # the template itself is unchanged


def test_options_given_win_section_by_section(practice, db_path):
    done = practice(
        *VISIT, "--template", "follow-up", "--plan", "Add scapular work.",
        "--subjective", "Better since Tuesday.",
    )  # fmt: skip
    saved = session_row(db_path, last_session_id(db_path))
    assert saved["plan"] == "Add scapular work."
    assert saved["subjective"] == "Better since Tuesday."
    assert saved["assessment"].startswith("Client tolerated treatment well")
    assert "Template follow-up: filled assessment, home care; kept what was written in plan" in (
        done.stderr
    )


def test_the_notes_file_wins_section_by_section(practice, db_path, tmp_path):
    path = write(tmp_path / "n.md", "# Assessment\nGuarding less.\n# Objective\nROM full.\n")
    practice(*VISIT, "--template", "follow-up", "--notes-file", path)
    saved = session_row(db_path, last_session_id(db_path))
    assert (saved["assessment"], saved["objective"]) == ("Guarding less.", "ROM full.")
    assert saved["plan"] == "Recommend continued care per plan of care. Reassess at next visit."


def test_with_again_the_template_home_care_wins_over_the_last_visits(practice, db_path):
    practice(*VISIT, "--homecare", "Chin tucks.")
    done = practice("session", "log", "Jane", "--again", "--pre", "4", "--post", "2",
                    "--template", "follow-up")  # fmt: skip
    saved = session_row(db_path, last_session_id(db_path))
    first = session_row(db_path, last_session_id(db_path) - 1)
    assert saved["techniques"] == first["techniques"] and saved["regions"] == ["neck"]
    assert saved["homecare"].startswith("Client educated on home care")
    assert "Repeated from session 1 (2026-11-20): techniques" in done.stderr
    assert "home care" not in done.stderr.split("Repeated from", 1)[1].split("\n", 1)[0]


def test_an_unknown_template_is_one_line_exit_2_before_the_editor_opens(
    practice, db_path, tmp_path, monkeypatch
):
    marker = editor(tmp_path, monkeypatch, "# Plan\nx\n")
    before = count_rows(db_path)
    for extra in ((), ("--edit",), ("--again",)):
        result = practice(*VISIT, "--template", "nope", *extra, ok=False)
        assert result.exit_code == 2
        assert one_line_error(result) == (
            "error: template: 'nope' — no template has this name (see: medmassage template list)"
        )
    assert count_rows(db_path) == before
    assert not marker.exists()


def test_with_edit_the_template_is_the_starting_text(practice, db_path, tmp_path, monkeypatch):
    seen = editor(tmp_path, monkeypatch, "# Subjective\nFine.\n# Plan\nWeekly.\n")
    done = practice(*VISIT, "--template", "follow-up", "--edit")
    start = seen.read_text()
    assert "# Assessment\n;tol Response to treatment" in start and "# Plan\n;cont ;reass" in start
    saved = session_row(db_path, last_session_id(db_path))
    assert (saved["subjective"], saved["plan"], saved["assessment"]) == ("Fine.", "Weekly.", None)
    assert "Template follow-up was the starting text in the editor" in done.stderr


def test_json_receipt_names_the_phrases(practice):
    data = json.loads(practice(*VISIT, "--template", "follow-up", "-f", "json").stdout)
    assert data["phrases"] == ["tol", "cont", "reass", "edu"]
    assert data["unknown_phrases"] == []


def test_guided_entry_with_a_template(practice, db_path):
    term = Terminal("--db", str(db_path), "session", "log", "Jane", "--template", "follow-up")
    term.expect("Pain before (0-10): ")
    term.send("5")
    term.expect("Pain after (0-10): ")
    term.send("2")
    term.expect("Techniques, NAME=MIN, comma-separated: ")
    term.send("SW=30")
    term.expect("Regions, comma-separated: ")
    term.send("neck")
    term.expect("Session 1 saved: Jane Doe, case 1, visit 1 of 12 on 2026-11-27")
    assert term.finish() == 0
    assert "Template follow-up: filled assessment, plan, home care" in term.seen
    assert session_row(db_path, 1)["plan"].startswith("Recommend continued care")


# --- session edit ID --template ----------------------------------------------------------------


def test_edit_fills_a_drafts_empty_sections_and_keeps_its_text(practice, db_path):
    practice(*VISIT, "--plan", "My own plan.")
    done = practice("session", "edit", "1", "--template", "follow-up")
    saved = session_row(db_path, 1)
    assert saved["plan"] == "My own plan."  # never overwritten
    assert saved["assessment"].startswith("Client tolerated treatment well")
    assert "Template follow-up: filled assessment, home care; kept what was written in plan" in (
        done.stderr
    )
    # nothing left to fill: said, and nothing changes
    audit_rows = query(db_path, "SELECT count(*) FROM audit")[0][0]
    done = practice("session", "edit", "1", "--template", "follow-up")
    assert "Session 1 not changed." in done.stderr
    assert query(db_path, "SELECT count(*) FROM audit")[0][0] == audit_rows


def test_edit_with_a_template_on_a_signed_note_or_unknown_name_is_refused(practice, db_path):
    practice(*VISIT, "--sign")
    before = count_rows(db_path)
    result = practice("session", "edit", "1", "--template", "follow-up", ok=False)
    assert result.exit_code == 2 and "is signed and locked" in one_line_error(result)
    result = practice("session", "edit", "1", "--template", "nope", ok=False)
    assert result.exit_code == 2 and "no template has this name" in one_line_error(result)
    assert count_rows(db_path) == before


def test_edit_in_the_editor_saved_unchanged_keeps_the_draft(
    practice, db_path, tmp_path, monkeypatch
):
    practice(*VISIT)
    seen = editor(tmp_path, monkeypatch, "")
    row = session_row(db_path, 1)
    done = practice("session", "edit", "1", "--template", "follow-up", "--edit")
    assert "# Plan\n;cont ;reass" in seen.read_text()
    assert "not changed" in done.stderr
    assert session_row(db_path, 1) == row


# --- records: audit, digests, export, completion ------------------------------------------------


def test_db_check_names_a_template_changed_with_another_tool(cli, db_path, tmp_path):
    cli("template", "add", "neck-routine", "--notes-file", write(tmp_path / "t.md", NECK))
    cli("template", "remove", "reassessment")
    assert all(v.startswith("ok") for v in check_lines(cli).values())
    template_id = query(db_path, "SELECT id FROM note_template WHERE name = 'neck-routine'")[0][0]
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE note_template SET plan = 'Daily.' WHERE id = ?", (template_id,))
    raw.commit()
    raw.close()
    result = cli("db", "check", ok=False)
    assert result.exit_code == 1
    assert (
        f"note_template {template_id} changed outside medmassage" in result.stdout + result.stderr
    )


def test_export_all_carries_the_templates(cli, db_path, tmp_path):
    cli("template", "add", "neck-routine", "--notes-file", write(tmp_path / "t.md", NECK))
    data = json.loads(cli("export", "all").stdout)
    names = list(data["tables"])
    assert names.index("note_template") < names.index("client")
    assert {t["name"] for t in data["tables"]["note_template"]} == {
        "follow-up", "reassessment", "neck-routine",
    }  # fmt: skip


def test_completion_offers_template_names(cli, db_path, tmp_path):
    from tests.test_completion import _values

    cli("template", "add", "neck-routine", "--notes-file", write(tmp_path / "t.md", NECK))
    assert _values(db_path, "medmassage session log Jane --template ") == [
        "follow-up", "neck-routine", "reassessment",
    ]  # fmt: skip
    assert _values(db_path, "medmassage session edit 1 --template ne") == ["neck-routine"]
    assert _values(db_path, "medmassage template show f") == ["follow-up"]
    assert _values(db_path, "medmassage template remove re", "zsh") == ["reassessment"]
