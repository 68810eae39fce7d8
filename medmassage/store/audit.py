"""Tamper-evidence: the keyed hash chain over the audit log, and the checks `db check` runs.

Why a keyed chain (notes-storage-and-security §3.5 item 4). The triggers make the audit table
append-only against bugs, but anyone holding the database file can drop a trigger, edit a row and
put the trigger back. A plain SHA-256 chain does not stop them either: they recompute it. An HMAC
keyed by a secret that is *not in the file* does: without the key the chain cannot be recomputed.

The key. 32 random bytes (os.urandom), stored as 64 hex digits in
`<config dir>/keys/<practice-uuid>.key`, folder 0700 and file 0600, made the first time an audit
row needs it. `<config dir>` is $MEDMASSAGE_CONFIG_DIR, else $XDG_CONFIG_HOME/medmassage (absolute
values only), else ~/.config/medmassage, ~/Library/Application Support/medmassage on macOS or
%APPDATA%\\medmassage on Windows (worked out by hand like paths.py: platformdirs is slow to
import). The practice UUID is random, made by migration M004 in `practice_meta`. The key is in
no database, backup or export; it is plain text so that it can be kept in a password manager. The
database stores only a key id, HMAC(key, "medmassage audit key id") cut to 16 hex digits, which
says which key made which rows and reveals nothing about the key.

The chain. Row n's `audit_chain.hash` is hex(HMAC-SHA256(key, message)), the message being the
UTF-8 of these lines, strings with their length in front so that no two rows encode alike:

    medmassage-audit-v1
    <hash of the row before, 64 hex digits; 64 zeros for the first row>
    <key id if this row starts a key segment, else ->
    <audit id>
    <len(at)>:<at>
    <len(actor)>:<actor>
    <len(action)>:<action>
    <len(entity)>:<entity>
    <entity_id, or - when NULL>

The chain rows live in `audit_chain` (audit rows can never be UPDATEd). db.audit() appends the
audit row and its chain row in one transaction; the previous hash is the last chain row, and the
key is read once per process. Audit rows written before M004 are chained inside the M004
migration's own transaction (db.migrate), and never afterwards: a database at version 4 has no
legitimately unchained rows, so an unchained row is always reported, never silently adopted.

When the key is missing (a new computer, a lost config folder, a restored backup) the tool must
stay usable: the therapist is never locked out of their records over a checksum. So:
- Reading needs no key. Writing, when no key on this computer matches the key that wrote the
  latest rows, makes a new key and starts a new segment: an audit row `rekey` (entity
  `audit_key`), whose chain row names the new key id and links to the previous row's stored
  hash, so the old segment's end is sealed under the new key.
- `db check` verifies every segment whose key is here: `<uuid>.key`, or an old key copied back
  under any name `<uuid>*.key`. A segment whose key is not here cannot be verified; it is still
  checked for deleted, inserted and unchained rows. Segments that *precede* every verified one
  are the normal result of moving to a new computer: a warning naming the rows and the `rekey`
  row (exit 0; `db check --strict` fails instead). A segment with a missing key *after* a
  verified one means another computer wrote with its own key, or someone forged a `rekey` to
  hide edits behind it: a problem (copy the other computer's key file here to verify it). A
  key file for this practice that matches no segment at all (a replaced key file, or a log
  rewritten under another key) is also a problem.
- A key file that cannot be created (the config folder is not writable) stops writes with a
  message naming the folder and MEDMASSAGE_CONFIG_DIR, rather than writing unchained rows.

A row that carries a content digest (schema 7: the changed record's SHA-256, store/digests.py) is
tagged medmassage-audit-v2 and has the digest as a last line; `db check` compares every current
record's digest with the latest one chained for it.

Limits, stated plainly. Deleting the newest rows together with their chain rows (truncating the
tail) leaves a valid shorter chain, and replacing the practice id and the whole log makes it look
like a database from another computer: the anchor kept beside the key after every change (and
the head in each backup's manifest) catches both — a shorter or different chain than the anchor,
or another practice id at an anchored path, fails `db check`. Someone holding the database *and*
the config folder (key and anchor) can rewrite anything.
"""

import os
import posixpath
import re
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from medmassage.errors import RuntimeProblem

