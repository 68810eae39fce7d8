"""`medmassage superbill`: money, periods, the PDF's facts, bad input, warnings, unsigned visits,
missing profile fields, place of service, pages and file writes.

Through the real CLI against a real SQLite file. Today is 2026-11-27 (conftest), so the default
period is 2026-11-01..2026-11-27. Fees: 97140 $45.00, 97124 $38.50 (a fee with cents). Visits
are logged signed unless a test says otherwise.
"""

from __future__ import annotations

import json
import re
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import count_rows

FEES = ("--fee", "97140=45", "--fee", "97124=38.50")
ADDRESS = "412 Cedar St, Suite 3, Olympia, WA 98501"
CLIENT_ADDRESS = "77 Harrison Ave NW, Olympia, WA 98502"


def log(
    cli,
    client: str,
    day: str,
    *tech: str,
    case: str | None = None,
    ok: bool = True,
    sign: bool = True,
):
    args = ["session", "log", client, "--date", day, "--pre", "7", "--post", "4"]
    args += ["--region", "neck"]
    for t in tech:
        args += ["--technique", t]
    if case:
        args += ["--case", case]
    if sign:
        args.append("--sign")
    return cli(*args, ok=ok)


def session_id(result) -> int:
    m = re.match(r"Session (\d+) saved", result.stdout)
    assert m, result.stdout
    return int(m.group(1))


def bill(cli, *args: str, client: str = "Jane") -> tuple[dict, str]:
    result = cli("superbill", client, "-f", "json", *args)
    return json.loads(result.stdout), result.stderr


def cents_lines(data: dict) -> list[tuple]:
    return [
        (ln["date"], ln["cpt"], ln["units"], ln["fee_cents"], ln["amount_cents"], ln["fee"],
         ln["amount"])
        for ln in data["lines"]
    ]  # fmt: skip


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def open_case(cli, client: str, *extra: str, dx: str = "M54.2", payer: str = "self-pay"):
    return cli(
        "case", "open", client, "--payer", payer, "--dx", dx, "--referrer", "Alan Brooks, DC",
        "--rx-date", "2026-10-01", "--rx-until", "2026-12-31", "--visits", "20", *extra,
    )  # fmt: skip


PRACTICE = "Cedar Street Medical Massage"
PHONE = "360-555-0142"


@pytest.fixture
def billing(practice):
    """The practice with fees for 97140/97124 (none for 97010) and every field a superbill
    prints (practice name, address, phone, tax ID); the client with an address."""
    practice(
        "profile", "set", "--tax-id", "91-1234567", "--address", ADDRESS, "--phone", PHONE,
        "--practice-name", PRACTICE, *FEES,
    )  # fmt: skip
    practice("client", "edit", "Jane", "--address", CLIENT_ADDRESS)
    return practice


# --- 1. exact money ---------------------------------------------------------------------------


