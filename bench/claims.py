"""Claim commands against their budgets (issue 15, SPEC §9): `claim create` and `claim show`
≤ 8× bare `python -c pass`; `claim print` ≤ 1 s; `claim export` of 50 claims ≤ 2 s.

Builds the demo practice plus 50 auto-PIP clients with a signed visit each (in-process, through
the domain) in a temp folder, makes a claim for each, then times fresh processes and prints
medians. Exit code 1 if a budget is missed.

    python bench/claims.py            # 9 runs each
    python bench/claims.py --runs 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import practice_env, wall_seconds  # bench/measure.py (the script's folder)

# 50 auto-PIP clients, one signed visit and one claim each.
FIFTY = """
import sys
from datetime import date, timedelta
from medmassage.claims.build import ClaimRequest
from medmassage.claims.store import create_claim
from medmassage.record.cases import CaseInput, find_case, open_case
from medmassage.record.clients import add_client, find_client
from medmassage.record.sessions import SessionInput, log_session
from medmassage.store.db import connect

conn, _ = connect(sys.argv[1])
today = date.today()
for i in range(50):
    client = find_client(conn, str(add_client(conn, {
        "name": f"Bench Client{i:02d}", "dob": "1980-01-01", "sex": "female",
        "address": f"{i + 1} Main St, Bellingham, WA 98225"})))
    case_id = open_case(conn, client, CaseInput(
        payer="auto-pip", payer_name="Evergreen Mutual Auto", payer_id="EMA01",
        payer_address="PO Box 4410, Portland, OR 97208", accident_state="WA",
        policy=f"EMA-{i:05d}", claim=f"PIP-{i:05d}",
        injury_date=(today - timedelta(days=40)).isoformat(),
        dx=["S13.4XXD", "M54.2"], referrer="Alan Brooks, DC", referrer_npi="1987654328",
        rx_date=(today - timedelta(days=30)).isoformat(),
        rx_until=(today + timedelta(days=30)).isoformat(), visits="8"))
    case = find_case(conn, case_id)
    log_session(conn, case, SessionInput(pre="6", post="3", regions=["neck", "upper-back"],
        techniques=["swedish=20", "myofascial-release=25"], day=today - timedelta(days=2),
        sign=True))
    create_claim(conn, ClaimRequest(case_id=case_id), today)
"""


def median(argv: list[str], env: dict[str, str], runs: int) -> float:
    return statistics.median(wall_seconds(argv, env) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="medmassage-bench-") as folder:
        sys.exit(0 if measure(Path(folder), runs) else 1)


def measure(folder: Path, runs: int) -> bool:
    py = sys.executable
    db = folder / "practice.db"
    env = practice_env(folder)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    mm = [py, "-m", "medmassage"]
    subprocess.run([*mm, "demo", "--db", str(db)], env=env, **quiet)

    base = median([py, "-c", "pass"], env, runs)
    print(f"python -c pass: {base * 1000:.1f} ms (median of {runs})")
    print(f"{'command':<30}{'median ms':>10}{'ratio':>8}{'budget':>10}  ok")
    ok = True

    def report(name: str, seconds: float, ratio_budget: float | None, seconds_budget=None):
        nonlocal ok
        ratio = seconds / base
        good = (ratio_budget is None or ratio <= ratio_budget) and (
            seconds_budget is None or seconds <= seconds_budget
        )
        ok &= good
        budget = f"{ratio_budget:.0f}x" if ratio_budget else f"{seconds_budget:.1f} s"
        verdict = "yes" if good else "NO"
        print(f"{name:<30}{seconds * 1000:>10.1f}{ratio:>8.1f}{budget:>10}  {verdict}")

    # claim create: claim k is timed, then voided (untimed) so the next run bills the visits.
    times = []
    for k in range(1, runs + 1):
        times.append(wall_seconds([*mm, "claim", "create", "James"], env))
        subprocess.run([*mm, "claim", "void", str(k), "--reason", "bench"], env=env, **quiet)
    report("claim create (5 visits)", statistics.median(times), 8.0)
    james = runs + 1
    subprocess.run([*mm, "claim", "create", "James"], env=env, **quiet)
    subprocess.run([py, "-c", FIFTY, str(db)], env=env, **quiet)  # claims james+1 … james+50
    show = [*mm, "claim", "show", str(james)]
    report("claim show (15 lines)", median(show, env, runs), 8.0)
    report("claim show -f json", median([*show, "-f", "json"], env, runs), 8.0)
    proof = [*mm, "claim", "print", str(james), "--proof", "-o", str(folder / "proof.pdf")]
    report("claim print --proof (3 forms)", median(proof, env, runs), None, 1.0)
    ids = [str(james + i) for i in range(1, 51)]
    export = [*mm, "claim", "export", *ids, "-o", str(folder / "claims.837")]
    # The first export sends 50 drafts (each checked against the record, then marked submitted);
    # later ones resend submitted claims.
    report("claim export (50 drafts)", wall_seconds(export, env), None, 2.0)
    report("claim export (50 submitted)", median(export, env, runs), None, 2.0)
    return ok


if __name__ == "__main__":
    main()
