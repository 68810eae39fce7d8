"""`medmassage summary`: the insurer progress summary, through the real CLI and a real SQLite file.

The PDF is read back with pypdf; HTML, Markdown and JSON are checked to carry the same facts.
Writing with -o records a progress_report row (the report-due clock restarts); stdout and
--preview record nothing. Bad input is one line on stderr, exit 2, nothing stored or written.
"""

from __future__ import annotations

import json
import os
import re
import stat
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import TODAY, Cli, count_rows, query, run_subprocess

TOP_LEVEL_KEYS = [
    "document", "written", "period", "therapist", "client", "case", "diagnoses", "intake",
    "authorization", "authorizations", "visits", "totals", "treatment", "outcomes", "goals",
    "pain_chart", "objective", "objective_from", "assessment", "assessment_from", "plan",
    "plan_from", "home_program", "home_program_from", "note_sources", "recommendation", "flags",
]  # fmt: skip
ADDRESS = "412 Cedar St, Olympia WA 98501"
ASSESSMENT = "Rotation improved <script>alert(1)</script> L|R"
PLAN = "Continue 2x/week | add chin tucks"
COMPLAINT = "Neck pain since a rear-end collision"
MECHANISM = "Rear-end motor vehicle accident, driver, belted"
HISTORY = "No prior neck injury; desk work 8 h a day"
OBJECTIVE = "Hypertonic upper trapezius L>R; cervical rotation L 60°"
HOME = "Chin tucks 10x, 3 times a day; heat 15 min"
# The rich case's visits: date, techniques, pain pre, pain post, minutes, CPT cell, units.
VISITS = [
    ("2026-11-03", ("myofascial-release=30", "swedish=15"), 7, 4, 45, "97140 × 2, 97124 × 1", 3),
    ("2026-11-06", ("myofascial-release=30", "swedish=15"), 6, 4, 45, "97140 × 2, 97124 × 1", 3),
    ("2026-11-10", ("myofascial-release=40", "stretching=20"), 6, 3, 60, "97140 × 3, 97110 × 1", 4),
    ("2026-11-13", ("myofascial-release=30", "swedish=15"), 5, 3, 45, "97140 × 2, 97124 × 1", 3),
    ("2026-11-17", ("myofascial-release=30", "swedish=15"), 5, 2, 45, "97140 × 2, 97124 × 1", 3),
    ("2026-11-24", ("myofascial-release=30",), 4, 2, 30, "97140 × 2", 2),
]  # fmt: skip


def squash(text: str) -> str:
    """pypdf may split or merge words: compare without any whitespace."""
    return "".join(text.split())


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def log(cli, client: str, day: str, pre=6, post=3, tech=("swedish=30",), *extra: str, ok=True):
    args = ["session", "log", client, "--date", day, "--pre", str(pre), "--post", str(post)]
    for t in tech:
        args += ["--technique", t]
    return cli(*args, "--region", "neck", *extra, ok=ok)


def set_profile(cli) -> None:
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--address", ADDRESS,
    )  # fmt: skip


def open_case(cli, client: str, *extra: str, visits="12", until="2026-12-31", payer="health"):
    cli(
        "case", "open", client, "--payer", payer, "--dx", "M54.2", "--referrer", "Dr Ames",
        "--rx-date", "2026-11-01", "--rx-until", until, "--visits", visits,
        "--frequency", "2x/week", *extra,
    )  # fmt: skip


def build_rich_case(cli) -> list:
    """Jane Doe: health case, Rx to 11-20, 4 visits authorized; 6 visits (the 5th unsigned and
    beyond the authorization, the 6th after the Rx), re-measured on 11-24, two goals (one
    met). The intake has onset, mechanism and history; the objective findings are last recorded
    at visit 5 (not the last), the home program at visit 6; visit 3 also treats the upper back,
    which was not ordered."""
    set_profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "health", "--payer-name", "Regence",
        "--policy", "POL-778", "--claim", "CLM-42", "--injury-date", "2026-10-20",
        "--dx", "M54.2", "--dx", "M62.830", "--referrer", "Alan Brooks, DC",
        "--referrer-npi", "1987654328", "--rx-date", "2026-11-01", "--rx-until", "2026-11-20",
        "--visits", "4", "--frequency", "2x/week", "--area", "neck",
    )  # fmt: skip
    cli(
        "intake", "Jane", "--complaint", COMPLAINT, "--pain", "7", "--region", "neck",
        "--date", "2026-11-02", "--consent-date", "2026-11-02", "--ndi", "40",
        "--psfs", "turn head to drive=3", "--condition", "whiplash", "--onset", "2026-10-20",
        "--mechanism", MECHANISM, "--history", HISTORY, "--limitation", "Cannot drive 30 min",
        "--goal", "Check blind spot without pain | full rotation | 2026-12-19",
    )  # fmt: skip
    cli("goal", "add", "Jane", "Sleep through the night | 0 wakings | 2026-12-31")
    cli("goal", "set", "1", "--status", "met")
    results = []
    for i, (day, tech, pre, post, *_) in enumerate(VISITS):
        extra = ["--assessment", f"old note {day}", "--plan", f"old plan {day}"]
        if i == len(VISITS) - 1:  # the last visit: no objective findings
            extra = ["--assessment", ASSESSMENT, "--plan", PLAN, "--homecare", HOME]
        else:
            extra += ["--objective", OBJECTIVE if i == 4 else f"old findings {day}"]
        if i == 1:
            extra += ["--homecare", "Heat only"]
        if i == 2:
            extra += ["--region", "upper-back"]  # not among the areas ordered
        results.append(
            log(cli, "Jane", day, pre, post, tech, *extra, *([] if i == 4 else ["--sign"]))
        )
    cli("measure", "add", "Jane", "--date", "2026-11-24", "--ndi", "20",
        "--psfs", "turn head to drive=4")  # fmt: skip
    return results


