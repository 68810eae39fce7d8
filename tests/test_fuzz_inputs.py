"""Hostile input into every field the CLI takes, and what the tool leaves behind (SPEC §8).

Hypothesis drives the real CLI (CliRunner against a real database) with client names and notes
full of quotes, SQL, control characters, bidi marks, emoji and 25,000-character strings; with
dates, numbers, payers, regions and techniques that are almost right; with profile, case
(claim, policy, NPI) and goal fields; and with the cells of an import file. Every run:

- exits 0, 1 or 2, with no traceback and never the catch-all "unexpected …" error;
- on refusal writes nothing (every table's row count is unchanged; an edited row is unchanged);
- on success stores the text as given — NFC-normalised and stripped of surrounding white
  space, as validate.clean_text documents — read back with sqlite3;
- refuses C0 control characters (NUL, ESC, …) inside names and one-line fields.

Then: every file the tool creates is owner-only, and an error never prints client data the
user did not type in that command. Known gaps are `xfail(strict=True)` tests below.

Default run: DEFAULT_EXAMPLES per property. Stress run (`python -m pytest -m stress
tests/test_fuzz_inputs.py`): MEDMASSAGE_STRESS_EXAMPLES (default 500) per property.
"""

from __future__ import annotations

import csv
import os
import re
import stat
import subprocess
import sys
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TODAY, count_rows, query

DEFAULT_EXAMPLES = 50
STRESS_EXAMPLES = int(os.environ.get("MEDMASSAGE_STRESS_EXAMPLES", "500"))
BUDGETS = [
    pytest.param(DEFAULT_EXAMPLES, id="default"),
    pytest.param(STRESS_EXAMPLES, id="stress", marks=pytest.mark.stress),
]

C0 = [chr(c) for c in range(0x20)] + ["\x7f"]  # and DEL
HOSTILE = [
    "Robert'); DROP TABLE client;--",
    "x' OR '1'='1",
    "\u202eredro\u202c Lee",  # right-to-left override
    "\u200fשלום\u200e Cohen",  # right-to-left and left-to-right marks
    "O'Brien-Łukasz",
    '"Quoted" Name',
    "back\\slash",
    "%s%n{0}{{",
    "<script>alert(1)</script>",
    "$(rm -rf ~) `id`",
    "José",  # decomposed: stored composed (NFC)
    "李小龍 Ñandú Ölmez",
    "😀" * 50,
    "\ufeffBOM",
    "ﬁnn",
    "NULL",
    "-starts-with-a-dash",
    "\u2028line separator",
    "\x85next line",
    "\x9b31mCSI",
    "a\x00b",
    "esc\x1b[31mred",
    "tab\there",
    "line\nbreak",
    "crlf\r\n",
    "  padded  ",
    "",
    " ",
    "x" * 200,
    "x" * 201,
    "y" * 5000,
    "z" * 20_000,
    "z" * 20_001,
]
huge = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["x", "é", "李", "😀", "\u202e", " "]),
    st.integers(150, 25_000),
)
with_c0 = st.builds(
    lambda a, c, b: a + c + b, st.text(max_size=8), st.sampled_from(C0), st.text(max_size=8)
)
# Anything at all: hostile, huge, control characters, plain random text.
text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
    huge,
    with_c0,
)
short_text = st.one_of(st.sampled_from(HOSTILE[:25]), st.text(max_size=30), with_c0)


def cleaned(value: str) -> str:
    """What validate.clean_text keeps of accepted text."""
    return unicodedata.normalize("NFC", value).strip()


def has_c0(value: str, allowed: str = "") -> bool:
    return any(c in C0 and c not in allowed for c in cleaned(value))


def free_text(max_len: int, multiline: bool = False, bar: bool = True) -> st.SearchStrategy:
    """Text for a field that holds up to `max_len` characters: mostly text the field should
    take (hostile, but storable: quotes, SQL, bidi marks, emoji, the longest allowed), and
    anything at all the rest of the time. `bar=False` leaves out '|' (the goal separator)."""
    allowed = "\t\n" if multiline else ""
    banned = "".join(c for c in C0 if c not in allowed) + ("" if bar else "|")

    def fits(value: str) -> bool:
        return 0 < len(cleaned(value)) <= max_len and not any(c in banned for c in value)

    storable = st.one_of(
        st.sampled_from([h for h in HOSTILE if fits(h)]),
        st.text(
            st.characters(codec="utf-8", exclude_characters=banned), min_size=1, max_size=80
        ).filter(lambda v: cleaned(v)),
        st.builds(
            lambda ch, n: "a" + ch * n,
            st.sampled_from(["x", "é", "李", "😀", "\u202e", "\t" if multiline else "y"]),
            st.integers(max(0, max_len - 40), max_len - 1),
        ),
    )
    anything = text if bar else text.filter(lambda v: "|" not in v)
    return mostly(storable, anything)


