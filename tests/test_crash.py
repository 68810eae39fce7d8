"""Break it on purpose, many times, and count what was lost (SPEC §8; notes §5.1, §5.4).

A child process runs the real CLI entry point (`medmassage.cli.main`, in a loop, so start-up
does not dominate) over three units of work: `session log --sign`, `import sessions --sign` of
a 4-row CSV (all or nothing) and `summary -o FILE.json` (a progress_report row plus a file).
It writes `ACK kind unit` on a pipe only after a command returned success. The parent sends
SIGKILL after a random delay, then checks, before the next child starts on the same database:

- the database files are still owner-only; `PRAGMA integrity_check` is ok and
  `foreign_key_check` is empty;
- every unit is all or nothing: each session has its technique rows, one CPT row per code and
  exactly one `log`/`import` audit row, and is signed with its `sign` audit row (both commands
  ran with --sign); an import's 4 rows are all there or none; a large note is stored whole;
- every acknowledged write is present;
- a summary file either exists complete (it is parsed) or not at all, and a progress report
  recorded as sent always has its file; a leftover temp file is owner-only and never takes the
  summary's name.

Random kills rarely land between two statements of a unit, so deterministic failpoints back
them up (notes §5.1): a forked child dies with os._exit(137) after statement k, for every k, of
each write command (database statements, fsync and rename count as steps), and the database is
then either exactly as before or exactly as after the command. Negative controls prove the
checks can fail: the same session written without a transaction (each statement committed on
its own) is caught by the same checker, under the failpoints and under random kills.

A kill -9 is an application crash; power loss is not tested here (see notes §5.1).
Default run: 18 kills, failpoints over 4 commands. Stress run (`python -m pytest -m stress
tests/test_crash.py`): MEDMASSAGE_STRESS_KILLS kills (default 200), failpoints over all 17 write
commands, and the negative control as a rate over 50 fresh databases.
"""

from __future__ import annotations

import inspect
import json
import os
import random
import re
import select
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.conftest import TODAY  # pinned as MEDMASSAGE_TODAY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX: SIGKILL, fork, modes")

IMPORT_ROWS = 4
SHORT_KILLS = 18
STRESS_KILLS = int(os.environ.get("MEDMASSAGE_STRESS_KILLS", "200"))
SEED_VISIT_DAYS = [f"2026-11-{d:02d}" for d in range(2, 21, 2)]
_SUMMARY_FILE = re.compile(r"^sum-(\d+)\.json$")
_SUMMARY_TEMP = re.compile(r"^\.sum-(\d+)\.json\.tmp\d+$")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?$")


# --- units of work: shared by the child (copied into its source) and the checks ---------------