@pytest.fixture(scope="module")
def docs(tmp_path_factory, icd_cache):
    """The rich case rendered once in every format (files via --preview -o, md via stdout)."""
    tmp = tmp_path_factory.mktemp("docs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDMASSAGE_TODAY", TODAY)
        mp.setenv("MEDMASSAGE_CACHE_DIR", str(icd_cache))
        mp.setenv("HOME", str(tmp / "home"))
        mp.setenv("XDG_DATA_HOME", str(tmp / "home" / ".local" / "share"))
        mp.setenv("NO_COLOR", "1")
        mp.setenv("COLUMNS", "200")
        for name in ("MEDMASSAGE_DB", "FORCE_COLOR", "MEDMASSAGE_DEBUG", "EDITOR", "VISUAL"):
            mp.delenv(name, raising=False)
        cli = Cli(tmp / "practice.db")
        logs = build_rich_case(cli)
        out = {"db": cli.db, "logs": logs, "dir": tmp}
        for fmt in ("pdf", "html", "json"):
            out[fmt + "_path"] = tmp / f"summary.{fmt}"
            out[fmt + "_run"] = cli("summary", "Jane", "--preview", "-o", str(out[fmt + "_path"]))
        out["md_run"] = cli("summary", "Jane")
    out["pages"] = pdf_pages(out["pdf_path"])
    out["pdf"] = "\n".join(out["pages"])
    out["html"] = out["html_path"].read_text(encoding="utf-8")
    out["json"] = json.loads(out["json_path"].read_text(encoding="utf-8"))
    out["md"] = out["md_run"].stdout
    return out


# --- 1. the PDF -------------------------------------------------------------------------------


def test_pdf_header_carries_every_field(docs):
    text = squash(docs["pdf"])
    expected = [
        "Therapist Dana Whitfield, LMT", "License MA60512345 (WA)", "NPI 1234567893",
        f"Address {ADDRESS}", "Name Jane Doe", "Date of birth 1980-04-02",
        "Payer Health insurance", "Payer name Regence", "Policy / member # POL-778",
        "Claim # CLM-42", "Date of injury 2026-10-20", "Referring provider Alan Brooks, DC",
        "Referrer NPI 1987654328", "Prescription date 2026-11-01",
        "Valid 2026-11-01 to 2026-11-20", "M54.2 Cervicalgia", "M62.830 Muscle spasm of back",
        "Visits authorized 4", "Visits used 5", "Visits remaining 0", "Visits on the claim 6",
        "Reporting period 2026-11-02 to 2026-11-27",
        "Date written 2026-11-27", "Reporting period 2026-11-02 to 2026-11-27 · written 2026-11-27",
    ]  # fmt: skip
    missing = [s for s in expected if squash(s) not in text]
    assert not missing, f"missing from the PDF: {missing}\n{docs['pdf']}"


def test_pdf_visit_rows_totals_outcomes_goals_and_texts(docs):
    text = squash(docs["pdf"])
    for n, (day, _, pre, post, minutes, cpt, units) in enumerate(VISITS, start=1):
        row = f"{n} {day} {minutes} {cpt} {units} {pre} {post}"
        assert squash(row) in text, row
    assert squash("5 2026-11-17 45 97140 × 2, 97124 × 1 3 5 2 unsigned, over authorized") in text
    assert squash("4 2 after Rx expired") in text
    assert squash("Visits in the period (6)") in text
    # Totals: 6 visits, 270 minutes, units by code, 18 units, average pain 5.5 → 3.
    assert squash("Total 6 visits 270 97110: 1, 97124: 4, 97140: 13 18 5.5 3") in text
    outcomes = [
        "Pain (NPRS) 7 (2026-11-02) 4 (2026-11-24) +3 (+42.9 %) ≥ 2 points or ≥ 30 % yes",
        "Neck Disability Index 40 (2026-11-02) 20 (2026-11-24) +20 (+50 %) ≥ 15 points yes",
    ]
    for row in outcomes:
        assert squash(row) in text, row
    # PSFS +1 is below its MCID (+2): "no".
    assert squash("turn head to drive 3 (2026-11-02) 4 (2026-11-24) +1 ≥ 2 points no") in text
    assert squash("Check blind spot without pain full rotation 2026-12-19 met") in text
    assert squash("Sleep through the night 0 wakings 2026-12-31 progressing") in text
    assert squash(f"Assessment {ASSESSMENT} from the note of visit 6 on 2026-11-24") in text
    assert squash(f"Plan {PLAN} from the note of visit 6 on 2026-11-24") in text
    rec = docs["json"]["recommendation"]["text"]
    # No visits left and the prescription lapsed: a renewal is asked for, not more visits.
    assert rec == (
        "Renewal requested (the authorized visits are used and the prescription has lapsed): "
        "treatment 2x/week for 4 weeks (8 visits), from 2026-11-27 through 2026-12-25."
    )
    assert squash(f"Recommendation {rec}") in text


def test_pdf_every_page_is_numbered_page_i_of_n(docs):
    pages = docs["pages"]
    assert docs["pdf_path"].read_bytes().startswith(b"%PDF-")
    assert len(pages) >= 2
    for i, page in enumerate(pages, start=1):
        assert squash(f"Page {i} of {len(pages)}") in squash(page), f"page {i}"
        # A health plan files the case under the member id, not the claim number.
        assert squash("Jane Doe · DOB 1980-04-02 · member id POL-778") in squash(page)


def test_unicode_client_name_in_pdf_and_html(practice, tmp_path):
    practice("client", "add", "Zoë Nuñez", "--dob", "1990-01-31")
    open_case(practice, "Zoë")
    log(practice, "Zoë", "2026-11-20", 6, 3, ("swedish=30",), "--sign")
    practice("summary", "Zoë", "-o", str(tmp_path / "z.pdf"), "--preview")
    practice("summary", "Zoë", "-o", str(tmp_path / "z.html"), "--preview")
    text = "\n".join(pdf_pages(tmp_path / "z.pdf"))
    assert "Zoë Nuñez" in text or squash("Zoë Nuñez") in squash(text)
    html = (tmp_path / "z.html").read_text(encoding="utf-8")
    assert "<dd>Zoë Nuñez</dd>" in html
    assert "Zoë Nuñez" in HtmlText.of(html)


