"""The practice-scale benchmark (SPEC §9): one table of every figure, from one run.

Builds a synthetic practice (bench/practice.py: 2,000 clients, every payer type, 100,000
sessions over ten years, realistic notes), imports its sessions through `import sessions`,
settles it (clients whose care ended discharged, their cases closed, progress reports written at
each payer's cadence; --all-active skips this: the worst case, nobody ever discharged), then
times each command in fresh processes: the median wall time, its ratio to bare `python -c pass`
run by the same interpreter in turn with the command's runs (a Python with many site-packages
starts slower, so the baseline must share the environment; the machine's speed drifts, so it
must share the minutes too), and the command's own peak memory.
Exit code 1 if a budget is missed.

    python bench/run.py                       # the full size
    python bench/run.py --all-active          # … with every client active and every case open
    python bench/run.py --sessions 10000 --clients 200 --runs 5   # a quick look

Run it in a lean virtual environment (`pip install .`), from any folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from measure import (  # bench/measure.py (on sys.path)
    chain_direct_writes,
    practice_env,
    run,
    wall_seconds,
)
from practice import build, settle  # bench/practice.py

MEMORY_BUDGET_MB = 150


def timed_beside_bare(
    argv: list[str], bare: list[str], env: dict[str, str], cwd: Path, runs: int
) -> tuple[float, float]:
    """Median seconds of `argv` and of bare Python, their runs taken in turn: the machine's
    speed drifts (±10 % between minutes on a shared VM), and a ratio is only fair when both
    sides saw the same minutes."""
    command, baseline = [], []
    for _ in range(runs):
        baseline.append(wall_seconds(bare, env, cwd))
        command.append(wall_seconds(argv, env, cwd))
    return statistics.median(command), statistics.median(baseline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=11, help="runs per everyday command")
    parser.add_argument(
        "--all-active",
        action="store_true",
        help="leave every client active and every case open (nobody ever discharged)",
    )
    options = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory(prefix="medmassage-bench-") as folder:
        work = Path(folder)
        db = work / "practice.db"
        env = practice_env(work)
        os.environ["MEDMASSAGE_CONFIG_DIR"] = env["MEDMASSAGE_CONFIG_DIR"]
        started = time.perf_counter()
        rows, _ = build(
            db, work / "import.csv", clients=options.clients, sessions=options.sessions, today=today
        )
        built = time.perf_counter() - started
        import_s, import_mb = run(["import", "sessions", "import.csv", "--sign"], env, work)
        settled = None if options.all_active else settle(db, today)
        chain_direct_writes(db)  # what build() and settle() wrote straight into SQLite
        import sqlite3

        conn = sqlite3.connect(db)
        # The client in care whose case is nearest 100 visits: `progress`, `summary` and
        # `session log` use it.
        client, visits = conn.execute(
            "SELECT k.client_id, count(*) AS n FROM session s JOIN care_case k ON k.id = s.case_id "
            "WHERE k.status = 'open' GROUP BY k.id ORDER BY abs(count(*) - 100), k.id LIMIT 1"
        ).fetchone()
        conn.close()
        size_mb = db.stat().st_size / 1e6
        py = sys.executable
        bare_argv = [py, "-c", "pass"]
        bare = statistics.median(
            wall_seconds(bare_argv, env, work) for _ in range(options.runs * 2)
        )
        cli = [py, "-m", "medmassage"]
        # --allow-expired: with nobody discharged (--all-active) the chosen case may be a
        # workers' comp claim past its authorization, which refuses a visit without a reason.
        log = ["session", "log", str(client), "--pre", "5", "--post", "3",
               "--technique", "swedish=30", "--region", "neck",
               "--allow-expired", "benchmark visit"]  # fmt: skip
        commands = [
            ("--help", ["--help"], options.runs, 15.0, None),
            ("session log", log, options.runs, 8.0, None),
            ("client list", ["client", "list"], options.runs, 8.0, None),
            (f"progress ({visits} visits)", ["progress", str(client)], options.runs, 8.0, 0.5),
            ("report monthly", ["report", "monthly", "-f", "json"], options.runs, 8.0, 0.5),
            ("report due", ["report", "due", "-f", "json"], options.runs, 8.0, None),
            ("summary -f json", ["summary", str(client), "-f", "json", "--from", "2000-01-01"],
             options.runs, None, 1.0),
            ("export all -f json", ["export", "all", "-o", "all.json"], 3, None, 10.0),
            ("db check", ["db", "check"], 3, None, 5.0),
        ]  # fmt: skip
        table = []
        for label, args, runs, ratio_budget, seconds_budget in commands:
            median, beside = timed_beside_bare([*cli, *args], bare_argv, env, work, runs)
            _, peak = run(args, env, work)
            table.append((label, median, median / beside, ratio_budget, seconds_budget, peak))
        table.append(("import sessions --sign", import_s, import_s / bare, None, 20.0, import_mb))
    state = (
        f"{settled['open']} cases open, {settled['closed']} closed, "
        f"{settled['reports']} progress reports on record"
        if settled
        else "every client active and every case open (--all-active)"
    )
    print(
        f"{options.clients} clients, {rows} sessions over 10 years ({size_mb:.0f} MB database, "
        f"built in {built:.0f} s); {state}; bare python -c pass: {bare * 1000:.1f} ms "
        f"(each ratio is to bare runs taken in turn with the command's); "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(f"{'command':26} {'median':>9} {'ratio':>6} {'budget':>9} {'peak MB':>8}  ok")
    missed = False
    for label, median, ratio, ratio_budget, seconds_budget, peak in table:
        ok = (ratio_budget is None or ratio <= ratio_budget) and (
            seconds_budget is None or median <= seconds_budget
        )
        ok = ok and peak <= MEMORY_BUDGET_MB
        missed |= not ok
        budget = " / ".join(
            x for x in (
                f"{ratio_budget:g}×" if ratio_budget else "",
                f"{seconds_budget:g} s" if seconds_budget else "",
            ) if x
        )  # fmt: skip
        shown = f"{median * 1000:7.0f} ms" if median < 10 else f"{median:7.2f} s "
        print(
            f"{label:26} {shown:>9} {ratio:5.1f}× {budget:>9} {peak:8.0f}  {'yes' if ok else 'NO'}"
        )
    print(f"memory budget: {MEMORY_BUDGET_MB} MB per command")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