def _objective(u: int) -> str | None:
    """A note of up to 6,000 characters on every third unit: spans overflow pages."""
    if u % 3:
        return None
    n = (u * 7919) % 6000 + 1
    text = "Tender at C5–C6, “much looser” — 改善 ✓ שלום; ROM improved. "
    return (text * (n // len(text) + 1))[:n].strip() or None


def _summary_period(u: int) -> tuple[str, str]:
    """A 3–6 day period among the seeded visits (every other day, 2026-11-02 to 11-20)."""
    first = 2 + (u * 7) % 17
    last = min(first + 2 + u % 4, 20)
    return f"2026-11-{first:02d}", f"2026-11-{last:02d}"


def _import_csv(u: int) -> str:
    """IMPORT_ROWS sessions on a day of their own (no row repeats one on record)."""
    import csv as csv_
    import io as io_
    from datetime import date as date_
    from datetime import timedelta as timedelta_

    day = date_(2026, 10, 31) - timedelta_(days=u)
    out = io_.StringIO()
    writer = csv_.writer(out, lineterminator="\n")
    writer.writerow(["client", "date", "pre", "post", "techniques", "regions", "subjective"])
    for r in range(4):
        writer.writerow(
            [
                "Jane Doe",
                f"{day.isoformat()} 09:{r:02d}",
                "7",
                "4",
                "swedish=30;trigger-point=15",
                "neck;upper-back",
                f"imp-{u}-{r}",
            ]
        )
    return out.getvalue()


def _unit_argv(kind: str, u: int, db: str, work: str) -> list[str]:
    if kind == "log":
        argv = ["--db", db, "session", "log", "Jane", "--pre", "6", "--post", "3"]
        argv += ["--technique", "swedish=30", "--technique", "myofascial-release=15"]
        argv += ["--region", "neck", "--sign", "--subjective", f"unit-{u}"]
        objective = _objective(u)
        return argv + (["--objective", objective] if objective else [])
    if kind == "import":
        path = f"{work}/in/imp-{u}.csv"
        with open(path, "w", encoding="utf-8") as f:
            f.write(_import_csv(u))
        return ["--db", db, "import", "sessions", path, "--sign"]
    first, last = _summary_period(u)
    out = f"{work}/out/sum-{u}.json"
    return ["--db", db, "summary", "Jane", "-o", out, "--from", first, "--to", last]


def _child_program() -> None:
    """The child: `loop` (the real CLI, killed at random), `rawloop` (the negative control:
    a session written statement by statement, each committed on its own), or `sweep`
    (deterministic failpoints: fork per statement boundary)."""
    import json as json_
    import os as os_
    import random as random_
    import shutil as shutil_
    import sqlite3 as sqlite3_
    import sys as sys_
    import time as time_
    import traceback

    from medmassage.cli import main

    steps = {"n": 0, "limit": None, "pause": 0.0}

    def step() -> None:
        steps["n"] += 1
        if steps["limit"] is not None and steps["n"] > steps["limit"]:
            os_._exit(137)  # a crash between two steps: no cleanup, no rollback, no flush
        if steps["pause"]:
            time_.sleep(steps["pause"])

    class Counted(sqlite3_.Connection):
        def execute(self, *args, **kwargs):
            step()
            return super().execute(*args, **kwargs)

        def executemany(self, *args, **kwargs):
            step()
            return super().executemany(*args, **kwargs)

        def executescript(self, *args, **kwargs):
            step()
            return super().executescript(*args, **kwargs)

        def commit(self):
            step()
            return super().commit()

    def count_steps() -> None:
        """Every database statement, fsync and rename of this process becomes a step."""
        connect, replace, fsync = sqlite3_.connect, os_.replace, os_.fsync

        def counted_connect(*args, **kwargs):
            kwargs.setdefault("factory", Counted)
            return connect(*args, **kwargs)

        def counted_replace(*args, **kwargs):
            step()
            return replace(*args, **kwargs)

        def counted_fsync(fd):
            step()
            return fsync(fd)

        sqlite3_.connect, os_.replace, os_.fsync = counted_connect, counted_replace, counted_fsync

    def raw_log(db: str, u: int, pause: float = 0.0) -> None:
        """What `session log --sign` writes, without the transaction: each statement commits
        on its own (isolation_level=None). The negative control."""
        from medmassage.record.authorizations import case_coverage
        from medmassage.record.sessions import (
            CPT_INSERT,
            TECHNIQUE_INSERT,
            SessionInput,
            cpt_rows,
            prepare_session,
            rx_guard,
            session_values,
            sign_drafts,
            technique_rows,
        )
        from medmassage.rules.dates import now_stamp, today
        from medmassage.rules.units import bill
        from medmassage.store import db as mdb

        conn, _ = mdb.connect(db)
        try:
            case = conn.execute("SELECT * FROM care_case WHERE id = 1").fetchone()
            notes = {"subjective": f"unit-{u}", "objective": _objective(u)}
            techniques = ["swedish=30", "myofascial-release=15"]
            given = SessionInput("6", "3", techniques, ["neck"], today(), notes=notes, sign=True)
            prepared = prepare_session(given, {})
            billing = bill(prepared.code_minutes, case["units_rule"])
            coverage = case_coverage(conn, case["id"])
            guard = rx_guard(coverage.authorizations, coverage.used, today())
            values = session_values(case, prepared, today(), None, guard, now_stamp())
            steps["pause"] = pause  # time between the unit's statements: where a kill lands
            session_id = mdb.insert(conn, "session", values)
            conn.executemany(TECHNIQUE_INSERT, technique_rows(session_id, prepared))
            conn.executemany(CPT_INSERT, cpt_rows(session_id, billing))
            mdb.audit(conn, "log", "session", session_id)
            sign_drafts(conn, [session_id])
        finally:
            steps["pause"] = 0.0
            conn.close()

    def run_cli(argv: list[str]) -> int:
        sys_.argv = ["medmassage", *argv]
        try:
            main()
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        return 0

    mode = sys_.argv[1]
    if mode in ("loop", "rawloop"):
        db, work, seed, u = sys_.argv[2], sys_.argv[3], int(sys_.argv[4]), int(sys_.argv[5])
        ack = os_.dup(1)
        os_.dup2(os_.open(os_.devnull, os_.O_WRONLY), 1)  # the CLI's own output

        def say(line: str) -> None:
            os_.write(ack, (line + "\n").encode())  # unbuffered, one write: all or nothing

        if mode == "rawloop":
            count_steps()
        rng = random_.Random(seed)
        say("READY")
        while True:
            if mode == "rawloop":
                kind = "log"
                say(f"BEGIN {kind} {u}")
                raw_log(db, u, pause=0.02)
                code = 0
            else:
                kind = rng.choices(["log", "import", "summary"], [5, 3, 2])[0]
                argv = _unit_argv(kind, u, db, work)
                say(f"BEGIN {kind} {u}")
                code = run_cli(argv)
            say(f"{'ACK' if code == 0 else 'FAIL'} {kind} {u} {code}")
            u += 1

    if mode == "sweep":
        import contextlib
        import importlib
        import pkgutil

        import medmassage

        for module in pkgutil.walk_packages(medmassage.__path__, "medmassage."):
            if not module.name.endswith("__main__"):  # import once here, not in every fork
                with contextlib.suppress(Exception):  # an extra not installed: forks say so
                    importlib.import_module(module.name)
        with open(sys_.argv[2], encoding="utf-8") as f:
            spec = json_.load(f)
        results = []

        def run_one(command: dict, where: str, limit: int | None) -> int:
            shutil_.rmtree(where, ignore_errors=True)
            for folder in ("db", "out", "in"):
                os_.makedirs(f"{where}/{folder}", mode=0o700)
            shutil_.copy2(spec["baseline"], f"{where}/db/practice.db")
            for name, text in command.get("files", {}).items():
                with open(f"{where}/in/{name}", "w", encoding="utf-8") as f:
                    f.write(text)
            pid = os_.fork()
            if pid == 0:
                try:
                    os_.dup2(os_.open(os_.devnull, os_.O_WRONLY), 1)
                    err = os_.open(f"{where}/stderr.log", os_.O_WRONLY | os_.O_CREAT, 0o600)
                    os_.dup2(err, 2)
                    paths = {"db": f"{where}/db/practice.db", "out": f"{where}/out"}
                    paths["in"] = f"{where}/in"
                    steps["limit"] = limit
                    count_steps()
                    if command.get("raw"):
                        raw_log(paths["db"], 1)
                        code = 0
                    else:
                        code = run_cli([a.format(**paths) for a in command["argv"]])
                    if limit is not None:
                        os_._exit(137)  # every step done, then killed before the ack
                    with open(f"{where}/steps", "w") as f:
                        f.write(str(steps["n"]))
                    os_._exit(code)
                except BaseException:
                    traceback.print_exc()
                    os_._exit(99)
            return os_.waitstatus_to_exitcode(os_.waitpid(pid, 0)[1])

        for i, command in enumerate(spec["commands"]):
            base = f"{spec['work']}/{i:02d}"
            code = run_one(command, f"{base}/complete", None)
            total = -1
            if code == 0:
                with open(f"{base}/complete/steps") as f:
                    total = int(f.read())
            results.append({"command": i, "k": None, "exit": code, "steps": total})
            for k in range(total + 1):
                code = run_one(command, f"{base}/{k:03d}", k)
                results.append({"command": i, "k": k, "exit": code})
        print(json_.dumps(results))


def child_source() -> str:
    parts = [_objective, _summary_period, _import_csv, _unit_argv, _child_program]
    return "\n\n".join(inspect.getsource(f) for f in parts) + "\n\n_child_program()\n"


# --- the practice every run starts from -------------------------------------------------------


def seed_practice(cli) -> None:
    """Profile, Jane Doe with one health case (Rx 2000 → 2026-12-31, 999 visits), ten signed
    visits on the even days 2026-11-02 … 11-20 (the summaries' periods), a draft on 11-21 and a
    goal. No intake: the failpoint sweep records one."""
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
    )  # fmt: skip
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02", "--phone", "360-555-0100")
    cli(
        "case", "open", "Jane", "--payer", "health", "--dx", "M54.2",
        "--referrer", "Alan Brooks, DC", "--rx-date", "2000-01-01", "--rx-until", "2026-12-31",
        "--visits", "999",
    )  # fmt: skip
    visit = ("session", "log", "Jane", "--pre", "6", "--post", "4", "--technique", "swedish=30")
    for day in SEED_VISIT_DAYS:
        cli(*visit, "--region", "neck", "--date", day, "--sign", "--subjective", f"seed {day}")
    cli(*visit, "--region", "neck", "--date", "2026-11-21", "--subjective", "seed draft")
    cli("goal", "add", "Jane", "Sit at the desk for 60 min | 60 min | 2027-01-15")


# --- the checks ------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_checked(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def consistency_problems(db: Path) -> list[str]:
    """Everything that must hold of the database after any crash, whatever was running."""
    problems = []
    for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if f.exists() and mode(f) != 0o600:
            problems.append(f"{f.name} has mode {mode(f):o}, not 600")
    try:
        return problems + _database_problems(db)
    except sqlite3.DatabaseError as e:
        return [*problems, f"cannot read the database: {e}"]


def _database_problems(db: Path) -> list[str]:
    problems = []
    conn = open_checked(db)
    try:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            return [f"integrity_check: {integrity[:5]}"]
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append(f"foreign_key_check: {[tuple(r) for r in fk[:5]]}")
        sessions = {r["id"]: r for r in conn.execute("SELECT * FROM session")}
        techniques: dict[int, list[str]] = defaultdict(list)
        for sid, cpt in conn.execute("SELECT session_id, cpt FROM session_technique"):
            techniques[sid].append(cpt)
        cpt_lines = Counter(r[0] for r in conn.execute("SELECT session_id FROM session_cpt"))
        audit = Counter(
            (r["entity"], r["entity_id"], r["action"])
            for r in conn.execute("SELECT entity, entity_id, action FROM audit")
        )
        reports = {r[0] for r in conn.execute("SELECT id FROM progress_report")}
    finally:
        conn.close()
    by_session: dict[int, Counter] = defaultdict(Counter)
    for (entity, entity_id, action), n in audit.items():
        if entity == "session":
            by_session[entity_id][action] += n
            if entity_id not in sessions:
                problems.append(f"audit {action} row for session {entity_id}, which is missing")
        if entity == "progress_report" and entity_id not in reports:
            problems.append(f"audit {action} row for progress report {entity_id}, which is missing")
    for sid, row in sessions.items():
        what = f"session {sid} ({row['subjective']!r:.20})"
        if not techniques[sid]:
            problems.append(f"{what} has no technique rows")
        if cpt_lines[sid] != len(set(techniques[sid])):
            problems.append(
                f"{what} has {cpt_lines[sid]} CPT rows for {len(set(techniques[sid]))} codes"
            )
        made = by_session[sid]["log"] + by_session[sid]["import"]
        if made != 1:
            problems.append(f"{what} has {made} log/import audit rows, not 1")
        signs = by_session[sid]["sign"]
        expected_signs = {"draft": (0,), "signed": (1,), "void": (0, 1)}[row["status"]]
        if signs not in expected_signs:
            problems.append(f"{what} is {row['status']} with {signs} sign audit rows")
        subjective = row["subjective"] or ""
        if subjective.startswith(("unit-", "imp-")) and row["status"] != "signed":
            problems.append(f"{what} was written with --sign but is {row['status']}")
        if subjective.startswith("unit-"):
            expected = _objective(int(subjective[5:]))
            if row["objective"] != expected:
                problems.append(f"{what}: the note is not stored whole")
    for report_id in reports:
        if audit[("progress_report", report_id, "write")] != 1:
            problems.append(f"progress report {report_id} lacks its one audit row")
    return problems


def summary_files(out: Path) -> tuple[dict[int, dict], list[Path], list[str]]:
    """Complete summary files by unit, leftover temp files, and problems (a partial file)."""
    complete, temps, problems = {}, [], []
    for f in sorted(out.iterdir()) if out.exists() else []:
        if mode(f) != 0o600:
            problems.append(f"{f.name} has mode {mode(f):o}, not 600")
        named = _SUMMARY_FILE.match(f.name)
        if named:
            u = int(named.group(1))
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
                first, last = _summary_period(u)
                assert data["document"] == "progress-summary"
                assert data["written"] == TODAY
                assert data["period"] == {"from": first, "to": last}
                assert data["visits"]
            except (ValueError, KeyError, AssertionError, UnicodeDecodeError) as e:
                problems.append(f"{f.name} is not a complete summary ({type(e).__name__})")
                continue
            complete[u] = data
        elif _SUMMARY_TEMP.match(f.name):
            temps.append(f)
        else:
            problems.append(f"unexpected file {f.name} in the output folder")
    return complete, temps, problems


class Ledger:
    """What the children said: units begun and units acknowledged."""

    def __init__(self) -> None:
        self.kind: dict[int, str] = {}
        self.acked: set[int] = set()

    def read(self, lines: list[str]) -> list[str]:
        problems = []
        for line in lines:
            word, *rest = line.split()
            if word == "BEGIN":
                self.kind[int(rest[1])] = rest[0]
            elif word == "ACK":
                self.acked.add(int(rest[1]))
            elif word == "FAIL":
                problems.append(f"{rest[0]} unit {rest[1]} failed with exit code {rest[2]}")
        return problems

    def next_unit(self) -> int:
        return max(self.kind, default=9) + 1


def ledger_problems(db: Path, out: Path, ledger: Ledger) -> tuple[list[str], dict[str, int]]:
    """Acknowledged ⊆ present; imports all or nothing; summaries whole. Also counts what was
    committed (or written) by a unit the kill interrupted before its acknowledgement."""
    conn = open_checked(db)
    try:
        logged = Counter(
            int(r[0][5:])
            for r in conn.execute("SELECT subjective FROM session WHERE subjective LIKE 'unit-%'")
        )
        imported: dict[int, set[int]] = defaultdict(set)
        for (subjective,) in conn.execute(
            "SELECT subjective FROM session WHERE subjective LIKE 'imp-%'"
        ):
            u, r = subjective[4:].split("-")
            imported[int(u)].add(int(r))
        recorded = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT period_from, period_to FROM progress_report WHERE written = ?", (TODAY,)
            )
        }
    finally:
        conn.close()
    complete, temps, problems = summary_files(out)
    counts = Counter()
    for u, n in logged.items():
        if n != 1:
            problems.append(f"log unit {u} is stored {n} times")
    for u, rows in imported.items():
        if rows != set(range(IMPORT_ROWS)):
            problems.append(f"import unit {u} is partial: rows {sorted(rows)} of {IMPORT_ROWS}")
    periods = {_summary_period(u) for u in complete}
    for period in recorded - periods:
        problems.append(f"a report for {period} is recorded as sent but has no file")
    for u, kind in ledger.kind.items():
        present = {
            "log": logged.get(u, 0) == 1,
            "import": bool(imported.get(u)),
            "summary": u in complete and _summary_period(u) in recorded,
        }[kind]
        if u in ledger.acked:
            counts[f"acked {kind}"] += 1
            if not present:
                problems.append(f"LOST: acknowledged {kind} unit {u} is missing")
        elif kind == "summary" and u in complete:
            # written, then killed before (or after) the commit that records it as sent
            counts["summary file complete but unacknowledged"] += 1
        elif present:
            counts["committed but unacknowledged"] += 1
    counts["leftover temp files (owner-only)"] = len(temps)
    return problems, counts


