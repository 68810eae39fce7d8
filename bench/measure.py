"""Run one medmassage command in a fresh process and read its wall time and its own peak memory.

Peak memory is the command's high-water mark (VmHWM from /proc on Linux; ru_maxrss elsewhere),
read inside the command's process: a parent's getrusage(RUSAGE_CHILDREN) on Linux can report
the parent's size for a forked child.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

# Runs one medmassage command in this process and reports its peak memory on the pipe whose
# file descriptor MEDMASSAGE_BENCH_FD names.
MEASURED = """
import os, sys
sys.argv = ["medmassage", *sys.argv[1:]]
def peak_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss
try:
    from medmassage.cli import main
    main()
finally:
    os.write(int(os.environ["MEDMASSAGE_BENCH_FD"]), str(peak_kb()).encode())
"""


def practice_env(folder: Path) -> dict[str, str]:
    """The environment of every benchmarked command: the practice in `folder` (practice.db), its
    own ICD cache and audit key (never the user's), today not pinned, plain output (stdout is a
    pipe, as for a script)."""
    env = {
        **os.environ,
        "MEDMASSAGE_DB": str(folder / "practice.db"),
        "MEDMASSAGE_CACHE_DIR": str(folder / "cache"),
        "MEDMASSAGE_CONFIG_DIR": str(folder / "config"),
    }
    env.pop("MEDMASSAGE_TODAY", None)
    env.pop("FORCE_COLOR", None)
    return env


def wall_seconds(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    """Wall time of one process, output discarded; a failure stops the benchmark."""
    start = time.perf_counter()
    subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - start


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak MB) of one command in a fresh process."""
    read, write = os.pipe()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        env={**env, "MEDMASSAGE_BENCH_FD": str(write)},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(write,),
        text=True,
    )
    elapsed = time.perf_counter() - start
    os.close(write)
    peak = os.read(read, 64).decode() or "0"
    os.close(read)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return elapsed, int(peak) / 1024


def chain_direct_writes(db: Path) -> int:
    """Chain what a benchmark wrote straight into SQLite (clients, cases, authorizations,
    settled states, progress reports), as a migration chains records it finds: one audit row
    ("baseline") with the content digest of each record whose digest is not chained yet or
    differs (medmassage/store/digests.py). Without it `db check` would rightly report them as made
    outside medmassage. Returns how many."""
    from medmassage.rules.dates import now_stamp
    from medmassage.store import audit
    from medmassage.store import digests as records
    from medmassage.store.db import actor, connect

    conn, _ = connect(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        chained = audit.verify(conn).digests or {}
        stale = [key for key, digest in records.current_digests(conn)
                 if chained.get(key) != digest]  # fmt: skip
        digests = records.digests_of(conn, stale)
        if stale:
            at, who = now_stamp(), actor()
            audit.append_many(
                conn, [(at, who, "baseline", e, i, digests[(e, i)]) for e, i in stale]
            )
        conn.execute("COMMIT")
        audit.keep_anchor(conn)
    finally:
        conn.close()
    return len(stale)
