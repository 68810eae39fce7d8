"""Charting speed (SPEC §12, issue 14 items 1, 2, 4): `session log --again`, abbreviations and
region phrases wherever a technique or region is typed, and guided entry on a terminal.

Everything goes through the real CLI against a real SQLite file; the guided entry runs
`python -m medmassage` in a real pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import count_rows, query

ROUTINE = (
    "session", "log", "Jane", "--date", "2026-11-20", "--pre", "6", "--post", "3",
    "--technique", "myofascial-release=20", "--technique", "soft-tissue-mobilization=15",
    "--technique", "stretching=10", "--region", "neck", "--region", "upper-back",
    "--minutes", "50", "--subjective", "Neck stiff after a long week at the desk",
    "--objective", "Hypertonic upper trapezius", "--homecare", "Chin tucks 10x, twice a day",
)  # fmt: skip


def one_line_error(result) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    line = result.stderr.rstrip("\n")
    assert line.startswith("error: "), result.stderr
    assert "\n" not in line, f"more than one line on stderr:\n{result.stderr}"
    return line


def session_row(db: Path, session_id: int) -> dict:
    rows = query(db, "SELECT * FROM session WHERE id = ?", (session_id,))
    assert len(rows) == 1
    data = dict(rows[0])
    data["regions"] = json.loads(data["regions"])
    data["techniques"] = [
        tuple(r)
        for r in query(
            db,
            "SELECT technique, cpt, minutes FROM session_technique WHERE session_id = ? "
            "ORDER BY position",
            (session_id,),
        )
    ]
    data["cpt"] = [
        tuple(r)
        for r in query(
            db,
            "SELECT cpt, minutes, units FROM session_cpt WHERE session_id = ? ORDER BY position",
            (session_id,),
        )
    ]
    return data


def last_session_id(db: Path) -> int:
    return query(db, "SELECT max(id) FROM session")[0][0]


# --- 1. session log --again --------------------------------------------------------------------


def test_again_repeats_the_last_visit_and_says_from_which(practice, db_path):
    practice(*ROUTINE)
    result = practice("session", "log", "Jane", "--again", "--pre", "3", "--post", "1", "--sign")
    first, again = session_row(db_path, 1), session_row(db_path, 2)
    assert (
        again["techniques"]
        == first["techniques"]
        == [
            ("myofascial-release", "97140", 20),
            ("soft-tissue-mobilization", "97140", 15),
            ("stretching", "97110", 10),
        ]
    )
    assert again["cpt"] == first["cpt"]  # the same units, worked out by the same rules
    assert again["regions"] == ["neck", "upper-back"]
    assert again["minutes"] == 50
    assert again["homecare"] == "Chin tucks 10x, twice a day"
    assert again["subjective"] is None and again["objective"] is None  # never repeated
    assert (again["pain_pre"], again["pain_post"], again["status"]) == (3, 1, "signed")
    assert again["date"] == "2026-11-27"
    assert result.stdout.startswith(
        "Session 2 saved: Jane Doe, case 1, visit 2 of 12 on 2026-11-27 (signed)\n"
    )
    assert (
        "Repeated from session 1 (2026-11-20): techniques myofascial-release 20 min, "
        "soft-tissue-mobilization 15 min, stretching 10 min; regions neck, upper-back; "
        "50 minutes in all; home care\n"
    ) in result.stderr
    assert "given here" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "expected", "given_here"),
    [
        pytest.param(
            ["--technique", "swedish=30"],
            {
                "techniques": [("swedish", "97124", 30)],
                "minutes": 30,
                "regions": ["neck", "upper-back"],
            },
            "techniques",
            id="technique-replaces-techniques-and-their-total",
        ),
        pytest.param(
            ["--region", "neck"],
            {"regions": ["neck"], "minutes": 50},
            "regions",
            id="region-replaces-regions",
        ),
        pytest.param(
            ["--minutes", "60"],
            {"minutes": 60, "regions": ["neck", "upper-back"]},
            "minutes",
            id="minutes-replaces-total",
        ),
        pytest.param(
            ["--homecare", "Heat 15 min at night"],
            {"homecare": "Heat 15 min at night", "minutes": 50},
            "home care",
            id="homecare-replaces-homecare",
        ),
    ],
)  # fmt: skip
def test_again_an_option_given_replaces_that_part(practice, db_path, extra, expected, given_here):
    practice(*ROUTINE)
    result = practice("session", "log", "Jane", "--again", "--pre", "3", "--post", "1", *extra)
    again = session_row(db_path, 2)
    for key, value in expected.items():
        assert again[key] == value, key
    if "techniques" not in expected:
        assert again["techniques"] == session_row(db_path, 1)["techniques"]
    if "homecare" not in expected:
        assert again["homecare"] == "Chin tucks 10x, twice a day"
    assert f"(given here: {given_here})" in result.stderr
    assert "Repeated from session 1 (2026-11-20): " in result.stderr


def test_again_with_techniques_and_minutes_given_keeps_only_regions_and_homecare(practice, db_path):
    practice(*ROUTINE)
    result = practice(
        "session", "log", "Jane", "--again", "--pre", "3", "--post", "1",
        "--technique", "MFR=25", "--minutes", "40",
    )  # fmt: skip
    again = session_row(db_path, 2)
    assert again["techniques"] == [("myofascial-release", "97140", 25)]
    assert again["minutes"] == 40
    assert again["regions"] == ["neck", "upper-back"]
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("Repeated"))
    assert line == (
        "Repeated from session 1 (2026-11-20): regions neck, upper-back; home care "
        "(given here: techniques, minutes)"
    )


def test_again_with_no_earlier_visit_is_one_line_exit_2_nothing_written(practice, db_path):
    before = count_rows(db_path)
    result = practice("session", "log", "Jane", "--again", "--pre", "3", "--post", "1", ok=False)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "case: 1 — has no earlier visit to repeat with --again" in line
    assert "--technique" in line
    assert count_rows(db_path) == before


def test_again_skips_a_voided_visit(practice, db_path):
    practice(*ROUTINE)
    practice(
        "session", "log", "Jane", "--date", "2026-11-24", "--pre", "5", "--post", "2",
        "--technique", "swedish=30", "--region", "neck",
    )  # fmt: skip
    practice("session", "void", "2", "--reason", "Entered for the wrong client")
    result = practice("session", "log", "Jane", "--again", "--pre", "3", "--post", "1")
    again = session_row(db_path, 3)
    assert again["techniques"] == session_row(db_path, 1)["techniques"]
    assert again["regions"] == ["neck", "upper-back"]
    assert "Repeated from session 1 (2026-11-20)" in result.stderr


def test_again_with_only_a_voided_visit_is_refused(practice, db_path):
    practice(*ROUTINE)
    practice("session", "void", "1", "--reason", "Entered for the wrong client")
    before = count_rows(db_path)
    result = practice("session", "log", "Jane", "--again", "--pre", "3", "--post", "1", ok=False)
    assert result.exit_code == 2
    assert "has no earlier visit" in one_line_error(result)
    assert count_rows(db_path) == before


def test_again_repeats_the_latest_visit_on_or_before_the_date_given(practice, db_path):
    practice(*ROUTINE)
    practice(
        "session", "log", "Jane", "--date", "2026-11-25", "--pre", "5", "--post", "2",
        "--technique", "swedish=30", "--region", "neck",
    )  # fmt: skip
    latest = practice("session", "log", "Jane", "--again", "--pre", "3", "--post", "1")
    assert session_row(db_path, 3)["techniques"] == [("swedish", "97124", 30)]
    assert "Repeated from session 2 (2026-11-25)" in latest.stderr
    late_entry = practice(
        "session", "log", "Jane", "--again", "--date", "2026-11-22", "--pre", "4", "--post", "2"
    )
    assert session_row(db_path, 4)["techniques"] == session_row(db_path, 1)["techniques"]
    assert "Repeated from session 1 (2026-11-20)" in late_entry.stderr


def test_again_goes_through_the_same_prescription_rules(cli, db_path):
    """Workers' comp past the Rx end date: refused as a typed visit is, unless a reason is given."""
    cli("client", "add", "Bob Ray")
    cli(
        "case", "open", "Bob", "--payer", "workers-comp", "--dx", "S39.012D",
        "--referrer", "Susan Lee, MD", "--rx-date", "2026-11-01", "--rx-until", "2026-11-25",
        "--visits", "6", "--injury-date", "2026-10-08",
    )  # fmt: skip
    cli(
        "session", "log", "Bob", "--date", "2026-11-20", "--pre", "6", "--post", "4",
        "--technique", "NMT=30", "--technique", "STR=10", "--region", "low back",
    )  # fmt: skip
    before = count_rows(db_path)
    refused = cli("session", "log", "Bob", "--again", "--pre", "5", "--post", "3", ok=False)
    assert refused.exit_code == 2
    assert "workers' comp" in one_line_error(refused)
    assert count_rows(db_path) == before
    saved = cli(
        "session", "log", "Bob", "--again", "--pre", "5", "--post", "3", "-f", "json",
        "--allow-expired", "Adjuster approved by phone, renewal on its way",
    )  # fmt: skip
    data = json.loads(saved.stdout)
    assert data["cpt"] == [
        {"code": "97140", "minutes": 30, "units": 2},
        {"code": "97110", "minutes": 10, "units": 1},
    ]
    assert data["rx_flag"] == "expired"
    assert "Repeated from session 1 (2026-11-20)" in saved.stderr


