"""Nothing typed into $EDITOR is ever lost (SPEC §10): a note that cannot be saved is kept.

When a note written in the editor cannot be read (an unknown heading) or the command fails
after the editor closed (a refused date, a busy database), the text goes to an owner-only file
beside the database, and the message names it, with how to use it again (`--notes-file`).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

FOLDER = "recovered-notes"


def keep(text: str, db_path: Path) -> Path:
    """Write `text` to a new owner-only file in the recovery folder beside the database (0700),
    and return its path. Never overwrites an earlier one."""
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
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        return path
    raise OSError(f"no free file name in {folder}")