def mostly(valid: st.SearchStrategy, other: st.SearchStrategy, odds: int = 3) -> st.SearchStrategy:
    """`valid` about `odds` times for each `other`. (Not st.one_of: Hypothesis favours its last
    alternative, so one_of(valid, valid, valid, other) gives `other` about half the time.)"""
    return st.integers(0, odds).flatmap(lambda i: other if i == 1 else valid)


past_days = st.dates(date(1990, 1, 1), date.fromisoformat(TODAY)).map(date.isoformat)
days = st.one_of(
    st.dates(date(1900, 1, 1), date(2030, 12, 31)).map(date.isoformat),
    st.sampled_from(
        ["today", "yesterday", "friday", "last monday", "2026-02-30", "1899-12-31", "2026-11-28",
         "04/02/1980", "0000-00-00", "2026-1-1", "２０２６-01-01", "+002026-01-01", "", " "]
    ),
    st.text(max_size=12),
)  # fmt: skip
numbers = st.one_of(
    st.integers(-5, 1000).map(str),
    st.sampled_from(["5.0", "+5", "٣", "1e1", "0x10", "1_0", "inf", "nan", "", " 7 ", "0" * 40]),
    st.text(max_size=6),
)
pain = mostly(st.integers(0, 10).map(str), numbers, odds=6)
emails = mostly(st.emails(), short_text.filter(lambda v: not has_c0(v)))
regions = mostly(
    st.sampled_from(["neck", "upper-back", "shoulder-both"]),
    st.sampled_from(["shoulder", "nek", "", "NECK", "neck,upper-back", "lower back"]) | short_text,
    odds=6,
)
techniques = mostly(
    st.sampled_from(["swedish=30", "myofascial-release=25", "trigger-point=15"]),
    st.sampled_from(["sw=3", "swedish", "swedish=0", "swedish=481", "Swedish = 30"]) | short_text,
    odds=6,
)


SEEN: Counter[int] = Counter()  # exit codes of the runs of the current property


def explore(budget: int, check, *, both: bool = True, **strategies) -> None:
    """Run `check` on `budget` Hypothesis examples (a function-scoped database is shared by
    the examples of one test: accepted rows accumulate, as in real use). With `both`, some
    examples must have been accepted and some refused: a property that only ever sees one
    outcome proves little."""

    @settings(max_examples=budget, deadline=None, suppress_health_check=list(HealthCheck))
    @given(**strategies)
    def examples(**values):
        check(**values)

    SEEN.clear()
    examples()
    print(f"{budget} examples: exit codes {dict(sorted(SEEN.items()))}")
    if both:
        assert SEEN[0] and SEEN[2], f"only one outcome in {budget} examples: {dict(SEEN)}"


def run(cli, *args: str):
    """The CLI, and what must hold of every run whatever the input."""
    result = cli(*args, ok=False)
    output = result.stdout + result.stderr
    assert result.exit_code in (0, 1, 2), (result.exit_code, output[-600:])
    assert "Traceback" not in output, output[-2000:]
    assert "unexpected" not in result.stderr, result.stderr  # the guard's catch-all: a bug
    SEEN[result.exit_code] += 1
    return result


def refused_cleanly(result, db: Path, before: dict) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert count_rows(db) == before, "a refused command wrote something"
    if "Usage:" not in result.stderr:  # Click's own usage errors come in its format
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def optional(name: str, value: str | None) -> list[str]:
    return [] if value is None else [name, value]


def row(db: Path, table: str, row_id: int) -> dict:
    found = query(db, f"SELECT * FROM {table} WHERE id = ?", (row_id,))
    assert len(found) == 1
    return dict(found[0])