# SHA-256 from the interpreter's own module, not hashlib: hashlib and hmac load OpenSSL on import
# (about 3 ms, paid by every command that writes), for a few hundred bytes hashed per command.
# Builds without the built-in hashes (FIPS distributions) fall back to hashlib.
try:
    from _sha2 import sha256 as _sha256  # Python 3.12+
except ImportError:
    try:
        from _sha256 import sha256 as _sha256  # Python 3.11
    except ImportError:
        from hashlib import sha256 as _sha256

_INNER_PAD = bytes(x ^ 0x36 for x in range(256))
_OUTER_PAD = bytes(x ^ 0x5C for x in range(256))


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data`, hex (store/digests.py's content digests)."""
    return _sha256(data).hexdigest()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104): the same bytes as hmac.digest(key, message, "sha256"), which a
    test checks over random keys and messages."""
    pads = _PADDED.get(key)
    if pads is None:
        padded = (_sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")  # block size
        if len(_PADDED) >= 8:  # a key or two per practice: never more than a handful
            _PADDED.clear()
        pads = _PADDED[key] = (
            _sha256(padded.translate(_INNER_PAD)),
            _sha256(padded.translate(_OUTER_PAD)),
        )
    # The padded key's hash state copied, not recomputed: half the cost of a chain walk's HMACs.
    inner = pads[0].copy()
    inner.update(message)
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.digest()


# key -> SHA-256 states after its inner and outer pads (hmac_sha256).
_PADDED: dict[bytes, tuple] = {}


APP = "medmassage"
GENESIS = "0" * 64
KEY_BYTES = 32
_TAG = "medmassage-audit-v1"
_TAG_DIGEST = "medmassage-audit-v2"  # a row that carries its record's content digest (M007)
_KEY_ID_LABEL = b"medmassage audit key id"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# --- where the keys live --------------------------------------------------------------------------


def config_dir() -> Path:
    """medmassage's own config folder (platformdirs' user_config_dir with roaming on Windows)."""
    env = os.environ.get("MEDMASSAGE_CONFIG_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / APP
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if posixpath.isabs(xdg):  # relative values are ignored, as in paths.default_data_dir
        return Path(xdg) / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return Path.home() / ".config" / APP


def keys_dir() -> Path:
    return config_dir() / "keys"


def key_path(practice_uuid: str) -> Path:
    """The key this computer writes with for this practice."""
    return keys_dir() / f"{practice_uuid}.key"


# --- keys -----------------------------------------------------------------------------------------


class Key(NamedTuple):
    secret: bytes
    key_id: str
    path: Path

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return f"Key(key_id={self.key_id!r}, path={str(self.path)!r})"


class BadKeyFile(ValueError):
    pass


# Read once per process; the file's identity and mtime say when a cached key is stale (a key
# file replaced or removed while a process runs, e.g. in tests that run the CLI in-process).
_loaded: dict[Path, tuple[tuple[int, int, int], Key]] = {}


def key_id_of(secret: bytes) -> str:
    return hmac_sha256(secret, _KEY_ID_LABEL).hex()[:16]


def read_key(path: Path) -> Key | None:
    """The key in `path`, None if there is no such file; BadKeyFile if it is not a key."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        _loaded.pop(path, None)
        return None
    except OSError as e:
        raise BadKeyFile(f"cannot read {path}: {e.strerror or e}") from None
    stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
    cached = _loaded.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise BadKeyFile(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != KEY_BYTES:
        raise BadKeyFile(f"{path} is not a medmassage audit key ({2 * KEY_BYTES} hex digits)")
    key = Key(secret, key_id_of(secret), path)
    _loaded[path] = (stamp, key)
    return key


def key_files(practice_uuid: str) -> list[Path]:
    """This practice's key files on this computer: `<uuid>.key` and old keys copied back."""
    try:
        names = sorted(os.listdir(keys_dir()))
    except OSError:
        return []
    return [keys_dir() / n for n in names if n.startswith(practice_uuid) and n.endswith(".key")]


def local_keys(practice_uuid: str) -> dict[str, Key]:
    """Every readable key of this practice on this computer, by key id."""
    found: dict[str, Key] = {}
    for path in key_files(practice_uuid):
        try:
            key = read_key(path)
        except BadKeyFile:
            continue
        if key is not None:
            found.setdefault(key.key_id, key)
    return found


def _create_key(path: Path) -> Key:
    """Make the key file (0600 in a 0700 folder). Another process making it at the same moment
    wins or loses cleanly: the file appears whole (link), and the loser reads the winner's."""
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        temp = folder / f".{path.name}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.write(fd, os.urandom(KEY_BYTES).hex().encode("ascii") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process made it first
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        if hasattr(os, "O_DIRECTORY"):
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as e:
        raise RuntimeProblem(
            f"cannot create the audit key in {folder}: {e.strerror or e}; make that folder "
            "writable, or point MEDMASSAGE_CONFIG_DIR at a private folder"
        ) from None
    key = _primary_key(path)
    if key is None:  # pragma: no cover - made above
        raise RuntimeProblem(f"cannot read the audit key {path} just made")
    return key


def _primary_key(path: Path) -> Key | None:
    try:
        return read_key(path)
    except BadKeyFile as e:
        raise RuntimeProblem(
            f"{e}; move it aside, and medmassage will start a new audit key (`medmassage db "
            "check` then names the rows it can no longer verify)"
        ) from None


