"""Start-up ratios of everyday commands against bare `python -c pass` (SPEC §9).

Runs each command N times in fresh processes with the same interpreter (so the baseline shares
the virtual environment), on the demo practice plus one client with 100 sessions, in a temp
folder, and prints medians and ratios. Exit code 1 if a budget is missed.

    python bench/startup.py            # 15 runs each
    python bench/startup.py --runs 30

The practice-scale benchmark (2,000 clients, 100,000 sessions) is a separate, later script.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import (  # bench/measure.py (the script's folder is on sys.path)
    practice_env,
    wall_seconds,
)

BUDGET_EVERYDAY = 8.0
BUDGET_HELP = 15.0

# One client with 100 visits, logged in-process through the domain (fast, same validation).
LONG_CASE = """
from datetime import date, timedelta
import sys
from medmassage.record.cases import CaseInput, find_case, open_case
from medmassage.record.clients import add_client, find_client
from medmassage.store.db import connect
from medmassage.record.sessions import SessionInput, log_session

conn, _ = connect(sys.argv[1])
today = date.today()
first = today - timedelta(days=300)
client = find_client(conn, str(add_client(conn, {"name": "Hundred Visits"})))
case_id = open_case(conn, client, CaseInput(
    payer="self-pay", dx=["M54.50"], referrer="Dr B", rx_date=first.isoformat(),
    rx_until=(today + timedelta(days=30)).isoformat(), visits="150"))
case = find_case(conn, case_id)
for i in range(100):
    log_session(conn, case, SessionInput(
        pre=str(7 - i % 5), post=str(3 - i % 3), regions=["lower-back"],
        techniques=["myofascial-release=25", "swedish=20"],
        day=first + timedelta(days=3 * i), sign=True))
"""


def run_median(argv: list[str], env: dict[str, str], runs: int) -> float:
    return statistics.median(wall_seconds(argv, env) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory(prefix="medmassage-bench-") as folder:
        sys.exit(0 if measure(Path(folder), runs) else 1)


def measure(folder: Path, runs: int) -> bool:
    py = sys.executable
    db = folder / "practice.db"
    env = practice_env(folder)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    mm = [py, "-m", "medmassage"]
    subprocess.run([*mm, "demo", "--db", str(db)], env=env, **quiet)
    subprocess.run([py, "-c", LONG_CASE, str(db)], env=env, **quiet)

    log = "session log Maria --pre 3 --post 1 --technique myofascial-release=25"
    log += " --technique swedish=20 --region neck"
    cases = [
        ("session log", log.split(), BUDGET_EVERYDAY),
        ("client list", ["client", "list"], BUDGET_EVERYDAY),
        ("progress (100 visits)", ["progress", "Hundred"], BUDGET_EVERYDAY),
        ("progress --all (100)", ["progress", "Hundred", "--all"], BUDGET_EVERYDAY),
        ("session list", ["session", "list"], BUDGET_EVERYDAY),
        ("--help", ["--help"], BUDGET_HELP),
        ("session log --help", ["session", "log", "--help"], BUDGET_HELP),
    ]
    base = run_median([py, "-c", "pass"], env, runs)
    print(f"python -c pass: {base * 1000:.1f} ms (median of {runs})")
    print(f"{'command':<24}{'median ms':>10}{'ratio':>8}{'budget':>8}  ok")
    all_ok = True
    for name, argv, budget in cases:
        median = run_median([*mm, *argv], env, runs)
        ratio = median / base
        all_ok &= ratio <= budget
        verdict = "yes" if ratio <= budget else "NO"
        print(f"{name:<24}{median * 1000:>10.1f}{ratio:>8.1f}{budget:>8.0f}  {verdict}")
    return all_ok


if __name__ == "__main__":
    main()