# --- clients ---------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", BUDGETS)
def test_client_add_saves_exactly_or_refuses_cleanly(cli, db_path, budget):
    cli("client", "add", "First Client")  # the database exists before the first example

    def check(name, dob, phone, email, address, sex):
        before = count_rows(db_path)
        args = ["client", "add", "--", name] if name.startswith("-") else ["client", "add", name]
        args[2:2] = [
            *optional("--dob", dob), *optional("--phone", phone), *optional("--email", email),
            *optional("--address", address), *optional("--sex", sex),
        ]  # fmt: skip
        result = run(cli, *args)
        if has_c0(name) or (phone is not None and has_c0(phone)):
            assert result.exit_code == 2, f"control character accepted: {name!r} {phone!r}"
        if address is not None and has_c0(address, allowed="\t\n"):
            assert result.exit_code == 2, f"control character accepted: {address!r}"
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            return
        stored = row(db_path, "client", int(result.stdout.split()[0]))
        assert stored["name"] == cleaned(name)
        if phone is not None:
            assert stored["phone"] == (cleaned(phone) or None)
        if address is not None:
            assert stored["address"] == (cleaned(address) or None)
        if email is not None:
            assert stored["email"] == (email.strip() or None)
        if dob is not None and dob.strip():
            assert date.fromisoformat(stored["dob"]) <= date.fromisoformat(TODAY)
        assert count_rows(db_path)["client"] == before["client"] + 1

    explore(
        budget,
        check,
        name=free_text(200),
        dob=st.none() | mostly(past_days, days),
        phone=st.none() | free_text(40),
        email=st.none() | emails,
        address=st.none() | free_text(500, multiline=True),
        sex=st.none() | st.sampled_from(["f", "male", "Other", "unknown", "x", ""]),
    )


@pytest.mark.parametrize("budget", BUDGETS)
def test_client_edit_changes_exactly_or_nothing(practice, db_path, budget):
    def check(fields):
        before, jane = count_rows(db_path), row(db_path, "client", 1)
        args = ["client", "edit", "1"]
        for field, value in fields.items():
            args += [f"--{field}", value]
        result = run(practice, *args)
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            assert row(db_path, "client", 1) == jane
            return
        stored = row(db_path, "client", 1)
        for field in ("name", "phone", "address"):
            if field in fields:
                assert stored[field] == (cleaned(fields[field]) or None)

    explore(
        budget,
        check,
        fields=st.fixed_dictionaries(
            {},
            optional={
                "name": free_text(200),
                "phone": free_text(40) | st.just(""),
                "address": free_text(500, multiline=True) | st.just(""),
                "dob": mostly(past_days, days),
                "sex": st.sampled_from(["f", "male", "x", ""]),
            },
        ).filter(bool),
    )


# --- the therapist's profile -----------------------------------------------------------------

PROFILE_TEXT = ["name", "credentials", "license-number", "practice-name", "phone", "tax-id"]


@pytest.mark.parametrize("budget", BUDGETS)
def test_profile_set_saves_exactly_or_refuses_cleanly(practice, db_path, budget):
    def check(fields, fees, rules):
        before = count_rows(db_path)
        profile = row(db_path, "profile", 1)
        args = ["profile", "set"]
        for field, value in fields.items():
            args += [f"--{field}", value]
        for fee in fees:
            args += ["--fee", fee]
        for rule in rules:
            args += ["--report-every", rule]
        result = run(practice, *args)
        single_line = [v for f, v in fields.items() if f in PROFILE_TEXT]
        if any(has_c0(v) for v in single_line):
            assert result.exit_code == 2, f"control character accepted: {fields}"
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            assert row(db_path, "profile", 1) == profile
            return
        stored = row(db_path, "profile", 1)
        for field, value in fields.items():
            column = field.replace("-", "_")
            if field in (*PROFILE_TEXT, "address"):
                assert stored[column] == (cleaned(value) or None), field
            elif field == "npi":
                assert stored["npi"] in (None, value.strip())

    explore(
        budget,
        check,
        fields=st.fixed_dictionaries(
            {},
            optional={
                **{field: free_text(200) for field in PROFILE_TEXT},
                "address": free_text(500, multiline=True),
                "npi": mostly(st.just("1234567893"), st.sampled_from(["1234567890", "123"])),
                "license-state": st.sampled_from(["WA", "wa", "W", "WAS", "ÉÉ", "", "W1"]),
                "email": emails,
            },
        ),
        fees=st.lists(
            mostly(
                st.sampled_from(["97140=45", "97124=40.50", "97010=0"]),
                st.sampled_from(["97140=4.555", "99999=1", "97140", "=5", "97140=-1"]) | short_text,
            ),
            max_size=2,
        ),
        rules=st.lists(
            mostly(
                st.sampled_from(["health=10/30", "self-pay=off", "health=-/30"]),
                st.sampled_from(["health=0/30", "health=-/-x", "x=1/1"]) | short_text,
            ),
            max_size=2,
        ),
    )


# --- cases: payer, prescription, claim, policy, NPI --------------------------------------------

CASE_TEXT = {"payer-name": False, "policy": False, "claim": False, "adjuster": True}