# The last answer of _writing_key, for the connection that asked: a bulk import appends
# hundreds of thousands of rows on one connection, and looking at the key file each time (paths,
# a stat) costs more than the rest of the append. A new connection (a new command) looks again.
_writer: tuple[object, str, str | None, Key, bool] | None = None


def _writing_key_for(
    conn: sqlite3.Connection, practice_uuid: str, segment_key_id: str | None
) -> tuple[Key, bool]:
    global _writer
    if (
        _writer is not None
        and _writer[0] is conn
        and _writer[1] == practice_uuid
        and _writer[2] == segment_key_id
    ):
        return _writer[3], _writer[4]
    key, starts = _writing_key(practice_uuid, segment_key_id)
    _writer = (conn, practice_uuid, segment_key_id, key, starts)
    return key, starts


def _writing_key(practice_uuid: str, segment_key_id: str | None) -> tuple[Key, bool]:
    """The key to write with, and whether it starts a new segment."""
    path = key_path(practice_uuid)
    primary = _primary_key(path)
    if segment_key_id is None:  # the first audit row of this practice
        return primary or _create_key(path), True
    if primary is not None and primary.key_id == segment_key_id:
        return primary, False
    restored = local_keys(practice_uuid).get(segment_key_id)
    if restored is not None:  # the key of the latest rows, copied back under another name
        return restored, False
    return primary or _create_key(path), True


# --- the chain ------------------------------------------------------------------------------------


def link(
    secret: bytes,
    prev: str,
    key_id: str | None,
    audit_id: int,
    at: str,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    digest: str | None = None,
) -> str:
    """The chain hash of one audit row (the encoding is in the module docstring); a row with
    a content digest (store/digests.py) is tagged v2 and ends with the digest."""
    message = (
        f"{_TAG if digest is None else _TAG_DIGEST}\n{prev}\n{key_id or '-'}\n{audit_id}\n"
        f"{len(at)}:{at}\n{len(actor)}:{actor}\n{len(action)}:{action}\n"
        f"{len(entity)}:{entity}\n{'-' if entity_id is None else entity_id}"
    )
    if digest is not None:
        message += f"\n{digest}"
    return hmac_sha256(secret, message.encode("utf-8", "surrogatepass")).hex()


def practice_id(conn: sqlite3.Connection) -> str:
    """The practice UUID (practice_meta), checked to be one: it names the key file."""
    row = conn.execute("SELECT practice_uuid FROM practice_meta WHERE id = 1").fetchone()
    if row is None:
        raise RuntimeProblem(
            "the practice id is missing from the database (practice_meta); "
            "run `medmassage db check`"
        )
    return _valid_uuid(row[0])


def _valid_uuid(value: object) -> str:
    # It names a file: never let a crafted value reach a path.
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise RuntimeProblem(
            "the practice id in the database is not a UUID (practice_meta); "
            "run `medmassage db check`"
        )
    return value


_HEAD = """
SELECT (SELECT practice_uuid FROM practice_meta WHERE id = 1),
       (SELECT hash FROM audit_chain ORDER BY audit_id DESC LIMIT 1),
       (SELECT key_id FROM audit_chain WHERE key_id IS NOT NULL ORDER BY audit_id DESC LIMIT 1)
"""


