"""The manifest beside every backup: what the backup held when it was made (SPEC §13).

`db backup FILE` writes `FILE.manifest.json` (owner-only) next to the verified copy:

    {"format": "medmassage-backup-manifest-v1", "practice": UUID, "written": STAMP,
     "schema": N, "sessions": N, "audit_id": N, "audit_hash": HEX, "sha256": HEX}

`audit_id`/`audit_hash` are the audit chain's head in the backup (the anchor, as kept beside the
key for the live database), `sha256` the backup file's bytes. `db restore FILE` reads the
manifest when there is one and refuses a backup whose bytes or chain head no longer match it
(changed since it was made: a forged or damaged copy); a backup without a manifest (made by an
older medmassage, or copied without it) is restored as before, with a note.
"""

import hashlib
import json
import os
from pathlib import Path

FORMAT = "medmassage-backup-manifest-v1"


def manifest_path(backup: Path) -> Path:
    return backup.with_name(f"{backup.name}.manifest.json")


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_manifest(
    backup: Path,
    *,
    practice: str | None,
    written: str,
    schema: int,
    sessions: int,
    head: tuple[int, str] | None,
) -> Path:
    """Write the manifest of a backup already in place, atomically and owner-only."""
    data = {
        "format": FORMAT,
        "practice": practice,
        "written": written,
        "schema": schema,
        "sessions": sessions,
        "audit_id": head[0] if head else None,
        "audit_hash": head[1] if head else None,
        "sha256": file_sha256(backup),
    }
    path = manifest_path(backup)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.write(fd, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    return path


def read_manifest(backup: Path) -> dict | None:
    """The manifest of `backup`, None if it has none; ValueError if it cannot be read as one."""
    path = manifest_path(backup)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ValueError(f"cannot read {path.name}: {e.strerror or e}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f"{path.name} is not a medmassage backup manifest") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path.name} is not a medmassage backup manifest")
    return data


def manifest_problems(backup: Path, data: dict, head: tuple[int, str] | None) -> list[str]:
    """How the backup differs from its manifest (empty: it is what was written)."""
    problems = []
    if file_sha256(backup) != data.get("sha256"):
        problems.append("its bytes are not the ones written (sha256 differs)")
    expected = (data.get("audit_id"), data.get("audit_hash"))
    found = head if head else (None, None)
    if tuple(found) != expected:
        problems.append(
            f"its audit log ends at row {found[0]}, the manifest says row {expected[0]}"
            if found[0] != expected[0]
            else f"audit row {found[0]} is not the one the manifest names"
        )
    return problems
