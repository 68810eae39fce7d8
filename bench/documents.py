"""Time the insurer documents (SPEC §9): `summary` → PDF for 100 visits ≤ 0.6 s, `summary
--all-due` ≤ 0.12 s per PDF after the first (fonts parsed once per process); the other
documents (superbill, `notes` for 100 visits) ≤ 1 s.

Builds, in a temp folder, a practice of 50 clients whose progress reports are all due (12 visits
each, through the project's own domain functions, so the same validation runs) plus one client
with 100 visits, then times the commands in fresh processes. Exit code 1 if a budget is missed.

    python bench/documents.py            # 5 runs of each single-document command
    python bench/documents.py --runs 9
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import (  # bench/measure.py (the script's folder is on sys.path)
    practice_env,
    wall_seconds,
)

BUDGET_ONE = 1.0
BUDGET_SUMMARY_100_PDF = 0.6
BUDGET_ALL_DUE_PER_PDF = 0.12  # each PDF after the first: (all-due − one summary) / (PDFs − 1)

PRACTICE = """
from datetime import date, timedelta
import sys
from medmassage.record.cases import CaseInput, find_case, open_case
from medmassage.record.clients import add_client, find_client
from medmassage.store.db import connect
from medmassage.record.intake import IntakeInput, record_intake
from medmassage.record.profile import set_profile
from medmassage.record.sessions import SessionInput, log_session

conn, _ = connect(sys.argv[1])
today = date.today()
set_profile(conn, {"name": "Dana Whitfield", "credentials": "LMT", "license_number": "MA60512345",
                   "npi": "1234567893", "address": "412 Cedar St, Bellingham, WA"},
            ["97140=45", "97124=38"], [])

def patient(name, visits, start):
    client = find_client(conn, str(add_client(conn, {"name": name, "dob": "1980-01-01"})))
    case_id = open_case(conn, client, CaseInput(
        payer="health", payer_name="Regence", dx=["M54.50", "M62.830"], referrer="Dr B",
        rx_date=start.isoformat(), rx_until=(today + timedelta(days=30)).isoformat(),
        visits=str(visits + 2), frequency="2x/week"))
    case = find_case(conn, case_id)
    record_intake(conn, case, IntakeInput(complaint="Low back pain", pain="7",
        regions=["lower-back"], day=start, goals=["Sit 60 min | 60 min"]))
    for i in range(visits):
        log_session(conn, case, SessionInput(
            pre=str(7 - i % 5), post=str(3 - i % 3), regions=["lower-back"],
            techniques=["myofascial-release=25", "swedish=20"],
            day=start + timedelta(days=3 * i), sign=True,
            notes={"assessment": "Less guarding; sitting tolerance up.",
                   "plan": "Continue 2x/week."}))

for n in range(50):
    patient(f"Client {n:02d} Example", 12, today - timedelta(days=40))
patient("Hundred Visits", 100, today - timedelta(days=300))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medmassage-bench-docs-") as folder:
        work = Path(folder)
        db = work / "practice.db"
        env = practice_env(work)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", PRACTICE, str(db)], env=env, check=True)
        print(f"practice built in {time.perf_counter() - started:.1f} s (51 clients, 700 visits)")
        cli = [sys.executable, "-m", "medmassage"]
        rows = []
        since = ["--from", "2000-01-01"]
        every = [*since, "--preview"]
        cases = [
            ("summary (12 visits) -o PDF", ["summary", "Client 00", "-o", "one.pdf", "--preview"]),
            ("summary (100 visits) -o PDF", ["summary", "Hundred", *every, "-o", "h.pdf"]),
            ("summary (100 visits) -f json", ["summary", "Hundred", *every, "-f", "json"]),
            ("summary (100 visits) -o HTML", ["summary", "Hundred", *every, "-o", "h.html"]),
            ("superbill (100 visits) -o PDF", ["superbill", "Hundred", *since, "-o", "b.pdf"]),
            ("notes (100 visits) -o PDF", ["notes", "Hundred", *since, "-o", "n.pdf"]),
        ]  # fmt: skip
        medians = {}
        for label, argv in cases:
            times = [wall_seconds(cli + argv, env, work) for _ in range(args.runs)]
            budget = BUDGET_SUMMARY_100_PDF if label.startswith("summary (100") else BUDGET_ONE
            rows.append((label, statistics.median(times), max(times), budget))
            medians[label] = statistics.median(times)
        all_due = wall_seconds([*cli, "summary", "--all-due", "-o", "due"], env, work)
        files = len(list((work / "due").glob("*.pdf")))
        rows.append((f"summary --all-due ({files} PDFs), total", all_due, all_due, None))
        first = medians["summary (12 visits) -o PDF"]
        per_pdf = (all_due - first) / max(1, files - 1)
        rows.append(("  each PDF after the first", per_pdf, per_pdf, BUDGET_ALL_DUE_PER_PDF))
    print(f"{'command':44} {'median s':>9} {'max s':>7} {'budget s':>9}")
    missed = False
    for label, median, worst, budget in rows:
        flag = "" if budget is None or median <= budget else "  OVER"
        missed |= bool(flag)
        shown = "" if budget is None else f"{budget:.2f}"
        print(f"{label:44} {median:9.2f} {worst:7.2f} {shown:>9}{flag}")
    if files != 51:
        print(f"expected 51 due summaries, wrote {files}")
        return 1
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
