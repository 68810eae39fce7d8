"""Two writers at once, and readers while they write (SPEC §8; notes §2.3, §5.4).

Two processes each log N sessions through the real CLI entry point (`medmassage.cli.main`, in a
loop), started together on one WAL database; a third process reads all the while. Every
`session log` reads the case's visits and then writes (the visit count, the rules), so a
transaction that did not take the write lock up front (BEGIN IMMEDIATE) would fail with
SQLITE_BUSY_SNAPSHOT or count a visit twice. Checked: 0 lock errors, 0 lost, 0 duplicates, the
visit numbers the two writers printed are exactly 1 … 2N, and each reader snapshot is
consistent (every session with its technique rows, CPT rows and audit row; counts only grow).
The wait for the write lock is the time spent in BEGIN IMMEDIATE; the worst is reported.

Default run: N = 100 per writer. The stress run (`python -m pytest -m stress
tests/test_concurrency.py -s`) uses N = MEDMASSAGE_STRESS_TXNS, default 1,000.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import query

SHORT_TXNS = 100
STRESS_TXNS = int(os.environ.get("MEDMASSAGE_STRESS_TXNS", "1000"))


def _writer_program() -> None:
    """argv: DB NAME N READY_FILE GO_FILE. Logs N sessions, one CLI command each, and prints
    per-command exit codes, visit numbers and lock waits as JSON."""
    import io
    import json as json_
    import os as os_
    import sqlite3 as sqlite3_
    import sys as sys_
    import time as time_

    from medmassage.cli import main

    db, name, n, ready, go = sys_.argv[1:6]
    waits: list[float] = []

    class Timed(sqlite3_.Connection):
        def execute(self, sql, *args, **kwargs):
            if sql != "BEGIN IMMEDIATE":
                return super().execute(sql, *args, **kwargs)
            started = time_.perf_counter()
            try:
                return super().execute(sql, *args, **kwargs)
            finally:
                waits.append(time_.perf_counter() - started)

    connect = sqlite3_.connect

    def timed_connect(*args, **kwargs):
        kwargs.setdefault("factory", Timed)
        return connect(*args, **kwargs)

    sqlite3_.connect = timed_connect
    real_out, real_err = sys_.stdout, sys_.stderr
    open(ready, "w").close()
    while not os_.path.exists(go):
        time_.sleep(0.001)
    runs = []
    for i in range(int(n)):
        out, err = io.StringIO(), io.StringIO()
        sys_.stdout, sys_.stderr = out, err
        sys_.argv = ["medmassage", "--db", db, "session", "log", "Jane", "--pre", "6"]
        sys_.argv += ["--post", "3", "--technique", "swedish=30"]
        sys_.argv += ["--technique", "myofascial-release=15", "--region", "neck"]
        sys_.argv += ["--subjective", f"{name}-{i}", "-f", "json"]
        started = time_.perf_counter()
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            sys_.stdout, sys_.stderr = real_out, real_err
        elapsed = time_.perf_counter() - started
        visit = json_.loads(out.getvalue())["visit"] if code == 0 else None
        errors = [ln for ln in err.getvalue().splitlines() if ln.startswith("error")]
        runs.append({"code": code, "visit": visit, "seconds": elapsed, "errors": errors})
    print(json_.dumps({"runs": runs, "waits": waits}))


def _reader_program() -> None:
    """argv: DB STOP_FILE MODE. Reads until STOP_FILE exists and prints what it saw as JSON.

    MODE `sql`: one read transaction per snapshot, checked row by row. MODE `cli`: the real
    `session list -f json`, over and over. Two processes: a process that holds a connection
    must not open the database again (see test_a_second_open_keeps_the_first_connections_lock).
    """
    import io
    import json as json_
    import os as os_
    import sqlite3 as sqlite3_
    import sys as sys_
    import time as time_

    db, stop, mode = sys_.argv[1:4]
    snapshots, problems, last = 0, [], 0
    conn = sqlite3_.connect(db, isolation_level=None) if mode == "sql" else None
    if mode == "cli":
        from medmassage.cli import main
    while not os_.path.exists(stop):
        if conn is not None:
            conn.execute("BEGIN")
            n = conn.execute("SELECT count(*) FROM session").fetchone()[0]
            broken = conn.execute(
                """SELECT count(*) FROM session s
                   WHERE (SELECT count(*) FROM session_technique t WHERE t.session_id = s.id) != 2
                      OR (SELECT count(*) FROM session_cpt c WHERE c.session_id = s.id) != 2"""
            ).fetchone()[0]
            audited = conn.execute(
                "SELECT count(DISTINCT entity_id) FROM audit WHERE entity = 'session' "
                "AND action = 'log'"
            ).fetchone()[0]
            conn.execute("COMMIT")
            if broken or audited != n or n < last:
                problems.append({"sessions": n, "incomplete": broken, "audited": audited})
            time_.sleep(0.001)  # two cores, four processes: leave the writers some
        else:
            out, err = io.StringIO(), io.StringIO()
            real = sys_.stdout, sys_.stderr
            sys_.stdout, sys_.stderr = out, err
            sys_.argv = ["medmassage", "--db", db, "session", "list", "-f", "json"]
            try:
                main()
            except SystemExit as e:
                if e.code:
                    problems.append({"session list": e.code, "stderr": err.getvalue()})
            finally:
                sys_.stdout, sys_.stderr = real
            rows = json_.loads(out.getvalue() or "[]")
            n = len(rows)
            if n < last or any(r["units"] != 3 for r in rows):
                problems.append({"listed": n, "before": last})
        snapshots += 1
        last = n
    if conn is not None:
        conn.close()
    print(json_.dumps({"snapshots": snapshots, "problems": problems}))


def _source(program) -> str:
    return inspect.getsource(program) + f"\n\n{program.__name__}()\n"


def two_writers(db: Path, work: Path, n: int) -> dict:
    work.mkdir()
    go, stop = work / "go", work / "stop"
    writer = _source(_writer_program)
    writers = []
    for name in ("a", "b"):
        argv = [writer, str(db), name, str(n), str(work / f"ready-{name}"), str(go)]
        writers.append(
            subprocess.Popen(
                [sys.executable, "-c", *argv],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    reader = _source(_reader_program)
    readers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", reader, str(db), str(stop), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in ("sql", "cli")
    }
    try:
        deadline = time.monotonic() + 60
        while not all((work / f"ready-{name}").exists() for name in ("a", "b")):
            assert time.monotonic() < deadline, "the writers did not start"
            time.sleep(0.005)
        go.touch()  # both start together
        started = time.monotonic()
        results = [w.communicate(timeout=60 + n) for w in writers]
        elapsed = time.monotonic() - started
    finally:
        stop.touch()
        seen = {mode: r.communicate(timeout=120) for mode, r in readers.items()}
        for w in writers:
            w.kill()
    for w, (_, err) in zip(writers, results, strict=True):
        assert w.returncode == 0, err[-3000:]
    for mode, r in readers.items():
        assert r.returncode == 0, seen[mode][1][-3000:]
    runs = {name: json.loads(out) for name, (out, _) in zip("ab", results, strict=True)}
    read = {mode: json.loads(out) for mode, (out, _) in seen.items()}
    return {"runs": runs, "readers": read, "seconds": elapsed}


def check_two_writers(db: Path, work: Path, n: int) -> str:
    result = two_writers(db, work, n)
    runs = [r for name in "ab" for r in result["runs"][name]["runs"]]
    waits = sorted(w for name in "ab" for w in result["runs"][name]["waits"])
    failed = [r for r in runs if r["code"] != 0]
    assert failed == [], failed[:5]  # no "database is locked", no other error
    # 0 lost, 0 duplicated: each marker once, and the visit numbers the writers were told are
    # exactly 1 … 2N (a read-then-write without the lock would hand one number out twice)
    markers = query(db, "SELECT subjective, count(*) AS n FROM session GROUP BY subjective")
    expected = {f"{name}-{i}" for name in "ab" for i in range(n)}
    assert {r["subjective"] for r in markers} == expected
    assert all(r["n"] == 1 for r in markers)
    assert sorted(r["visit"] for r in runs) == list(range(1, 2 * n + 1))
    logged = query(db, "SELECT count(*) FROM audit WHERE action = 'log' AND entity = 'session'")
    assert logged[0][0] == 2 * n
    assert query(db, "PRAGMA integrity_check")[0][0] == "ok"
    readers = result["readers"]
    for mode, seen in readers.items():
        assert seen["problems"] == [], (mode, seen["problems"][:5])
        assert seen["snapshots"] >= 5, readers
    worst = max(r["seconds"] for r in runs)
    p99 = waits[int(len(waits) * 0.99) - 1]
    return (
        f"2 writers × {n} transactions: 0 errors, 0 lost, 0 duplicates, worst wait "
        f"{waits[-1] * 1000:.0f} ms (p99 {p99 * 1000:.1f} ms; slowest whole command "
        f"{worst * 1000:.0f} ms; {2 * n / result['seconds']:.0f} commits/s); "
        f"readers during the writes: {readers['sql']['snapshots']} SQL snapshots and "
        f"{readers['cli']['snapshots']} `session list` runs, 0 inconsistent"
    )


def test_two_writers_and_a_reader(practice, db_path, tmp_path):
    print(check_two_writers(db_path, tmp_path / "run", SHORT_TXNS))


@pytest.mark.stress
def test_two_writers_and_a_reader_stress(practice, db_path, tmp_path, capsys):
    figures = check_two_writers(db_path, tmp_path / "run", STRESS_TXNS)
    with capsys.disabled():
        print(f"\n{figures}")


def test_a_second_open_keeps_the_first_connections_writes_visible(practice, db_path):
    """A process that already holds a connection opens the database again (a second command
    in-process, a backup, a check): its first connection must keep working for everyone."""
    from medmassage.record.clients import add_client
    from medmassage.store import db

    count = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "print(c.execute('SELECT count(*) FROM client').fetchone()[0])\n"
        "c.close()\n"
    )

    def seen_by_another_process() -> int:
        done = subprocess.run(
            [sys.executable, "-c", count, str(db_path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    first, _ = db.connect(db_path)
    try:
        before = first.execute("SELECT count(*) FROM client").fetchone()[0]
        second, _ = db.connect(db_path)  # opened and closed while `first` is open
        second.close()
        assert seen_by_another_process() == before  # …which closes its connection
        add_client(first, {"name": "Sam Roe"})  # committed: `client add` would say "Added"
        assert first.execute("SELECT count(*) FROM client").fetchone()[0] == before + 1
        assert seen_by_another_process() == before + 1
    finally:
        first.close()
