"""`medmassage export all`: every table out, as JSON or CSV, through the real CLI and real files.

The export must be a faithful copy (every table, every row, values as stored), owner-only and
atomic (no half-written file, ever), and streamed: memory stays flat however many sessions.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import stat
import sys
import time
from pathlib import Path

import pytest

from medmassage.store import migrations
from tests.conftest import Cli, count_rows, peak_rss, query

NOTE = "Says \"it's better\" — Zoë's neck: rotation ↑ 10°,\nheadaches 2×/week;\nsleeps 6 h. 頸部"
ADDENDUM = "Late entry: ice pack 10 min — left out of the note."


def tables_of(db: Path) -> list[str]:
    return [
        r[0]
        for r in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith("sqlite_") and r[0] not in migrations.SEARCH_TABLES
    ]


def columns_of(db: Path, table: str) -> list[str]:
    return [r["name"] for r in query(db, f'PRAGMA table_info("{table}")')]


def db_rows(db: Path, table: str) -> list[dict]:
    """The table's rows as stored, in primary-key order (the export's order)."""
    info = query(db, f'PRAGMA table_info("{table}")')
    key = [r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"]] or ["rowid"]
    return [dict(r) for r in query(db, f'SELECT * FROM "{table}" ORDER BY {", ".join(key)}')]


def build_full_practice(cli: Cli) -> None:
    """A row in every table: profile, fees, a report rule, a custom technique, two clients,
    cases with diagnoses, an intake with goals and measures, signed/draft/void sessions, an
    addendum, a recorded progress summary, a claim rule and a claim exported as an 837P and,
    through all of it, the audit log."""
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--address", "412 Cedar St\nOlympia WA 98501", "--fee", "97140=45", "--fee", "97124=40.50",
        "--report-every", "workers-comp=6/30",
    )  # fmt: skip
    cli("catalog", "add-technique", "cupping", "--cpt", "97140")
    cli(
        "client", "add", "Zoë Nuñez-Ørsted", "--dob", "1980-04-02", "--sex", "female",
        "--phone", "360-555-0100", "--email", "zoe@example.org",
    )  # fmt: skip
    cli("client", "add", "Bob Smith", "--dob", "1975-01-01")
    cli(
        "case", "open", "Zoë", "--payer", "health", "--payer-name", "Regence",
        "--dx", "M54.2", "--dx", "M62.830", "--referrer", "Alan Brooks, DC",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
        "--area", "neck",
    )  # fmt: skip
    cli(
        "case", "open", "Bob", "--payer", "self-pay", "--dx", "M54.50", "--referrer", "Dr Ames",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "6",
    )  # fmt: skip
    cli(
        "intake", "Zoë", "--complaint", "Neck pain at the desk", "--pain", "7",
        "--region", "neck", "--date", "2026-11-02", "--consent-date", "2026-11-02",
        "--goal", "Sit at desk 2 h | 2 h | 2026-12-31", "--goal", "Turn head to drive",
        "--ndi", "40", "--psfs", "drive=3",
    )  # fmt: skip
    cli("measure", "add", "Zoë", "--date", "2026-11-20", "--nprs", "4", "--ndi", "30")
    cli("goal", "add", "Zoë", "Sleep through the night")
    cli(
        "session", "log", "Zoë", "--date", "2026-11-03 14:30", "--pre", "7", "--post", "4",
        "--technique", "myofascial-release=30", "--technique", "cupping=15",
        "--region", "neck", "--subjective", NOTE, "--sign",
    )  # fmt: skip
    cli(
        "session", "log", "Zoë", "--date", "2026-11-06", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck", "--sign",
    )  # fmt: skip
    cli(
        "session", "log", "Zoë", "--date", "2026-11-07", "--pre", "5", "--post", "5",
        "--technique", "swedish=30", "--region", "neck", "--sign",
    )  # fmt: skip
    cli("session", "void", "3", "--reason", "Entered for the wrong client")
    cli("session", "amend", "1", "--text", ADDENDUM)
    cli(
        "session", "log", "Bob", "--date", "2026-11-10", "--pre", "5", "--post", "2",
        "--technique", "deep-tissue=45", "--region", "lower-back",
    )  # fmt: skip
    cli("summary", "Zoë", "-f", "json", "-o", str(cli.db.parent / "summary.json"))
    # A claim sent as an 837P: claim, claim_line, claim_rule and x12_interchange rows.
    cli(
        "profile", "set", "--tax-id", "91-1234567", "--tax-id-kind", "ein",
        "--phone", "360-555-0142", "--address", "412 Cedar St\nOlympia WA 98501-2233",
        "--claim-modifier", "health=59", "--submitter-id", "CSMM0042",
        "--receiver-id", "CLEARHOUSE1", "--receiver-name", "Example Clearinghouse",
    )  # fmt: skip
    cli("client", "edit", "Zoë", "--address", "18 Harbor View Rd, Bellingham, WA 98226")
    cli(
        "case", "edit", "1", "--policy", "RBS88120455", "--payer-id", "00934",
        "--payer-address", "PO Box 30271, Salt Lake City, UT 84130",
    )  # fmt: skip
    cli("claim", "create", "Zoë")
    cli("claim", "export", "1", "-o", str(cli.db.parent / "claims.837"))


@pytest.fixture
def full(cli: Cli) -> Cli:
    build_full_practice(cli)
    return cli


# --- JSON -------------------------------------------------------------------------------------


def test_json_export_holds_every_table_with_every_row(full: Cli, db_path: Path, tmp_path: Path):
    out = tmp_path / "practice.json"
    result = full("export", "all", "-f", "json", "-o", str(out))
    assert result.stdout == ""  # data went to the file; the message to stderr
    tables, schema = len(tables_of(db_path)), migrations.LATEST_VERSION
    assert re.search(
        rf"Exported \d+ rows from {tables} tables \(schema {schema}\) as json", result.stderr
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data)[:4] == ["format", "version", "schema_version", "exported"]
    assert (data["format"], data["version"]) == ("medmassage-export", 1)
    assert data["schema_version"] == query(db_path, "PRAGMA user_version")[0][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", data["exported"])

    counts = count_rows(db_path)
    assert set(data["tables"]) == set(tables_of(db_path))
    assert {t: len(rows) for t, rows in data["tables"].items()} == {
        t: counts[t] for t in data["tables"]
    }
    # Every kind of row is really there (the practice was built to have one of each).
    assert all(counts[t] > 0 for t in data["tables"]), counts
    # Parents first: a reader can load the tables in file order.
    order = list(data["tables"])
    assert order.index("client") < order.index("care_case") < order.index("session")
    assert order.index("care_case") < order.index("authorization")
    assert order.index("session") < order.index("addendum")


def test_json_export_values_round_trip_exactly(full: Cli, db_path: Path, tmp_path: Path):
    out = tmp_path / "practice.json"
    full("export", "all", "-o", str(out))  # .json: the format is inferred
    data = json.loads(out.read_text(encoding="utf-8"))
    for table in tables_of(db_path):
        assert data["columns"][table] == columns_of(db_path, table), table
        assert data["tables"][table] == db_rows(db_path, table), table
        for row in data["tables"][table]:
            assert list(row) == data["columns"][table]

    tables = data["tables"]
    note = tables["session"][0]["subjective"]
    assert note == query(db_path, "SELECT subjective FROM session WHERE id = 1")[0][0]
    assert all(part in note for part in ('"it\'s better"', "Zoë", "\n", "頸部"))
    assert tables["client"][0]["name"] == "Zoë Nuñez-Ørsted"
    assert tables["addendum"][0]["text"] == ADDENDUM
    assert tables["fee"] == [{"cpt": "97124", "cents": 4050}, {"cpt": "97140", "cents": 4500}]
    assert tables["custom_technique"][0]["name"] == "cupping"
    assert tables["report_rule"] == [
        {"payer_type": "workers-comp", "every_visits": 6, "every_days": 30}
    ]
    void = [s for s in tables["session"] if s["status"] == "void"]
    assert [s["void_reason"] for s in void] == ["Entered for the wrong client"]
    assert len(tables["progress_report"]) == 1
    assert {g["text"] for g in tables["goal"]} >= {"Sit at desk 2 h", "Sleep through the night"}
    assert {m["kind"] for m in tables["measure"]} == {"ndi", "psfs", "nprs"}
    assert tables["profile"][0]["address"] == "412 Cedar St\nOlympia WA 98501-2233"
    # JSON-list columns stay the JSON text they are stored as (documented in export.py).
    assert tables["session"][0]["regions"] == '["neck"]'
    assert json.loads(tables["authorization"][0]["areas_ordered"]) == ["neck"]
    # Unicode is written as itself, not as \u escapes.
    assert "Zoë Nuñez-Ørsted" in out.read_text(encoding="utf-8")


def test_json_export_to_stdout_parses(full: Cli, db_path: Path):
    result = full("export", "all")
    data = json.loads(result.stdout)
    assert data["tables"]["client"][0]["name"] == "Zoë Nuñez-Ørsted"
    assert "Exported" in result.stderr
    assert "Zoë" not in result.stderr  # messages carry no client data
    assert {t: len(r) for t, r in data["tables"].items()} == {
        t: n
        for t, n in count_rows(db_path).items()
        if not t.startswith("sqlite_") and t not in migrations.SEARCH_TABLES
    }


def test_export_file_is_owner_only_and_replaces_atomically(full: Cli, tmp_path: Path):
    out = tmp_path / "practice.json"
    out.write_text("old backup", encoding="utf-8")
    out.chmod(0o644)
    full("export", "all", "-o", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    json.loads(out.read_text(encoding="utf-8"))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_empty_database_exports_its_empty_tables(cli: Cli, db_path: Path):
    data = json.loads(cli("export", "all").stdout)
    assert set(data["tables"]) == set(tables_of(db_path))
    # Only the practice's own id row (audit key lookup) and the shipped note templates and
    # phrases (M011, audited as added) exist before anything is recorded.
    shipped = {t: len(query(db_path, f"SELECT id FROM {t}")) for t in ("note_template", "phrase")}
    assert all(shipped.values())
    audited = sum(shipped.values())
    assert {t: len(r) for t, r in data["tables"].items() if r} == {
        "practice_meta": 1, **shipped, "audit": audited, "audit_chain": audited,
    }  # fmt: skip
    assert data["columns"]["client"][:2] == ["id", "name"]


def test_a_table_from_a_later_migration_is_exported_too(practice: Cli, db_path: Path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE zz_later (id INTEGER PRIMARY KEY, note TEXT, blob BLOB)")
    conn.execute("INSERT INTO zz_later VALUES (1, 'x', x'00ff')")
    conn.commit()
    conn.close()
    data = json.loads(practice("export", "all").stdout)
    assert list(data["tables"])[-1] == "zz_later"
    assert data["tables"]["zz_later"] == [{"id": 1, "note": "x", "blob": "AP8="}]  # base64


# --- CSV --------------------------------------------------------------------------------------


def test_csv_export_writes_one_owner_only_file_per_table(full: Cli, db_path: Path, tmp_path):
    folder = tmp_path / "practice-csv"
    result = full("export", "all", "-f", "csv", "-o", str(folder))
    assert result.stdout == ""
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    tables = tables_of(db_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{t}.csv" for t in tables] + ["manifest.json", "sessions-import.csv"]
    )
    counts = count_rows(db_path)
    for table in tables:
        path = folder / f"{table}.csv"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, table
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == columns_of(db_path, table), table
        assert len(rows) - 1 == counts[table], table
        expected = [
            ["" if v is None else str(v) for v in r.values()] for r in db_rows(db_path, table)
        ]
        assert rows[1:] == expected, table
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "medmassage-export-csv"
    assert manifest["schema_version"] == migrations.LATEST_VERSION
    assert {t: m["rows"] for t, m in manifest["tables"].items()} == {t: counts[t] for t in tables}


def test_csv_keeps_notes_with_quotes_newlines_and_unicode(full: Cli, tmp_path: Path, db_path):
    folder = tmp_path / "out"
    full("export", "all", "-f", "csv", "-o", str(folder))
    with (folder / "session.csv").open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    stored = query(db_path, "SELECT subjective FROM session WHERE id = 1")[0][0]
    assert first["subjective"] == stored
    assert '"it\'s better"' in stored and "\n" in stored and "頸部" in stored


def test_csv_export_into_an_existing_folder_replaces_its_files(full: Cli, tmp_path: Path):
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "client.csv").write_text("stale", encoding="utf-8")
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    full("export", "all", "-f", "csv", "-o", str(folder))
    assert (folder / "client.csv").read_text(encoding="utf-8").startswith("id,name,")
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_failed_csv_export_leaves_no_files(full: Cli, tmp_path: Path, monkeypatch):
    from medmassage.exchange import export

    real = export._rows

    def failing(conn, table):
        if table == "session":
            raise sqlite3.OperationalError("disk I/O error")
        yield from real(conn, table)

    monkeypatch.setattr(export, "_rows", failing)
    folder = tmp_path / "out"
    result = full("export", "all", "-f", "csv", "-o", str(folder), ok=False)
    assert result.exit_code == 1
    assert not folder.exists()  # created by the export, removed again: nothing half-done

    existing = tmp_path / "kept"
    existing.mkdir()
    result = full("export", "all", "-f", "csv", "-o", str(existing), ok=False)
    assert result.exit_code == 1
    assert list(existing.iterdir()) == []


# --- nothing half-written -----------------------------------------------------------------------


def test_a_failed_json_export_leaves_the_old_file_and_no_temp(tmp_path: Path):
    from medmassage.errors import RuntimeProblem
    from medmassage.exchange.export import stream_to_file

    out = tmp_path / "practice.json"
    out.write_text("previous export", encoding="utf-8")

    def half_then_fail(stream):
        stream.write('{"format": "medmassage-export", "tables": {')
        raise RuntimeProblem("interrupted")

    with pytest.raises(RuntimeProblem):
        stream_to_file(out, half_then_fail)
    assert out.read_text(encoding="utf-8") == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["practice.json"]


def test_a_full_disk_is_a_runtime_error_not_a_half_file(tmp_path: Path):
    import errno

    from medmassage.errors import RuntimeProblem
    from medmassage.exchange.export import stream_to_file

    def disk_full(stream):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(RuntimeProblem, match="No space left"):
        stream_to_file(tmp_path / "p.json", disk_full)
    assert list(tmp_path.iterdir()) == []


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-f", "xml"), "format: 'xml' — json or csv"),
        (("-f", "csv"), "give -o DIR"),
        (("-o", "{tmp}/practice.txt"), "name the file .json, or give -f json|csv"),
        (("-o", "{tmp}/missing/practice.json"), "cannot write there"),
        (("-o", "{tmp}/afile/practice.json"), "cannot write there"),
        (("-o", "{tmp}/afolder"), "name the file .json"),  # no .json suffix, no -f
        (("-f", "json", "-o", "{tmp}/afolder"), "cannot write there"),
        (("-f", "csv", "-o", "{tmp}/afile"), "is a file"),
        (("-f", "json", "-o", "/"), "give a file name"),
        (("-f", "csv", "-o", "{tmp}/missing/out"), "cannot write there"),
    ],
)
def test_bad_export_input_is_one_line_exit_2_and_writes_nothing(
    practice: Cli, tmp_path: Path, args, message
):
    (tmp_path / "afile").write_text("keep", encoding="utf-8")
    (tmp_path / "afolder").mkdir()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "data" not in p.parts)
    result = practice("export", "all", *(a.format(tmp=tmp_path) for a in args), ok=False)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "data" not in p.parts)
    assert after == before
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "keep"


def test_export_help_names_both_commands(cli: Cli):
    out = cli("export", "--help").stdout
    assert "all" in out and "fhir" in out
    assert "csv" in cli("export", "all", "--help").stdout
    assert "FHIR" in cli("export", "fhir", "--help").stdout


# --- streaming: large practices, flat memory ---------------------------------------------------

LONG_NOTE = (
    "Hypertonic upper trapezius and levator scapulae L>R; active trigger points at the "
    "suboccipitals; cervical rotation L 45°, R 55°; guarding on lateral flexion. "
) * 4


def make_large_practice(db: Path, sessions: int, per_client: int = 50) -> None:
    """A synthetic practice written straight into SQLite (fast): one case per client,
    `per_client` signed sessions each with long SOAP notes, two technique and CPT lines, and an
    audit row per session."""
    from medmassage.store.db import connect

    conn, _ = connect(db)
    stamp = "2026-11-01T09:00:00-08:00"
    clients = max(1, sessions // per_client)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO client (id, name, dob, created) VALUES (?, ?, '1980-01-01', ?)",
        [(i, f"Client Nº{i} Ærø", stamp) for i in range(1, clients + 1)],
    )
    conn.executemany(
        "INSERT INTO care_case (id, client_id, payer_type, opened) VALUES (?, ?, 'health', ?)",
        [(i, i, stamp) for i in range(1, clients + 1)],
    )
    conn.executemany(
        "INSERT INTO authorization (id, case_id, prescriber, written, valid_from, valid_until, "
        "visits, created) VALUES (?, ?, 'Dr Ames', '2026-01-01', '2026-01-01', '2026-12-31', "
        "999, ?)",
        [(i, i, stamp) for i in range(1, clients + 1)],
    )
    conn.executemany(
        "INSERT INTO diagnosis (case_id, position, code, description) "
        "VALUES (?, 1, 'M54.2', 'Cervicalgia')",
        [(i,) for i in range(1, clients + 1)],
    )
    rows = []
    for s in range(1, sessions + 1):
        day = f"2026-{1 + s % 11:02d}-{1 + s % 28:02d}"
        rows.append((s, 1 + (s - 1) % clients, day, s % 11, (s + 3) % 11, LONG_NOTE, LONG_NOTE))
    conn.executemany(
        "INSERT INTO session (id, case_id, date, start_time, minutes, pain_pre, pain_post, "
        "regions, subjective, objective, units_rule, created) "
        "VALUES (?, ?, ?, '10:00', 60, ?, ?, '[\"neck\"]', ?, ?, 'cms', '2026-11-01')",
        rows,
    )
    conn.executemany(
        "INSERT INTO session_technique (session_id, position, technique, cpt, minutes) "
        "VALUES (?, ?, ?, ?, 30)",
        [
            (s, p, t, c)
            for s in range(1, sessions + 1)
            for p, t, c in ((1, "myofascial-release", "97140"), (2, "swedish", "97124"))
        ],
    )
    conn.executemany(
        "INSERT INTO session_cpt (session_id, position, cpt, minutes, units) "
        "VALUES (?, ?, ?, 30, 2)",
        [(s, p, c) for s in range(1, sessions + 1) for p, c in ((1, "97140"), (2, "97124"))],
    )
    conn.execute("UPDATE session SET status = 'signed', signed_at = created")
    conn.executemany(
        "INSERT INTO audit (at, actor, action, entity, entity_id) VALUES (?, 'dana', 'log', "
        "'session', ?)",
        [(stamp, s) for s in range(1, sessions + 1)],
    )
    conn.execute("COMMIT")
    conn.close()


def test_a_3000_session_export_is_fast_and_parses(db_path: Path, tmp_path: Path, cli: Cli):
    make_large_practice(db_path, 3000)
    out = tmp_path / "big.json"
    started = time.perf_counter()
    cli("export", "all", "-o", str(out))
    elapsed = time.perf_counter() - started
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["tables"]["session"]) == 3000
    assert len(data["tables"]["session_cpt"]) == 6000
    assert data["tables"]["session"][2999]["subjective"] == LONG_NOTE
    assert elapsed < 10, f"{elapsed:.1f} s for 3,000 sessions"  # ~0.3 s here; SPEC §9: 100k ≤ 10 s

    folder = tmp_path / "big-csv"
    cli("export", "all", "-f", "csv", "-o", str(folder))
    with (folder / "session_technique.csv").open(encoding="utf-8", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == 6001


def test_the_json_exporter_writes_as_it_reads(db_path: Path):
    """Rows go out in batches as the cursor yields them, not as one document at the end."""
    import io

    from medmassage.exchange.export import write_json
    from medmassage.store.db import connect

    make_large_practice(db_path, 3000)
    writes: list[int] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(len(text))
            return super().write(text)

    out = Recorder()
    conn, _ = connect(db_path)
    try:
        write_json(conn, out)
    finally:
        conn.close()
    json.loads(out.getvalue())
    total = sum(writes)
    assert total > 4_000_000  # the long notes make the sessions table alone several MB
    assert max(writes) < total / 3  # no single write of the whole table, let alone the file


@pytest.mark.skipif(sys.platform == "win32", reason="resource module is POSIX-only")
def test_memory_stays_flat_exporting_20000_sessions(tmp_path: Path):
    small, big = tmp_path / "small.db", tmp_path / "big.db"
    make_large_practice(small, 50)
    make_large_practice(big, 20_000)
    baseline = peak_rss("--db", str(small), "export", "all", "-o", str(tmp_path / "s.json"))
    out = tmp_path / "big.json"
    peak = peak_rss("--db", str(big), "export", "all", "-o", str(out))
    size = out.stat().st_size
    assert size > 30_000_000  # the document itself is tens of MB …
    assert peak < 100 * 2**20, f"peak RSS {peak / 2**20:.0f} MB"
    # … but the exporter holds only a batch: it grows by far less than the file's size.
    assert peak - baseline < 25 * 2**20, f"{(peak - baseline) / 2**20:.0f} MB over baseline"
    peak_csv = peak_rss("--db", str(big), "export", "all", "-f", "csv", "-o", str(tmp_path / "c"))
    assert peak_csv - baseline < 25 * 2**20
    with out.open(encoding="utf-8") as f:
        assert len(json.load(f)["tables"]["session"]) == 20_000


def test_the_practice_file_itself_is_never_an_export_target(tmp_path: Path):
    db = tmp_path / "practice.json"  # a database that happens to be named like an export
    cli = Cli(db)
    cli("client", "add", "Zoë Nuñez-Ørsted")
    for args in (("-o", str(db)), ("-f", "json", "-o", f"{db}-wal"), ("-f", "csv", "-o", str(db))):
        result = cli("export", "all", *args, ok=False)
        assert result.exit_code == 2
        assert "is the practice database itself" in result.stderr
    result = cli("export", "fhir", "Zoë", "-o", str(db), ok=False)
    assert result.exit_code == 2
    assert count_rows(db)["client"] == 1


def test_the_real_command_streams_to_stdout_and_exits_2_on_bad_input(practice: Cli, sh):
    db = str(practice.db)
    done = sh("--db", db, "export", "all")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tables"]["client"][0]["name"] == "Jane Doe"
    bad = sh("--db", db, "export", "all", "-f", "xml")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.strip() == "error: format: 'xml' — json or csv"
    bad = sh("--db", db, "export", "fhir", "Nobody")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