@pytest.mark.parametrize("budget", BUDGETS)
def test_case_open_saves_exactly_or_refuses_cleanly(practice, db_path, budget):
    def check(payer, dx, referrer, rx_date, rx_until, visits, extra):
        before = count_rows(db_path)
        args = ["case", "open", "1", "--payer", payer, "--dx", dx, "--referrer", referrer,
                "--rx-date", rx_date, "--rx-until", rx_until, "--visits", visits]  # fmt: skip
        for field, value in extra.items():
            args += [f"--{field}", value]
        result = run(practice, *args)
        if has_c0(referrer) or any(
            has_c0(v, "\t\n" if CASE_TEXT[f] else "") for f, v in extra.items() if f in CASE_TEXT
        ):
            assert result.exit_code == 2, "control character accepted"
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            return
        case_id = int(result.stdout.split()[0])
        stored = row(db_path, "care_case", case_id)
        rx = [dict(r) for r in query(db_path, "SELECT * FROM authorization WHERE case_id = ?",
                                     (case_id,))]  # fmt: skip
        assert len(rx) == 1  # case open writes the case and its first authorization
        assert rx[0]["prescriber"] == cleaned(referrer)
        for field, value in extra.items():
            if field in CASE_TEXT:
                assert stored[field.replace("-", "_")] == (cleaned(value) or None), field
        assert rx[0]["written"] == rx[0]["valid_from"] <= rx[0]["valid_until"]
        assert rx[0]["written"] <= TODAY
        assert 1 <= rx[0]["visits"] <= 999

    explore(
        budget,
        check,
        payer=mostly(
            st.sampled_from(["health", "self-pay", "Health", "fsa-hsa"]),
            st.sampled_from(["workers-comp", "auto-pip", "hmo", ""]) | short_text,
            odds=8,
        ),
        dx=mostly(
            st.sampled_from(["M54.2", "M54.50", "m54.2", "S13.4XXA"]),
            st.sampled_from(["ZZZ", "M54", "M54.2 ", "", "M54.2,M54.50"]) | short_text,
            odds=8,
        ),
        referrer=free_text(200),
        rx_date=mostly(st.dates(date(2020, 1, 1), date(2026, 11, 27)).map(str), days, odds=8),
        rx_until=mostly(st.sampled_from(["2026-12-31", "2027-06-30"]), days, odds=8),
        visits=mostly(st.integers(1, 999).map(str), numbers, odds=8),
        extra=st.fixed_dictionaries(
            {},
            optional={
                "payer-name": free_text(200),
                "policy": free_text(80),
                "claim": free_text(80),
                "adjuster": free_text(500, multiline=True),
                "referrer-npi": st.sampled_from(["1987654328", "1987654320", "", "x"]),
                "frequency": st.sampled_from(["2x/week", "3X / Week", "1x/day", "0x/day", "2/w"]),
                "area": regions,
                "units-rule": st.sampled_from(["ama", "CMS", "cms", "x"]),
                "injury-date": mostly(past_days, days),
            },
        ),
    )


# --- goals, sessions, measures, addenda ------------------------------------------------------


@pytest.mark.parametrize("budget", BUDGETS)
def test_goal_add_saves_exactly_or_refuses_cleanly(practice, db_path, budget):
    def check(goal, target, by):
        before = count_rows(db_path)
        spec = " | ".join(p for p in (goal, target, by) if p is not None)
        result = run(practice, "goal", "add", "1", "--", spec)
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            return
        stored = row(db_path, "goal", int(result.stdout.split()[0]))
        assert stored["text"] == cleaned(goal.strip())
        if target is not None:
            assert stored["target"] == (cleaned(target.strip()) or None)

    goal_text = free_text(1000, bar=False)
    target = st.none() | free_text(200, bar=False)
    explore(budget, check, goal=goal_text, target=target, by=st.none() | mostly(past_days, days))


NOTE_FIELDS = ("subjective", "objective", "assessment", "plan", "homecare", "feedback")


@pytest.mark.parametrize("budget", BUDGETS)
def test_session_log_notes_dates_and_minutes(practice, db_path, budget):
    def check(day, minutes, notes, pre, technique, region, allow):
        before = count_rows(db_path)
        args = ["session", "log", "Jane", "--pre", pre, "--post", "3", "--technique", technique,
                "--region", region, *optional("--date", day), *optional("--minutes", minutes),
                *optional("--allow-expired", allow)]  # fmt: skip
        for field, value in notes.items():
            args += [f"--{field}", value]
        result = run(practice, *args)
        if any(has_c0(v, allowed="\t\n") for v in notes.values()):
            assert result.exit_code == 2, "control character accepted in a note"
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            return
        session_id = max(r[0] for r in query(db_path, "SELECT id FROM session"))
        stored = row(db_path, "session", session_id)
        for field in NOTE_FIELDS:
            assert stored[field] == (cleaned(notes[field]) or None if field in notes else None)
        if day is not None and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day):
            assert stored["date"] == day
        assert stored["date"] <= TODAY
        assert 1 <= stored["minutes"] <= 480
        assert count_rows(db_path)["session"] == before["session"] + 1

    explore(
        budget,
        check,
        day=st.none()
        | mostly(
            st.dates(date(2026, 11, 1), date(2026, 11, 27)).map(str),
            days | days.map(lambda d: d + " 14:30") | st.just("2026-11-20 25:00"),
            odds=6,
        ),
        minutes=mostly(st.none() | st.integers(30, 480).map(str), numbers),
        notes=st.fixed_dictionaries(
            {}, optional={field: free_text(20_000, multiline=True) for field in NOTE_FIELDS}
        ),
        pre=pain,
        technique=techniques,
        region=regions,
        allow=mostly(st.none(), free_text(1000)),
    )