def test_again_with_a_notes_file_keeps_the_files_home_care(practice, db_path, tmp_path):
    practice(*ROUTINE)
    notes = tmp_path / "note.md"
    notes.write_text("# Subjective\nBetter this week\n# Home care\nWalk 20 min daily\n")
    result = practice(
        "session", "log", "Jane", "--again", "--pre", "3", "--post", "1", "--notes-file", str(notes)
    )
    again = session_row(db_path, 2)
    assert again["homecare"] == "Walk 20 min daily"
    assert again["subjective"] == "Better this week"
    assert "(given here: home care)" in result.stderr
    # …and without one in the file, the last visit's is kept.
    notes.write_text("# Subjective\nSame as last time\n")
    practice(
        "session", "log", "Jane", "--again", "--pre", "3", "--post", "1", "--notes-file", str(notes)
    )
    assert session_row(db_path, 3)["homecare"] == "Walk 20 min daily"


# --- 2. abbreviations and region phrases --------------------------------------------------------


def _listed(cli, what: str) -> list[dict]:
    return json.loads(cli("catalog", what, "-f", "json").stdout)


def test_every_listed_technique_spelling_is_accepted_and_names_its_technique(practice, db_path):
    listed = [t for t in _listed(practice, "techniques") if t["source"] == "shipped"]
    assert len(listed) == 12
    for entry in listed:
        spellings = [*entry["accepted"], entry["technique"]]
        typed = [
            s for spelling in spellings for s in (spelling, spelling.lower(), spelling.upper())
        ]
        args = ["session", "log", "Jane", "--pre", "5", "--post", "3", "--region", "neck"]
        for spelling in typed:
            args += ["--technique", f"{spelling}=1"]
        practice(*args)
        row = session_row(db_path, last_session_id(db_path))
        # All spellings are one technique: merged into one line of as many minutes.
        assert [(name, minutes) for name, _, minutes in row["techniques"]] == [
            (entry["technique"], len(typed))
        ], entry["technique"]


