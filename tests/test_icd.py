"""Diagnosis codes: checked against the ICD-10-CM code set (simple-icd-10-cm), SPEC §4 and §9.

The code index is built once per test run in the shared cache (conftest's `icd_cache`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from medmassage import icd
from medmassage.catalog import CONDITIONS
from medmassage.errors import InputError
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
        ("XYZ", ["not an ICD-10-CM code"]),
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
    assert [p.name for p in indexes] == [f"icd10cm-{icd._package_version()}.sqlite"]
    stamp = indexes[0].stat().st_mtime_ns
    icd.check_codes(["M54.50", "M79.7"])
    assert "Building" not in capsys.readouterr().err
    assert indexes[0].stat().st_mtime_ns == stamp
    assert list(Path(icd_cache).glob("icd10cm-*")) == indexes  # no temp files left behind


def test_a_check_with_the_index_present_is_fast(icd_cache):
    icd.check_codes(["M54.50"])  # warm the shared index
    code = (
        "import time; t = time.perf_counter(); from medmassage.icd import check_codes; "
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