def _append_row(
    conn: sqlite3.Connection,
    key: Key,
    starts_segment: bool,
    prev: str,
    row: tuple[str, str, str, str, int | None],
    digest: str | None = None,
) -> tuple[int, str]:
    cursor = conn.execute(
        "INSERT INTO audit (at, actor, action, entity, entity_id) VALUES (?, ?, ?, ?, ?)", row
    )
    audit_id = int(cursor.lastrowid or 0)
    key_id = key.key_id if starts_segment else None
    chained = link(key.secret, prev, key_id, audit_id, *row, digest)
    if digest is None:  # a row about no record (rekey), or a schema before M007
        conn.execute(
            "INSERT INTO audit_chain (audit_id, hash, key_id) VALUES (?, ?, ?)",
            (audit_id, chained, key_id),
        )
    else:
        conn.execute(
            "INSERT INTO audit_chain (audit_id, hash, key_id, digest) VALUES (?, ?, ?, ?)",
            (audit_id, chained, key_id, digest),
        )
    return audit_id, chained


def append(
    conn: sqlite3.Connection,
    at: str,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    digest: str | None = None,
) -> tuple[int, str]:
    """Append one audit row and its chain row. Call inside a transaction (db.audit does).
    Returns the new head (audit id, hash)."""
    return append_many(conn, [(at, actor, action, entity, entity_id, digest)])


def append_many(
    conn: sqlite3.Connection,
    rows: Sequence[tuple[str, str, str, str, int | None, str | None]],
) -> tuple[int, str]:
    """Append audit rows (at, actor, action, entity, entity_id, content digest) and their chain
    rows, in order, in the caller's transaction. Returns the new head (audit id, hash)."""
    uuid, prev, segment_key_id = conn.execute(_HEAD).fetchone()
    if uuid is None:
        practice_id(conn)  # raises the message
    key, starts = _writing_key_for(conn, _valid_uuid(uuid), segment_key_id)
    prev = prev or GENESIS
    head = (0, prev)
    for at, actor, action, entity, entity_id, digest in rows:
        if starts and segment_key_id is not None:
            # No key here matches the latest rows' key: a new segment, said in the log itself.
            head = _append_row(conn, key, True, prev, (at, actor, "rekey", "audit_key", None))
            prev, starts = head[1], False
        head = _append_row(conn, key, starts, prev, (at, actor, action, entity, entity_id), digest)
        prev, starts = head[1], False
    return head


def chain_existing_rows(conn: sqlite3.Connection) -> int:
    """Migration M004: chain the audit rows an older medmassage wrote, in the migration's own
    transaction (so version 4 never has legitimately unchained rows). Returns how many."""
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(
        "SELECT id, at, actor, action, entity, entity_id FROM audit ORDER BY id"
    ).fetchall()
    if not rows:
        return 0
    path = key_path(practice_id(conn))
    key = _primary_key(path) or _create_key(path)
    prev, key_id, links = GENESIS, key.key_id, []
    for row in rows:
        prev = link(key.secret, prev, key_id, *row)
        links.append((row[0], prev, key_id))
        key_id = None
    conn.executemany("INSERT INTO audit_chain (audit_id, hash, key_id) VALUES (?, ?, ?)", links)
    return len(links)