def test_the_abbreviations_the_tables_print_are_accepted(practice, db_path):
    from medmassage.cli.progress_view import TECHNIQUE_ABBREVIATIONS

    listed = {t["technique"]: t for t in _listed(practice, "techniques")}
    for name, abbreviation in TECHNIQUE_ABBREVIATIONS.items():
        assert listed[name]["abbreviation"] == abbreviation
        practice(
            "session", "log", "Jane", "--pre", "5", "--post", "3", "--region", "neck",
            "--technique", f"{abbreviation}=20",
        )  # fmt: skip
        row = session_row(db_path, last_session_id(db_path))
        assert [t[0] for t in row["techniques"]] == [name]


@pytest.mark.parametrize(
    ("typed", "technique"),
    [
        ("MFR", "myofascial-release"), ("mfr", "myofascial-release"),
        ("STM", "soft-tissue-mobilization"), ("TrP", "trigger-point"), ("TP", "trigger-point"),
        ("NMT", "neuromuscular-therapy"), ("DT", "deep-tissue"), ("DTM", "deep-tissue"),
        ("SW", "swedish"), ("Swedish", "swedish"), ("MLD", "manual-lymphatic-drainage"),
        ("NMR", "neuromuscular-reeducation"), ("NMRe", "neuromuscular-reeducation"),
        ("TE", "therapeutic-exercise"), ("ther-ex", "therapeutic-exercise"),
        ("STR", "stretching"), ("stretch", "stretching"), ("HCP", "hot-cold-pack"),
        ("hot pack", "hot-cold-pack"), ("ice", "hot-cold-pack"),
        ("scar", "scar-tissue-mobilization"),
    ],
)  # fmt: skip
def test_the_abbreviations_of_the_issue(practice, db_path, typed, technique):
    practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3", "--region", "neck",
        "--technique", f"{typed}=20",
    )  # fmt: skip
    assert session_row(db_path, 1)["techniques"][0][0] == technique


