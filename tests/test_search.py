"""`session search` (issue 14 item 6, SPEC §12): full-text search over the notes with SQLite FTS5,
the index kept in step by the transactions that write the notes, checked by `db check`."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from medmassage.store import db, migrations
from tests.conftest import Cli, count_rows, query

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "config" / "medmassage"
    monkeypatch.setenv("MEDMASSAGE_CONFIG_DIR", str(folder))
    return folder


def log(cli: Cli, *args: str, client: str = "Jane") -> int:
    """session log with the usual minimum; returns the new session id."""
    result = cli(
        "session", "log", client, "--pre", "5", "--post", "3", "--technique", "swedish=30",
        "--region", "neck", "-f", "json", *args,
    )  # fmt: skip
    return json.loads(result.stdout)["session_id"]


def search(cli: Cli, *args: str, ok: bool = True):
    return cli("session", "search", *args, ok=ok)


def hits(cli: Cli, *args: str) -> list[dict]:
    return json.loads(search(cli, *args, "-f", "json").stdout)


def ids(cli: Cli, *args: str) -> list[int]:
    return [h["session_id"] for h in hits(cli, *args)]


@pytest.fixture
def notes(practice: Cli) -> Cli:
    """Jane (case 1) with five visits whose notes hold known words; Ken (client 2, case 2)."""
    practice("client", "add", "Ken Adams")
    practice(
        "case", "open", "Ken", "--payer", "self-pay", "--dx", "M54.50", "--referrer", "Self",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
    )  # fmt: skip
    log(practice, "--date", "2026-11-03 10:00", "--subjective", "Lumbar stiffness after gardening.")
    log(
        practice,
        "--date",
        "2026-11-10 09:00",
        "--objective",
        "Range of motion improved; lumbosacral tender.",
    )
    log(practice, "--date", "2026-11-10 15:30", "--plan", "Motion range of the neck to recheck.")
    log(
        practice,
        "--date",
        "2026-11-10",
        "--homecare",
        "Heat pack, chin tucks; post-op care at C5:C6.",
    )
    log(practice, "--date", "2026-11-20 11:00", "--feedback", "Felt much looser, less lumbar ache.")
    log(practice, "--date", "2026-11-21", "--subjective", "Lumbar pain at the desk.", client="Ken")
    return practice


# --- order, fields, snippets ------------------------------------------------------------------


def test_newest_first_by_date_then_start_time_then_id(notes):
    # Sessions 2, 3 and 4 share 2026-11-10: 15:30, then 09:00, then the one without a time.
    for s in (1, 2, 3, 4, 5, 6):
        notes("session", "amend", str(s), "--text", "Reviewed chart.")
    assert ids(notes, "reviewed") == [6, 5, 3, 2, 4, 1]
    assert [h["date"] for h in hits(notes, "reviewed")][:2] == ["2026-11-21", "2026-11-20"]


def test_each_hit_names_the_session_date_client_case_and_field(notes):
    (hit,) = hits(notes, "gardening")
    assert {k: hit[k] for k in ("session_id", "date", "start_time", "client_id", "client")} == {
        "session_id": 1, "date": "2026-11-03", "start_time": "10:00", "client_id": 1,
        "client": "Jane Doe",
    }  # fmt: skip
    assert (hit["case_id"], hit["status"], hit["fields"], hit["field"]) == (
        1, "draft", ["subjective"], "subjective",
    )  # fmt: skip
    assert hit["snippet"] == "Lumbar stiffness after gardening."
    fields = {h["session_id"]: h["fields"] for h in hits(notes, "lumb*")}
    assert fields == {
        6: ["subjective"], 5: ["feedback"], 2: ["objective"], 1: ["subjective"],
    }  # fmt: skip
    assert hits(notes, "chin")[0]["fields"] == ["homecare"]
    assert hits(notes, "recheck")[0]["fields"] == ["plan"]


def test_json_marks_are_offsets_of_the_matching_words_in_the_plain_snippet(notes):
    (hit,) = hits(notes, "looser ache")
    snippet = hit["snippet"]
    assert "\x02" not in snippet and "[" not in snippet
    assert [snippet[a:b] for a, b in hit["marks"]] == ["looser", "ache"]
    assert hit["matches"] == [{"field": "feedback", "snippet": snippet, "marks": hit["marks"]}]


def test_a_match_in_two_fields_lists_both_and_shows_the_one_with_more_words(notes):
    notes("session", "amend", "1", "--text", "Late entry: lumbar stiffness worse in the morning.")
    (hit,) = hits(notes, "stiffness morning")
    assert hit["fields"] == ["subjective", "addenda"]
    assert hit["field"] == "addenda"  # it holds both words; the subjective only one
    words = [hit["snippet"][a:b].lower() for a, b in hit["marks"]]
    assert sorted(words) == ["morning", "stiffness"]
    table = search(notes, "stiffness morning").stdout
    assert "Addendum (+1)" in table and "Late entry" in table


def test_long_notes_give_a_snippet_around_the_match_on_one_line(notes):
    text = (
        " ".join(["Filler words here."] * 40)
        + "\nTrigger point in piriformis.\n"
        + (" ".join(["More filler."] * 40))
    )
    log(notes, "--date", "2026-11-22", "--assessment", text)
    (hit,) = hits(notes, "piriformis")
    assert "piriformis" in hit["snippet"] and "\n" not in hit["snippet"]
    assert hit["snippet"].startswith("…") and hit["snippet"].endswith("…")
    assert len(hit["snippet"]) < 200


def test_plain_output_has_no_markup_and_a_title(notes):
    result = search(notes, "lumbar")
    assert result.stdout.splitlines()[0] == "3 sessions, newest first"
    assert "\x1b" not in result.stdout and "[" not in result.stdout and "**" not in result.stdout
    assert "Felt much looser, less lumbar ache." in result.stdout
    assert result.stderr == ""


def test_on_a_terminal_the_matching_words_are_bold_and_underlined(notes, db_path, sh):
    from tests.test_terminal import Terminal, terminal_env

    term = Terminal(
        ["--db", str(db_path), "session", "search", "lumb*", "Jane"], terminal_env(), columns=160
    )
    assert term.finish() == 0, term.text
    text = term.buffer.decode()
    assert re.search(r"\x1b\[1;4m(\x1b\[[0-9;]*m)*Lumbar\x1b\[0m", text), text
    assert re.search(r"\x1b\[1;4m(\x1b\[[0-9;]*m)*lumbosacral\x1b\[0m", text), text
    plain = ANSI.sub("", text)
    assert "gardening" in plain and "Ken" not in plain
    # NO_COLOR keeps the emphasis (bold and underline are not colour)
    forced = sh(
        "--db", str(db_path), "session", "search", "gardening",
        env=terminal_env(FORCE_COLOR="1", NO_COLOR="1", COLUMNS="160"),
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert "\x1b[1;4mgardening\x1b[0m" in forced.stdout


def test_stored_markup_and_control_characters_are_shown_escaped(notes, db_path, sh):
    from tests.test_terminal import terminal_env

    log(notes, "--date", "2026-11-22", "--subjective", "Said [bold]hi[/bold] about sciatica.")
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE session SET objective = 'sciatica \x1b[31m red \x02x' WHERE id = 7")
    raw.commit()
    raw.close()
    forced = sh(
        "--db", str(db_path), "session", "search", "sciatica",
        env=terminal_env(FORCE_COLOR="1", COLUMNS="200"),
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert "[bold]hi[/bold]" in forced.stdout  # not read as Rich markup
    forced = sh(
        "--db", str(db_path), "session", "search", "sciatica red",
        env=terminal_env(FORCE_COLOR="1", COLUMNS="200"),
    )  # fmt: skip
    assert "Objective (+1)" in forced.stdout  # the field with both words is shown
    assert "\x1b[31m" not in forced.stdout and "<U+001B>" in forced.stdout
    (hit,) = hits(notes, "sciatica", "--no-void")
    assert {m["field"] for m in hit["matches"]} == {"subjective", "objective"}
    assert all("\x02" not in m["snippet"] for m in hit["matches"])


def test_csv_carries_the_first_field_and_a_plain_snippet(notes):
    result = search(notes, "gardening", "-f", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == "session_id,date,start_time,client_id,client,case_id,status,fields,snippet"
    assert (
        lines[1]
        == "1,2026-11-03,10:00,1,Jane Doe,1,draft,subjective,Lumbar stiffness after gardening."
    )


def test_output_file_takes_its_format_from_the_extension(notes, tmp_path):
    out = tmp_path / "hits.json"
    result = search(notes, "gardening", "-o", str(out))
    assert result.stdout == ""
    assert [h["session_id"] for h in json.loads(out.read_text())] == [1]
    assert out.stat().st_mode & 0o077 == 0


# --- the query language -------------------------------------------------------------------------


def test_every_word_must_appear_and_case_and_accents_do_not_matter(notes):
    assert ids(notes, "lumbar ache") == [5]
    assert ids(notes, "LUMBAR ACHE") == [5]
    log(notes, "--date", "2026-11-22", "--subjective", "Zoë's café visit.")
    assert ids(notes, "zoe cafe") == [7]
    assert ids(notes, "lumbar gardening ache") == []


def test_prefix_finds_the_words_a_stem_starts(notes):
    assert ids(notes, "lumb*") == [6, 5, 2, 1]  # lumbar, lumbosacral
    assert ids(notes, "lumbo*") == [2]
    assert ids(notes, "lumb") == []  # without * a word is a whole word
    assert ids(notes, "l* gard*") == [1]


def test_phrase_in_quotes_needs_its_words_together_in_order(notes):
    assert ids(notes, '"range of motion"') == [2]
    assert ids(notes, "range of motion") == [3, 2]  # the words, in any order
    assert ids(notes, '"motion range"') == [3]
    assert ids(notes, '"range of mot"*') == [2]  # a phrase whose last word is a prefix


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("post-op", [4]),  # a hyphen is not NOT
        ("C5:C6", [4]),  # a colon is not a column filter
        ("NEAR(chin tucks)", []),  # NEAR is a word here, and no note has it
        ("chin (tucks)", [4]),
        ('"chin tucks', [4]),  # an unclosed quote runs to the end
        ('chin" tucks"', [4]),
        ("chin AND tucks", []),  # AND, OR, NOT are words too: no note holds "and"
        ("chin OR zzz", []),
        ("tucks NOT heat", []),
        ("^chin", [4]),
        ("chin*tucks", [4]),  # a * inside a word separates it
        ("heat + pack", [4]),
        ("{chin}: heat", [4]),
    ],
)
def test_fts_syntax_in_what_is_typed_is_just_text(notes, text, found):
    result = search(notes, text, "-f", "json", ok=False)
    assert result.exit_code == 0, result.stderr
    assert [h["session_id"] for h in json.loads(result.stdout)] == found
    assert "Traceback" not in result.stderr and "fts5" not in result.stderr.lower()


@pytest.mark.parametrize("text", ["", "   ", '"', '""', "*", "(", "-", ":", "( ) * : -"])
def test_a_query_with_nothing_to_find_is_one_line_exit_2_nothing_written(notes, db_path, text):
    before = count_rows(db_path)
    result = search(notes, text, ok=False)
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: text: ")
    assert "lumb* (a prefix)" in line
    assert count_rows(db_path) == before


def test_a_query_too_long_is_refused_without_repeating_it(notes):
    result = search(notes, "lumbar " * 100, ok=False)
    assert result.exit_code == 2
    assert "lumbar" not in result.stderr and "at most 500 characters" in result.stderr


def test_no_hits_is_an_empty_listing_exit_0_and_a_message(notes):
    result = search(notes, "xylophone")
    assert (result.stdout, result.stderr) == ("", "No sessions match.\n")
    result = search(notes, "xylophone", "-f", "json")
    assert (json.loads(result.stdout), result.stderr) == ([], "No sessions match.\n")
    result = search(notes, "xylophone", "-f", "csv")
    assert result.stdout.splitlines() == [
        "session_id,date,start_time,client_id,client,case_id,status,fields,snippet"
    ]


def test_an_empty_practice_finds_nothing(cli):
    cli("client", "add", "Ann Lee")
    assert search(cli, "neck").stderr == "No sessions match.\n"


# --- filters ------------------------------------------------------------------------------------


def test_client_case_and_dates_narrow_the_search(notes):
    assert ids(notes, "lumbar") == [6, 5, 1]
    assert ids(notes, "lumbar", "Ken") == [6]
    assert ids(notes, "lumbar", "jane") == [5, 1]
    assert ids(notes, "lumbar", "--case", "2") == [6]
    assert ids(notes, "lumbar", "Jane", "--case", "2") == []
    assert ids(notes, "lumbar", "--from", "2026-11-04") == [6, 5]
    assert ids(notes, "lumbar", "--to", "2026-11-20") == [5, 1]
    assert ids(notes, "lumbar", "--from", "2026-11-20", "--to", "2026-11-20") == [5]
    assert ids(notes, "lumbar", "--from", "2026-11", "--to", "2026-11") == [6, 5, 1]


def test_limit_shows_the_newest_and_says_how_many_more(notes):
    result = search(notes, "lumbar", "--limit", "2", "-f", "json")
    assert [h["session_id"] for h in json.loads(result.stdout)] == [6, 5]
    assert (
        result.stderr
        == "Showing the newest 2 of 3 matching sessions (--limit N, or --from/--to, for others).\n"
    )
    assert (
        search(notes, "lumbar", "--limit", "2").stdout.splitlines()[0]
        == "2 of 3 sessions, newest first"
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--limit", "0"), "limit"),
        (("--limit", "1001"), "limit"),
        (("--limit", "ten"), "limit"),
        (("--from", "garbage"), "from"),
        (("--from", "2026-11-20", "--to", "2026-11-01"), "from"),
        (("--case", "99"), "case"),
        (("-f", "pdf"), "format"),
    ],
)
def test_bad_options_are_one_line_exit_2(notes, args, field):
    result = search(notes, "lumbar", *args, ok=False)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {field}: ") and len(result.stderr.splitlines()) == 1


def test_unknown_client_is_one_line_exit_2_with_a_hint_to_quote_the_words(notes):
    result = search(notes, "lumbar", "stiffness", ok=False)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: client: 'stiffness' — no client matches")
    assert line.endswith(
        'to search for several words, quote them: session search "lumbar stiffness"'
    )


# --- kept in step by the transactions that write notes ------------------------------------------


def test_edit_replaces_the_words_found(notes):
    assert ids(notes, "gardening") == [1]
    notes("session", "edit", "1", "--subjective", "Lumbar stiffness after hiking.")
    assert ids(notes, "gardening") == []
    assert ids(notes, "hiking") == [1]
    assert ids(notes, "lumbar stiffness") == [1]
    notes("session", "edit", "1", "--pre", "6")  # no note changed: the index stays right
    assert ids(notes, "hiking") == [1]
    assert_index_in_step(notes.db)


def test_a_voided_session_is_shown_marked_void_unless_no_void(notes):
    notes("session", "sign", "5")
    notes("session", "void", "5", "--reason", "Entered for the wrong client")
    (hit,) = hits(notes, "looser")
    assert hit["status"] == "void"
    table = search(notes, "looser").stdout
    assert re.search(r"\b5\s+2026-11-20\s+Jane Doe\s+1\s+VOID\s+Client feedback", table), table
    assert ids(notes, "looser", "--no-void") == []
    assert ids(notes, "lumbar", "--no-void") == [6, 1]
    assert "wrong" not in json.dumps(hits(notes, "looser"))  # the void reason is not searched


def test_amend_adds_the_addendum_to_what_is_found(notes):
    notes("session", "sign", "1")
    assert ids(notes, "numbness") == []
    notes("session", "amend", "1", "--text", "Late entry: numbness in the right foot.")
    notes("session", "amend", "1", "--text", "Second addendum: tingling resolved.")
    (hit,) = hits(notes, "numbness tingling")
    assert hit["fields"] == ["addenda"]
    assert ids(notes, "numbness gardening") == [1]  # words from the note and an addendum
    assert_index_in_step(notes.db)


def test_sign_and_log_with_sign_keep_the_index(notes):
    notes("session", "sign", "1", "2")
    sid = log(notes, "--date", "2026-11-25", "--subjective", "Piriformis release.", "--sign")
    assert ids(notes, "piriformis") == [sid]
    assert hits(notes, "piriformis")[0]["status"] == "signed"
    assert_index_in_step(notes.db)


def test_imported_sessions_are_found(notes, tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text(
        "client,date,pre,post,techniques,regions,subjective,plan\n"
        "Jane Doe,2026-11-05 08:00,6,3,swedish=30,neck,Whiplash follow-up,Recheck scalenes\n"
        "Ken Adams,2026-11-06,5,2,swedish=30,lower-back,Sciatica flare,Continue\n",
        encoding="utf-8",
    )
    notes("import", "sessions", str(csv), "--sign")
    assert ids(notes, "whiplash") == [7]
    assert hits(notes, "scalenes")[0]["fields"] == ["plan"]
    assert ids(notes, "sciatica", "Ken") == [8]
    assert_index_in_step(notes.db)


def test_a_dry_run_import_and_a_refused_log_leave_the_index_as_it_was(notes, tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text(
        "client,date,pre,post,techniques,regions,subjective\n"
        "Jane Doe,2026-11-05,6,3,swedish=30,neck,Whiplash follow-up\n",
        encoding="utf-8",
    )
    notes("import", "sessions", str(csv), "--dry-run")
    bad = notes(
        "session", "log", "Jane", "--pre", "11", "--post", "3", "--technique", "swedish=30",
        "--region", "neck", "--subjective", "Whiplash again", ok=False,
    )  # fmt: skip
    assert bad.exit_code == 2
    assert ids(notes, "whiplash") == []
    assert_index_in_step(notes.db)


def assert_index_in_step(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO session_fts (session_fts, rank) VALUES ('integrity-check', 1)")
        indexed = conn.execute("SELECT count(*) FROM session_fts_docsize").fetchone()[0]
        assert indexed == conn.execute("SELECT count(*) FROM session").fetchone()[0]
    finally:
        conn.close()


# --- db check and db reindex ---------------------------------------------------------------------


def check_lines(cli: Cli) -> tuple[int, dict[str, str]]:
    result = cli("db", "check", ok=False)
    found = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    return result.exit_code, found


def test_db_check_reports_the_index_in_step(notes):
    code, found = check_lines(notes)
    assert code == 0
    assert found["search index"] == "ok (6 sessions indexed, in step with the notes)"
    data = json.loads(notes("db", "check", "-f", "json").stdout)
    assert data["checks"][-1] == {
        "name": "search index", "ok": True,
        "detail": "ok (6 sessions indexed, in step with the notes)", "warning": False,
    }  # fmt: skip


def _raw(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_index_tampered_with_sqlite3_is_reported_and_reindex_fixes_it(notes, db_path):
    columns = ", ".join(migrations.SEARCH_COLUMNS)
    # Session 1 taken out of the index, as another tool could: the notes themselves unchanged.
    _raw(
        db_path,
        f"INSERT INTO session_fts (session_fts, rowid, {columns}) "
        "SELECT 'delete', * FROM session_search_text WHERE id = 1",
    )
    assert ids(notes, "gardening") == []
    code, found = check_lines(notes)
    assert code == 1
    assert found["record contents"].startswith("ok")  # the index is no record
    assert found["search index"] == (
        "its words are not those of the notes — search may miss or misplace notes; no record is "
        "affected. Rebuild it from the notes: medmassage db reindex"
    )
    result = notes("db", "reindex")
    assert result.stderr == "Search index rebuilt from the notes: 6 sessions indexed.\n"
    assert ids(notes, "gardening") == [1]
    code, found = check_lines(notes)
    assert code == 0, found
    assert query(db_path, "SELECT action, entity, entity_id FROM audit ORDER BY id DESC LIMIT 1")[
        0
    ][:] == ("reindex", "search_index", None)


def test_index_data_rows_edited_are_reported(notes, db_path):
    _raw(db_path, "DELETE FROM session_fts_data WHERE id > 10")
    code, found = check_lines(notes)
    assert code == 1 and "Rebuild it from the notes: medmassage db reindex" in found["search index"]
    notes("db", "reindex")
    assert check_lines(notes)[0] == 0
    assert ids(notes, "lumbar") == [6, 5, 1]


@pytest.mark.parametrize("trigger", sorted(migrations.SEARCH_TRIGGERS))
def test_a_search_trigger_dropped_or_replaced_is_named(notes, db_path, trigger):
    _raw(db_path, f"DROP TRIGGER {trigger}")
    code, found = check_lines(notes)
    assert code == 1
    assert found["search index"].startswith(f"trigger {trigger} missing")
    assert found["protective triggers"] == "ok"  # they are not protective triggers
    table = "addendum" if trigger.startswith("addendum") else "session"
    _raw(db_path, f"CREATE TRIGGER {trigger} AFTER INSERT ON {table} BEGIN SELECT 1; END")
    assert check_lines(notes)[1]["search index"].startswith(f"trigger {trigger} altered")
    notes("db", "reindex")
    assert check_lines(notes)[0] == 0
    assert db.trigger_problems(sqlite3.connect(db_path), triggers=migrations.SEARCH_TRIGGERS) == []


def test_a_note_changed_with_the_triggers_off_is_reported_twice(notes, db_path):
    """Another tool edits a draft's note with the search trigger dropped and put back: the
    record contents check names the session, the search index check the stale index."""
    sql = query(db_path, "SELECT sql FROM sqlite_master WHERE name = 'session_fts_update'")[0][0]
    _raw(
        db_path,
        "DROP TRIGGER session_fts_update",
        "UPDATE session SET subjective = 'Rewritten by hand' WHERE id = 1",
        sql,
    )
    code, found = check_lines(notes)
    assert code == 1
    assert found["record contents"].startswith("session 1 changed")
    assert found["search index"].startswith("its words are not those of the notes")


def test_reindex_rebuilds_an_index_whose_own_tables_were_dropped(notes, db_path):
    _raw(db_path, "DROP TABLE session_fts_data")
    code, found = check_lines(notes)
    assert code == 1 and found["search index"].startswith("it cannot be read")
    broken = search(notes, "lumbar", ok=False)
    assert broken.exit_code == 1
    assert broken.stderr.splitlines()[-1].endswith("rebuild it: medmassage db reindex")
    notes("db", "reindex")
    assert ids(notes, "lumbar") == [6, 5, 1]
    assert check_lines(notes)[0] == 0
    assert query(db_path, "PRAGMA integrity_check")[0][0] == "ok"


def test_db_reindex_on_a_right_index_changes_no_record(notes, db_path):
    before = {t: n for t, n in count_rows(db_path).items() if t not in migrations.SEARCH_TABLES}
    notes("db", "reindex")
    after = {t: n for t, n in count_rows(db_path).items() if t not in migrations.SEARCH_TABLES}
    assert after == {
        **before,
        "audit": before["audit"] + 1,
        "audit_chain": before["audit_chain"] + 1,
    }
    assert check_lines(notes)[0] == 0


# --- migration 10 and restore -------------------------------------------------------------------


def test_migration_builds_the_index_from_the_notes_already_there(tmp_path):
    from tests.test_migrations import _database_at

    path = tmp_path / "v9.db"
    _database_at(path, 9)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        """
        INSERT INTO client (id, name, created) VALUES (1, 'Jane Doe', '2026-11-01T09:00:00+00:00');
        INSERT INTO care_case (id, client_id, payer_type, opened)
            VALUES (1, 1, 'health', '2026-11-01T09:00:00+00:00');
        INSERT INTO session (id, case_id, date, minutes, pain_pre, pain_post, regions,
                             units_rule, subjective, homecare, created)
            VALUES (1, 1, '2026-11-20', 30, 6, 3, '["neck"]', 'cms', 'Whiplash follow-up',
                    'Chin tucks', '2026-11-20T10:00:00+00:00');
        UPDATE session SET status = 'signed', signed_at = '2026-11-20T11:00:00+00:00';
        INSERT INTO addendum (id, session_id, text, author, created)
            VALUES (1, 1, 'Late entry: scalenes tight', 'dana', '2026-11-21T09:00:00+00:00');
        """
    )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 9
    conn.close()
    cli = Cli(path)
    (hit,) = hits(cli, "whiplash scalenes")
    assert hit["fields"] == ["subjective", "addenda"]
    assert hits(cli, "chin")[0]["fields"] == ["homecare"]
    assert query(path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    assert_index_in_step(path)


def test_restore_of_a_backup_from_before_the_index(notes, db_path, tmp_path):
    from tests.test_migrations import _database_at

    old = tmp_path / "old.db"
    _database_at(old, 9)
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {migrations.APPLICATION_ID}")
    conn.executescript(
        """
        INSERT INTO client (id, name, created)
            VALUES (1, 'Old Client', '2026-11-01T09:00:00+00:00');
        INSERT INTO care_case (id, client_id, payer_type, opened)
            VALUES (1, 1, 'health', '2026-11-01T09:00:00+00:00');
        INSERT INTO session (id, case_id, date, minutes, pain_pre, pain_post, regions,
                             units_rule, objective, created)
            VALUES (1, 1, '2026-10-20', 30, 6, 3, '["neck"]', 'cms', 'Hypertonic levator scapulae',
                    '2026-10-20T10:00:00+00:00');
        """
    )
    conn.close()
    assert ids(notes, "lumbar") == [6, 5, 1]
    notes("db", "restore", str(old), "--yes")
    assert query(db_path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    (hit,) = hits(notes, "levator")
    assert (hit["client"], hit["fields"]) == ("Old Client", ["objective"])
    assert ids(notes, "lumbar") == []  # the index is the restored notes', not the old one's
    assert_index_in_step(db_path)
    assert query(old, "PRAGMA user_version")[0][0] == 9  # the backup is read, never written


def test_export_leaves_out_the_index_and_a_backup_keeps_it(notes, db_path, tmp_path):
    out = tmp_path / "all.json"
    notes("export", "all", "-f", "json", "-o", str(out))
    tables = json.loads(out.read_text())["tables"]
    assert not set(tables) & set(migrations.SEARCH_TABLES)
    assert "session" in tables
    copy = tmp_path / "copy.db"
    notes("db", "backup", str(copy))
    assert_index_in_step(copy)
    assert ids(Cli(copy), "gardening") == [1]


# --- completion -----------------------------------------------------------------------------------


def test_help_lists_search_with_the_session_commands(cli):
    result = cli("session", "--help")
    assert re.search(r"^\s+search\s+Search the notes", result.stdout, re.M), result.stdout


def test_completion_offers_clients_after_the_text_and_their_cases(notes, db_path):
    from tests.test_completion import _values

    assert _values(db_path, "medmassage session search lumbar Ke") == ["Ken\\ Adams"]
    assert _values(db_path, "medmassage session search lumbar Ken --case ") == ["2"]
    assert _values(db_path, "medmassage session search lumbar --no") == ["--no-void"]
    assert _values(db_path, "medmassage session sea") == ["search"]
