"""Practice-scale figures (SPEC §9): import, export and reports on 2,000 clients and 100,000
sessions, each command in a fresh process, with wall time and peak memory.

The practice is built the way a therapist moving from another system would: 2,000 clients with
a case each (every payer type), then `import sessions` of a generated CSV of 100,000 visits
through the project's own import path (the same checks as `session log`). Then `export all`
(JSON and CSV), `report monthly`, `report due`, `progress`, `summary -f json`, `db check` (the
audit chain verified end to end) and `db backup` run on it.

    python bench/scale.py                    # 100,000 sessions
    python bench/scale.py --sessions 10000   # a quicker look
    python bench/scale.py --keep /tmp/big    # and leave the practice there, to profile

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
MEMORY_BUDGET_MB = 150

PAYERS = ("health", "workers-comp", "auto-pip", "fsa-hsa", "self-pay")


def build_clients(db: Path, clients: int, today: date) -> list[str]:
    """Clients and one open case each, straight into SQLite (the import needs cases first)."""
    from medmassage.db import connect

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
    options = parser.parse_args()
    from medmassage.importing import sample_rows, write_import_csv

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
            rows = write_import_csv(sample_rows(names, options.sessions, end=today), f)
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
        ):
            seconds, peak = run(args, env, work)
            figures.append((label, seconds, peak))
        db_mb = db.stat().st_size / 1e6
    print(f"database after import: {db_mb:.0f} MB")
    print(f"{'command':22} {'seconds':>8} {'budget':>7} {'peak MB':>8}")
    missed = False
    for label, seconds, peak in figures:
        budget = BUDGETS.get(label)
        over = (budget is not None and seconds > budget) or peak > MEMORY_BUDGET_MB
        missed |= over
        shown = f"{budget:7.1f}" if budget else "      -"
        print(f"{label:22} {seconds:8.2f} {shown} {peak:8.0f}{'  OVER' if over else ''}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