@pytest.mark.parametrize(
    ("typed", "techniques"),
    [
        ("NM", ["neuromuscular-therapy", "neuromuscular-reeducation"]),
        ("massage", ["swedish", "deep-tissue"]),
    ],
)
def test_an_abbreviation_naming_two_techniques_is_refused_listing_both(
    practice, db_path, typed, techniques
):
    before = count_rows(db_path)
    result = practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3", "--region", "neck",
        "--technique", f"{typed}=20", ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line.startswith(f"error: technique: '{typed}' — names 2 techniques: ")
    for name in techniques:
        assert name in line
    assert count_rows(db_path) == before


def test_every_listed_region_spelling_is_accepted_and_names_its_region(practice, db_path):
    listed = _listed(practice, "regions")
    assert len(listed) == 29
    for entry in listed:
        typed = [s for spelling in entry["accepted"] for s in (spelling, spelling.upper())]
        typed += [s.replace(" ", "-") for s in entry["accepted"]]
        args = ["session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "SW=30"]
        for spelling in typed:
            args += ["--region", spelling]
        practice(*args)
        row = session_row(db_path, last_session_id(db_path))
        assert row["regions"] == [entry["region"]], entry["region"]


def test_every_listed_both_sides_spelling_names_left_and_right(practice, db_path):
    sided = [e for e in _listed(practice, "regions") if e["both_sides"]]
    parts = {e["region"].rpartition("-")[0]: e["both_sides"] for e in sided}
    assert len(parts) == 11
    for part, spellings in parts.items():
        args = ["session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "SW=30"]
        for spelling in spellings:
            args += ["--region", spelling]
        practice(*args)
        row = session_row(db_path, last_session_id(db_path))
        assert row["regions"] == [f"{part}-left", f"{part}-right"], part


@pytest.mark.parametrize(
    ("typed", "regions"),
    [
        ("right wrist", ["wrist-hand-right"]), ("R wrist", ["wrist-hand-right"]),
        ("wrist R", ["wrist-hand-right"]), ("wrist-r", ["wrist-hand-right"]),
        ("both shoulders", ["shoulder-left", "shoulder-right"]), ("low back", ["lower-back"]),
        ("lower back", ["lower-back"]), ("upper back", ["upper-back"]), ("mid back", ["mid-back"]),
        ("neck", ["neck"]), ("TMJ left", ["jaw-left"]), ("Lt knee", ["knee-left"]),
        ("bilateral hips", ["hip-left", "hip-right"]),
        ("shoulder-both", ["shoulder-left", "shoulder-right"]),
    ],
)  # fmt: skip
def test_the_region_phrases_of_the_issue_are_accepted_and_listed(practice, db_path, typed, regions):
    from medmassage.rules.catalog import spelling_key

    practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "SW=30",
        "--region", typed,
    )  # fmt: skip
    assert session_row(db_path, 1)["regions"] == regions
    listed = set()
    for entry in _listed(practice, "regions"):
        listed |= {spelling_key(s) for s in [entry["region"], *entry["accepted"]]}
        listed |= {spelling_key(s) for s in entry["both_sides"]}
    assert spelling_key(typed) in listed


@pytest.mark.parametrize(
    ("typed", "first", "later"),
    [
        ("sholder left", "shoulder-left", "shoulder-right"),
        ("shoulder-lft", "shoulder-left", "shoulder-right"),
        ("rigth wrist", "wrist-hand-right", "wrist-hand-left"),
        ("kneee R", "knee-right", None),
    ],
)
def test_a_near_miss_suggests_the_region_on_the_same_side_first(
    practice, db_path, typed, first, later
):
    before = count_rows(db_path)
    result = practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3", "--technique", "SW=30",
        "--region", typed, ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    line = one_line_error(result)
    suggested = re.search(r"did you mean ([^?]+)\?", line).group(1).split(", ")
    assert suggested[0] == first
    if later is not None and later in suggested:
        assert suggested.index(later) > 0
    assert count_rows(db_path) == before


def test_catalog_csv_keeps_its_columns_and_adds_the_spellings(cli):
    header = cli("catalog", "techniques", "-f", "csv").stdout.splitlines()[0]
    assert header == "technique,cpt,label,timed,source,abbreviation,accepted"
    rows = cli("catalog", "regions", "-f", "csv").stdout.splitlines()
    assert rows[0] == "region,accepted,both_sides"
    assert "lower-back,low back;lumbar;lumbosacral;LB," in rows
    table = cli("catalog", "regions").stdout
    assert re.search(
        r"^wrist-hand-right\s+R wrist hand, wrist hand R, R wrist, wrist R", table, re.M
    )
    assert re.search(r"^lower-back\s+low back, lumbar", table, re.M)
    techniques = cli("catalog", "techniques").stdout
    assert re.search(
        r"^myofascial-release\s+97140\s+Manual therapy\s+yes\s+shipped\s+MFR$", techniques, re.M
    )


def test_import_and_authorizations_use_the_same_parser(practice, db_path, tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text(
        "client,date,pre,post,techniques,regions\n"
        "Jane Doe,2026-11-20,6,3,MFR=20;TrP=10,R wrist;low back\n"
        "Jane Doe,2026-11-23,5,3,hot pack=5;STM=25,both shoulders\n"
    )
    practice("import", "sessions", str(csv))
    assert session_row(db_path, 1)["techniques"] == [
        ("myofascial-release", "97140", 20),
        ("trigger-point", "97140", 10),
    ]
    assert session_row(db_path, 1)["regions"] == ["wrist-hand-right", "lower-back"]
    assert session_row(db_path, 2)["regions"] == ["shoulder-left", "shoulder-right"]

    practice("client", "add", "Ann Lee")
    practice(
        "case", "open", "Ann", "--payer", "health", "--dx", "G56.01", "--referrer", "Dr B",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "8",
        "--area", "R wrist", "--area", "Rt forearm",
    )  # fmt: skip
    case = json.loads(practice("case", "show", "2", "-f", "json").stdout)
    assert case["areas_ordered"] == ["wrist-hand-right", "forearm-right"]


def test_a_technique_of_ones_own_cannot_take_an_accepted_spelling(cli, db_path):
    cli("profile", "set", "--name", "Dana Whitfield")
    before = count_rows(db_path)
    for name, meaning in (("ice", "already means hot-cold-pack"), ("mfr", "already means")):
        result = cli("catalog", "add-technique", name, "--cpt", "97140", ok=False)
        assert result.exit_code == 2
        assert meaning in one_line_error(result)
    result = cli("catalog", "add-technique", "massage", "--cpt", "97124", ok=False)
    assert "several techniques" in one_line_error(result)
    assert count_rows(db_path) == before


# --- 4. guided entry ---------------------------------------------------------------------------


def test_missing_options_in_a_script_stay_an_error(practice, db_path):
    before = count_rows(db_path)
    result = practice("session", "log", "Jane", ok=False)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line.startswith("error: pre: (missing) — required: give --pre 0-10 --post 0-10 ")
    assert "--again" in line
    result = practice("session", "log", "Jane", "--pre", "4", "--technique", "SW=30", ok=False)
    assert result.exit_code == 2
    assert one_line_error(result).startswith("error: post: (missing) — required: give --post")
    assert count_rows(db_path) == before


class Terminal:
    """`python -m medmassage …` on a pseudo-terminal: stdin and stdout are a terminal."""

    def __init__(self, *args: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the real entry point
            os.execve(sys.executable, [sys.executable, "-m", "medmassage", *args], dict(os.environ))
        self.pid, self.fd, self.seen = pid, fd, ""
        self.at = 0  # where the next expect() starts looking: after what the last one found

    def read(self, timeout: float) -> str:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return ""
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # the child closed the terminal (exited)
            return "\x00"
        return data.decode("utf-8", "replace") if data else "\x00"

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.at :] and time.monotonic() < deadline:
            chunk = self.read(deadline - time.monotonic())
            if chunk == "\x00":
                break
            self.seen += chunk
        found = self.seen.find(text, self.at)
        assert found >= 0, f"never saw {text!r}; the terminal shows:\n{self.seen}"
        self.at = found + len(text)

    def send(self, line: str) -> None:
        os.write(self.fd, (line + "\r").encode())

    def finish(self, timeout: float = 30) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.read(deadline - time.monotonic())
            if chunk == "\x00":
                break
            self.seen += chunk
        else:
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_guided_entry_on_a_terminal_offers_the_last_visit(practice, db_path):
    practice(*ROUTINE)
    term = Terminal("--db", str(db_path), "session", "log", "Jane", "--sign")
    term.expect("Pain before (0-10): ")
    term.send("4")
    term.expect("Pain after (0-10): ")
    term.send("2")
    term.expect(
        "Techniques, NAME=MIN, comma-separated "
        "[myofascial-release=20, soft-tissue-mobilization=15, stretching=10]: "
    )
    term.send("")  # Enter accepts the default
    term.expect("Regions, comma-separated [neck, upper-back]: ")
    term.send("")
    term.expect("Session 2 saved: Jane Doe, case 1, visit 2 of 12 on 2026-11-27 (signed)")
    assert term.finish() == 0
    assert "Techniques and regions as on session 1 of 2026-11-20" in term.seen
    saved = session_row(db_path, 2)
    assert saved["techniques"] == session_row(db_path, 1)["techniques"]
    assert saved["regions"] == ["neck", "upper-back"]
    assert (saved["pain_pre"], saved["pain_post"], saved["status"]) == (4, 2, "signed")
    assert saved["minutes"] == 45  # the techniques' sum: the total repeats with --again only
    assert saved["homecare"] is None


def test_guided_entry_asks_again_after_a_bad_answer_and_takes_typed_ones(practice, db_path):
    practice(*ROUTINE)
    term = Terminal("--db", str(db_path), "session", "log", "Jane")
    term.expect("Pain before (0-10): ")
    term.send("11")
    term.expect("pre: '11' — pain is a whole number from 0 to 10")
    term.expect("Pain before (0-10): ")
    term.send("5")
    term.expect("Pain after (0-10): ")
    term.send("3")
    term.expect("Techniques, NAME=MIN, comma-separated [")
    term.send("NM=20")
    term.expect("names 2 techniques")
    term.expect("Techniques, NAME=MIN, comma-separated [")
    term.send("MFR=25, STR=10")
    term.expect("Regions, comma-separated [neck, upper-back]: ")
    term.send("R wrist, rt forearm")
    term.expect("Session 2 saved: Jane Doe, case 1, visit 2 of 12 on 2026-11-27 (draft")
    assert term.finish() == 0
    assert "as on session" not in term.seen  # nothing was taken from the last visit
    saved = session_row(db_path, 2)
    assert saved["techniques"] == [
        ("myofascial-release", "97140", 25),
        ("stretching", "97110", 10),
    ]
    assert saved["regions"] == ["wrist-hand-right", "forearm-right"]


def test_guided_entry_with_again_asks_only_for_pain(practice, db_path):
    practice(*ROUTINE)
    term = Terminal("--db", str(db_path), "session", "log", "Jane", "--again")
    term.expect("Pain before (0-10): ")
    term.send("3")
    term.expect("Pain after (0-10): ")
    term.send("1")
    term.expect("Session 2 saved")
    assert term.finish() == 0
    assert "Techniques, NAME=MIN" not in term.seen
    assert "Repeated from session 1 (2026-11-20)" in term.seen
    assert session_row(db_path, 2)["minutes"] == 50


def test_guided_entry_without_an_earlier_visit_has_no_default(practice, db_path):
    term = Terminal("--db", str(db_path), "session", "log", "Jane", "--pre", "6", "--post", "3")
    term.expect("Techniques, NAME=MIN, comma-separated: ")
    term.send("")  # no default: asked again
    term.expect("Techniques, NAME=MIN, comma-separated: ")
    term.send("SW=30")
    term.expect("Regions, comma-separated: ")
    term.send("neck")
    term.expect("Session 1 saved")
    assert term.finish() == 0
    assert session_row(db_path, 1)["techniques"] == [("swedish", "97124", 30)]


def test_guided_entry_end_of_input_saves_nothing(practice, db_path):
    before = count_rows(db_path)
    term = Terminal("--db", str(db_path), "session", "log", "Jane")
    term.expect("Pain before (0-10): ")
    os.write(term.fd, b"\x04")  # Ctrl-D
    assert term.finish() == 2
    assert "pre: (missing) — no answer (end of input); nothing was saved" in term.seen
    assert count_rows(db_path) == before