def test_pdf_never_silently_drops_the_client_name(practice, tmp_path, db_path):
    """fpdf2 drops characters its font lacks; a name must never vanish from an insurer PDF."""
    practice("client", "add", "王芳", "--dob", "1990-01-31")
    open_case(practice, "王芳")
    log(practice, "王芳", "2026-11-20", 6, 3, ("swedish=30",), "--sign")
    target = tmp_path / "w.pdf"
    before = count_rows(db_path)
    result = practice("summary", "王芳", "-o", str(target), ok=False)
    assert result.exit_code == 2 and not target.exists()
    assert result.stderr.count("\n") == 1 and "-f html" in result.stderr
    assert "Name (Client)" in result.stderr and "王芳" not in result.stderr  # where, not what
    assert count_rows(db_path) == before  # not recorded as sent
    assert "王芳" in practice("summary", "王芳", "-f", "html").stdout


# --- 3. the same facts in every format ------------------------------------------------------


class HtmlText(HTMLParser):
    """Collects text and checks that every opened element is closed in order."""

    VOID = frozenset(
        {"meta", "br", "link", "img", "hr", "input", "col", "area", "base", "source", "wbr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        parser.close()
        return " ".join(parser.text)


def test_formats_carry_the_same_facts(docs):
    d = docs["json"]
    html_text = HtmlText.of(docs["html"])
    for fmt, text in (("md", docs["md"]), ("html", html_text), ("pdf", docs["pdf"])):
        for day, *_ in VISITS:
            assert day in text, (fmt, day)
        for fact in ("Cervicalgia", "Muscle spasm of back", "M62.830", "Jane Doe", "Regence",
                     "1987654328", "2026-11-02 to 2026-11-27", "Prescription expired",
                     "Authorization exceeded", "Neck Disability Index"):  # fmt: skip
            assert fact in text or squash(fact) in squash(text), (fmt, fact)
    assert [v["date"] for v in d["visits"]] == [v[0] for v in VISITS]
    assert d["diagnoses"] == [
        {"code": "M54.2", "description": "Cervicalgia"},
        {"code": "M62.830", "description": "Muscle spasm of back"},
    ]
    assert d["client"] == {"id": 1, "name": "Jane Doe", "dob": "1980-04-02"}
    assert d["period"] == {"from": "2026-11-02", "to": "2026-11-27"}
    assert d["authorization"] == {
        "visits_authorized": 4, "visits_used": 5, "visits_remaining": 0, "id": 1, "number": 1,
        "state": "expired", "valid_from": "2026-11-01", "valid_until": "2026-11-20",
        "auth_number": None, "visits_on_claim": 6,
    }  # fmt: skip
    assert [(a["number"], a["visits_allowed"], a["visits_used"]) for a in d["authorizations"]] == [
        (1, 4, 5)
    ]
    assert d["therapist"]["address"] == ADDRESS
    assert d["totals"]["units_by_cpt"] == {"97110": 1, "97124": 4, "97140": 13}
    assert (d["totals"]["visits"], d["totals"]["minutes"], d["totals"]["units"]) == (6, 270, 18)
    # The md table row for visit 3 carries the same cells as the PDF.
    assert "| 3 | 2026-11-10 | 60 | 97140 × 3, 97110 × 1 | 4 | 6 | 3 |" in docs["md"]


def test_json_contract_keys_and_values(docs):
    d = docs["json"]
    assert list(d) == TOP_LEVEL_KEYS
    assert d["document"] == "progress-summary" and d["written"] == TODAY
    v3 = d["visits"][2]
    assert v3["cpt"] == [
        {"code": "97140", "label": "Manual therapy", "minutes": 40, "units": 3},
        {"code": "97110", "label": "Therapeutic exercise", "minutes": 20, "units": 1},
    ]
    assert (v3["minutes"], v3["units"], v3["pain_pre"], v3["pain_post"]) == (60, 4, 6, 3)
    assert [g["status"] for g in d["goals"]] == ["met", "progressing"]
    assert [(o["measure"], o["mcid_met"]) for o in d["outcomes"]] == [
        ("nprs", True), ("ndi", True), ("psfs", False)
    ]  # fmt: skip
    assert d["assessment_from"] == d["plan_from"] == "visit 6 on 2026-11-24"
    assert [p["in_period"] for p in d["pain_chart"]] == [True] * 6


def test_html_is_well_formed_with_svg_chart_and_escapes_user_text(docs):
    html = docs["html"]
    parser = HtmlText()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == [], (parser.errors, parser.stack)
    assert {"svg", "table", "footer", "polyline"} <= parser.tags
    assert html.count("<svg") == 2  # the pain chart and the body diagram
    assert "<script" not in html.lower()
    assert "Rotation improved &lt;script&gt;alert(1)&lt;/script&gt; L|R" in html
    assert ASSESSMENT in HtmlText.of(html)


def test_markdown_to_stdout_escapes_user_text(docs):
    md = docs["md"]
    assert md.startswith("# Progress Summary")
    assert r"Rotation improved \<script\>alert(1)\</script\> L\|R" in md
    assert r"Continue 2x/week \| add chin tucks" in md
    assert "<script>" not in md
    assert "Preview only: not recorded" in docs["md_run"].stderr


# --- 4. flags -------------------------------------------------------------------------------


def test_expired_rx_and_exceeded_authorization_are_flagged(docs):
    last = docs["logs"][-1]  # health payer: recorded, with warnings
    assert "the prescription expired on 2026-11-20" in last.stderr
    # The 6th visit is outside the prescription's dates: it belongs to no authorization, so it
    # is not counted against the 4 visits (the 5th, within the dates, is the one beyond them).
    assert "beyond" not in last.stderr
    assert "visit 5 is beyond the 4 visits authorized" in docs["logs"][4].stderr
    assert len(query(docs["db"], "SELECT id FROM session")) == 6
    flags = docs["json"]["flags"]
    assert flags == [
        "Prescription expired on 2026-11-20: 1 visit(s) in this period were after it.",
        "Authorization exceeded: 5 visits used of 4 authorized.",
    ]
    pdf = squash(docs["pdf"])
    assert squash("ATTENTION") in pdf
    for flag in flags:
        assert squash(flag) in pdf
    assert [v["flags"] for v in docs["json"]["visits"]] == [
        [], [], [], [], ["unsigned", "over authorized visits"], ["after Rx expired"]
    ]  # fmt: skip
    assert not docs["json"]["visits"][4]["signed"]
    assert "unsigned drafts (sessions 5)" in docs["json_run"].stderr


# --- 5. recording the report ----------------------------------------------------------------


def progress_report(cli) -> dict:
    return json.loads(cli("progress", "Jane", "-f", "json").stdout)["progress_report"]


def reports(db) -> list[tuple]:
    rows = query(db, "SELECT written, period_from, period_to FROM progress_report ORDER BY id")
    return [tuple(r) for r in rows]


@pytest.fixture
def ten(practice):
    """Jane: 10 signed visits, every other day 11-03 … 11-21; the health rule (10) makes one due."""
    for day in range(3, 27, 2)[:10]:
        log(practice, "Jane", f"2026-11-{day:02d}", 6, 3, ("swedish=30",), "--sign")
    return practice


def test_writing_records_once_and_restarts_the_due_clock(ten, db_path, tmp_path):
    before = progress_report(ten)
    assert before["due"] is True and before["reasons"] == ["10 visits since start of care"]
    existing = tmp_path / "r.md"
    existing.write_text("old")
    existing.chmod(0o644)
    result = ten("summary", "Jane", "-o", str(existing))
    assert "Recorded as sent today" in result.stderr
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert existing.read_text().startswith("# Progress Summary")
    assert reports(db_path) == [(TODAY, "2026-11-02", TODAY)]
    after = progress_report(ten)
    assert (after["due"], after["counted_from"], after["counted_from_kind"]) == (
        False, TODAY, "last report"
    )  # fmt: skip
    again = ten("summary", "Jane", "-o", str(tmp_path / "r.json"))
    assert "Already recorded today" in again.stderr
    assert reports(db_path) == [(TODAY, "2026-11-02", TODAY)]
    # Today's own report is passed over: re-running covers the same period, not an empty one.
    assert json.loads(ten("summary", "Jane", "-f", "json").stdout)["period"]["from"] == "2026-11-02"


def test_preview_and_stdout_record_nothing(ten, db_path, tmp_path):
    counts = count_rows(db_path)
    target = tmp_path / "p.html"
    result = ten("summary", "Jane", "--preview", "-o", str(target))
    assert "Preview: not recorded" in result.stderr
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")  # from the suffix
    for fmt in ("md", "json", "html"):
        assert ten("summary", "Jane", "-f", fmt).stdout
    assert count_rows(db_path) == counts and reports(db_path) == []
    assert progress_report(ten)["due"] is True


def test_next_default_period_starts_after_the_last_reported_day(
    ten, db_path, tmp_path, monkeypatch
):
    ten("summary", "Jane", "--to", "2026-11-13", "-o", str(tmp_path / "a.json"))
    assert reports(db_path) == [(TODAY, "2026-11-02", "2026-11-13")]
    due = progress_report(ten)
    assert (due["counted_from"], due["visits_since"], due["due"]) == ("2026-11-13", 4, False)
    monkeypatch.setenv("MEDMASSAGE_TODAY", "2026-12-05")
    log(ten, "Jane", "2026-12-02", 4, 2, ("swedish=30",), "--sign")
    d = json.loads(ten("summary", "Jane", "-f", "json").stdout)
    assert d["period"] == {"from": "2026-11-14", "to": "2026-12-05"}
    assert [v["date"] for v in d["visits"]] == [
        "2026-11-15", "2026-11-17", "2026-11-19", "2026-11-21", "2026-12-02"
    ]  # fmt: skip
    ten("summary", "Jane", "-o", str(tmp_path / "b.md"))
    monkeypatch.setenv("MEDMASSAGE_TODAY", "2026-12-20")
    log(ten, "Jane", "2026-12-18", 3, 1, ("swedish=30",), "--sign")
    d = json.loads(ten("summary", "Jane", "-f", "json").stdout)
    assert d["period"] == {"from": "2026-12-06", "to": "2026-12-20"}
    assert [v["date"] for v in d["visits"]] == ["2026-12-18"]
    assert reports(db_path)[1:] == [("2026-12-05", "2026-11-14", "2026-12-05")]


# --- 6. --from / --to -----------------------------------------------------------------------


def test_from_to_limit_the_visits_and_totals(practice):
    for day, tech in (("03", "swedish=30"), ("10", "swedish=45"), ("17", "swedish=20"),
                      ("24", "swedish=60")):  # fmt: skip
        log(practice, "Jane", f"2026-11-{day}", 6, 3, (tech,), "--sign")
    d = json.loads(practice("summary", "Jane", "--from", "2026-11-09", "--to", "2026-11-20",
                            "-f", "json").stdout)  # fmt: skip
    assert d["period"] == {"from": "2026-11-09", "to": "2026-11-20"}
    assert [v["date"] for v in d["visits"]] == ["2026-11-10", "2026-11-17"]
    assert (d["totals"]["visits"], d["totals"]["minutes"], d["totals"]["units"]) == (2, 65, 4)
    assert d["authorization"]["visits_used"] == 3  # up to the end of the period
    assert [(p["date"], p["in_period"]) for p in d["pain_chart"]] == [
        ("2026-11-03", False), ("2026-11-10", True), ("2026-11-17", True)
    ]  # fmt: skip
    md = practice("summary", "Jane", "--from", "2026-11-09", "--to", "2026-11-20").stdout
    assert "| 2 | 2026-11-10 | 45 |" in md and "| 3 | 2026-11-17 | 20 |" in md
    assert "| 1 | 2026-11-03 | 30 |" not in md and "2026-11-24" not in md
    assert "| **Total** | **2 visits** | **65** |" in md
    month = json.loads(practice("summary", "Jane", "--from", "2026-11", "-f", "json").stdout)
    assert month["period"] == {"from": "2026-11-01", "to": TODAY}
    assert len(month["visits"]) == 4
    words = json.loads(practice("summary", "Jane", "--from", "this month", "-f", "json").stdout)
    assert words["period"]["from"] == "2026-11-01"


# --- 7. the recommendation and the texts ----------------------------------------------------


def summary_json(cli, *args: str) -> dict:
    return json.loads(cli("summary", "Jane", "-f", "json", *args).stdout)


@pytest.fixture
def four(practice):
    """Jane (12 authorized, 2x/week, Rx to 12-31) with 4 signed visits: 8 remain."""
    for day in ("03", "06", "10", "13"):
        log(practice, "Jane", f"2026-11-{day}", 6, 3, ("swedish=30",), "--sign",
            "--assessment", f"note {day}", "--plan", f"plan {day}")  # fmt: skip
    return practice


def test_recommendation_default_and_overrides(four, db_path):
    rec = summary_json(four)["recommendation"]
    # ceil(8 remaining / 2 per week) = 4 weeks from 11-27.
    assert rec == {
        "action": "continue", "frequency": "2x/week", "weeks": 4, "months": None, "visits": 8,
        "through": "2026-12-25", "needs_authorization": False, "needs_new_rx": False,
        "text": "Continue treatment 2x/week for 4 weeks (8 visits), through 2026-12-25.",
    }  # fmt: skip
    rec = summary_json(four, "--weeks", "3", "--frequency", "1x/week")["recommendation"]
    assert rec["text"] == "Continue treatment 1x/week for 3 weeks (3 visits), through 2026-12-18."
    assert (rec["frequency"], rec["weeks"], rec["visits"]) == ("1x/week", 3, 3)
    rec = summary_json(four, "--frequency", "3x/week")["recommendation"]
    assert (rec["weeks"], rec["visits"], rec["needs_authorization"]) == (3, 9, True)
    assert rec["text"].endswith(
        "This requires authorization of 1 more visit (8 remain authorized)."
    )
    rec = summary_json(four, "--discharge")["recommendation"]
    assert (rec["action"], rec["text"]) == ("discharge", "Discharge from care.")
    four("case", "close", "1", "--reason", "Goals met")
    rec = summary_json(four)["recommendation"]
    assert (rec["action"], rec["text"]) == ("discharge", "Discharge from care: Goals met.")


def test_assessment_and_plan_from_notes_or_given(four):
    d = summary_json(four)
    assert (d["assessment"], d["assessment_from"]) == ("note 13", "visit 4 on 2026-11-13")
    assert (d["plan"], d["plan_from"]) == ("plan 13", "visit 4 on 2026-11-13")
    d = summary_json(four, "--assessment", "  Better range  ", "--plan", "Taper to 1x/week")
    assert (d["assessment"], d["assessment_from"]) == ("Better range", "given")
    assert (d["plan"], d["plan_from"]) == ("Taper to 1x/week", "given")
    md = four("summary", "Jane", "--assessment", "Better range").stdout
    assert "## Assessment\n\nBetter range\n\n_as given for this report_" in md
    assert "## Plan\n\nplan 13\n\n_from the note of visit 4 on 2026-11-13_" in md


# --- 8. --all-due ---------------------------------------------------------------------------


def test_all_due_writes_exactly_the_due_cases(ten, db_path, tmp_path):
    ten("client", "add", "Carl Ortiz")
    open_case(ten, "Carl", "--claim", "WC-1", "--injury-date", "2026-10-01",
              payer="workers-comp", visits="8")  # fmt: skip
    for day in (16, 17, 18, 19, 20, 23):
        log(ten, "Carl", f"2026-11-{day}", 6, 3, ("swedish=30",), "--sign")
    ten("client", "add", "Zoë Nuñez")
    open_case(ten, "Zoë")
    for day in (16, 18, 20):
        log(ten, "Zoë", f"2026-11-{day}", 6, 3, ("swedish=30",), "--sign")
    folder = tmp_path / "due"
    result = ten("summary", "--all-due", "-o", str(folder))
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        f"carl-ortiz-case2-progress-{TODAY}.pdf",
        f"jane-doe-case1-progress-{TODAY}.pdf",
    ]
    for name in names:
        path = folder / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"%PDF-")
        assert name in result.stdout
    assert "2 progress summaries written" in result.stdout
    assert "6 visits since start of care" in result.stdout and "Zoë" not in result.stdout
    rows = query(db_path, "SELECT case_id, written, period_from, period_to FROM progress_report "
                          "ORDER BY case_id")  # fmt: skip
    assert [tuple(r) for r in rows] == [(1, TODAY, "2026-11-02", TODAY),
                                        (2, TODAY, "2026-11-16", TODAY)]  # fmt: skip
    for who in ("Jane", "Carl"):
        due = json.loads(ten("progress", who, "-f", "json").stdout)["progress_report"]
        assert (due["due"], due["counted_from"]) == (False, TODAY), who
    counts = count_rows(db_path)
    again = ten("summary", "--all-due", "-o", str(folder))
    assert again.exit_code == 0 and again.stdout == ""
    assert "No progress reports are due." in again.stderr
    assert count_rows(db_path) == counts and len(list(folder.iterdir())) == 2