# --- the kill -9 harness -----------------------------------------------------------------------


def _read_lines(fd: int, until: str | None, timeout: float) -> list[str]:
    """Lines from the child's pipe: up to and including `until`, or everything up to EOF."""
    data, deadline = b"", time.monotonic() + timeout
    while True:
        if until is not None and (until + "\n").encode() in data:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the child said nothing for {timeout} s: {data[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data.decode().splitlines()


def kill_harness(
    db: Path, work: Path, kills: int, seed: int, *, raw: bool = False, stop_on_problem=False
) -> dict:
    """Start a child, SIGKILL it after a random delay, check; `kills` times on one database."""
    rng = random.Random(seed)
    work.mkdir(mode=0o700, exist_ok=True)
    (work / "in").mkdir(mode=0o700, exist_ok=True)
    (work / "out").mkdir(mode=0o700, exist_ok=True)
    ledger, totals = Ledger(), Counter()
    source = child_source()
    log = work / "child-stderr.log"
    for kill in range(1, kills + 1):
        with open(log, "ab") as err:
            child = subprocess.Popen(
                [sys.executable, "-c", source, "rawloop" if raw else "loop", str(db),
                 str(work), str(rng.randrange(10**9)), str(ledger.next_unit())],
                stdout=subprocess.PIPE, stderr=err,
            )  # fmt: skip
        try:
            fd = child.stdout.fileno()
            lines = _read_lines(fd, "READY", timeout=30)
            time.sleep(rng.uniform(0.0, 0.25))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            lines += _read_lines(fd, None, timeout=30)
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        problems = ledger.read(lines)
        assert child.returncode == -signal.SIGKILL, (child.returncode, log.read_text()[-2000:])
        problems += consistency_problems(db)
        if not problems:
            found, counts = ledger_problems(db, work / "out", ledger)
            problems += found
            totals = counts
        if problems:
            totals["kills until caught"] = kill
            totals["problems"] = problems
            if stop_on_problem:
                break
            raise AssertionError(f"after kill {kill} of {kills}: {problems[:10]}")
    totals["kills"] = kill
    totals["units begun"] = len(ledger.kind)
    totals["acknowledged"] = len(ledger.acked)
    return dict(totals)


@pytest.fixture
def seeded(cli, db_path) -> Path:
    seed_practice(cli)
    assert not Path(f"{db_path}-wal").exists()  # checkpointed: a plain file copy is whole
    return db_path


def _report_kills(figures: dict) -> str:
    return (
        f"{figures['kills']} kill -9: 0 corrupt, 0 lost acknowledged writes "
        f"({figures['acknowledged']} acknowledged: {figures.get('acked log', 0)} session log, "
        f"{figures.get('acked import', 0)} imports of {IMPORT_ROWS} rows, "
        f"{figures.get('acked summary', 0)} summaries); "
        f"{figures.get('committed but unacknowledged', 0)} sessions/imports committed but "
        f"unacknowledged, {figures.get('summary file complete but unacknowledged', 0)} summary "
        f"files complete but unacknowledged, "
        f"{figures.get('leftover temp files (owner-only)', 0)} leftover temp files (0600)"
    )


def _still_usable(db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "medmassage", "--db", str(db), "session", "list", "-f", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    conn = open_checked(db)
    try:
        assert len(listed) == conn.execute("SELECT count(*) FROM session").fetchone()[0]
    finally:
        conn.close()


def test_kill_9_loses_no_acknowledged_write_short(seeded, tmp_path):
    figures = kill_harness(seeded, tmp_path / "work", SHORT_KILLS, seed=20261127)
    # The children did work before dying. How much depends on the machine's speed (random
    # kill delays of 0–250 ms against a start-up of ~100–200 ms): half a unit per kill is
    # enough to show the kills land mid-work; the property is 0 corrupt, 0 lost.
    assert figures["acknowledged"] >= SHORT_KILLS // 2
    _still_usable(seeded)
    print(_report_kills(figures))


@pytest.mark.stress
def test_kill_9_loses_no_acknowledged_write_stress(seeded, tmp_path, capsys):
    started = time.monotonic()
    figures = kill_harness(seeded, tmp_path / "work", STRESS_KILLS, seed=int(time.time()))
    _still_usable(seeded)
    assert figures["acknowledged"] > STRESS_KILLS
    with capsys.disabled():
        print(f"\n{_report_kills(figures)} [{time.monotonic() - started:.0f} s]")


def test_random_kills_catch_a_writer_without_a_transaction(seeded, tmp_path):
    """Negative control: the same checks, against a session written statement by statement
    with 20 ms between statements. A kill almost always lands inside a unit."""
    figures = kill_harness(seeded, tmp_path / "work", 20, seed=7, raw=True, stop_on_problem=True)
    assert figures.get("problems"), f"20 kills and the checker saw nothing wrong: {figures}"
    assert any(
        "technique rows" in p or "CPT rows" in p or "audit rows" in p or "with --sign" in p
        for p in figures["problems"]
    ), figures["problems"]


@pytest.mark.stress
def test_random_kills_catch_a_writer_without_a_transaction_stress(seeded, tmp_path, capsys):
    """The negative control as a rate: 50 rounds, each a fresh copy of the database and one
    random kill of the writer without a transaction."""
    rounds, caught = 50, 0
    for i in range(rounds):
        copy = tmp_path / f"round-{i}"
        shutil.copytree(seeded.parent, copy / "data", copy_function=shutil.copy2)
        figures = kill_harness(
            copy / "data" / seeded.name, copy / "work", 1, seed=i, raw=True, stop_on_problem=True
        )
        caught += bool(figures.get("problems"))
    assert caught >= rounds // 4, f"the checker caught only {caught} of {rounds}"
    with capsys.disabled():
        print(
            f"\nnegative control (the session written without a transaction): {caught} of "
            f"{rounds} single random kill -9 left it half-written, and the checker said so"
        )


def test_the_checks_catch_each_kind_of_damage(seeded, tmp_path):
    """Negative controls for the checks themselves: damage a copy of a checked database in
    each way a crash could, and the checks must say so."""
    from tests.conftest import Cli

    work = tmp_path / "work"
    for folder in (work, work / "in", work / "out"):
        folder.mkdir(mode=0o700)
    ledger = Ledger()
    cli = Cli(seeded)
    for u, kind in ((30, "log"), (31, "import"), (32, "summary")):
        cli(*_unit_argv(kind, u, str(seeded), str(work))[2:])
        ledger.read([f"BEGIN {kind} {u}", f"ACK {kind} {u} 0"])

    def problems_after(damage) -> list[str]:
        copy = tmp_path / f"copy-{damage.__name__}"
        shutil.copytree(work, copy / "work")
        shutil.copytree(seeded.parent, copy / "data")
        db = copy / "data" / seeded.name
        if damage(db, copy / "work" / "out") is False:
            return []
        found = consistency_problems(db)
        try:
            return found + ledger_problems(db, copy / "work" / "out", ledger)[0]
        except sqlite3.DatabaseError:
            return found

    def sql(db: Path, *statements: str) -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = OFF")
            for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
                conn.execute(f'DROP TRIGGER "{trigger}"')
            for statement in statements:
                conn.execute(statement)
        finally:
            conn.close()

    unit = "(SELECT id FROM session WHERE subjective = 'unit-30')"
    row = "(SELECT id FROM session WHERE subjective = 'imp-31-2')"

    def nothing(db, out):
        pass

    def lost(db, out):
        ledger.read(["BEGIN log 99", "ACK log 99 0"])

    def partial_import(db, out):
        ledger.kind.pop(99), ledger.acked.discard(99)
        sql(db, f"DELETE FROM session_cpt WHERE session_id = {row}",
            f"DELETE FROM session_technique WHERE session_id = {row}",
            "DELETE FROM session WHERE subjective = 'imp-31-2'")  # fmt: skip

    def half_a_session(db, out):
        sql(db, f"DELETE FROM session_cpt WHERE session_id = {unit}")

    def unsigned(db, out):
        sql(db, f"UPDATE session SET status = 'draft', signed_at = NULL WHERE id = {unit}")

    def torn_note(db, out):
        sql(db, f"UPDATE session SET objective = substr(objective, 1, 100) WHERE id = {unit}")

    def orphan_line(db, out):
        sql(db, "INSERT INTO session_technique VALUES (9999, 1, 'swedish', '97124', 30)")

    def torn_summary(db, out):
        f = out / "sum-32.json"
        f.write_bytes(f.read_bytes()[:200])

    def report_without_file(db, out):
        (out / "sum-32.json").unlink()

    def world_readable(db, out):
        db.chmod(0o644)

    def corrupt_page(db, out):
        conn = sqlite3.connect(db)
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'session'").fetchone()
        conn.close()
        with open(db, "r+b") as f:  # the session table's b-tree page: a torn write
            f.seek((root[0] - 1) * size)
            f.write(b"\xff" * 64)

    assert problems_after(nothing) == []
    expected = {
        lost: "LOST: acknowledged log unit 99",
        partial_import: "import unit 31 is partial",
        half_a_session: "CPT rows for 2 codes",
        unsigned: "written with --sign but is draft",
        torn_note: "the note is not stored whole",
        orphan_line: "foreign_key_check",
        torn_summary: "sum-32.json is not a complete summary",
        report_without_file: "is recorded as sent but has no file",
        world_readable: "has mode 644, not 600",
        corrupt_page: ("integrity_check", "cannot read the database"),
    }
    for damage, words in expected.items():
        found = problems_after(damage)
        words = (words,) if isinstance(words, str) else words
        assert any(w in p for p in found for w in words), (damage.__name__, found)


# --- deterministic failpoints --------------------------------------------------------------------

NOTES = ("--subjective", "unit-3", "--objective", _objective(3) or "")
SWEEP_COMMANDS = [
    {
        "name": "session log --sign",
        "argv": ["--db", "{db}", "session", "log", "Jane", "--pre", "6", "--post", "3",
                 "--technique", "swedish=30", "--technique", "myofascial-release=15",
                 "--region", "neck", "--sign", *NOTES],
    },
    {
        "name": "import sessions --sign",
        "argv": ["--db", "{db}", "import", "sessions", "{in}/imp.csv", "--sign"],
        "files": {"imp.csv": _import_csv(1)},
    },
    {
        "name": "summary -o",
        "argv": ["--db", "{db}", "summary", "Jane", "-o", "{out}/sum-2.json",
                 "--from", _summary_period(2)[0], "--to", _summary_period(2)[1]],
        "file": "sum-2.json",
    },
    {"name": "session sign", "argv": ["--db", "{db}", "session", "sign", "11"]},
    {"name": "session amend", "argv": ["--db", "{db}", "session", "amend", "1", "--text", "Late"]},
    {"name": "session void", "argv": ["--db", "{db}", "session", "void", "2", "--reason", "dup"]},
    {
        "name": "client add",
        "argv": ["--db", "{db}", "client", "add", "Sam Roe", "--dob", "1975-01-02",
                 "--phone", "555-0101", "--address", "1 Main St\nOlympia WA"],
    },
    {"name": "client edit", "argv": ["--db", "{db}", "client", "edit", "Jane", "--phone", "555"]},
    {
        "name": "client discharge",
        "argv": ["--db", "{db}", "client", "discharge", "Jane", "--reason", "goals met"],
    },
    {
        "name": "intake",
        "argv": ["--db", "{db}", "intake", "Jane", "--complaint", "Neck pain", "--pain", "7",
                 "--region", "neck", "--date", "2026-11-02", "--ndi", "30",
                 "--goal", "Drive 30 min | no pain | 2027-01-31"],
    },
    {
        "name": "measure add",
        "argv": ["--db", "{db}", "measure", "add", "Jane", "--nprs", "5", "--ndi", "30"],
    },
    {"name": "goal add", "argv": ["--db", "{db}", "goal", "add", "Jane", "Lift 5 kg | 5 kg"]},
    {"name": "goal set", "argv": ["--db", "{db}", "goal", "set", "1", "--status", "met"]},
    {
        "name": "profile set",
        "argv": ["--db", "{db}", "profile", "set", "--practice-name", "Whitfield Massage",
                 "--fee", "97140=45", "--fee", "97124=40", "--report-every", "health=10/30"],
    },
    {
        "name": "catalog add-technique",
        "argv": ["--db", "{db}", "catalog", "add-technique", "gua-sha", "--cpt", "97140"],
    },
    {"name": "case close", "argv": ["--db", "{db}", "case", "close", "1", "--reason", "Rx end"]},
    {
        "name": "export all -o",
        "argv": ["--db", "{db}", "export", "all", "-f", "json", "-o", "{out}/export.json"],
        "file": "export.json",
    },
]  # fmt: skip
RAW_COMMAND = {"name": "session log WITHOUT a transaction (negative control)", "raw": True}


def logical_state(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows with column names, sorted; time stamps masked."""
    conn = open_checked(db)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        state = {}
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            state[table] = sorted(
                (
                    tuple(
                        (n, "<time>" if isinstance(v, str) and _STAMP.match(v) else v)
                        for n, v in zip(names, row, strict=True)
                    )
                    for row in cursor
                ),
                key=repr,
            )
        return state
    finally:
        conn.close()


def volatile_columns(a: dict, b: dict) -> set[tuple[str, str]]:
    """Columns that differ between two complete runs of the same command (keyed hashes over
    time stamps, say): not part of what a crash may or may not have kept."""
    found = set()
    for table in a.keys() & b.keys():
        if len(a[table]) != len(b[table]):
            continue
        for row_a, row_b in zip(a[table], b[table], strict=True):
            found |= {(table, x[0]) for x, y in zip(row_a, row_b, strict=True) if x != y}
    return found


_KEYED = re.compile(r"hash|hmac|mac$|digest|signature", re.IGNORECASE)


def masked(state: dict, volatile: set[tuple[str, str]]) -> dict:
    """The state without volatile columns, nor keyed hashes (a hash over a time stamp differs
    from run to run even when the rows are the same)."""
    return {
        table: sorted(
            (
                tuple(c for c in row if (table, c[0]) not in volatile and not _KEYED.search(c[0]))
                for row in rows
            ),
            key=repr,
        )
        for table, rows in state.items()
    }


def run_sweep(commands: list[dict], baseline: Path, work: Path) -> list[dict]:
    spec = work / "spec.json"
    work.mkdir(mode=0o700)
    spec.write_text(
        json.dumps({"baseline": str(baseline), "work": str(work), "commands": commands})
    )
    done = subprocess.run(
        [sys.executable, "-c", child_source(), "sweep", str(spec)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def sweep_outcomes(commands: list[dict], baseline: Path, work: Path) -> list[dict]:
    """For each command and each failpoint k: was the database as before, as after, or
    neither, and what did the consistency checks say."""
    results = run_sweep(commands, baseline, work)
    before = logical_state(baseline)
    outcomes = []
    for i, command in enumerate(commands):
        base = work / f"{i:02d}"
        complete = next(r for r in results if r["command"] == i and r["k"] is None)
        assert complete["exit"] == 0, (
            f"{command['name']} failed: {(base / 'complete' / 'stderr.log').read_text()}"
        )
        total = complete["steps"]
        after = logical_state(base / "complete" / "db" / "practice.db")
        last = base / f"{total:03d}" / "db" / "practice.db"
        volatile = volatile_columns(after, logical_state(last))
        views = {"before": masked(before, volatile), "after": masked(after, volatile)}
        for r in (r for r in results if r["command"] == i and r["k"] is not None):
            where = base / f"{r['k']:03d}"
            db = where / "db" / "practice.db"
            problems = [] if r["exit"] == 137 else [f"exit {r['exit']}, not the failpoint"]
            problems += consistency_problems(db)
            state = masked(logical_state(db), volatile)
            seen = next((name for name, view in views.items() if view == state), "neither")
            if views["before"] == views["after"]:  # a read-only command: its file tells
                seen = "after" if (where / "out" / command.get("file", "-")).exists() else "before"
            if seen == "neither":
                problems.append("the database is neither as before nor as after the command")
            if command.get("file"):
                target = where / "out" / command["file"]
                for f in (where / "out").iterdir():
                    if mode(f) != 0o600:
                        problems.append(f"{f.name} has mode {mode(f):o}")
                    if f.name != command["file"] and not f.name.startswith(f".{command['file']}"):
                        problems.append(f"unexpected file {f.name}")
                if target.exists():
                    try:
                        json.loads(target.read_text(encoding="utf-8"))
                    except ValueError:
                        problems.append(f"{target.name} exists but is not complete")
                elif seen == "after" and command["file"].startswith("sum-"):
                    problems.append("the report is recorded as sent but its file is missing")
            outcomes.append(
                {"command": command["name"], "k": r["k"], "steps": total, "state": seen,
                 "problems": problems}
            )  # fmt: skip
    return outcomes


# The default run sweeps the three units of the kill harness and two more multi-statement
# commands (~4 s); the stress run sweeps every write command.
SHORT_SWEEP = ("session log --sign", "import sessions --sign", "summary -o", "client discharge")


def check_sweep(commands: list[dict], baseline: Path, work: Path) -> str:
    """Die after step k (k = 0 … all), for every k of every command: the database is exactly
    as before or exactly as after, consistent, and once after, always after."""
    outcomes = sweep_outcomes(commands, baseline, work)
    by_command = defaultdict(list)
    for o in outcomes:
        by_command[o["command"]].append(o)
    bad = [o for o in outcomes if o["problems"]]
    assert not bad, bad[:5]
    for name, runs in by_command.items():
        states = [o["state"] for o in sorted(runs, key=lambda o: o["k"])]
        assert states[0] == "before" and states[-1] == "after", (name, states)
        flip = states.index("after")
        assert states[flip:] == ["after"] * (len(states) - flip), (name, states)
    steps = ", ".join(f"{name} {runs[0]['steps']}" for name, runs in by_command.items())
    return (
        f"failpoints at all {len(outcomes)} step boundaries of {len(by_command)} write commands "
        f"({steps}): 0 inconsistent, 0 partial"
    )


def test_failpoints_at_every_step_of_the_main_write_commands(seeded, tmp_path):
    commands = [c for c in SWEEP_COMMANDS if c["name"] in SHORT_SWEEP]
    print(check_sweep(commands, seeded, tmp_path / "sweep"))


@pytest.mark.stress
def test_failpoints_at_every_step_of_every_write_command(seeded, tmp_path, capsys):
    figures = check_sweep(SWEEP_COMMANDS, seeded, tmp_path / "sweep")
    control = sweep_outcomes([RAW_COMMAND], seeded, tmp_path / "control")
    partial = [o for o in control if o["state"] == "neither"]
    caught = [o for o in partial if o["problems"]]
    assert partial and caught == partial
    with capsys.disabled():
        print(
            f"\n{figures}\nnegative control (the session written without a transaction): "
            f"{len(partial)} of its {len(control)} failpoints leave it half-written; the "
            f"checker caught {len(caught)} of {len(partial)}"
        )


def test_failpoints_catch_a_writer_without_a_transaction(seeded, tmp_path):
    """Negative control: the same sweep and checker over the session written without a
    transaction. The checker must name the half-written session."""
    outcomes = sweep_outcomes([RAW_COMMAND], seeded, tmp_path / "sweep")
    partial = [o for o in outcomes if o["state"] == "neither"]
    caught = [o for o in partial if any("session" in p for p in o["problems"])]
    assert len(partial) >= 4, outcomes  # no techniques / no CPT / no audit / not signed
    assert caught == partial, [o for o in partial if o not in caught]
    reasons = [p for o in caught for p in o["problems"]]
    assert any("no technique rows" in r for r in reasons), reasons
    assert any("audit rows, not 1" in r for r in reasons), reasons
