"""Where the practice database lives: `--db PATH` > `MEDMASSAGE_DB` > the user data folder.

The user data folder follows platformdirs' `user_data_dir("medmassage", appauthor=False)`.
It is worked out here by hand because importing platformdirs costs about 1.5x bare Python
start-up on every command; tests/test_paths.py checks this against platformdirs itself.
"""

from __future__ import annotations

import os
import posixpath
import sys
from pathlib import Path

APP = "medmassage"
DB_FILENAME = "practice.db"


def default_data_dir() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP
    # XDG_DATA_HOME counts only when absolute (the XDG spec; platformdirs ≥ 4.14 on Linux and
    # macOS): a relative value or an unexpanded "~/data" would put the practice file in
    # whichever folder the command happens to run from.
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if posixpath.isabs(xdg):
        return Path(xdg) / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return Path.home() / ".local" / "share" / APP


def default_db_path() -> Path:
    return default_data_dir() / DB_FILENAME


def resolve_db_path(option: str | None) -> tuple[Path, str]:
    """The database file in use and why: 'option', 'environment' or 'default'."""
    if option:
        return Path(option).expanduser(), "--db option"
    env = os.environ.get("MEDMASSAGE_DB", "").strip()
    if env:
        return Path(env).expanduser(), "MEDMASSAGE_DB"
    return default_db_path(), "default data folder"


def cache_dir() -> Path:
    """Rebuildable caches that hold no client data (the ICD-10-CM index)."""
    env = os.environ.get("MEDMASSAGE_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs  # cold path: only when a diagnosis code is checked

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))