# --- 9. bad input ---------------------------------------------------------------------------

BAD = {
    "client without a case": (["Nobody"], "case"),
    "no visits in the period": (["Jane", "--from", "2026-11-25"], "no visits"),
    "--from after --to": (["Jane", "--from", "2026-11-20", "--to", "2026-11-10"], "after"),
    "--to in the future": (["Jane", "--to", "2026-11-28"], "future"),
    "folder missing": (["Jane", "-o", "{out}/missing/r.pdf"], "cannot write"),
    "no profile": (["Jane", "-o", "{out}/r.md"], "profile"),
    "pdf to stdout": (["Jane", "-f", "pdf"], "needs -o"),
    "unknown format": (["Jane", "-f", "docx", "-o", "{out}/r.docx"], "docx"),
    "unknown extension": (["Jane", "-o", "{out}/report.xyz"], "report.xyz"),
    "--all-due with CLIENT": (["Jane", "--all-due", "-o", "{out}/due"], "--all-due"),
    "--all-due without -o": (["--all-due"], "-o DIR"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, db_path, tmp_path, case):
    args, hint = BAD[case]
    if case != "no profile":
        set_profile(cli)
    cli("client", "add", "Jane Doe")
    cli("client", "add", "Nobody Here")
    open_case(cli, "Jane")
    log(
        cli,
        "Jane",
        "2026-11-20",
        6,
        3,
        ("swedish=30",),
        "--sign",
        "--assessment",
        "A",
        "--plan",
        "P",
    )
    out = tmp_path / "out"
    out.mkdir()
    counts = count_rows(db_path)
    result = cli("summary", *[a.format(out=out) for a in args], ok=False)
    assert result.exit_code == 2, result.stderr
    line = result.stderr.rstrip("\n")
    assert line.startswith("error: ") and "\n" not in line, result.stderr
    assert hint in line
    assert result.stdout == ""
    assert count_rows(db_path) == counts
    assert list(out.iterdir()) == []  # no file, no .NAME.tmp* left behind


def test_failed_write_prints_only_the_error(practice, db_path, tmp_path):
    log(practice, "Jane", "2026-11-20", 6, 3, ("swedish=30",))  # an unsigned visit without notes
    counts = count_rows(db_path)
    result = practice("summary", "Jane", "-o", str(tmp_path / "missing" / "r.pdf"), ok=False)
    assert result.exit_code == 2 and count_rows(db_path) == counts
    assert result.stderr.startswith("error: output:") and result.stderr.count("\n") == 1, (
        result.stderr
    )


def test_bad_input_through_the_entry_point_prints_no_traceback(practice, db_path, tmp_path):
    log(practice, "Jane", "2026-11-20", 6, 3, ("swedish=30",), "--sign")
    counts = count_rows(db_path)
    done = run_subprocess("--db", str(db_path), "summary", "Jane", "--from", "2026-11-20",
                          "--to", "2026-11-10", "-o", str(tmp_path / "r.pdf"))  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: from: '2026-11-20'")
    assert count_rows(db_path) == counts and not (tmp_path / "r.pdf").exists()


# --- 10. file modes -------------------------------------------------------------------------


def test_files_written_are_owner_only(docs):
    for fmt in ("pdf", "html", "json"):
        assert stat.S_IMODE(docs[fmt + "_path"].stat().st_mode) == 0o600, fmt
    assert not [p.name for p in docs["dir"].iterdir() if ".tmp" in p.name]
    assert count_rows(docs["db"])["progress_report"] == 0  # all written with --preview
    assert os.path.getsize(docs["pdf_path"]) > 1000


# --- visits logged after a report was written -----------------------------------------------


def test_a_visit_logged_after_the_report_on_the_same_day_is_still_to_be_reported(
    ten, db_path, tmp_path, monkeypatch
):
    """A report written in the morning cannot hold the afternoon's visit, though its date is
    inside the period: it counts toward the next report and opens the next default period."""
    ten("summary", "Jane", "-o", str(tmp_path / "morning.json"))
    assert progress_report(ten)["visits_since"] == 0
    log(ten, "Jane", TODAY, 5, 2, ("swedish=30",), "--sign")  # the afternoon visit
    assert progress_report(ten)["visits_since"] == 1
    # A late entry dated inside the reported period is missing from the report too.
    log(ten, "Jane", "2026-11-22", 5, 2, ("swedish=30",), "--sign")
    assert progress_report(ten)["visits_since"] == 2
    monkeypatch.setenv("MEDMASSAGE_TODAY", "2026-12-04")
    d = json.loads(ten("summary", "Jane", "-f", "json").stdout)
    assert d["period"]["from"] == "2026-11-22"
    assert [v["date"] for v in d["visits"]] == ["2026-11-22", TODAY]


def test_to_a_month_still_running_ends_today(ten):
    d = json.loads(
        ten("summary", "Jane", "--from", "2026-11", "--to", "2026-11", "-f", "json").stdout
    )
    assert d["period"] == {"from": "2026-11-01", "to": TODAY}
    result = ten("summary", "Jane", "--to", "2026-12-15", "-f", "json", ok=False)
    assert result.exit_code == 2 and "is in the future" in result.stderr


def test_to_alone_before_the_last_report_reaches_back_to_the_start_of_care(
    ten, tmp_path, monkeypatch
):
    monkeypatch.setenv("MEDMASSAGE_TODAY", "2026-11-21")
    ten("summary", "Jane", "-o", str(tmp_path / "r.json"))  # covers 11-02 … 11-21
    monkeypatch.setenv("MEDMASSAGE_TODAY", TODAY)
    nothing_new = ten("summary", "Jane", "-f", "json", ok=False)  # default: 11-22 … today
    assert nothing_new.exit_code == 2 and "2026-11-22 to 2026-11-27" in nothing_new.stderr
    d = json.loads(ten("summary", "Jane", "--to", "2026-11-10", "-f", "json").stdout)
    assert d["period"] == {"from": "2026-11-02", "to": "2026-11-10"}
    assert d["totals"]["visits"] == 4
    md = ten("summary", "Jane", "--from", "2026-11-03", "--to", "2026-11-03", "-f", "md").stdout
    assert "| **Total** | **1 visit** |" in md


def test_all_due_passes_on_each_case_s_warnings(ten, tmp_path):
    log(ten, "Jane", "2026-11-25", 5, 2, ("swedish=30",))  # not signed
    result = ten("summary", "--all-due", "-o", str(tmp_path / "due"))
    assert "case 1: 1 visit(s) in the period are unsigned drafts" in result.stderr
    assert "case 1: 1 visit" not in result.stdout  # the list on stdout stays data


# --- 11. what an adjuster checks first (issue 13) -------------------------------------------


def md_text(md: str) -> str:
    """Markdown without its escapes."""
    return md.replace("\\", "")


def norm(text: str) -> str:
    """Text of any format without whitespace, Markdown markup or the colons of labels."""
    return "".join(ch for ch in squash(text) if ch not in "\\*_|:")


def test_intake_objective_treatment_and_home_program_in_every_format(docs):
    d = docs["json"]
    assert d["intake"] == {
        "date": "2026-11-02", "chief_complaint": COMPLAINT, "conditions": ["Whiplash"],
        "onset_date": "2026-10-20", "mechanism": MECHANISM, "history": HISTORY,
        "limitations": ["Cannot drive 30 min"], "aggravating": None, "relieving": None,
    }  # fmt: skip
    # The latest objective findings are from visit 5 (an unsigned draft), not the last visit.
    assert (d["objective"], d["objective_from"]) == (OBJECTIVE, "visit 5 on 2026-11-17")
    assert (d["home_program"], d["home_program_from"]) == (HOME, "visit 6 on 2026-11-24")
    assert d["note_sources"] == {
        "objective": {"visit": 5, "session_id": 5, "date": "2026-11-17", "signed": False,
                      "last_visit": False},
        "assessment": {"visit": 6, "session_id": 6, "date": "2026-11-24", "signed": True,
                       "last_visit": True},
        "plan": {"visit": 6, "session_id": 6, "date": "2026-11-24", "signed": True,
                 "last_visit": True},
        "home_program": {"visit": 6, "session_id": 6, "date": "2026-11-24", "signed": True,
                         "last_visit": True},
    }  # fmt: skip
    assert d["treatment"] == {
        "techniques": [
            {"technique": "myofascial-release", "cpt": "97140", "cpt_label": "Manual therapy",
             "minutes": 190, "visits": 6},
            {"technique": "swedish", "cpt": "97124", "cpt_label": "Massage", "minutes": 60,
             "visits": 4},
            {"technique": "stretching", "cpt": "97110", "cpt_label": "Therapeutic exercise",
             "minutes": 20, "visits": 1},
        ],
        "regions": [
            {"region": "neck", "visits": 6, "ordered": True},
            {"region": "upper-back", "visits": 1, "ordered": False},
        ],
        "areas_ordered": ["neck"],
    }  # fmt: skip
    facts = [
        f"Chief complaint: {COMPLAINT}", "Condition: Whiplash", "Onset: 2026-10-20",
        f"Mechanism: {MECHANISM}", f"Relevant history: {HISTORY}",
        "Functional limitations at intake: Cannot drive 30 min", "Aggravated by: not recorded",
        "from the intake assessment of 2026-11-02",
        "Myofascial release", "97140 Manual therapy", "Stretching", "97110 Therapeutic exercise",
        f"Objective findings {OBJECTIVE}",
        "from visit 5 on 2026-11-17 (an unsigned draft), not the last visit of the period: "
        "the note of visit 6 on 2026-11-24 has no objective findings",
        f"Home program {HOME}", "from the note of visit 6 on 2026-11-24",
        "Status expired 2026-11-20", "Other authorizations none on this claim",
    ]  # fmt: skip
    pdf = squash(docs["pdf"])
    texts = {
        "pdf": norm(docs["pdf"]),
        "md": norm(docs["md"]),
        "html": norm(HtmlText.of(docs["html"])),
    }
    for fact in facts:
        for fmt, text in texts.items():
            assert norm(fact) in text, (fmt, fact)
    # The tables: technique, CPT, visits, minutes; region, visits, ordered or not.
    for row in ("Myofascial release 97140 Manual therapy 6 190", "Swedish 97124 Massage 4 60",
                "Stretching 97110 Therapeutic exercise 1 20", "Total 270", "neck 6 yes",
                "upper back 1 not ordered"):  # fmt: skip
        assert squash(row) in pdf, row
    assert "| Myofascial release | 97140 Manual therapy | 6 | 190 |" in docs["md"]
    # Regions in the therapist's words, as the body diagram's lists say them (the catalog
    # name "upper-back" is for JSON only).
    assert "| upper back | 1 | not ordered |" in docs["md"]
    assert "<td>upper back</td>" in docs["html"]
    shown_html = re.sub(r"<[^>]*>", " ", docs["html"])  # the text, not the data-region names
    for text in (pdf, squash(docs["md"]), squash(shown_html)):
        assert "upper-back" not in text


def test_an_assessment_older_than_the_last_visit_is_named_and_warned(four, tmp_path):
    # Visit 5 has findings but no assessment or plan: those come from visit 4.
    log(four, "Jane", "2026-11-17", 5, 2, ("swedish=30",), "--sign", "--objective", "Less guarding")
    result = four("summary", "Jane", "-f", "json")
    d = json.loads(result.stdout)
    assert (d["assessment"], d["assessment_from"]) == ("note 13", "visit 4 on 2026-11-13")
    assert d["note_sources"]["assessment"]["last_visit"] is False
    assert d["note_sources"]["objective"]["last_visit"] is True
    for key in ("assessment", "plan"):
        assert (
            f"warning: the {key} is from visit 4 on 2026-11-13, not the period's last visit "
            f"(visit 5 on 2026-11-17 has none); give one with --{key}"
        ) in result.stderr
    wording = (
        "from visit 4 on 2026-11-13, not the last visit of the period: the note of visit 5 on "
        "2026-11-17 has no assessment"
    )
    md = four("summary", "Jane").stdout
    assert f"## Assessment\n\nnote 13\n\n_{wording}_" in md
    four("summary", "Jane", "--preview", "-o", str(tmp_path / "s.pdf"))
    pdf = squash("\n".join(pdf_pages(tmp_path / "s.pdf")))
    assert squash(f"Assessment note 13 {wording}") in pdf
    assert squash("Objective findings Less guarding from the note of visit 5 on 2026-11-17") in pdf
    # Written for this report: no warning for it, and said so.
    given = four("summary", "Jane", "--assessment", "Better range", "-f", "md")
    assert "the assessment is from" not in given.stderr and "the plan is from" in given.stderr
    assert "## Assessment\n\nBetter range\n\n_as given for this report_" in given.stdout
    # From the last visit: no warning at all.
    log(four, "Jane", "2026-11-20", 4, 2, ("swedish=30",), "--sign", "--assessment", "A",
        "--plan", "P")  # fmt: skip
    assert "not the period's last visit" not in four("summary", "Jane", "-f", "json").stderr


def test_missing_facts_are_said_in_words_in_every_format(cli, tmp_path):
    set_profile(cli)  # no practice name, no phone
    cli("client", "add", "Jane Doe")  # no date of birth
    # Workers' comp with no claim number, no areas ordered, no intake.
    open_case(cli, "Jane", "--injury-date", "2026-10-01", payer="workers-comp")
    log(cli, "Jane", "2026-11-20", 6, 3, ("swedish=30",), "--sign")  # a note without text
    md = cli("summary", "Jane").stdout
    cli("summary", "Jane", "--preview", "-o", str(tmp_path / "s.pdf"))
    cli("summary", "Jane", "--preview", "-o", str(tmp_path / "s.html"))
    html = (tmp_path / "s.html").read_text(encoding="utf-8")
    pdf = "\n".join(pdf_pages(tmp_path / "s.pdf"))
    words = [
        "Practice not recorded", "Phone not recorded", "Date of birth not recorded",
        "Claim # not recorded", "Referrer NPI not recorded", "Areas ordered none named",
        "Authorization # not recorded",
        "No intake assessment recorded for this case: chief complaint, onset, mechanism and "
        "history not recorded.",
        "No objective findings recorded in the period.", "No assessment recorded in the period.",
        "No plan recorded in the period.", "No home program recorded in the period.",
        "No functional goals recorded for this case.", "neck 1 no areas named",
        "No authorization of the period names any areas.",
        "Jane Doe · date of birth not recorded · no claim number recorded",
    ]  # fmt: skip
    texts = {"pdf": norm(pdf), "md": norm(md), "html": norm(HtmlText.of(html))}
    for fact in words:
        for fmt, text in texts.items():
            assert norm(fact) in text, (fmt, fact)
    # No fact is a bare dash: the only dashes are the title's.
    assert [line for line in pdf.splitlines() if "—" in line] == [
        "Progress Summary — Medical Massage Therapy"
    ]
    assert [line for line in md.splitlines() if "—" in line] == [
        "# Progress Summary — Medical Massage Therapy"
    ]
    body = html.split("<body>", 1)[1]
    assert body.count("—") == 1 and "<h1>Progress Summary — Medical Massage Therapy</h1>" in body


@pytest.mark.parametrize(
    ("payer", "extra", "footer"),
    [
        ("health", ("--policy", "MBR-7731", "--claim", "HC-9"), "member id MBR-7731"),
        ("health", (), "no member id recorded"),
        ("workers-comp", ("--claim", "WC-1", "--policy", "P-2"), "claim WC-1"),
        ("auto-pip", ("--policy", "P-3"), "no claim number recorded"),
    ],
)
def test_footer_names_what_the_payer_files_the_case_under(cli, tmp_path, payer, extra, footer):
    set_profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    injury = () if payer == "health" else ("--injury-date", "2026-10-01")
    open_case(cli, "Jane", *extra, *injury, payer=payer)
    log(cli, "Jane", "2026-11-20", 6, 3, ("swedish=30",), "--sign")
    expected = f"Jane Doe · DOB 1980-04-02 · {footer} · progress summary {TODAY}"
    assert cli("summary", "Jane").stdout.rstrip().endswith(expected)
    cli("summary", "Jane", "--preview", "-o", str(tmp_path / "s.pdf"))
    pages = pdf_pages(tmp_path / "s.pdf")
    assert all(squash(expected) in squash(page) for page in pages)
    assert "claim —" not in "\n".join(pages)


def test_authorization_in_force_and_the_earlier_one(cli):
    set_profile(cli)
    cli("client", "add", "Jane Doe")
    open_case(cli, "Jane", "--injury-date", "2026-10-01", visits="2", until="2026-11-15",
              payer="auto-pip")  # fmt: skip
    for day in ("2026-11-05", "2026-11-12"):
        log(cli, "Jane", day, 6, 3, ("swedish=30",), "--sign")
    cli("case", "renew", "1", "--rx-date", "2026-11-16", "--rx-until", "2026-12-31",
        "--visits", "6", "--auth-number", "PA-1")  # fmt: skip
    log(cli, "Jane", "2026-11-19", 5, 2, ("swedish=30",), "--sign")
    md = md_text(cli("summary", "Jane").stdout)
    assert "- **Status:** in force" in md
    assert "- **Other authorizations:** 1 (table below)" in md
    assert "| 1 | 2026-11-01 | 2026-11-01 | 2026-11-15 | 2 | 2 | not recorded | Dr Ames |" in md
    assert "| 2 (in force) | 2026-11-16 | 2026-11-16 | 2026-12-31 | 6 | 1 | PA-1 | Dr Ames |" in md


def test_outcomes_note_is_never_alone_at_the_top_of_a_page(practice):
    """The 'change is signed' note keeps with the outcome table's last row, wherever the page
    break falls: the intake history before it is lengthened until the table moves on."""
    from medmassage.documents import render

    for day in ("03", "06", "10", "13", "17", "20"):
        log(practice, "Jane", f"2026-11-{day}", 6, 3, ("swedish=30",), "--sign")
    practice("measure", "add", "Jane", "--date", "2026-11-20", "--ndi", "20")
    data = json.loads(practice("summary", "Jane", "-f", "json").stdout)

    def note_page(lines: int) -> tuple[int, str]:
        data["intake"]["history"] = "\n".join(f"history line {i}" for i in range(lines))
        pages = [p.extract_text() for p in PdfReader(BytesIO(render("summary", data, "pdf"))).pages]
        k = next(k for k, page in enumerate(pages) if "Change is signed" in page)
        return k, pages[k]

    first, _ = note_page(0)
    low, high = 0, 80  # the table is on a later page with 80 more lines before it
    assert note_page(high)[0] > first
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if note_page(mid)[0] > first else (mid, high)
    for lines in (low, high):  # either side of the break
        _, page = note_page(lines)
        above = page.split("Change is signed")[0]
        assert "Neck Disability Index" in above and "Measure Baseline Current" in above, lines


def test_chart_after_square_at_zero_sits_above_the_axis(practice, tmp_path):
    for day in ("03", "06", "10"):
        log(practice, "Jane", f"2026-11-{day}", 4, 0, ("swedish=30",), "--sign")
    practice("summary", "Jane", "--preview", "-o", str(tmp_path / "s.pdf"))
    reader = PdfReader(tmp_path / "s.pdf")
    ops = []
    for page in reader.pages:
        ops += page.get_contents().get_data().decode("latin-1").splitlines()
    square = 1.9 * 72 / 25.4  # the 1.9 mm "after" marker, in points
    # `x y w -h re B`: the top edge at y, the bottom at y - h (PDF y grows upward).
    rects = [line.split() for line in ops if line.endswith(" re B")]
    bottoms = [
        float(y) - float(w)
        for x, y, w, h, *_ in rects
        if abs(float(w) - square) < 0.05 and abs(float(h) + square) < 0.05
    ]
    assert len(bottoms) == 3 + 1  # three visits and the legend
    lines = [line.split() for line in ops if line.endswith(" l S") and " m " in line]
    horizontal = [(float(p[1]), float(p[0]), float(p[3])) for p in lines if p[1] == p[4]]
    axis_y = min(y for y, x1, x2 in horizontal if x2 - x1 > 300)  # the x axis: the lowest rule
    assert min(bottoms) - axis_y > 1.0, (min(bottoms), axis_y)  # points of clear space
