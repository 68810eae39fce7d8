"""`medmassage superbill`: money, periods, the PDF's facts, bad input, warnings and file writes.

Through the real CLI against a real SQLite file. Today is 2026-11-27 (conftest), so the default
period is 2026-11-01..2026-11-27. Fees: 97140 $45.00, 97124 $38.50 (a fee with cents).
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import count_rows

FEES = ("--fee", "97140=45", "--fee", "97124=38.50")
ADDRESS = "412 Cedar St, Suite 3, Olympia, WA 98501"


def log(cli, client: str, day: str, *tech: str, case: str | None = None, ok: bool = True):
    args = ["session", "log", client, "--date", day, "--pre", "7", "--post", "4"]
    args += ["--region", "neck"]
    for t in tech:
        args += ["--technique", t]
    if case:
        args += ["--case", case]
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


@pytest.fixture
def billing(practice):
    """The practice with fees for 97140/97124 (none for 97010), a tax ID and an address."""
    practice("profile", "set", "--tax-id", "91-1234567", "--address", ADDRESS, *FEES)
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
    billing("profile", "set", "--practice-name", "Cedar Street Medical Massage")
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
        "Referring provider Alan Brooks, DC",
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
    ("only-zero-units", ("swedish=7",), ("-o", "{out}/bill.pdf"), "no billable units"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "tech", "args", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    cli, db_path, tmp_path, name, tech, args, says
):
    if name != "no-profile":
        cli(
            "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
            "--license-number", "MA60512345", "--npi", "1234567893", "--tax-id", "91-1234567",
            *FEES,
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


def test_missing_tax_id_warns_on_stderr_only(practice):
    practice("profile", "set", *FEES)
    log(practice, "Jane", "2026-11-03", "myofascial-release=30")
    result = practice("superbill", "Jane", "-f", "json")
    data = json.loads(result.stdout)  # stdout stays pure JSON
    assert data["provider"]["tax_id"] is None
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "no tax ID" in warnings[0]
    practice("profile", "set", "--tax-id", "91-1234567")
    assert "tax ID" not in practice("superbill", "Jane", "-f", "json").stderr


# --- 6. files ---------------------------------------------------------------------------------


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
