"""Practice-scale figures (SPEC §9): import, export and reports on 2,000 clients and 100,000
sessions, each command in a fresh process, with wall time and peak memory.

The practice is built the way a therapist moving from another system would: 2,000 clients with
a case each (every payer type), then `import sessions` of a generated CSV of 100,000 visits
through the project's own import path (the same checks as `session log`). Then `export all`
(JSON and CSV), `report monthly`, `report due`, `progress`, `summary -f json`, `db check` (the
audit chain verified end to end), `db backup` and `session search` (the notes' full-text index:
a word most notes hold, one in every third, a phrase, prefixes, one client) run on it.

The generated notes repeat a few sentences, so the index sees a small vocabulary;
`--varied-notes` adds to each visit an objective note of 20–60 words drawn from 20,000 made-up
words (Zipf-distributed, as words in text are), so the index and the prefixes are closer to ten
years of real notes. Compare the import's cost with and without the index on one machine by
running both trees in turn.

    python bench/scale.py                    # 100,000 sessions
    python bench/scale.py --sessions 10000   # a quicker look
    python bench/scale.py --keep /tmp/big    # and leave the practice there, to profile
    python bench/scale.py --varied-notes     # notes with a large vocabulary

Peak memory is the command's own high-water mark (VmHWM from /proc on Linux; ru_maxrss
elsewhere), read inside the command's process: a parent's getrusage(RUSAGE_CHILDREN) on Linux
can report the parent's size for a forked child.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from measure import chain_direct_writes, practice_env, run  # bench/measure.py (on sys.path)

BUDGETS = {  # seconds, SPEC §9
    "import sessions": 20.0,
    "export all -f json": 10.0,
    "report monthly": 0.5,
    "progress": 0.5,
}
SEARCHES = (  # (label, query and filters): the generated notes hold these words
    ("search: word in 1/3", ["stiffness"]),
    ("search: word in all", ["continue"]),
    ('search: "phrase"', ['"range of motion"']),
    ("search: prefix sti*", ["sti*"]),
    ("search: prefix c*", ["c*"]),
    ("search: 2 words", ["sore left"]),
    ("search: one client", ["stiffness", "Client 0001 Example"]),
)
SEARCH_BUDGET = 0.2  # SPEC §9
MEMORY_BUDGET_MB = 150

PAYERS = ("health", "workers-comp", "auto-pip", "fsa-hsa", "self-pay")


def build_clients(db: Path, clients: int, today: date) -> list[str]:
    """Clients and one open case each, straight into SQLite (the import needs cases first)."""
    from medmassage.store.db import connect

    conn, _ = connect(db)
    stamp = f"{today.isoformat()}T09:00:00+00:00"
    rx_date = (today - timedelta(days=3650)).isoformat()
    names = [f"Client {i:04d} Example" for i in range(1, clients + 1)]
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO profile (id, name, credentials, license_number, npi, updated) "
        "VALUES (1, 'Dana Whitfield', 'LMT', 'MA60512345', '1234567893', ?)",
        (stamp,),
    )
    conn.executemany(
        "INSERT INTO client (id, name, dob, created) VALUES (?, ?, '1980-01-01', ?)",
        [(i, name, stamp) for i, name in enumerate(names, start=1)],
    )
    conn.executemany(
        "INSERT INTO care_case (id, client_id, payer_type, injury_date, opened) "
        "VALUES (?, ?, ?, ?, ?)",
        [(i, i, PAYERS[i % 5], rx_date, stamp) for i in range(1, clients + 1)],
    )
    conn.executemany(
        "INSERT INTO authorization (case_id, prescriber, written, valid_from, valid_until, "
        "visits, frequency, created) VALUES (?, 'Dr Ames', ?, ?, ?, 999, '2x/week', ?)",
        [(i, rx_date, rx_date, today.isoformat(), stamp) for i in range(1, clients + 1)],
    )
    conn.executemany(
        "INSERT INTO diagnosis (case_id, position, code, description) "
        "VALUES (?, 1, 'M54.50', 'Low back pain, unspecified')",
        [(i,) for i in range(1, clients + 1)],
    )
    conn.execute("COMMIT")
    conn.close()
    return names


def varied(rows, seed: int = 0):
    """The rows with an objective note of 20–60 words from a made-up vocabulary of 20,000
    words, Zipf-distributed (a few words very common, most rare)."""
    import random

    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ter", "vas", "quo", "ne", "dri", "sul", "pha", "gen", "ro"]
    vocabulary = sorted(
        {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(40_000)}
    )[:20_000]
    rng.shuffle(vocabulary)
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    for row in rows:
        words = rng.choices(vocabulary, weights, k=rng.randint(20, 60))
        yield {**row, "objective": " ".join(words).capitalize() + "."}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=2_000)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="FOLDER",
        help="build the practice in FOLDER (new or empty) and leave it there, to profile "
        "one command on it afterwards (MEDMASSAGE_DB=FOLDER/practice.db, "
        "MEDMASSAGE_CONFIG_DIR=FOLDER/config)",
    )
    parser.add_argument(
        "--varied-notes",
        action="store_true",
        help="add an objective note of 20-60 words from a 20,000-word vocabulary to each visit",
    )
    options = parser.parse_args()
    from medmassage.exchange.import_sessions import sample_rows, write_import_csv

    today = date.today()
    if options.keep is not None:
        options.keep.mkdir(parents=True, exist_ok=True)
        if any(options.keep.iterdir()):
            parser.error(f"--keep {options.keep}: the folder is not empty")
        place = contextlib.nullcontext(str(options.keep))
    else:
        place = tempfile.TemporaryDirectory(prefix="medmassage-scale-")
    with place as folder:
        work = Path(folder)
        db = work / "practice.db"
        env = practice_env(work)
        os.environ["MEDMASSAGE_CONFIG_DIR"] = env["MEDMASSAGE_CONFIG_DIR"]
        names = build_clients(db, options.clients, today)
        chain_direct_writes(db)  # the clients and cases written straight into SQLite
        with open(work / "import.csv", "w", encoding="utf-8", newline="") as f:
            generated = sample_rows(names, options.sessions, end=today)
            rows = write_import_csv(varied(generated) if options.varied_notes else generated, f)
        size = (work / "import.csv").stat().st_size / 1e6
        print(f"{options.clients} clients, {rows} sessions to import ({size:.0f} MB CSV)")
        figures = []
        for label, args in (
            ("import sessions", ["import", "sessions", "import.csv", "--sign"]),
            ("export all -f json", ["export", "all", "-f", "json", "-o", "all.json"]),
            ("export all -f csv", ["export", "all", "-f", "csv", "-o", "all-csv"]),
            ("report monthly", ["report", "monthly", "-f", "json"]),
            ("report due", ["report", "due", "-f", "json"]),
            ("progress", ["progress", "1", "-f", "json"]),
            ("summary -f json", ["summary", "1", "-f", "json"]),
            ("db check", ["db", "check"]),
            ("db backup", ["db", "backup", "backup.db"]),
            *((label, ["session", "search", *query, "-f", "json"]) for label, query in SEARCHES),
        ):
            if label.startswith("search"):  # the median of 5: one run is mostly start-up noise
                runs = sorted(run(args, env, work) for _ in range(5))
                seconds, peak = runs[2][0], max(r[1] for r in runs)
            else:
                seconds, peak = run(args, env, work)
            figures.append((label, seconds, peak))
        db_mb = db.stat().st_size / 1e6
        index_mb = _index_mb(db)
    print(
        f"database after import: {db_mb:.0f} MB, of which the notes' search index {index_mb:.1f} MB"
    )
    print(f"{'command':22} {'seconds':>8} {'budget':>7} {'peak MB':>8}")
    missed = False
    for label, seconds, peak in figures:
        budget = SEARCH_BUDGET if label.startswith("search") else BUDGETS.get(label)
        over = (budget is not None and seconds > budget) or peak > MEMORY_BUDGET_MB
        missed |= over
        shown = f"{budget:7.1f}" if budget else "      -"
        print(f"{label:22} {seconds:8.2f} {shown} {peak:8.0f}{'  OVER' if over else ''}")
    return 1 if missed else 0


def _index_mb(db: Path) -> float:
    """The pages the search index's tables take (dbstat, when this SQLite has it)."""
    import sqlite3

    from medmassage.store.migrations import SEARCH_TABLES

    conn = sqlite3.connect(db)
    try:
        marks = ", ".join("?" for _ in SEARCH_TABLES)
        row = conn.execute(
            f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})", SEARCH_TABLES
        ).fetchone()
        return (row[0] or 0) / 1e6
    except sqlite3.Error:
        return float("nan")
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