def head(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """The newest chain row (audit id, hash): an anchor to keep outside the database (a backup
    manifest), which catches a log cut short together with its chain."""
    row = conn.execute(
        "SELECT audit_id, hash FROM audit_chain ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


# --- the anchor: the chain's head, kept outside the database -------------------------------------
#
# A chain cut short (its newest rows deleted together with their chain rows) or rewritten whole
# under a new practice id still verifies on its own. So after every change the tool keeps the
# head (latest audit id and hash) in `<keys dir>/<practice uuid>.<path tag>.anchor`, beside the
# key, owner-only: one file per practice and database path (a copy or a backup elsewhere keeps
# its own chain). `db check` then requires the chain at that path to hold that row with that
# hash. Written atomically after the commit (a crash in between leaves an older head, which is
# still a prefix of the chain); never moved backwards, and never over an anchor the chain no
# longer holds (the evidence stays until `db check` has reported it).


def _path_tag(database: str) -> str:
    return sha256_hex(database.encode("utf-8", "surrogateescape"))[:12]


def database_path(conn: sqlite3.Connection) -> str | None:
    """The main database file of `conn`, resolved (None: in memory)."""
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return os.path.realpath(file) if file else None
    return None


def anchor_path(practice_uuid: str, database: str) -> Path:
    return keys_dir() / f"{practice_uuid}.{_path_tag(database)}.anchor"


class Anchor(NamedTuple):
    practice: str
    database: str
    audit_id: int
    hash: str
    written: str
    path: Path


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in `path`; None if there is none or it cannot be read as one."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Anchor(
            str(data["practice"]),
            str(data["database"]),
            int(data["audit_id"]),
            str(data["hash"]),
            str(data.get("written", "")),
            path,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def anchors() -> list[Anchor]:
    """Every anchor on this computer."""
    try:
        names = sorted(os.listdir(keys_dir()))
    except OSError:
        return []
    found = [read_anchor(keys_dir() / n) for n in names if n.endswith(".anchor")]
    return [a for a in found if a is not None]


def _chain_hash(conn: sqlite3.Connection, audit_id: int) -> str | None:
    row = conn.execute("SELECT hash FROM audit_chain WHERE audit_id = ?", (audit_id,)).fetchone()
    return row[0] if row else None


def write_anchor(practice_uuid: str, database: str, head: tuple[int, str]) -> None:
    """Write the anchor file atomically, owner-only (0600 in the 0700 keys folder)."""
    import json

    from medmassage.rules.dates import now_stamp

    path = anchor_path(practice_uuid, database)
    data = {
        "practice": practice_uuid,
        "database": database,
        "audit_id": head[0],
        "hash": head[1],
        "written": now_stamp(),
    }
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = folder / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.write(fd, json.dumps(data).encode("utf-8") + b"\n")
    finally:
        os.close(fd)
    os.replace(temp, path)


def keep_anchor(conn: sqlite3.Connection, *, force: bool = False) -> None:
    """After a commit that chained rows: the chain's head becomes the anchor of this database,
    unless the anchor already there is newer, or is one the chain no longer holds (kept for
    `db check` to report). `force`: the user replaced the database through medmassage (a
    restore, `db check --accept-new-key`). A file system that refuses the write costs the
    anchor, never the change: `db check` then says the database is not anchored."""
    database = database_path(conn)
    uuid_row = conn.execute("SELECT practice_uuid FROM practice_meta WHERE id = 1").fetchone()
    latest = head(conn)
    if database is None or uuid_row is None or latest is None:
        return
    try:
        uuid = _valid_uuid(uuid_row[0])
        if not force:
            old = read_anchor(anchor_path(uuid, database))
            if old is not None:
                if old.audit_id >= latest[0]:
                    return
                if _chain_hash(conn, old.audit_id) != old.hash:
                    return
        write_anchor(uuid, database, latest)
    except (OSError, RuntimeProblem):
        pass


class AnchorResult(NamedTuple):
    ok: bool
    detail: str
    warning: bool = False


def check_anchor(conn: sqlite3.Connection, accept_new_key: bool = False) -> AnchorResult:
    """Does the chain hold the head this computer anchored for this database?"""
    database = database_path(conn)
    meta = conn.execute("SELECT practice_uuid FROM practice_meta WHERE id = 1").fetchone()
    if database is None or meta is None:
        return AnchorResult(True, "ok (nothing to anchor)")
    try:
        uuid = _valid_uuid(meta[0])
    except RuntimeProblem as e:
        return AnchorResult(False, str(e))
    latest = head(conn)
    every = anchors()
    here = [a for a in every if a.database == database]
    mine = next((a for a in here if a.practice == uuid), None)
    others = [a for a in here if a.practice != uuid]
    if others and mine is None:
        if not accept_new_key:
            a = others[0]
            return AnchorResult(
                False,
                f"this database was practice {a.practice} (anchored at audit row {a.audit_id}, "
                f"{a.written}) and now carries practice id {uuid}: rewritten outside "
                "medmassage, or replaced by another practice's database. If you replaced it "
                "on purpose, run `medmassage db check --accept-new-key`",
            )
        for a in others:
            a.path.unlink(missing_ok=True)
        if latest is not None:
            write_anchor(uuid, database, latest)
        return AnchorResult(
            True, f"ok (accepted practice {uuid} at this path in place of {others[0].practice})"
        )
    if mine is None:
        if latest is None:
            return AnchorResult(True, "ok (no audit rows yet)")
        copies = [a for a in every if a.practice == uuid]
        held = [a for a in copies if _chain_hash(conn, a.audit_id) == a.hash]
        if held:
            return AnchorResult(
                True,
                f"ok (a copy of {held[0].database}; holds its anchored row {held[0].audit_id})",
            )
        where = f"; this practice is anchored at {copies[0].database}" if copies else ""
        return AnchorResult(
            True,
            "not anchored on this computer (moved or copied here, or last written by an older "
            f"medmassage){where}: the next change anchors it",
            warning=True,
        )
    found = _chain_hash(conn, mine.audit_id)
    if found == mine.hash:
        return AnchorResult(True, f"ok (holds anchored row {mine.audit_id} of {mine.written})")
    last = latest[0] if latest else 0
    if found is None and last < mine.audit_id:
        return AnchorResult(
            False,
            f"the audit log ends at row {last}, but this computer anchored row {mine.audit_id} "
            f"({mine.written}): {_rows(last + 1, mine.audit_id, 'was', 'were')} deleted outside "
            "medmassage, or an older copy of the database was put in its place (restore backups "
            "with `medmassage db restore`)",
        )
    return AnchorResult(
        False,
        f"audit row {mine.audit_id} is not the one this computer anchored ({mine.written}): the "
        "log was rewritten outside medmassage, or another copy of the database was put in its "
        "place",
    )


# --- verifying ------------------------------------------------------------------------------------


class Segment(NamedTuple):
    first: int
    last: int
    key_id: str
    verified: bool
    first_action: str


class ChainResult(NamedTuple):
    rows: int
    problem: str | None = None
    warning: str | None = None
    key_file: Path | None = None
    # The latest content digest chained for each record (entity, id), and the chain's head
    # (audit id, hash): filled in when the whole chain was walked.
    digests: dict | None = None
    head: tuple[int, str] | None = None
    chained_at: dict | None = None  # (entity, id) -> (audit id, at, action) of that digest

    @property
    def detail(self) -> str:
        if self.problem:
            return self.problem
        if self.warning:
            return f"warning: {self.warning}"
        if not self.rows:
            return "ok (no audit rows yet)"
        return f"ok ({self.rows} rows verified; key {self.key_file})"


def _rows(first: int, last: int, singular: str, plural: str) -> str:
    return f"row {first} {singular}" if first == last else f"rows {first}–{last} {plural}"


def verify(conn: sqlite3.Connection, want: tuple | None = None) -> ChainResult:
    """Walk the whole chain, oldest row first, and report the first problem found.

    About 3 µs a row: one HMAC each, rows streamed from one ordered join.
    """
    meta = conn.execute("SELECT practice_uuid FROM practice_meta WHERE id = 1").fetchone()
    if meta is None:
        return ChainResult(0, "the practice id (practice_meta) is gone: deleted outside medmassage")
    try:
        uuid = _valid_uuid(meta[0])
    except RuntimeProblem:
        return ChainResult(
            0, "the practice id (practice_meta) is not a UUID: edited outside medmassage"
        )
    keys = local_keys(uuid)
    primary = key_path(uuid)
    # The first chain row whose audit row is gone (deleted with foreign keys off).
    orphan = conn.execute(
        "SELECT min(audit_id) FROM audit_chain WHERE audit_id NOT IN (SELECT id FROM audit)"
    ).fetchone()[0]
    if orphan is None:
        orphan = 2**63  # no audit id is larger
    cursor = conn.cursor()
    cursor.row_factory = None
    digest_column = "c.digest" if _has_digests(conn) else "NULL"
    cursor.execute(
        "SELECT a.id, a.at, a.actor, a.action, a.entity, a.entity_id, c.audit_id, c.hash, "
        f"c.key_id, {digest_column} FROM audit AS a LEFT JOIN audit_chain AS c "
        "ON c.audit_id = a.id ORDER BY a.id"
    )
    digests: dict[tuple[str, int | None], str] = {}
    chained_at: dict[tuple[str, int | None], tuple[int, str, str]] = {}
    starts: list[tuple[int, str, bool, str]] = []  # (first row, key id, verified, action)
    secret: bytes | None = None
    prev, prev_id, rows = GENESIS, 0, 0

    def broken(problem: str) -> ChainResult:
        return ChainResult(rows, problem, key_file=primary)

    for audit_id, at, actor, action, entity, entity_id, chained, digest, key_id, content in cursor:
        if orphan < audit_id:
            return broken(f"row {orphan} was deleted (its chain entry is still there)")
        if chained is None:
            return broken(f"row {audit_id} has no chain entry (inserted outside medmassage)")
        if key_id is not None:
            key = keys.get(key_id)
            secret = key.secret if key else None
            starts.append((audit_id, key_id, key is not None, action))
        elif not starts:  # the first row must name the key that starts the chain
            return broken(f"row {audit_id} does not match (edited or inserted outside medmassage)")
        if secret is not None:
            try:
                expected = link(
                    secret, prev, key_id, audit_id, at, actor, action, entity, entity_id, content
                )
            except (TypeError, ValueError):  # a value of the wrong type: edited outside
                expected = ""
            if expected != digest:
                if audit_id - prev_id > 1:
                    gone = _rows(prev_id + 1, audit_id - 1, "is", "are")
                    return broken(
                        f"row {audit_id} does not match: {gone} missing (deleted outside "
                        "medmassage)"
                    )
                return broken(
                    f"row {audit_id} does not match (edited or inserted outside medmassage)"
                )
        if content is not None:
            digests[(entity, entity_id)] = content
            if want is not None and want == (entity, entity_id):
                chained_at[want] = (audit_id, at, action)
        prev, prev_id, rows = digest, audit_id, rows + 1
    if orphan < 2**63:
        return broken(f"row {orphan} was deleted (its chain entry is still there)")
    ends = [first - 1 for first, *_ in starts[1:]] + [prev_id] * bool(starts)
    segments = [Segment(s[0], end, s[1], s[2], s[3]) for s, end in zip(starts, ends, strict=True)]
    judged = _judge_segments(rows, segments, keys, primary)
    return judged._replace(
        digests=digests, chained_at=chained_at, head=(prev_id, prev) if rows else None
    )


def _has_digests(conn: sqlite3.Connection) -> bool:
    """Schema 7 and later chain content digests (audit_chain.digest)."""
    return any(row[1] == "digest" for row in conn.execute("PRAGMA table_info(audit_chain)"))


def _judge_segments(
    rows: int, segments: Sequence[Segment], keys: dict[str, Key], primary: Path
) -> ChainResult:
    """Every row that could be checked matched; now say what could not be checked."""
    verified_at = next((i for i, s in enumerate(segments) if s.verified), None)
    folder = primary.parent
    if verified_at is not None:
        late = [s for s in segments[verified_at:] if not s.verified]
        if late:
            s = late[0]
            return ChainResult(
                rows,
                f"{_rows(s.first, s.last, 'was', 'were')} written with an audit key this computer "
                f"does not have (key id {s.key_id}; new key at row {s.first}, {s.first_action}) "
                "after rows it verified: written on another computer, or forged; copy that "
                f"computer's key file into {folder} to verify them",
                key_file=primary,
            )
    unverified = segments if verified_at is None else segments[:verified_at]
    if not unverified:
        return ChainResult(rows, key_file=primary)
    if verified_at is None and (keys or primary.exists()):
        try:
            read_key(primary)
        except BadKeyFile as e:
            return ChainResult(rows, f"{e}: the audit chain cannot be verified", key_file=primary)
        return ChainResult(
            rows,
            f"the key file {primary} does not match the key that wrote the audit log (key id "
            f"{unverified[0].key_id}): the key file was replaced, or the log rewritten",
            key_file=primary,
        )
    first, last = unverified[0].first, unverified[-1].last
    ids = list(dict.fromkeys(s.key_id for s in unverified))
    if len(ids) == 1:
        wrote = f"the audit key that wrote them (key id {ids[0]}) is"
    else:
        wrote = f"the audit keys that wrote them (key ids {', '.join(ids)}) are"
    if verified_at is not None:
        then = (
            f"; medmassage started a new key at row {segments[verified_at].first} "
            f"({segments[verified_at].first_action})"
        )
    else:
        then = "; medmassage starts a new key with the next change (a rekey row)"
    return ChainResult(
        rows,
        warning=(
            f"{_rows(first, last, 'cannot', 'cannot')} be verified: {wrote} not on this "
            f"computer{then}. To verify them, copy the old key file into {folder} under a name "
            f"starting {primary.stem} and ending .key"
        ),
        key_file=primary,
    )
