"""Diagnosis codes checked against the ICD-10-CM code set shipped by simple-icd-10-cm.

Loading that package parses a 40 MB XML file (1.5–2 s), so the first check builds a compact
index — a small SQLite file in the user cache folder, named after the package version — and
every later check is one indexed look-up (a few milliseconds). The index holds no client data
and is rebuilt whenever the package version (or the index format, `INDEX_FORMAT`) changes.

What is billable: every category or subcategory that is a leaf of the package's classification
(no children, seventh-character codes included). The package also reports a one-code category
(B20, F99, P84, R99, Z66 …) as the block it sits in, so the block test is not used to pick codes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import sys
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.paths import cache_dir

PACKAGE = "simple-icd-10-cm"
MAX_SUGGESTIONS = 10
# Part of the index file name: bump it when what the index holds changes, so an index built by an
# earlier medmassage is not reused (format 1 left out the one-code categories such as B20).
INDEX_FORMAT = 2

# A letter, two letters or digits (the 2026 release added the category QA0; C4A, M1A, Z3A have a
# letter third), then up to four more after the dot.
_SHAPE = re.compile(r"^[A-Z][0-9A-Z]{2}(\.?[0-9A-Z]{1,4})?$")


class Diagnosis(NamedTuple):
    code: str
    description: str


def _package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "missing"


def normalise(code: str) -> str:
    """`m5450` → `M54.50`; the dot goes after the third character."""
    text = code.strip().upper().replace(" ", "")
    bare = text.replace(".", "")
    return bare if len(bare) <= 3 else f"{bare[:3]}.{bare[3:]}"


def _index_path() -> Path:
    return cache_dir() / f"icd10cm-{_package_version()}-i{INDEX_FORMAT}.sqlite"


def _build_index(path: Path) -> None:
    print(
        "Building the ICD-10-CM code index (once, a few seconds)…",
        file=sys.stderr,
        flush=True,
    )
    import warnings

    with warnings.catch_warnings():
        # The package reads its data with importlib.resources' legacy API (deprecated, harmless).
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm  # slow: parses the whole classification

        rows = {}
        for code in cm.get_all_codes(True):
            # Chapters ("13") and blocks ("M50-M54") are not codes. Not `is_chapter_or_block`: it
            # is also true of a category that is alone in its block (B20), which is a code.
            if cm.is_category_or_subcategory(code):
                rows[code] = (code, 1 if cm.is_leaf(code) else 0, cm.get_description(code))
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(f".tmp{os.getpid()}")
    conn = sqlite3.connect(temp)
    try:
        # WITHOUT ROWID: the primary key is the table, so there is no second copy of the codes.
        conn.execute(
            "CREATE TABLE code (code TEXT PRIMARY KEY, billable INTEGER, description TEXT) "
            "WITHOUT ROWID"
        )
        conn.executemany("INSERT INTO code VALUES (?, ?, ?)", rows.values())
        conn.commit()
    finally:
        conn.close()
    os.replace(temp, path)  # atomic: a half-built index is never seen
    _remove_stale_indexes(path)


def _remove_stale_indexes(current: Path) -> None:
    """Indexes of another package version or index format are never read again."""
    for stale in current.parent.glob("icd10cm-*.sqlite"):
        if stale != current:
            with contextlib.suppress(OSError):  # read-only or gone: harmless, only a cache
                stale.unlink()


def _open_index() -> sqlite3.Connection:
    path = _index_path()
    if not path.exists():
        _build_index(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return conn


class CodeSet:
    """A handle on the index for checking several codes in one command."""

    def __init__(self) -> None:
        self._conn = _open_index()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> CodeSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, code: str) -> tuple[bool, str] | None:
        row = self._conn.execute(
            "SELECT billable, description FROM code WHERE code = ?", (code,)
        ).fetchone()
        return (bool(row[0]), row[1]) if row else None

    def billable_under(self, prefix: str) -> list[tuple[str, str]]:
        return self._conn.execute(
            "SELECT code, description FROM code WHERE billable = 1 AND code > ? AND code < ? "
            "ORDER BY code",
            (prefix, prefix + "\uffff"),
        ).fetchall()

    def more_specific(self, prefix: str) -> list[tuple[str, str]]:
        """The billable codes under a header, or, when there are too many to read (M54 has
        dozens), the next level down (M54.0 … M54.9) so the therapist can narrow it."""
        billable = self.billable_under(prefix)
        if len(billable) <= MAX_SUGGESTIONS:
            return billable
        under = self._conn.execute(
            "SELECT code, description FROM code WHERE code > ? AND code < ? ORDER BY code",
            (prefix, prefix + "\uffff"),
        ).fetchall()
        shortest = min(len(c) for c, _ in under)
        return [(c, d) for c, d in under if len(c) == shortest]

    def check(self, raw: str, field: str = "dx") -> Diagnosis:
        """A billable code with its description, or an InputError saying why not and what to use."""
        code = normalise(raw)
        if not _SHAPE.match(code):
            raise InputError(
                field, raw, "not an ICD-10-CM code; codes look like M54.50 or S13.4XXA"
            )
        found = self.lookup(code)
        if found is None:
            raise InputError(field, raw, f"not in the ICD-10-CM code set{self._nearest(code)}")
        billable, description = found
        if not billable:
            raise InputError(
                field,
                raw,
                f"{code} ({description}) is a header code, not billable; "
                f"use a more specific code: {_list(self.more_specific(code))}",
            )
        return Diagnosis(code, description)

    def _nearest(self, code: str) -> str:
        """Suggest the billable codes under the longest valid prefix of an unknown code."""
        bare = code.replace(".", "")
        for length in range(len(bare) - 1, 2, -1):
            prefix = normalise(bare[:length])
            found = self.lookup(prefix)
            if found is None:
                continue
            if found[0]:
                return f"; did you mean {prefix} ({found[1]})?"
            return f"; codes under {prefix}: {_list(self.more_specific(prefix))}"
        return ""


def _list(codes: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{c} ({d})" for c, d in codes[:MAX_SUGGESTIONS])
    more = len(codes) - MAX_SUGGESTIONS
    return shown + (f", and {more} more" if more > 0 else "")


def check_codes(raw_codes: list[str], field: str = "dx") -> list[Diagnosis]:
    with CodeSet() as codes:
        return [codes.check(raw, field) for raw in raw_codes]
