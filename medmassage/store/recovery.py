"""Nothing typed into $EDITOR is ever lost (SPEC §10): a note that cannot be saved is kept.

When a note written in the editor cannot be read (an unknown heading; more than the 1 MB a
note may hold; not UTF-8) or the command fails after the editor closed (a refused date, a busy
database), the text goes to an owner-only file beside the database, and the message names it,
with how to use it again (`--notes-file`).
"""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

FOLDER = "recovered-notes"


def keep(text: str, db_path: Path) -> Path:
    """Write `text` to a new owner-only file in the recovery folder beside the database (0700),
    and return its path. Never overwrites an earlier one."""
    path, fd = _new_file(db_path)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return path


def keep_file(source: Path, db_path: Path) -> Path:
    """Copy what the editor saved in `source` into a new recovery file, byte for byte: a note
    too big to be read as one (over the 1 MB cap) or not UTF-8 is still the therapist's text.
    Copied in 1 MB blocks, and no more than the file held when it was opened."""
    with open(source, "rb") as src:
        info = os.fstat(src.fileno())
        left = info.st_size if stat.S_ISREG(info.st_mode) else 0
        path, fd = _new_file(db_path)
        with os.fdopen(fd, "wb") as out:
            while left > 0:
                block = src.read(min(left, 1 << 20))
                if not block:
                    break
                out.write(block)
                left -= len(block)
            out.flush()
            os.fsync(out.fileno())
    return path


def _new_file(db_path: Path) -> tuple[Path, int]:
    """A new file in the recovery folder (created 0700), opened owner-only with O_EXCL."""
    folder = db_path.parent / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = folder / (f"note-{stamp}.md" if n == 0 else f"note-{stamp}-{n}.md")
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            continue
        return path, fd
    raise OSError(f"no free file name in {folder}")