@pytest.mark.parametrize("budget", BUDGETS)
def test_measures_and_addenda(practice, db_path, budget):
    practice("session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
             "--region", "neck")  # fmt: skip

    def check(nprs, ndi, odi, psfs, addendum):
        before = count_rows(db_path)
        args = ["measure", "add", "Jane", *optional("--nprs", nprs), *optional("--ndi", ndi),
                *optional("--odi", odi), *optional("--psfs", psfs)]  # fmt: skip
        result = run(practice, *args)
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
        before = count_rows(db_path)
        result = run(practice, "session", "amend", "1", "--text", addendum)
        if has_c0(addendum, allowed="\t\n"):
            assert result.exit_code == 2, "control character accepted in an addendum"
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            return
        last = query(db_path, "SELECT text FROM addendum ORDER BY id DESC LIMIT 1")[0][0]
        assert last == cleaned(addendum)

    explore(
        budget,
        check,
        nprs=st.none() | pain,
        ndi=st.none() | mostly(st.integers(0, 100).map(str), st.just("100.01") | numbers),
        odi=st.none() | mostly(st.sampled_from(["0", "42", "100", "33.3"]), numbers),
        psfs=st.none()
        | mostly(st.sampled_from(["climb stairs=4", "sit=10"]), st.sampled_from(["=4", "x=11"])),
        addendum=free_text(20_000, multiline=True),
    )


# --- import files --------------------------------------------------------------------------------

IMPORT_HEADER = ["client", "date", "pre", "post", "techniques", "regions", "minutes", "subjective"]


@pytest.mark.parametrize("budget", BUDGETS)
def test_import_cells_all_or_nothing(practice, db_path, tmp_path, budget):
    counter = iter(range(10**9))

    def check(rows, raw):
        before = count_rows(db_path)
        path = tmp_path / f"import-{next(counter)}.csv"
        if raw is not None:
            path.write_bytes(raw)
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                csv.writer(f).writerows([IMPORT_HEADER, *rows])
        result = run(practice, "import", "sessions", str(path))
        if result.exit_code != 0:
            refused_cleanly(result, db_path, before)
            return
        after = count_rows(db_path)
        assert after["session"] == before["session"] + len(rows)
        new = query(
            db_path, "SELECT subjective FROM session ORDER BY id DESC LIMIT ?", (len(rows),)
        )
        expected = [cleaned(r[7].replace("\r\n", "\n").replace("\r", "\n")) or None for r in rows]
        assert sorted(map(repr, (r[0] for r in new))) == sorted(map(repr, expected))

    times = st.tuples(st.integers(8, 19), st.integers(0, 59)).map(
        lambda t: f"{t[0]:02d}:{t[1]:02d}"
    )
    cell_row = st.tuples(
        mostly(st.sampled_from(["Jane", "Jane Doe", "1", "#1", "jane doe"]), short_text, odds=8),
        mostly(
            st.builds(lambda d, t: f"{d} {t}", past_days, times),
            st.sampled_from(["2026-11-28", "2026-11-03 25:00", "yesterday"]) | days,
            odds=8,
        ),
        pain,
        pain,
        techniques.map(lambda t: t.replace(",", ";")),
        mostly(st.sampled_from(["neck", "neck;upper-back", "shoulder-both"]), short_text, odds=8),
        mostly(st.just(""), st.sampled_from(["45", "481", "x"]), odds=6),
        free_text(20_000, multiline=True) | st.just("crlf\r\nand\ra lone CR"),
    ).map(list)
    explore(
        budget,
        check,
        rows=st.lists(cell_row, min_size=1, max_size=3),
        raw=mostly(st.none(), st.binary(max_size=200), odds=6),
    )


# --- read-only commands: whatever the reference, nothing written ------------------------------


