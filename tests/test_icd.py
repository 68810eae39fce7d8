"""Diagnosis codes: checked against the ICD-10-CM code set (simple-icd-10-cm), SPEC §4 and §9.

The code index is built once per test run in the shared cache (conftest's `icd_cache`).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from medmassage.errors import InputError
from medmassage.rules import icd
from medmassage.rules.catalog import CONDITIONS
from tests.conftest import count_rows, query

VALID = {
    "M54.50": "Low back pain, unspecified",
    "M54.2": "Cervicalgia",
    "S13.4XXA": "Sprain of ligaments of cervical spine, initial encounter",
    "G44.209": "Tension-type headache, unspecified, not intractable",
    "M72.2": "Plantar fascial fibromatosis",
    "L90.5": "Scar conditions and fibrosis of skin",
    "G56.03": "Carpal tunnel syndrome, bilateral upper limbs",
    "M79.7": "Fibromyalgia",
    "M62.830": "Muscle spasm of back",
}


def open_case(cli, *dx: str, ok: bool = True):
    args = ["case", "open", "Jane", "--payer", "health", "--referrer", "Alan Brooks, DC",
            "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12"]  # fmt: skip
    for code in dx:
        args += ["--dx", code]
    return cli(*args, ok=ok)


@pytest.fixture
def jane(cli):
    cli("client", "add", "Jane Doe")
    return cli


@pytest.mark.parametrize("code", list(VALID))
def test_billable_codes_are_accepted_with_descriptions(code):
    [found] = icd.check_codes([code])
    assert found == icd.Diagnosis(code, VALID[code])


def test_case_open_stores_codes_with_descriptions(jane, db_path):
    result = open_case(jane, *VALID)
    assert result.stdout == "1\n"
    for code, description in VALID.items():
        assert f"  {code}  {description}" in result.stderr
    stored = [
        (r["position"], r["code"], r["description"])
        for r in query(db_path, "SELECT * FROM diagnosis WHERE case_id = 1 ORDER BY position")
    ]
    assert stored == [(i, c, d) for i, (c, d) in enumerate(VALID.items(), start=1)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [("m5450", "M54.50"), ("M5450", "M54.50"), (" m54.2 ", "M54.2"), ("s134xxa", "S13.4XXA"),
     ("M54.50", "M54.50"), ("g44209", "G44.209")],
)  # fmt: skip
def test_codes_are_normalised(raw, code):
    assert icd.normalise(raw) == code
    assert icd.check_codes([raw])[0].code == code


def test_case_open_normalises_typed_codes(jane, db_path):
    result = open_case(jane, "m5450", "s134xxa")
    assert "M54.50  Low back pain, unspecified" in result.stderr
    codes = [r["code"] for r in query(db_path, "SELECT code FROM diagnosis ORDER BY position")]
    assert codes == ["M54.50", "S13.4XXA"]


def test_m54_5_is_refused_as_a_non_billable_header():
    with pytest.raises(InputError) as caught:
        icd.check_codes(["M54.5"])
    message = str(caught.value)
    assert message.startswith("dx: 'M54.5' — ")
    assert "not billable" in message
    for child in ("M54.50", "M54.51", "M54.59"):
        assert child in message


def test_m26_60_is_refused_listing_the_tmj_codes():
    with pytest.raises(InputError) as caught:
        icd.check_codes(["M26.60"])
    message = str(caught.value)
    assert "not billable" in message
    for child in ("M26.601", "M26.602", "M26.603", "M26.609"):
        assert child in message


def test_m72_21_is_refused_as_not_in_the_code_set_suggesting_m72_2():
    with pytest.raises(InputError) as caught:
        icd.check_codes(["M72.21"])
    message = str(caught.value)
    assert "not in the ICD-10-CM code set" in message
    assert "M72.2 (Plantar fascial fibromatosis)" in message


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("M54.5", ["header code, not billable", "M54.50", "M54.51", "M54.59"]),
        ("M26.60", ["header code, not billable", "M26.601", "M26.609"]),
        ("M72.21", ["not in the ICD-10-CM code set", "M72.2"]),
        ("5450", ["not an ICD-10-CM code", "M54.50"]),  # the letter left out
        ("XYZ", ["not in the ICD-10-CM code set"]),  # shaped like a code (cf. QA0), but isn't one
    ],
)
def test_case_open_refuses_bad_codes_and_writes_nothing(jane, db_path, code, expected):
    before = count_rows(db_path)
    # A good code beside the bad one: the whole case is refused.
    result = open_case(jane, "M54.2", code, ok=False)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: dx: '{code}'")
    for text in expected:
        assert text in result.stderr
    assert count_rows(db_path) == before


def test_every_catalog_condition_code_is_billable():
    """Guards the shipped catalog: a condition must never suggest an unusable code."""
    with icd.CodeSet() as codes:
        for condition in CONDITIONS.values():
            for code in condition.codes:
                found = codes.lookup(code)
                assert found is not None, f"{condition.key}: {code} is not in ICD-10-CM"
                billable, description = found
                assert billable, f"{condition.key}: {code} ({description}) is not billable"
                assert description


def test_the_index_is_built_once_and_reused(icd_cache, capsys):
    icd.check_codes(["M54.2"])  # make sure the shared index exists
    capsys.readouterr()
    indexes = list(Path(icd_cache).glob("icd10cm-*.sqlite"))
    assert [p.name for p in indexes] == [
        f"icd10cm-{icd._package_version()}-i{icd.INDEX_FORMAT}.sqlite"
    ]
    stamp = indexes[0].stat().st_mtime_ns
    icd.check_codes(["M54.50", "M79.7"])
    assert "Building" not in capsys.readouterr().err
    assert indexes[0].stat().st_mtime_ns == stamp
    assert list(Path(icd_cache).glob("icd10cm-*")) == indexes  # no temp files left behind


def test_a_check_with_the_index_present_is_fast(icd_cache):
    icd.check_codes(["M54.50"])  # warm the shared index
    code = (
        "import time; t = time.perf_counter(); from medmassage.rules.icd import check_codes; "
        "check_codes(['M54.50']); print(time.perf_counter() - t)"
    )
    env = dict(os.environ, MEDMASSAGE_CACHE_DIR=str(icd_cache))
    timings = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "Building" not in done.stderr
        timings.append(float(done.stdout))
    assert min(timings) < 0.3, timings


# The 18 billable codes earlier versions refused: categories alone in their block (which the
# package also reports as blocks) and the category QA0 added in the 2026 release.
ONE_CODE_CATEGORIES = ["B20", "F99", "P84", "R99", "Z66"]
QA0_CODES = [
    "QA0.0101", "QA0.0102", "QA0.0109", "QA0.011", "QA0.012", "QA0.0131", "QA0.0139",
    "QA0.0141", "QA0.0142", "QA0.0149", "QA0.0151", "QA0.0159", "QA0.8",
]  # fmt: skip


def shipped_code_list() -> list[str]:
    """Every item of the package's flat code list (chapters, blocks, headers and billable codes),
    read as text — not through the parsed classification the index is built from."""
    files = [
        f
        for f in metadata.files(icd.PACKAGE) or []
        if re.fullmatch(r"simple_icd_10_cm/data/code-list-.+\.txt", f.as_posix())
    ]
    assert len(files) == 1, files
    text = Path(files[0].locate()).read_text(encoding="utf-8")
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def billable_in(items: list[str]) -> set[str]:
    """A code is billable when no other code extends it. Chapters ("13") and blocks ("M50-M54")
    are not codes."""
    codes = sorted(c for c in items if "-" not in c and len(c) >= 3)
    return {c for c, after in zip(codes, [*codes[1:], ""], strict=True) if not after.startswith(c)}


def test_every_code_of_the_shipped_code_set_is_sorted_correctly():
    """The sweep: every billable code is accepted with its description, every other item of the
    code set (chapter, block, header) is refused — through the check `case open` uses."""
    items = shipped_code_list()
    billable = billable_in(items)
    assert {c.replace(".", "") for c in ONE_CODE_CATEGORIES + QA0_CODES} <= billable
    assert {"M545", "M2660", "QA0", "QA001"}.isdisjoint(billable)  # headers stay headers
    started = time.perf_counter()
    refused, accepted_headers, descriptions = [], [], set()
    with icd.CodeSet() as codes:
        for item in items:
            try:
                found = codes.check(item)
            except InputError:
                if item in billable:
                    refused.append(item)
                continue
            if item not in billable:
                accepted_headers.append(item)
            assert found.code == icd.normalise(item)
            assert found.code.replace(".", "") == item
            descriptions.add(bool(found.description))
    took = time.perf_counter() - started
    assert refused == [], f"{len(refused)} billable codes refused: {refused[:20]}"
    assert accepted_headers == [], f"{len(accepted_headers)} accepted: {accepted_headers[:20]}"
    assert descriptions == {True}
    assert len(items) > 90_000 and len(billable) > 70_000  # the whole set was read
    assert took < 10, f"sweep took {took:.1f} s"


@pytest.mark.parametrize("code", ONE_CODE_CATEGORIES + QA0_CODES)
def test_the_codes_earlier_versions_refused_are_accepted(code):
    [found] = icd.check_codes([code.replace(".", "").lower()])
    assert found.code == code
    assert found.description


@pytest.mark.parametrize(
    ("code", "description"),
    [
        ("B20", "Human immunodeficiency virus [HIV] disease"),
        ("Z66", "Do not resuscitate"),
        ("QA0.0101", "SCN2A-related neurodevelopmental disorder"),
    ],
)
def test_case_open_accepts_one_code_categories_and_qa0(jane, db_path, code, description):
    result = open_case(jane, "M54.2", code)
    assert result.stdout == "1\n"
    assert f"  {code}  {description}" in result.stderr
    stored = [
        (r["code"], r["description"])
        for r in query(db_path, "SELECT * FROM diagnosis WHERE case_id = 1 ORDER BY position")
    ]
    assert stored == [("M54.2", "Cervicalgia"), (code, description)]


def test_case_open_refuses_a_qa0_header_listing_its_codes(jane, db_path):
    before = count_rows(db_path)
    result = open_case(jane, "qa0010", ok=False)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: dx: 'qa0010' — QA0.010 (")
    assert "header code, not billable" in result.stderr
    for child in ("QA0.0101", "QA0.0102", "QA0.0109"):
        assert child in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert count_rows(db_path) == before


def test_an_index_of_an_earlier_format_is_not_reused(tmp_path, monkeypatch, capsys):
    """An index built by an earlier medmassage (format 1: no B20) is replaced, then removed."""
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / f"icd10cm-{icd._package_version()}.sqlite"
    with sqlite3.connect(stale) as conn:
        conn.execute(
            "CREATE TABLE code (code TEXT PRIMARY KEY, billable INTEGER, description TEXT)"
        )
        conn.execute("INSERT INTO code VALUES ('M54.2', 1, 'Cervicalgia')")
    conn.close()
    monkeypatch.setenv("MEDMASSAGE_CACHE_DIR", str(cache))
    assert icd.check_codes(["B20"])[0].code == "B20"
    assert "Building" in capsys.readouterr().err
    assert [p.name for p in cache.iterdir()] == [icd._index_path().name]


def imported_modules(stderr: str) -> set[str]:
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


SLOW = (
    "simple_icd_10_cm", "sqlite_utils", "dateutil", "rich", "markdown_it", "fpdf", "fontTools",
    "PIL",
    "_hashlib",  # OpenSSL, through hashlib or hmac: ~3 ms (audit.py hashes with built-in SHA-256)
)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ("client", "list"),
        ("session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
         "--region", "neck"),
        ("session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "swedish=30",
         "--region", "neck", "--date", "2026-11-20 14:30"),
        ("progress", "Jane"),
        ("session", "list", "--from", "2026-11"),
        ("report", "monthly", "-f", "json"),
        ("report", "due", "-f", "json"),
        ("--help",),
        ("session", "log", "--help"),
    ],
    ids=[
        "client-list", "session-log", "session-log-dated", "progress", "session-list",
        "report-monthly", "report-due", "help", "session-log-help",
    ],
)  # fmt: skip
def test_everyday_commands_do_not_import_slow_packages(practice, db_path, args):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "medmassage", "--db", str(db_path), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = imported_modules(done.stderr)
    assert "medmassage.cli" in modules  # the import list was read
    top_level = {name.split(".")[0] for name in modules}
    assert not top_level & set(SLOW), sorted(top_level & set(SLOW))
    if args[:2] == ("session", "log") and "--help" not in args:
        assert "Session 1 saved" in done.stdout


def test_only_a_pdf_loads_the_pdf_library(practice, db_path, tmp_path):
    """fpdf2 (with fontTools and Pillow) costs ~0.2 s to import: HTML and JSON don't pay it."""
    practice(
        "session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-20",
    )  # fmt: skip
    loaded = {}
    for suffix in ("html", "pdf"):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "medmassage", "--db", str(db_path),
             "summary", "Jane", "--preview", "-o", str(tmp_path / f"s.{suffix}")],
            capture_output=True, text=True, env=dict(os.environ), timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        loaded[suffix] = {name.split(".")[0] for name in imported_modules(done.stderr)}
    assert not loaded["html"] & set(SLOW), sorted(loaded["html"] & set(SLOW))
    assert "fpdf" in loaded["pdf"]
