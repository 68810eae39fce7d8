"""Start-up ratios of everyday commands against bare `python -c pass` (SPEC §9).

Runs each command N times in fresh processes with the same interpreter (so the baseline shares
the virtual environment), on a demo practice in a temp folder, and prints medians and ratios.

    python bench/startup.py            # 15 runs each
    python bench/startup.py --runs 30

The full practice-scale benchmark (2,000 clients, 100,000 sessions) comes with its own script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_EVERYDAY = 8.0
BUDGET_HELP = 15.0


def run_median(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    folder = Path(tempfile.mkdtemp(prefix="medmassage-bench-"))
    db = folder / "practice.db"
    env = dict(os.environ, MEDMASSAGE_DB=str(db), MEDMASSAGE_CACHE_DIR=str(folder / "cache"))
    env.pop("FORCE_COLOR", None)
    mm = [py, "-m", "medmassage"]
    subprocess.run(
        [*mm, "demo", "--db", str(db)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    base = run_median([py, "-c", "pass"], env, args.runs)
    cases = [
        (
            "session log",
            [
                *mm,
                "session",
                "log",
                "Maria",
                "--pre",
                "3",
                "--post",
                "1",
                "--technique",
                "myofascial-release=25",
                "--technique",
                "swedish=20",
                "--region",
                "neck",
            ],
            BUDGET_EVERYDAY,
        ),
        ("client list", [*mm, "client", "list"], BUDGET_EVERYDAY),
        ("progress", [*mm, "progress", "Maria"], BUDGET_EVERYDAY),
        ("session list", [*mm, "session", "list"], BUDGET_EVERYDAY),
        ("--help", [*mm, "--help"], BUDGET_HELP),
        ("session log --help", [*mm, "session", "log", "--help"], BUDGET_HELP),
    ]
    print(f"python -c pass: {base * 1000:.1f} ms (median of {args.runs})")
    print(f"{'command':<22}{'median ms':>10}{'ratio':>8}{'budget':>8}  ok")
    worst = True
    for name, argv, budget in cases:
        median = run_median(argv, env, args.runs)
        ratio = median / base
        ok = ratio <= budget
        worst &= ok
        print(
            f"{name:<22}{median * 1000:>10.1f}{ratio:>8.1f}{budget:>8.0f}  {'yes' if ok else 'NO'}"
        )
    sys.exit(0 if worst else 1)


if __name__ == "__main__":
    main()