@pytest.mark.parametrize("budget", BUDGETS)
def test_read_commands_take_any_reference(practice, db_path, budget):
    def check(ref, first, last, pinned):
        before = count_rows(db_path)
        for args in (
            ("client", "show", "--", ref),
            ("progress", "--", ref),
            ("superbill", "Jane", "--from", first, "--to", last),
            ("--today", pinned, "report", "monthly", "-f", "json"),
        ):
            run(practice, *args)
        assert count_rows(db_path) == before

    references = short_text | st.sampled_from(["1", "#1", "0", "9" * 30, "١"])
    explore(budget, check, both=False, ref=references, first=days, last=days, pinned=days)


# --- control characters ----------------------------------------------------------------------

ONE_LINE_FIELDS = {
    "client name": lambda v: ("client", "add", v),
    "client phone": lambda v: ("client", "add", "Sam Roe", "--phone", v),
    "profile name": lambda v: ("profile", "set", "--name", v),
    "case claim": lambda v: (
        "case",
        "open",
        "1",
        "--payer",
        "health",
        "--dx",
        "M54.2",
        "--referrer",
        "Alan, DC",
        "--rx-date",
        "2026-11-01",
        "--rx-until",
        "2026-12-31",
        "--visits",
        "5",
        "--claim",
        v,
    ),
    "session client": lambda v: (
        "session",
        "log",
        v,
        "--pre",
        "5",
        "--post",
        "3",
        "--technique",
        "swedish=30",
        "--region",
        "neck",
    ),
}


@pytest.mark.parametrize("field", ONE_LINE_FIELDS)
def test_c0_control_characters_inside_one_line_fields_are_refused(practice, db_path, field):
    before = count_rows(db_path)
    for char in C0:
        result = run(practice, *ONE_LINE_FIELDS[field](f"Ja{char}ne"))
        assert result.exit_code == 2, (field, repr(char), result.stdout)
        assert "control characters are not allowed" in result.stderr, (field, result.stderr)
        assert count_rows(db_path) == before, (field, repr(char))


def test_c0_control_characters_at_the_ends_of_a_name_are_refused(practice, db_path):
    accepted = []
    for char in C0:
        if char in "\t\n":
            continue
        result = run(practice, "client", "add", f"Sam Roe{char}")
        if result.exit_code == 0:
            accepted.append(repr(char))
    assert accepted == []


@pytest.mark.parametrize("command", ["client add", "profile set"])
def test_control_characters_in_an_email_are_refused(practice, db_path, command):
    before = count_rows(db_path)
    email = "a\x00b\x1b[31m@x.io"
    if command == "client add":
        result = run(practice, "client", "add", "Sam Roe", "--email", email)
    else:
        result = run(practice, "profile", "set", "--email", email)
    assert result.exit_code == 2
    assert count_rows(db_path) == before


@pytest.mark.parametrize(
    "args",
    [
        ("client", "add", "Ren\udce9 Roe"),
        (
            "session",
            "log",
            "Jane",
            "--pre",
            "5",
            "--post",
            "3",
            "--technique",
            "swedish=30",
            "--region",
            "neck",
            "--subjective",
            "caf\udce9",
        ),
    ],
    ids=["client name", "session note"],
)
def test_an_argument_that_is_not_utf8_is_refused_by_name(practice, db_path, args):
    before = count_rows(db_path)
    result = practice(*args, ok=False)
    assert count_rows(db_path) == before
    assert result.exit_code == 2, result.stderr


def test_an_argument_that_is_not_utf8_writes_nothing_through_the_real_entry_point(
    practice, db_path
):
    """The same, as a shell passes it (bytes in argv): no traceback, nothing written."""
    before = count_rows(db_path)
    done = subprocess.run(
        [sys.executable, "-m", "medmassage", "--db", str(db_path), "client", "add", b"Ren\xe9"],
        capture_output=True,
    )
    assert done.returncode in (1, 2)
    assert b"Traceback" not in done.stderr
    assert count_rows(db_path) == before


