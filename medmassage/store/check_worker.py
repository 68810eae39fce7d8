"""`db check` on a large practice: the record digests computed in a second process.

`db check` does two long pieces of Python work: walking the audit chain (one HMAC per audit row)
and recomputing every record's content digest (digests.current_digests). Each holds the GIL, so
threads cannot overlap them; at 100,000 sessions they took 2.7 s and 3.3 s one after the other
on the benchmark machine. From PARALLEL_FROM records on, the digests are computed by a fresh
interpreter (`python -m medmassage.store.check_worker`, never a fork: SQLite's locks and WAL memory
must not be shared with a forked child) while this process walks the chain; integrity_check runs
in a thread meanwhile (SQLite releases the GIL while it works).

The worker reads its own snapshot. It reports the newest audit row id it saw, and its digests
are used only when that is the id this process's snapshot holds: a change the tool made in
between (every change adds an audit row) sends `db check` back to computing them itself, as do a
worker that fails or is killed. The worker is given the database's path on stdin, and the key of
an encrypted database the same way (never on its command line or in its environment).

Output protocol (stdout, text): first line `ok <newest audit id or ->`, then one line per record,
`<entity> <id or -> <digest>`, in digests.current_digests order.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

# Below this many records the worker's start-up (a fresh interpreter) costs more than it saves.
PARALLEL_FROM = 20_000


def threshold() -> int:
    """PARALLEL_FROM, or MEDMASSAGE_CHECK_PARALLEL_FROM (the tests set 0 to exercise the worker on
    a small practice)."""
    raw = os.environ.get("MEDMASSAGE_CHECK_PARALLEL_FROM", "")
    return int(raw) if raw.isdigit() else PARALLEL_FROM


def newest_audit_id(conn: Any) -> int | None:
    return conn.execute("SELECT max(id) FROM audit").fetchone()[0]


class Worker:
    """A running worker; `digests(marker)` waits for it."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: list[str] = []
        # Read while it writes: a pipe holds 64 KB, and the worker must not wait on this
        # process's chain walk.
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        self.lines = self.process.stdout.read().splitlines()

    def digests(self, marker: int | None) -> list[tuple[tuple[str, int | None], str]] | None:
        """The worker's digests, or None when they cannot be used (it failed, or it read a
        snapshot other than `marker`'s)."""
        self.reader.join()
        if self.process.wait() != 0 or not self.lines:
            return None
        head = self.lines[0].split()
        if len(head) != 2 or head[0] != "ok" or head[1] != _id_text(marker):
            return None
        out = []
        for line in self.lines[1:]:
            entity, entity_id, digest = line.split()
            out.append(((entity, None if entity_id == "-" else int(entity_id)), digest))
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _id_text(value: int | None) -> str:
    return "-" if value is None else str(value)


def start(conn: Any) -> Worker | None:
    """A worker for the database file `conn` has open; None when it cannot be started (the
    caller computes the digests itself)."""
    from medmassage.store.crypto import key_of

    rows = conn.execute("PRAGMA database_list").fetchall()
    path = next((row[2] for row in rows if row[1] == "main"), "")
    if not path or "\n" in path:
        return None
    key = key_of(conn)
    if key is not None and "\n" in key:
        return None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "medmassage.store.check_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
    except OSError:
        return None
    assert process.stdin is not None
    try:
        process.stdin.write(path + "\n" + (key if key is not None else "") + "\n")
        process.stdin.close()
    except OSError:
        process.kill()
        process.wait()
        return None
    return Worker(process)


class IntegrityThread:
    """PRAGMA integrity_check and foreign_key_check on a second read-only connection, in a
    thread: SQLite releases the GIL while it works, so they overlap the chain walk."""

    def __init__(self, conn: Any) -> None:
        self.found: list[Any] = []
        rows = conn.execute("PRAGMA database_list").fetchall()
        path = next((row[2] for row in rows if row[1] == "main"), "")
        self.thread = threading.Thread(target=self._run, args=(conn, path), daemon=True)
        if path:
            self.thread.start()

    def _run(self, conn: Any, path: str) -> None:
        from medmassage.store.crypto import open_like

        try:
            other = open_like(conn, Path(path), 30.0, read_only=True)
        except Exception:  # any driver's error: the caller runs the checks itself
            return
        try:
            other.execute("BEGIN")
            found = [[r[0] for r in other.execute("PRAGMA integrity_check")]]
            found.append(other.execute("PRAGMA foreign_key_check").fetchall())
            other.execute("ROLLBACK")
            self.found = found
        except Exception:
            self.found = []
        finally:
            other.close()

    def result(self) -> tuple[list[str], list[Any]] | None:
        """(integrity_check lines, foreign_key_check rows), or None when the second connection
        could not run them."""
        if self.thread.ident is not None:
            self.thread.join()
        return (self.found[0], self.found[1]) if len(self.found) == 2 else None


def main() -> int:
    """The worker: path and key on stdin, digests on stdout (the protocol above)."""
    import sqlite3

    from medmassage.store import digests

    path = sys.stdin.readline().rstrip("\n")
    key = sys.stdin.readline().rstrip("\n")
    if key:
        from medmassage.store.crypto import try_key

        conn = try_key(Path(path), key, 30.0, read_only=True)
        if conn is None:
            return 1
    else:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        conn.isolation_level = None
    conn.execute("BEGIN")
    out = sys.stdout
    out.write(f"ok {_id_text(newest_audit_id(conn))}\n")
    for (entity, entity_id), digest in digests.current_digests(conn):
        out.write(f"{entity} {_id_text(entity_id)} {digest}\n")
    conn.execute("ROLLBACK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