def test_lines_amounts_and_totals_are_exact_cents(billing):
    billing("profile", "set", "--fee", "97010=12.25")
    s1 = session_id(log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15"))
    s2 = session_id(log(billing, "Jane", "2026-11-10", "myofascial-release=20", "hot-cold-pack=10"))
    data, stderr = bill(billing)
    assert cents_lines(data) == [
        ("2026-11-03", "97140", 2, 4500, 9000, "45.00", "90.00"),
        ("2026-11-03", "97124", 1, 3850, 3850, "38.50", "38.50"),
        ("2026-11-10", "97140", 1, 4500, 4500, "45.00", "45.00"),
        ("2026-11-10", "97010", 1, 1225, 1225, "12.25", "12.25"),
    ]
    assert [ln["session_id"] for ln in data["lines"]] == [s1, s1, s2, s2]
    assert [ln["minutes"] for ln in data["lines"]] == [30, 15, 20, 10]
    assert [ln["description"] for ln in data["lines"]] == [
        "Manual therapy", "Massage", "Manual therapy", "Hot/cold pack",
    ]  # fmt: skip
    assert all(ln["diagnosis_codes"] == ["M54.2"] and ln["case_id"] == 1 for ln in data["lines"])
    assert data["total"] == {"visits": 2, "units": 5, "amount_cents": 18575, "amount": "185.75"}
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-27"}
    assert (data["document"], data["written"], data["currency"]) == (
        "superbill",
        "2026-11-27",
        "USD",
    )
    assert data["diagnoses"] == [{"code": "M54.2", "description": "Cervicalgia"}]
    assert data["provider"]["tax_id"] == "91-1234567"
    assert data["provider"]["npi"] == "1234567893"
    assert data["client"]["name"] == "Jane Doe" and data["client"]["dob"] == "1980-04-02"
    assert [c["id"] for c in data["cases"]] == [1]
    assert "warning" not in stderr


def test_first_example_45_minutes_totals_128_50(billing):
    log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15")
    data, _ = bill(billing)
    assert [ln["amount"] for ln in data["lines"]] == ["90.00", "38.50"]
    assert data["total"] == {"visits": 1, "units": 3, "amount_cents": 12850, "amount": "128.50"}


def test_untimed_minutes_do_not_count_and_zero_unit_codes_are_dropped(billing):
    # 5 timed minutes (0 units for 97124) + a hot/cold pack (untimed, always 1 unit).
    billing("profile", "set", "--fee", "97010=12.25")
    log(billing, "Jane", "2026-11-03", "swedish=5", "hot-cold-pack=10")
    data, stderr = bill(billing)
    assert cents_lines(data) == [("2026-11-03", "97010", 1, 1225, 1225, "12.25", "12.25")]
    assert "left off" not in stderr


def test_ama_rule_bills_fewer_units_than_cms_for_the_same_minutes(billing):
    billing("client", "add", "Bob Ama", "--dob", "1970-01-01")
    open_case(billing, "Bob", "--units-rule", "ama")
    for client in ("Jane", "Bob"):
        log(billing, client, "2026-11-04", "myofascial-release=22", "swedish=22")
    cms, _ = bill(billing, client="Jane")
    ama, _ = bill(billing, client="Bob")
    # CMS: 44 min = 3 units, the leftover unit to the first code; AMA: 22 min = 1 unit each.
    assert [(ln["cpt"], ln["units"], ln["amount"]) for ln in cms["lines"]] == [
        ("97140", 2, "90.00"),
        ("97124", 1, "38.50"),
    ]
    assert [(ln["cpt"], ln["units"], ln["amount"]) for ln in ama["lines"]] == [
        ("97140", 1, "45.00"),
        ("97124", 1, "38.50"),
    ]
    assert cms["total"]["amount_cents"] == 12850 and ama["total"]["amount_cents"] == 8350


def test_large_fees_keep_cents_exact_and_group_thousands(billing):
    billing("profile", "set", "--fee", "97140=1234.56")
    log(billing, "Jane", "2026-11-03", "myofascial-release=60")
    data, _ = bill(billing)
    assert cents_lines(data) == [("2026-11-03", "97140", 4, 123456, 493824, "1,234.56", "4,938.24")]
    assert data["total"]["amount"] == "4,938.24"


# --- 2. the PDF -------------------------------------------------------------------------------


def test_pdf_carries_every_fact_a_reimbursement_needs(billing, tmp_path, db_path):
    open_case(billing, "Jane", dx="M54.6", payer="fsa-hsa")
    log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15", case="1")
    log(billing, "Jane", "2026-11-12", "trigger-point=25", case="2")
    before = count_rows(db_path)
    out = tmp_path / "bill.pdf"
    result = billing("superbill", "Jane", "-o", str(out))
    assert result.stdout == ""
    assert result.stderr.strip() == f"Wrote {out}: superbill, 3 line(s), total $218.50"
    assert count_rows(db_path) == before  # a superbill records nothing
    reader = PdfReader(out)
    assert reader.metadata.author == "Dana Whitfield"
    text = " ".join(pdf_text(out).split())
    flat = squash(text)
    for fact in (
        "Dana Whitfield, LMT", "MA60512345 (WA)", "NPI 1234567893", "Tax ID 91-1234567",
        ADDRESS, "Cedar Street Medical Massage", "Name Jane Doe", "Date of birth 1980-04-02",
        "M54.2 Cervicalgia", "M54.6 Pain in thoracic spine",
        "Dates of service 2026-11-01 to 2026-11-27",
        "2026-11-03 97140 Manual therapy M54.2 2 45.00 90.00",
        "2026-11-03 97124 Massage M54.2 1 38.50 38.50",
        "2026-11-12 97140 Manual therapy M54.6 2 45.00 90.00",
        "Total 2 visits 5 218.50", "Therapist signature", "Page 1 of 1",
        "Referring provider Alan Brooks, DC", f"Address {CLIENT_ADDRESS}",
        f"Phone {PHONE}", "Place of service 11 (office)", "Phone 360-555-0100",
    ):  # fmt: skip
        assert squash(fact) in flat, f"{fact!r} not in PDF text:\n{text}"


# --- 3. the period, void sessions, cases ------------------------------------------------------


@pytest.fixture
def history(billing):
    """Sessions on 2026-10-20 (before the Rx: flagged, still billed), 11-03, 11-05 (void), 11-10."""
    ids = {}
    for day in ("2026-10-20", "2026-11-03", "2026-11-05", "2026-11-10"):
        ids[day] = session_id(log(billing, "Jane", day, "myofascial-release=30"))
    billing("session", "void", str(ids["2026-11-05"]), "--reason", "entered in error")
    return billing


def dates(data: dict) -> list[str]:
    return [ln["date"] for ln in data["lines"]]


@pytest.mark.parametrize(
    ("args", "period", "expected"),
    [
        ((), ("2026-11-01", "2026-11-27"), ["2026-11-03", "2026-11-10"]),
        (("--from", "2026-10", "--to", "2026-10"), ("2026-10-01", "2026-10-31"), ["2026-10-20"]),
        (("--from", "2026-10-15", "--to", "2026-11-05"), ("2026-10-15", "2026-11-05"),
         ["2026-10-20", "2026-11-03"]),
        (("--from", "2026-11-04"), ("2026-11-04", "2026-11-27"), ["2026-11-10"]),
        (("--from", "2026-11-10", "--to", "2026-11-10"), ("2026-11-10", "2026-11-10"),
         ["2026-11-10"]),
        (("--to", "2026-10-31"), ("2026-10-01", "2026-10-31"), ["2026-10-20"]),  # that month
        (("--to", "2026-11"), ("2026-11-01", "2026-11-27"), ["2026-11-03", "2026-11-10"]),
    ],
)  # fmt: skip
def test_period_selects_sessions_and_void_ones_never_count(history, args, period, expected):
    data, _ = bill(history, *args)
    assert (data["period"]["from"], data["period"]["to"]) == period
    assert dates(data) == expected
    assert data["total"]["visits"] == len(expected)
    assert data["total"]["amount_cents"] == 9000 * len(expected)


def test_each_case_keeps_its_own_diagnoses_and_case_limits(billing):
    open_case(billing, "Jane", dx="M54.6", payer="fsa-hsa")
    log(billing, "Jane", "2026-11-03", "myofascial-release=30", case="1")
    log(billing, "Jane", "2026-11-04", "swedish=30", case="2")
    both, _ = bill(billing)
    assert [(ln["date"], ln["case_id"], ln["diagnosis_codes"]) for ln in both["lines"]] == [
        ("2026-11-03", 1, ["M54.2"]),
        ("2026-11-04", 2, ["M54.6"]),
    ]
    assert [d["code"] for d in both["diagnoses"]] == ["M54.2", "M54.6"]
    assert [(c["id"], c["payer_type"]) for c in both["cases"]] == [(1, "health"), (2, "fsa-hsa")]
    only, _ = bill(billing, "--case", "2")
    assert [(ln["date"], ln["cpt"]) for ln in only["lines"]] == [("2026-11-04", "97124")]
    assert only["diagnoses"] == [{"code": "M54.6", "description": "Pain in thoracic spine"}]
    assert [c["id"] for c in only["cases"]] == [2]
    assert only["total"] == {"visits": 1, "units": 2, "amount_cents": 7700, "amount": "77.00"}


def test_case_of_another_client_is_refused(billing):
    billing("client", "add", "Bob Other")
    open_case(billing, "Bob")
    log(billing, "Jane", "2026-11-03", "swedish=30")
    result = billing("superbill", "Jane", "--case", "2", "-f", "json", ok=False)
    assert result.exit_code == 2 and result.stdout == ""
    assert "belongs to another client" in result.stderr


# --- 4. bad input -----------------------------------------------------------------------------

BAD = [
    ("missing-fee", ("hot-cold-pack=10",), ("-o", "{out}/bill.pdf"), "97010"),
    ("no-case", (), ("-o", "{out}/bill.pdf"), "no case"),
    ("empty-period", (), ("--from", "2026-09", "--to", "2026-09", "-o", "{out}/bill.md"),
     "no sessions"),
    ("from-after-to", (), ("--from", "2026-11-20", "--to", "2026-11-10", "-o", "{out}/b.md"),
     "after the end"),
    ("future-to", (), ("--to", "2026-11-28", "-o", "{out}/bill.md"), "in the future"),
    ("pdf-without-o", (), ("-f", "pdf"), "-o FILE"),
    ("docx", (), ("-f", "docx", "-o", "{out}/bill.docx"), "docx"),
    ("docx-suffix", (), ("-o", "{out}/bill.docx"), "bill.docx"),
    ("missing-folder", (), ("-o", "{out}/missing/bill.pdf"), "cannot write there"),
    ("no-profile", (), ("-o", "{out}/bill.pdf"), "profile"),
    ("no-npi", (), ("-o", "{out}/bill.pdf"), "'npi' — missing; insurer documents need them: "
     "medmassage profile set --npi …"),
    ("only-zero-units", ("swedish=7",), ("-o", "{out}/bill.pdf"), "no billable units"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "tech", "args", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    cli, db_path, tmp_path, name, tech, args, says
):
    if name != "no-profile":
        npi = () if name == "no-npi" else ("--npi", "1234567893")
        cli(
            "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
            "--license-number", "MA60512345", *npi, "--tax-id", "91-1234567", *FEES,
        )  # fmt: skip
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    client = "Jane"
    if name == "no-case":
        cli("client", "add", "Carl Nocase")
        client = "Carl"
    open_case(cli, "Jane", payer="health")
    log(cli, "Jane", "2026-11-03", *(tech or ("myofascial-release=30", "swedish=15")))
    out = tmp_path / "out"
    out.mkdir()
    before = count_rows(db_path)
    argv = [a.replace("{out}", str(out)) for a in args]
    result = cli("superbill", client, *argv, ok=False)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert says in lines[0]
    assert list(out.rglob("*")) == []  # no file, no .NAME.tmp* left behind
    assert count_rows(db_path) == before


# --- 5. warnings ------------------------------------------------------------------------------


def test_zero_unit_session_is_left_off_with_a_warning_naming_it(billing, tmp_path):
    log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15")
    short = session_id(log(billing, "Jane", "2026-11-05", "swedish=7"))
    data, stderr = bill(billing)
    assert dates(data) == ["2026-11-03", "2026-11-03"]
    assert data["total"]["visits"] == 1
    assert f"warning: session {short} on 2026-11-05 has no billable units" in stderr
    assert "2026-11-05" not in json.dumps(data)
    out = tmp_path / "bill.pdf"
    result = billing("superbill", "Jane", "-o", str(out))
    assert result.stdout == ""
    assert f"session {short} on 2026-11-05" in result.stderr
    assert "2026-11-05" not in pdf_text(out)


def warning_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("warning:")]


def test_missing_profile_fields_are_named_on_one_line_and_said_in_words(practice, tmp_path):
    """Name, credentials, license number and NPI are required (see BAD); the rest a superbill
    prints is named on stderr with the options that fill it, and "not on file" on the page."""
    practice("profile", "set", *FEES)
    practice("client", "edit", "Jane", "--address", CLIENT_ADDRESS)
    log(practice, "Jane", "2026-11-03", "myofascial-release=30")
    out = tmp_path / "bill.pdf"
    result = practice("superbill", "Jane", "-o", str(out))
    assert result.stderr.splitlines() == [
        "warning: the profile has no practice name, practice address, phone, tax ID (EIN): the "
        'superbill says "not on file" (FSA/HSA administrators often ask for the address and tax '
        "ID); add them with: medmassage profile set --practice-name … --address … --phone … "
        "--tax-id …",
        f"Wrote {out}: superbill, 1 line(s), total $90.00",
    ]
    text = " ".join(pdf_text(out).split())
    for fact in (
        "Practice not on file", "Address not on file", "Phone not on file",
        "Tax ID not on file", "License MA60512345 (WA)", f"Address {CLIENT_ADDRESS}",
    ):  # fmt: skip
        assert fact in text, f"{fact!r} not in PDF text:\n{text}"
    assert not re.search(r"(Practice|Address|Phone|Tax ID|Date of birth) —", text), text
    data, _ = bill(practice)
    assert [data["provider"][k] for k in ("practice_name", "address", "phone", "tax_id")] == [
        None,
        None,
        None,
        None,
    ]  # fmt: skip  (JSON keeps null: "not on file" is the documents' wording)

    # Filled in, with the license state cleared: only that one is named.
    practice(
        "profile", "set", "--practice-name", PRACTICE, "--address", ADDRESS, "--phone", PHONE,
        "--tax-id", "91-1234567", "--license-state", "",
    )  # fmt: skip
    result = practice("superbill", "Jane", "-o", str(out))
    assert warning_lines(result.stderr) == [
        'warning: the profile has no license state: the superbill says "not on file"; add it '
        "with: medmassage profile set --license-state …"
    ]
    text = " ".join(pdf_text(out).split())
    assert "License MA60512345 (state not on file)" in text
    assert f"Practice {PRACTICE}" in text and f"Phone {PHONE}" in text

    practice("profile", "set", "--license-state", "WA")
    result = practice("superbill", "Jane", "-o", str(out))
    assert warning_lines(result.stderr) == []
    assert "not on file" not in pdf_text(out)


def test_client_address_and_place_of_service_are_on_the_superbill(billing, tmp_path):
    log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15")
    data, stderr = bill(billing)
    assert data["client"]["address"] == CLIENT_ADDRESS
    assert [ln["place_of_service"] for ln in data["lines"]] == ["11", "11"]
    assert warning_lines(stderr) == []
    for fmt in ("md", "html"):
        page = billing("superbill", "Jane", "-f", fmt).stdout
        assert CLIENT_ADDRESS in page and "11 (office)" in page, fmt
    out = tmp_path / "bill.pdf"
    billing("superbill", "Jane", "-o", str(out))
    text = " ".join(pdf_text(out).split())
    assert f"Address {CLIENT_ADDRESS}" in text and "Place of service 11 (office)" in text

    billing("client", "edit", "Jane", "--address", "")
    result = billing("superbill", "Jane", "-f", "md")
    assert warning_lines(result.stderr) == [
        "warning: client 1 has no address on file (the superbill says so; insurers' claim forms "
        "ask for it); add it with: medmassage client edit 1 --address …"
    ]
    client_part = result.stdout.split("## Client", 1)[1].split("##", 1)[0]
    assert "- **Address:** not on file" in client_part
    assert "Jane" not in warning_lines(result.stderr)[0]  # no client data in messages


def test_unsigned_visits_are_warned_about_and_marked_in_every_format(billing, tmp_path):
    s1 = session_id(log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15"))
    s2 = session_id(log(billing, "Jane", "2026-11-10", "myofascial-release=30", sign=False))
    s3 = session_id(log(billing, "Jane", "2026-11-12", "swedish=30", sign=False))
    data, stderr = bill(billing)
    assert [(ln["session_id"], ln["signed"]) for ln in data["lines"]] == [
        (s1, True), (s1, True), (s2, False), (s3, False),
    ]  # fmt: skip
    assert warning_lines(stderr) == [
        "warning: 2 visit(s) on this superbill are unsigned drafts, marked † on it (sessions "
        f"{s2}, {s3}); sign them with: medmassage session sign ID"
    ]
    legend = "† Unsigned: the therapist had not yet signed this visit's note when this superbill"
    out = tmp_path / "bill.pdf"
    result = billing("superbill", "Jane", "-o", str(out))
    assert "unsigned drafts" in result.stderr
    text = " ".join(pdf_text(out).split())
    for fact in (
        "2026-11-03 97140 Manual therapy", "2026-11-03 97124 Massage",
        "2026-11-10 † 97140 Manual therapy", "2026-11-12 † 97124 Massage", legend,
    ):  # fmt: skip
        assert fact in text, f"{fact!r} not in PDF text:\n{text}"
    assert text.count("†") == 3  # two lines and the legend
    md = billing("superbill", "Jane", "-f", "md").stdout
    assert "| 2026-11-10 † | 97140 |" in md and "| 2026-11-03 | 97140 |" in md and legend in md
    html = billing("superbill", "Jane", "-f", "html").stdout
    assert "<td>2026-11-12 †</td>" in html and legend.replace("'", "&#x27;") in html

    for s in (s2, s3):
        billing("session", "sign", str(s))
    data, stderr = bill(billing)
    assert all(ln["signed"] for ln in data["lines"]) and warning_lines(stderr) == []
    billing("superbill", "Jane", "-o", str(out))
    assert "†" not in pdf_text(out) and "Unsigned" not in pdf_text(out)


def test_modifiers_column_only_when_a_line_has_one(billing, tmp_path):
    """Nothing records CPT modifiers yet: every line's list is empty and no column is drawn.
    The layout draws one as soon as a line has one (fed here the CLI's own JSON)."""
    from medmassage.documents import render

    log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15")
    data, _ = bill(billing)
    assert [ln["modifiers"] for ln in data["lines"]] == [[], []]
    assert "Modifiers" not in billing("superbill", "Jane", "-f", "md").stdout
    data["lines"][1]["modifiers"] = ["59", "GP"]
    md = render("superbill", data, "md").decode()
    assert "| Date of service | CPT | Modifiers | Description |" in md
    assert "| 2026-11-03 | 97124 | 59 GP | Massage |" in md
    out = tmp_path / "mod.pdf"
    out.write_bytes(render("superbill", data, "pdf"))
    assert "97124 59 GP Massage" in " ".join(pdf_text(out).split())


# --- 6. pages ---------------------------------------------------------------------------------


def test_statement_and_signature_stay_with_the_last_lines_whatever_the_count(billing, tmp_path):
    """As lines are added one by one, the table's end crosses the bottom of page 1: on every
    count the statement and signature are on the page of the last line and the total, never
    alone on a page (some visits unsigned, so the longer note is counted too). The visits fall
    before the prescription: warned about on stderr, billed all the same."""
    out = tmp_path / "bill.pdf"
    broken = 0
    for i in range(22):
        day = (date(2026, 8, 3) + timedelta(days=2 * i)).isoformat()
        log(billing, "Jane", day, "myofascial-release=30", sign=i % 3 > 0)
        if i < 9:
            continue
        billing("superbill", "Jane", "--from", "2026-08-01", "--to", "2026-10-31", "-o", str(out))
        pages = [page.extract_text() for page in PdfReader(out).pages]
        assert [f"Page {k} of {len(pages)}" in p for k, p in enumerate(pages, 1)] == [True] * len(
            pages
        )
        closing = [k for k, p in enumerate(pages) if "I certify" in p]
        assert len(closing) == 1, i
        page = pages[closing[0]]
        assert day in page and "Total" in page and "Therapist signature" in page, (i, page)
        assert "Date of service" in page  # rows on a new page come under their headings
        assert "† Unsigned" in page
        assert sum(p.count(day) for p in pages) == 1
        broken += len(pages) > 1 and "2026-08-03" in pages[0]
    assert broken >= 1  # the table did break across the page end on some count


# --- 7. files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["pdf", "md", "html", "json"])
def test_file_is_owner_only_and_replaces_the_old_one_whole(billing, tmp_path, suffix):
    log(billing, "Jane", "2026-11-03", "myofascial-release=30", "swedish=15")
    out = tmp_path / f"bill.{suffix}"
    out.write_bytes(b"OLD CONTENT " * 20_000)  # larger than the new file
    out.chmod(0o644)
    old_inode = out.stat().st_ino
    billing("superbill", "Jane", "-o", str(out))
    st = out.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_ino != old_inode  # renamed into place, not rewritten in place
    data = out.read_bytes()
    assert b"OLD CONTENT" not in data
    if suffix == "pdf":
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert "128.50" in pdf_text(out)
    else:
        assert data == billing("superbill", "Jane", "-f", suffix).stdout_bytes
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".bill")) == []