# --- what the tool leaves behind -------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_every_file_the_tool_creates_is_owner_only(umask_022, tmp_path, sh):
    """With a permissive umask (022), through the real entry point: the database, its -wal and
    -shm, every output (summaries in each format, superbill, exports, CSV folder, FHIR,
    listings), and whatever else appears under HOME (keys, caches) are 0600, folders 0700;
    an import creates nothing."""
    import sqlite3

    db = tmp_path / "data" / "practice.db"
    out = tmp_path / "out"
    out.mkdir()  # ours (0755): the files in it are the tool's
    csv_file = tmp_path / "visits.csv"
    csv_file.write_text(
        "client,date,pre,post,techniques,regions\nJane Doe,2026-11-05,6,3,swedish=30,neck\n"
    )
    ours = {out, csv_file}

    def medmassage(*args: str) -> None:
        done = sh("--db", str(db), *args)
        assert done.returncode == 0, (args, done.stderr)

    medmassage(
        "profile",
        "set",
        "--name",
        "Dana Whitfield",
        "--credentials",
        "LMT",
        "--license-number",
        "MA60512345",
        "--npi",
        "1234567893",
        "--fee",
        "97124=40",
    )
    medmassage("client", "add", "Jane Doe", "--dob", "1980-04-02")
    medmassage(
        "case",
        "open",
        "Jane",
        "--payer",
        "health",
        "--dx",
        "M54.2",
        "--referrer",
        "Alan, DC",
        "--rx-date",
        "2026-11-01",
        "--rx-until",
        "2026-12-31",
        "--visits",
        "12",
    )
    reader = sqlite3.connect(db)  # keeps -wal and -shm in place while the others write
    try:
        reader.execute("SELECT count(*) FROM client").fetchone()
        medmassage("session", "log", "Jane", "--pre", "6", "--post", "3", "--technique",
                   "swedish=30", "--region", "neck", "--date", "2026-11-03", "--sign")  # fmt: skip
        before_import = set(tmp_path.rglob("*"))
        medmassage("import", "sessions", str(csv_file))
        assert set(tmp_path.rglob("*")) == before_import, "import created files"
        for fmt in ("md", "json", "html", "pdf"):
            medmassage("summary", "Jane", "-o", str(out / f"summary.{fmt}"), "--preview")
        medmassage("superbill", "Jane", "-o", str(out / "superbill.pdf"))
        medmassage("export", "all", "-f", "json", "-o", str(out / "all.json"))
        medmassage("export", "all", "-f", "csv", "-o", str(out / "csv"))
        medmassage("export", "fhir", "Jane", "-o", str(out / "fhir.json"))
        medmassage("client", "list", "-o", str(out / "clients.csv"))
        medmassage("progress", "Jane", "-f", "json", "-o", str(out / "progress.json"))
        medmassage("report", "monthly", "-f", "csv", "-o", str(out / "monthly.csv"))
        side = [Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in side)
        assert {p.name: _mode(p) for p in side} == {p.name: 0o600 for p in side}
    finally:
        reader.close()
    found = {p: _mode(p) for p in tmp_path.rglob("*") if p not in ours}
    files = {str(p.relative_to(tmp_path)): m for p, m in found.items() if p.is_file()}
    folders = {str(p.relative_to(tmp_path)): m for p, m in found.items() if p.is_dir()}
    assert len(files) >= 14, files
    assert {f: m for f, m in files.items() if m != 0o600} == {}
    created_folders = {f: m for f, m in folders.items() if f != "home"}
    assert {f: m for f, m in created_folders.items() if m != 0o700} == {}


# Client data planted where no error should reach it. The user types "Jane" or "1".
PRIVATE = {
    "dob": "1971-03-14",
    "phone": "360-555-0199",
    "email": "jz.marker@example.org",
    "address": "77 Marker Lane",
    "claim": "CLM-4471",
    "policy": "POL-9931",
    "adjuster": "Adj Markerson",
    "complaint": "CMPLMARK",
    "history": "HISTMARK",
    "medications": "MEDSMARK",
    "note": "NOTEMARK",
    "goal": "GOALMARK",
}


@pytest.fixture
def private_client(cli):
    p = PRIVATE
    cli("profile", "set", "--name", "Dana W", "--credentials", "LMT", "--license-number", "MA1",
        "--npi", "1234567893")  # fmt: skip
    cli("client", "add", "Jane Zyxwarden", "--dob", p["dob"], "--phone", p["phone"],
        "--email", p["email"], "--address", p["address"])  # fmt: skip
    cli("case", "open", "Jane", "--payer", "workers-comp", "--injury-date", "2026-10-01",
        "--claim", p["claim"], "--policy", p["policy"], "--adjuster", p["adjuster"],
        "--dx", "M54.2", "--referrer", "Alan, DC", "--rx-date", "2026-11-01",
        "--rx-until", "2026-11-20", "--visits", "2")  # fmt: skip
    cli(
        "intake",
        "Jane",
        "--complaint",
        p["complaint"],
        "--pain",
        "7",
        "--region",
        "neck",
        "--history",
        p["history"],
        "--medications",
        p["medications"],
        "--date",
        "2026-11-02",
    )
    cli("session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-03", "--subjective", p["note"])  # fmt: skip
    cli("goal", "add", "Jane", f"{p['goal']} | 60 min")
    return cli


BAD_COMMANDS = [
    ("session", "log", "Jane", "--pre", "11", "--post", "3", "--technique", "swedish=30",
     "--region", "neck"),
    ("session", "log", "1", "--pre", "5", "--post", "3", "--technique", "swedsh=30",
     "--region", "neck"),
    ("session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "swedish=30",
     "--region", "nek"),
    ("session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "swedish=30",
     "--region", "neck", "--date", "2026-11-25"),  # workers' comp, after the Rx: refused
    ("session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "swedish=30",
     "--region", "neck", "--date", "2026-11-03", "--minutes", "9999"),
    ("session", "amend", "1", "--text", "bad\x00"),
    ("session", "void", "1", "--reason", ""),
    ("client", "edit", "1", "--dob", "2030-01-01"),
    ("client", "edit", "Jane", "--email", "not-an-email"),
    ("intake", "1", "--complaint", "again", "--pain", "5", "--region", "neck"),
    ("measure", "add", "Jane", "--nprs", "12"),
    ("goal", "add", "1", "x | y | not-a-date"),
    ("goal", "set", "1", "--status", "done"),
    ("case", "open", "1", "--payer", "health", "--dx", "ZZZ", "--referrer", "x",
     "--rx-date", "2026-11-01", "--rx-until", "2026-11-02", "--visits", "3"),
    ("case", "close", "1", "--reason", "\x1b"),
    ("summary", "Jane", "--from", "2026-11-10", "--to", "2026-11-01"),
    ("summary", "1", "-o", "/nonexistent/folder/s.pdf"),
    ("superbill", "Jane", "--from", "2026-13-01"),
    ("export", "fhir", "1", "-o", "/nonexistent/folder/f.json"),
    ("progress", "Jane", "-f", "yaml"),
    ("client", "discharge", "1", "--reason", ""),
]  # fmt: skip


def test_errors_never_print_client_data_that_was_not_typed(private_client, db_path):
    for args in BAD_COMMANDS:
        result = run(private_client, *args)
        assert result.exit_code != 0, args
        output = result.stdout + result.stderr
        leaked = {k: v for k, v in PRIVATE.items() if v in output and v not in " ".join(args)}
        assert leaked == {}, (args, output)


@pytest.mark.parametrize(
    "args",
    [
        ("client", "discharge", "1", "--reason", "moved"),
        ("summary", "1", "--from", "2026-01-01", "--to", "2026-01-05"),
        ("superbill", "1", "--from", "2025-01-01", "--to", "2025-01-31"),
    ],
    ids=["discharge twice", "summary without visits", "superbill without visits"],
)
def test_errors_do_not_name_a_client_given_by_id(private_client, args):
    if args[1] == "discharge":
        private_client(*args)  # the first time succeeds; the second is refused
    result = run(private_client, *args)
    assert result.exit_code == 2, result.stderr
    assert "Zyxwarden" not in result.stdout + result.stderr


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(
        st.characters(exclude_categories=())  # surrogates too (excluded by default)
        | st.sampled_from("\x00\x08\t\n\x0b\x0c\r\x1b\x1f \x7f\x80\x85\x9f\xa0\ud800\udfffé")
    ),
    multiline=st.booleans(),
)
def test_the_stored_text_check_refuses_exactly_control_characters_and_surrogates(text, multiline):
    """validate's regexes against Unicode's own definition: category Cc (C0, DEL, C1) and Cs
    (lone surrogates) are refused, but tab and line breaks in multi-line text; one-line text
    also refuses invisible characters (Cf, Zl, Zp, Hangul fillers), but for a ZWNJ/ZWJ right
    after a letter or mark outside the Latin blocks (tests/test_text_safety.py)."""
    from medmassage.rules.validate import _bad_character

    allowed = "\t\n\r" if multiline else ""
    bad = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed]
    if not multiline:
        from medmassage.rules.textsafety import _regex

        invisible = _regex("invisible")
        fillers = "\u115f\u1160\u3164\uffa0"
        for i, ch in enumerate(text):
            if ch in "\u200c\u200d" and i and text[i - 1] >= "\u0370":
                before = unicodedata.category(text[i - 1])
                if before[0] in "LM" or (ch == "\u200d" and before == "So"):
                    continue
            if unicodedata.category(ch) in ("Cf", "Zl", "Zp") or ch in fillers:
                bad.append(ch)
            elif unicodedata.category(ch) == "Cn" and invisible.match(ch):
                bad.append(ch)  # format characters of a later Unicode than this Python's
    assert (_bad_character(text, multiline) is not None) == bool(bad)
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        assert _bad_character(text, multiline) == (
            "not valid UTF-8 text (check the terminal's encoding)"
        )
