"""Claims (SPEC §11, issue 15): `claim create/show/list/void` through the real CLI, the boxes
read back from `claim show -f json`, money in integer cents, and the locks in the database
itself (the sqlite3 shell cannot edit a submitted claim or put a visit on two open claims)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import Cli

FEES = ["--fee", "97124=38", "--fee", "97140=45", "--fee", "97110=40"]


def profile(cli: Cli, *extra: str) -> None:
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--practice-name", "Cedar Street Medical Massage",
        "--address", "412 Cedar St, Suite 3, Bellingham, WA 98225", "--phone", "360-555-0142",
        "--tax-id", "91-1234567", "--tax-id-kind", "ein", *FEES, *extra,
    )  # fmt: skip


def client(cli: Cli, name: str = "Maria Alvarez") -> None:
    cli(
        "client", "add", name, "--dob", "1984-03-12", "--sex", "female",
        "--address", "18 Harbor View Rd, Bellingham, WA 98226", "--phone", "360-555-0199",
    )  # fmt: skip


AUTO = [
    "--payer", "auto-pip", "--payer-name", "Evergreen Mutual Auto", "--policy", "EMA-4471902",
    "--claim", "PIP-26-018833", "--injury-date", "2026-10-20", "--accident-state", "WA",
    "--payer-address", "PO Box 4410, Portland, OR 97208", "--payer-id", "EMA01",
    "--dx", "S13.4XXD", "--dx", "M54.2", "--referrer", "Alan Brooks, DC",
    "--referrer-npi", "1987654328", "--rx-date", "2026-10-30", "--rx-until", "2026-12-31",
    "--visits", "12", "--area", "neck", "--area", "upper-back",
]  # fmt: skip


def visit(cli: Cli, day: str, *techniques: str, regions=("neck", "upper-back"), sign=True):
    args = ["session", "log", "Maria", "--date", day, "--pre", "6", "--post", "3"]
    for t in techniques:
        args += ["--technique", t]
    for r in regions:
        args += ["--region", r]
    cli(*args, *(["--sign"] if sign else []))


@pytest.fixture
def auto(cli: Cli) -> Cli:
    """Maria, auto PIP, three signed visits: Nov 3 (97124 + 97140 on two regions), Nov 10
    (97140 only), Nov 17 (97124 + 97140 on one region)."""
    profile(cli)
    client(cli)
    cli("case", "open", "Maria", *AUTO)
    visit(cli, "2026-11-03", "swedish=20", "myofascial-release=25")
    visit(cli, "2026-11-10", "myofascial-release=40")
    visit(cli, "2026-11-17", "swedish=15", "myofascial-release=15", regions=("neck",))
    return cli


def show(cli: Cli, claim_id: int = 1) -> dict:
    return json.loads(cli("claim", "show", str(claim_id), "-f", "json").stdout)


def rows(db, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def counts(db) -> dict[str, int]:
    tables = ("claim", "claim_line", "audit", "x12_interchange")
    return {t: rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in tables}


# --- the boxes ---------------------------------------------------------------------------------


def test_auto_pip_claim_fills_the_boxes_from_the_record(auto):
    made = auto("claim", "create", "Maria")
    assert "Claim 1 (draft): case 1, 3 visit(s), 5 line(s) on 1 form(s), total $346.00" in (
        made.stderr
    )
    d = show(auto)
    assert (d["claim_id"], d["status"], d["payer_type"], d["frequency_code"]) == (
        1, "draft", "auto-pip", "1",
    )  # fmt: skip
    b = d["boxes"]
    assert b["carrier"] == {
        "name": "Evergreen Mutual Auto",
        "payer_id": "EMA01",
        "address": {"street": "PO Box 4410", "city": "Portland", "state": "OR", "zip": "97208",
                    "phone": None},
    }  # fmt: skip
    assert b["1"] == "other" and b["1a"] == "EMA-4471902"
    assert b["2"] == {"last": "Alvarez", "first": "Maria", "middle": None,
                      "text": "ALVAREZ, MARIA"}  # fmt: skip
    assert b["3"] == {"dob": "1984-03-12", "sex": "F"}
    assert b["4"] == b["2"] and b["6"] == "self" and b["7"] == b["5"]
    assert b["5"]["street"] == "18 Harbor View Rd" and b["5"]["zip"] == "98226"
    assert (b["10a"], b["10b"], b["10b_state"], b["10c"]) == (False, True, "WA", False)
    assert b["11b"] == {"qualifier": "Y4", "value": "PIP-26-018833"}
    assert b["11c"] == "Evergreen Mutual Auto"
    assert b["12"]["signature"] == b["13"] == "SIGNATURE ON FILE"
    assert b["14"] == {"date": "2026-10-20", "qualifier": "431"}
    assert b["17"]["qualifier"] == "DK" and b["17"]["name"]["text"] == "ALAN BROOKS DC"
    assert b["17b"] == "1987654328"
    assert b["21"] == {"indicator": "0", "codes": {"A": "S13.4XXD", "B": "M54.2"}}
    assert b["22"] is None and b["23"] is None
    assert b["25"] == {"value": "911234567", "kind": "EIN"}
    assert b["26"] == "MM1-1"
    assert b["27"] is True and b["29"] == 0
    assert b["31"] == {"signature": "DANA WHITFIELD LMT", "date": "2026-11-27"}
    assert b["32"]["name"] == "Cedar Street Medical Massage" and b["32a"] == "1234567893"
    assert b["33"]["entity"] == "organization" and b["33"]["phone"] == "3605550142"
    assert (b["33"]["street"], b["33"]["city"], b["33"]["state"], b["33"]["zip"]) == (
        "412 Cedar St, Suite 3", "Bellingham", "WA", "98225",
    )  # fmt: skip
    assert b["33a"] == "1234567893"
    assert b["33b"] == {"qualifier": "ZZ", "value": "225700000X"}
    # Keys in NUCC order, the payer block first.
    keys = list(b)
    assert keys[0] == "carrier" and keys.index("1a") < keys.index("2") < keys.index("10a")
    assert keys.index("9d") < keys.index("10a") < keys.index("11b") < keys.index("24")
    assert keys.index("24") < keys.index("28") < keys.index("33b")


def test_lines_charge_the_fees_times_units_in_cents_and_total_is_their_sum(auto):
    auto("claim", "create", "Maria")
    d = show(auto)
    lines = d["boxes"]["24"]
    got = [
        (x["24A"]["from"], x["24D"]["cpt"], x["24G"], x["fee_cents"], x["24F"], x["24E"])
        for x in lines
    ]
    # Nov 3: 20 min 97124 + 25 min 97140 = 45 min → 3 units (CMS); Nov 10: 40 min → 3 units;
    # Nov 17: 15 + 15 = 30 min → 2 units.
    assert got == [
        ("2026-11-03", "97124", 1, 3800, 3800, "AB"),
        ("2026-11-03", "97140", 2, 4500, 9000, "AB"),
        ("2026-11-10", "97140", 3, 4500, 13500, "AB"),
        ("2026-11-17", "97124", 1, 3800, 3800, "AB"),
        ("2026-11-17", "97140", 1, 4500, 4500, "AB"),
    ]
    assert all(x["24F"] == x["fee_cents"] * x["24G"] for x in lines)
    assert d["total_cents"] == d["boxes"]["28"] == sum(x["24F"] for x in lines)
    assert all(isinstance(x["24F"], int) for x in lines)
    assert {x["24B"] for x in lines} == {"11"} and {x["24J"] for x in lines} == {"1234567893"}
    assert [x["line"] for x in lines] == list(range(1, len(lines) + 1))
    # The fee used is stored on the line: a later fee change does not touch the claim.
    auto("profile", "set", "--fee", "97140=60")
    assert show(auto)["boxes"]["24"] == lines


def test_modifier_59_only_when_the_payer_asks_and_the_regions_are_distinct(auto):
    auto("claim", "create", "Maria")
    assert all(x["24D"]["modifiers"] == [] for x in show(auto)["boxes"]["24"])
    auto("claim", "void", "1", "--reason", "rules changed")
    auto("profile", "set", "--claim-modifier", "auto-pip=59")
    made = auto("claim", "create", "Maria")
    # Nov 17 treats one region: payers bundle 97124 and 97140 there, so no modifier, and said.
    assert "session 3 bills 97124 and 97140 on one region" in made.stderr
    mods = {(x["24A"]["from"], x["24D"]["cpt"]): x["24D"]["modifiers"]
            for x in show(auto, 2)["boxes"]["24"]}  # fmt: skip
    assert mods[("2026-11-03", "97140")] == ["59"]  # two regions: distinct
    assert mods[("2026-11-03", "97124")] == []
    assert mods[("2026-11-10", "97140")] == []  # 97140 alone: nothing to unbundle
    assert mods[("2026-11-17", "97140")] == []
    auto("claim", "void", "2", "--reason", "XS and GP now")
    auto("profile", "set", "--claim-modifier", "auto-pip=XS", "--claim-gp", "auto-pip=yes")
    auto("claim", "create", "Maria")
    mods = {(x["24A"]["from"], x["24D"]["cpt"]): x["24D"]["modifiers"]
            for x in show(auto, 3)["boxes"]["24"]}  # fmt: skip
    assert mods[("2026-11-03", "97140")] == ["XS", "GP"]
    assert mods[("2026-11-10", "97140")] == ["GP"]


def test_workers_comp_claim_marks_employment_and_the_employer_as_insured(cli):
    profile(cli)
    client(cli, "James Carter")
    cli(
        "case", "open", "James", "--payer", "workers-comp", "--payer-name", "WA L&I",
        "--claim", "BH-55231", "--injury-date", "2026-10-08", "--dx", "S39.012D",
        "--payer-address", "PO Box 44291, Olympia, WA 98504", "--employer", "Northwind Logistics",
        "--insured-address", "900 Port Way, Tacoma, WA 98421", "--unable-from", "2026-10-09",
        "--unable-to", "2026-10-30", "--referrer", "Susan Lee, MD", "--referrer-npi",
        "1456789019", "--rx-date", "2026-10-26", "--rx-until", "2026-12-11", "--visits", "6",
        "--auth-number", "LNI-7781",
    )  # fmt: skip
    cli("session", "log", "James", "--date", "2026-11-04", "--pre", "6", "--post", "4",
        "--technique", "neuromuscular-therapy=30", "--region", "lower-back", "--sign")  # fmt: skip
    cli("claim", "create", "James")
    b = show(cli)["boxes"]
    assert b["1"] == "other" and b["1a"] == "BH-55231"  # no member id: the claim number
    assert (b["10a"], b["10b"], b["10b_state"]) == (True, False, None)
    assert b["4"]["text"] == "NORTHWIND LOGISTICS" and b["6"] == "other"
    assert b["7"]["city"] == "Tacoma" and b["11a"] is None
    assert b["11b"] == {"qualifier": "Y4", "value": "BH-55231"}
    assert b["16"] == {"from": "2026-10-09", "to": "2026-10-30"}
    assert b["17"]["name"]["text"] == "SUSAN LEE MD" and b["17b"] == "1456789019"
    assert b["23"] == "LNI-7781"


def test_health_plan_claim_with_a_spouse_as_insured_on_two_forms(cli):
    profile(cli)
    client(cli, "Linda Nguyen")
    cli(
        "case", "open", "Linda", "--payer", "health", "--payer-name", "Regence BlueShield",
        "--policy", "RBS88120455", "--group-number", "GRP-0042", "--dx", "M54.50",
        "--dx", "M54.41", "--dx", "M62.830", "--dx", "M79.18", "--dx", "M54.2",
        "--payer-address", "PO Box 30271, Salt Lake City, UT 84130",
        "--insured-relationship", "spouse", "--insured-name", "Diego R Nguyen",
        "--insured-dob", "1983-07-30", "--insured-sex", "male",
        "--insured-address", "18 Harbor View Rd, Bellingham, WA 98226",
        "--referrer", "Paul Ortiz, PA-C", "--rx-date", "2026-10-01", "--rx-until", "2026-12-31",
        "--visits", "12",
    )  # fmt: skip
    for day in range(2, 26, 3):  # 8 visits, 1 line each
        cli(
            "session", "log", "Linda", "--date", f"2026-11-{day:02d}", "--pre", "5",
            "--post", "3", "--technique", "myofascial-release=30", "--region", "lower-back",
            "--sign",
        )  # fmt: skip
    made = cli("claim", "create", "Linda")
    assert "8 line(s) on 2 form(s)" in made.stderr
    assert "has no NPI recorded" in made.stderr  # box 17b empty: warned
    d = show(cli)
    b = d["boxes"]
    assert b["1"] == "group" and b["11"] == "GRP-0042" and b["6"] == "spouse"
    assert b["4"] == {"last": "Nguyen", "first": "Diego", "middle": "R",
                      "text": "NGUYEN, DIEGO, R"}  # fmt: skip
    assert b["11a"] == {"dob": "1983-07-30", "sex": "M"}
    assert b["11b"] is None and b["10a"] is b["10b"] is False
    assert list(b["21"]["codes"]) == ["A", "B", "C", "D", "E"]
    assert {x["24E"] for x in b["24"]} == {"ABCD"}  # at most four pointers, primary first
    assert [(f["form"], f["lines"], f["last"]) for f in d["forms"]] == [
        (1, [1, 2, 3, 4, 5, 6], False), (2, [7, 8], True),
    ]  # fmt: skip
    assert [x["form"] for x in b["24"]] == [1] * 6 + [2] * 2
    assert sum(f["charges_cents"] for f in d["forms"]) == d["total_cents"] == 8 * 2 * 4500


# --- refusals: one line, exit 2, nothing written -----------------------------------------------


def _refused(cli: Cli, *args: str) -> str:
    before = counts(cli.db)
    result = cli(*args, ok=False)
    assert result.exit_code == 2, result.stderr
    assert counts(cli.db) == before
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_draft_in_the_period_refuses_the_claim_with_its_id(auto):
    visit(auto, "2026-11-24", "swedish=30", sign=False)
    message = _refused(auto, "claim", "create", "Maria")
    assert "session: 4 — unsigned drafts are not billed" in message
    # Leaving it out by the period bills the rest.
    auto("claim", "create", "Maria", "--to", "2026-11-20")
    assert show(auto)["visits"] == 3


def test_void_and_already_claimed_visits(auto):
    auto("session", "void", "2", "--reason", "entered in error")
    made = auto("claim", "create", "Maria")
    assert "left out void session(s) 2" in made.stderr
    assert [x["session_id"] for x in show(auto)["boxes"]["24"]] == [1, 1, 3, 3]
    # Named: a void one is refused, and one already on an open claim is refused with its claim.
    assert "void sessions are never billed" in _refused(
        auto, "claim", "create", "Maria", "--session", "2"
    )
    assert "session(s) 1 on claim 1" in _refused(auto, "claim", "create", "Maria", "--session", "1")
    # The period's visits are all on claim 1: nothing left to bill.
    assert "no signed visits left to bill" in _refused(auto, "claim", "create", "Maria")
    # Voiding claim 1 frees its visits.
    auto("claim", "void", "1", "--reason", "wrong payer address")
    auto("claim", "create", "Maria", "--session", "1")
    assert show(auto, 2)["visits"] == 1


def test_missing_details_are_listed_in_one_message(cli):
    cli("profile", "set", "--name", "Dana Whitfield", "--npi", "1234567893", "--fee", "97124=38")
    cli("client", "add", "Maria Alvarez")
    cli(
        "case", "open", "Maria", "--payer", "auto-pip", "--payer-name", "Evergreen",
        "--claim", "PIP-1", "--injury-date", "2026-10-20", "--dx", "S13.4XXD",
        "--referrer", "Dr B", "--rx-date", "2026-11-01", "--rx-until", "2026-12-31",
        "--visits", "8",
    )  # fmt: skip
    visit(cli, "2026-11-03", "swedish=30", "myofascial-release=15")
    message = _refused(cli, "claim", "create", "Maria")
    for what in (
        "tax id (profile set --tax-id)", "tax id kind (profile set --tax-id-kind)",
        "phone (profile set --phone)", "your address (profile set --address)",
        "payer address (case edit 1 --payer-address)", "accident state (case edit 1",
        "client's date of birth (client edit 1 --dob)", "client's address",
        "a fee for 97140 (profile set --fee 97140=AMOUNT)", "nothing was written",
    ):  # fmt: skip
        assert what in message, what


@pytest.mark.parametrize(
    ("payer", "extra"),
    [("fsa-hsa", []), ("self-pay", [])],
)
def test_superbill_payers_get_no_claim(cli, payer, extra):
    profile(cli)
    client(cli)
    cli("case", "open", "Maria", "--payer", payer, "--dx", "M54.2", "--referrer", "Dr B",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "8", *extra)  # fmt: skip
    visit(cli, "2026-11-03", "swedish=30")
    assert "give the client a superbill instead" in _refused(cli, "claim", "create", "Maria")


def test_bad_ids_and_options(auto):
    assert "claim: 'x'" in _refused(auto, "claim", "show", "x")
    assert "no claim has this id" in _refused(auto, "claim", "show", "9")
    assert "no session has this id" in _refused(auto, "claim", "create", "Maria", "--session", "99")
    assert "status: 'paid'" in _refused(auto, "claim", "list", "--status", "paid")
    assert "no claim has this id" in _refused(auto, "claim", "void", "9", "--reason", "x")
    assert "reason: ' ' — required" in _refused(auto, "claim", "void", "9", "--reason", " ")
    assert "goes with --replaces" in _refused(
        auto, "claim", "create", "Maria", "--original-ref", "X1"
    )


# --- replacement, void, list -------------------------------------------------------------------


def test_a_submitted_claim_is_corrected_by_a_replacement(auto, tmp_path):
    auto("claim", "create", "Maria")
    message = _refused(auto, "claim", "create", "Maria", "--replaces", "1", "--original-ref", "A")
    assert "claim 1 is draft" in message  # a draft is voided, not replaced
    # Printed for the red form: submitted. Then the payer's claim number (ICN) comes back.
    auto("claim", "print", "1", "-o", str(tmp_path / "claim.pdf"))
    assert show(auto)["status"] == "submitted" and show(auto)["submitted_by"] == "print"
    assert "original-ref: (missing)" in _refused(auto, "claim", "create", "Maria",
                                                 "--replaces", "1")  # fmt: skip
    assert "only a draft is voided" in _refused(auto, "claim", "void", "1", "--reason", "x")
    auto("claim", "create", "Maria", "--replaces", "1", "--original-ref", "2026331000123")
    new = show(auto, 2)
    assert new["frequency_code"] == "7" and new["replaces"] == 1
    assert new["boxes"]["22"] == {"code": "7", "original_ref": "2026331000123"}
    assert new["visits"] == 3  # the original's visits
    old = show(auto, 1)
    assert old["status"] == "replaced" and old["replaced_by"] == 2
    listed = json.loads(auto("claim", "list", "-f", "json").stdout)
    assert [(c["id"], c["status"], c["replaces"]) for c in listed] == [
        (1, "replaced", None), (2, "draft", 1),
    ]  # fmt: skip
    assert listed[1]["total_cents"] == new["total_cents"]


def test_list_and_show_for_people(auto):
    auto("claim", "create", "Maria")
    table = auto("claim", "list").stdout
    assert "Maria Alvarez" in table and "2026-11-03 – 2026-11-17" in table and "draft" in table
    text = auto("claim", "show", "1").stdout
    for fact in (
        "Claim 1 — draft — case 1 (auto-pip)", "11b", "Y4 PIP-26-018833", "A. S13.4XXD",
        "Box 24: services", "97140", "$90.00", "ALAN BROOKS DC",
    ):  # fmt: skip
        assert fact in text, fact
    md = auto("claim", "show", "1", "-f", "md").stdout
    assert md.startswith("## Claim 1 — draft") and "### Box 24: services" in md
    assert "| 11b |" in md and "Y4 PIP-26-018833" in md


# --- locks in the database itself ---------------------------------------------------------------


def test_the_sqlite3_shell_cannot_edit_a_submitted_claim_or_double_bill(auto, tmp_path):
    auto("claim", "create", "Maria")
    auto("claim", "print", "1", "-o", str(tmp_path / "claim.pdf"))
    conn = sqlite3.connect(auto.db)
    for sql in (
        "UPDATE claim SET data = '{}' WHERE id = 1",
        "UPDATE claim SET status = 'draft', submitted = NULL, submitted_by = NULL WHERE id = 1",
        "UPDATE claim SET status = 'void', void_reason = 'x' WHERE id = 1",
        "UPDATE claim SET submitted = '2026-01-01' WHERE id = 1",
        "DELETE FROM claim WHERE id = 1",
        "UPDATE claim_line SET charge_cents = 1, fee_cents = 1, units = 1 WHERE claim_id = 1",
        "DELETE FROM claim_line WHERE claim_id = 1",
        "INSERT INTO claim_line VALUES (1, 99, 1, '2026-11-03', '97124', '[]', 'A', 1, 1, 1)",
        "INSERT OR REPLACE INTO claim (id, case_id, data, created) VALUES (1, 1, '{}', 'x')",
    ):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql)
    # A second open claim cannot take visit 1, even from the shell.
    conn.execute("INSERT INTO claim (id, case_id, data, created) VALUES (5, 1, '{}', 'x')")
    with pytest.raises(sqlite3.DatabaseError, match="another open claim"):
        conn.execute(
            "INSERT INTO claim_line VALUES (5, 1, 1, '2026-11-03', '97124', '[]', 'A', 1, 1, 1)"
        )
    conn.rollback()
    conn.close()
    # And db check finds the claim as medmassage wrote it.
    assert auto("db", "check").exit_code == 0


def test_db_check_reports_a_claim_edited_with_the_triggers_off(auto):
    auto("claim", "create", "Maria")
    conn = sqlite3.connect(auto.db)
    conn.execute("DROP TRIGGER claim_line_no_update")
    conn.execute("UPDATE claim_line SET fee_cents = 9900, charge_cents = 9900 * units "
                 "WHERE claim_id = 1 AND line = 1")  # fmt: skip
    conn.commit()
    conn.close()
    result = auto("db", "check", ok=False)
    assert result.exit_code != 0
    assert "claim_line_no_update" in result.stdout + result.stderr
    assert "claim" in result.stdout


# --- 837P export: validated by pyx12 (tests/test_claim_x12.py's validator) ----------------------

from tests.test_claim_x12 import parse, validate  # noqa: E402  (the fixture `maps`: conftest)

CLEARINGHOUSE = [
    "--submitter-id", "CSMM0042", "--receiver-id", "CLEARHOUSE1",
    "--receiver-name", "Example Clearinghouse",
    "--address", "412 Cedar St, Suite 3, Bellingham, WA 98225-4410",
]  # fmt: skip


def test_export_writes_a_valid_837p_and_marks_the_claims_submitted(auto, tmp_path, maps):
    auto("profile", "set", *CLEARINGHOUSE)
    auto("claim", "create", "Maria")
    out = tmp_path / "claims.837"
    result = auto("claim", "export", "1", "-f", "x12", "-o", str(out))
    assert "837P interchange 000000001, 1 claim(s)" in result.stderr
    assert "Marked submitted today: claim(s) 1" in result.stderr
    text = out.read_text()
    assert validate(text, maps) == []
    segments = parse(text)
    clm = next(s for s in segments if s[0] == "CLM")
    assert clm[1] == "MM1-1" and clm[2] == "346" and clm[5] == "11:B:1"
    assert clm[11].split(":")[:4] == ["AA", "", "", "WA"]  # auto accident, its state
    assert ["REF", "Y4", "PIP-26-018833"] in segments
    hi = next(s for s in segments if s[0] == "HI")
    assert hi[1:] == ["ABK:S134XXD", "ABF:M542"]
    assert [s[1] for s in segments if s[0] == "SV1"][:2] == ["HC:97124", "HC:97140"]
    assert out.stat().st_mode & 0o077 == 0  # owner-only, like every file we write
    d = show(auto)
    assert (d["status"], d["submitted"], d["submitted_by"], d["interchanges"]) == (
        "submitted", "2026-11-27", "x12", [1],
    )  # fmt: skip
    # Sent again: a new control number, never one used before; the claim keeps its first date.
    again = tmp_path / "again.837"
    auto("claim", "export", "1", "-o", str(again))
    isa = next(s for s in parse(again.read_text()) if s[0] == "ISA")
    assert isa[13] == "000000002"
    assert show(auto)["interchanges"] == [1, 2] and show(auto)["submitted"] == "2026-11-27"
    assert auto("db", "check").exit_code == 0


def test_export_refuses_without_the_clearinghouse_ids_and_writes_nothing(auto, tmp_path):
    auto("claim", "create", "Maria")
    out = tmp_path / "claims.837"
    message = _refused(auto, "claim", "export", "1", "-o", str(out))
    for what in ("submitter id (profile set --submitter-id)", "receiver id", "receiver name",
                 "your ZIP+4"):  # fmt: skip
        assert what in message, what
    assert not out.exists() and show(auto)["status"] == "draft"
    auto("claim", "void", "1", "--reason", "wrong visits")
    auto("profile", "set", *CLEARINGHOUSE)
    assert "a void or replaced claim is never sent" in _refused(
        auto, "claim", "export", "1", "-o", str(out)
    )
    assert "format: 'pdf'" in _refused(auto, "claim", "export", "1", "-f", "pdf", "-o", str(out))
    assert not out.exists()


def test_every_payer_types_claim_from_the_record_is_a_valid_837p(cli, tmp_path, maps):
    """The builder's own output (not only the samples) passes the validator, for health with a
    spouse as insured, workers' comp with the employer, and auto PIP in one interchange."""
    profile(cli, *CLEARINGHOUSE)
    client(cli)
    cli("case", "open", "Maria", *AUTO)
    visit(cli, "2026-11-03", "swedish=20", "myofascial-release=25")
    client(cli, "James Carter")
    cli(
        "case", "open", "James", "--payer", "workers-comp", "--payer-name", "WA L&I",
        "--payer-id", "LNI01", "--claim", "BH-55231", "--injury-date", "2026-10-08",
        "--dx", "S39.012D", "--payer-address", "PO Box 44291, Olympia, WA 98504",
        "--employer", "Northwind Logistics", "--insured-address", "900 Port Way, Tacoma, WA 98421",
        "--referrer", "Susan Lee, MD", "--referrer-npi", "1456789019",
        "--rx-date", "2026-10-26", "--rx-until", "2026-12-11", "--visits", "6",
    )  # fmt: skip
    cli("session", "log", "James", "--date", "2026-11-04", "--pre", "6", "--post", "4",
        "--technique", "neuromuscular-therapy=30", "--region", "lower-back", "--sign")  # fmt: skip
    client(cli, "Linda Nguyen")
    cli(
        "case", "open", "Linda", "--payer", "health", "--payer-name", "Regence BlueShield",
        "--payer-id", "00934", "--policy", "RBS88120455", "--dx", "M54.50",
        "--payer-address", "PO Box 30271, Salt Lake City, UT 84130",
        "--insured-relationship", "spouse", "--insured-name", "Diego Nguyen",
        "--insured-dob", "1983-07-30", "--insured-sex", "male",
        "--insured-address", "18 Harbor View Rd, Bellingham, WA 98226",
        "--referrer", "Paul Ortiz, PA-C", "--referrer-npi", "1326000001",
        "--rx-date", "2026-10-01", "--rx-until", "2026-12-31", "--visits", "12",
    )  # fmt: skip
    cli("session", "log", "Linda", "--date", "2026-11-05", "--pre", "5", "--post", "3",
        "--technique", "myofascial-release=30", "--region", "lower-back", "--sign")  # fmt: skip
    for name in ("Maria", "James", "Linda"):
        cli("claim", "create", name)
    out = tmp_path / "all.837"
    cli("claim", "export", "1", "2", "3", "-o", str(out), "--test")
    text = out.read_text()
    assert validate(text, maps) == []
    segments = parse(text)
    assert next(s for s in segments if s[0] == "ISA")[15] == "T"
    assert sorted(s[9] for s in segments if s[0] == "SBR") == ["AM", "CI", "WC"]
    assert ["PAT", "01"] in [s[:2] for s in segments]  # Linda is the insured's spouse


def test_superbill_bills_the_same_modifiers_and_place_of_service_as_the_claim(auto):
    """One rule (rules/modifiers.py) for the claim and the superbill of the same visits."""
    auto("profile", "set", "--claim-modifier", "auto-pip=XS", "--place-of-service", "12")
    bill = auto("superbill", "Maria", "--from", "2026-11-01", "-f", "json")
    assert "session 3 bills 97124 and 97140 on one region" in bill.stderr
    lines = json.loads(bill.stdout)["lines"]
    auto("claim", "create", "Maria")
    claimed = show(auto)["boxes"]["24"]
    assert [(x["date"], x["cpt"], x["modifiers"], x["place_of_service"]) for x in lines] == [
        (x["24A"]["from"], x["24D"]["cpt"], x["24D"]["modifiers"], x["24B"]) for x in claimed
    ]
    assert [x["modifiers"] for x in lines] == [[], ["XS"], [], [], []]
    assert {x["place_of_service"] for x in lines} == {"12"}
    # Place of service 12 (home): no service facility in box 32.
    assert show(auto)["boxes"]["32"] is None


def test_the_sample_claims_the_printer_and_x12_tests_use_have_the_real_shape(auto):
    """tests/data/claims/*.json (what test_claim_print and test_claim_x12 feed the writers) has
    exactly the keys `claim show -f json` gives, box by box and line by line."""
    from pathlib import Path

    auto("claim", "create", "Maria")
    real = show(auto)
    folder = Path(__file__).parent / "data" / "claims"
    for path in sorted(folder.glob("*.json")):
        sample = json.loads(path.read_text())
        assert set(sample) <= set(real), (path.name, set(sample) ^ set(real))
        assert set(sample["boxes"]) == set(real["boxes"]), (
            path.name,
            set(sample["boxes"]) ^ set(real["boxes"]),
        )
        for line in sample["boxes"]["24"]:
            assert set(line) == set(real["boxes"]["24"][0]), path.name
        for key in ("5", "7", "33", "carrier", "17", "21", "25"):
            if sample["boxes"][key] is not None and real["boxes"][key] is not None:
                assert set(sample["boxes"][key]) == set(real["boxes"][key]), (path.name, key)


def test_printing_a_claim_from_the_record_puts_its_boxes_on_the_page(auto, tmp_path):
    import subprocess

    from pypdf import PdfReader

    auto("claim", "create", "Maria")
    proof = auto("claim", "print", "1", "--proof", "-o", str(tmp_path / "proof.pdf"))
    assert "proof copy" in proof.stderr and show(auto)["status"] == "draft"  # marks nothing
    out = tmp_path / "claim.pdf"
    result = auto("claim", "print", "1", "-o", str(out))
    assert "1 claim(s), 1 form page(s), data for the red form" in result.stderr
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    for fact in ("EVERGREEN MUTUAL AUTO", "EMA-4471902", "ALVAREZ, MARIA", "Y4", "PIP-26-018833",
                 "S134XXD", "M542", "97140", "90 00", "346 00", "MM1-1", "911234567",
                 "DANA WHITFIELD LMT", "BELLINGHAM WA 98225", "ALAN BROOKS DC"):  # fmt: skip
        assert fact in text, fact
    assert len(PdfReader(out).pages) == 1
    assert show(auto)["status"] == "submitted"
    # An alignment page needs no claim.
    auto("claim", "print", "--alignment", "-o", str(tmp_path / "align.pdf"))
    assert (tmp_path / "align.pdf").read_bytes().startswith(b"%PDF")
    assert "prints a test page alone" in _refused(
        auto, "claim", "print", "1", "--alignment", "-o", str(tmp_path / "x.pdf")
    )
    assert "name the file .pdf" in _refused(auto, "claim", "print", "1", "-o", "x.txt")
    assert "between -25 and 25" in _refused(
        auto, "claim", "print", "1", "--offset-x", "40", "-o", str(tmp_path / "y.pdf")
    )


def test_a_claim_written_with_another_tool_is_named_not_a_traceback(auto):
    conn = sqlite3.connect(auto.db)
    conn.execute("INSERT INTO claim (id, case_id, data, created) VALUES (7, 1, '{}', 'x')")
    conn.commit()
    conn.close()
    result = auto("claim", "show", "7", ok=False)
    assert result.exit_code == 1
    assert "claim 7: its stored boxes are not as medmassage writes them" in result.stderr
    assert "Traceback" not in result.stderr and "KeyError" not in result.stderr
    assert "claim 7 added outside medmassage" in auto("db", "check", ok=False).stdout


def test_the_837p_guide_is_the_one_the_clearinghouse_asks_for(auto, tmp_path, maps):
    auto("profile", "set", *CLEARINGHOUSE, "--x12-version", "A1")
    assert json.loads(auto("profile", "show", "-f", "json").stdout)["x12_version"] == (
        "005010X222A1"
    )
    auto("claim", "create", "Maria")
    out = tmp_path / "a1.837"
    auto("claim", "export", "1", "-o", str(out))
    gs = next(s for s in parse(out.read_text()) if s[0] == "GS")
    assert gs[8] == "005010X222A1" and validate(out.read_text(), maps) == []
    assert "x12-version: 'A3'" in _refused(auto, "profile", "set", "--x12-version", "A3")
    auto("profile", "set", "--x12-version", "")  # cleared: the default again
    assert "005010X222A2 (default)" in auto("profile", "show").stdout


def test_a_new_case_with_a_known_payer_takes_its_claims_id_and_address(auto):
    """Entered once per payer: a later case for the same payer (name and type) takes the payer
    id and address an earlier case holds, says so, and a claim can be made at once."""
    client(auto, "Linda Nguyen")
    opened = auto(
        "case", "open", "Linda", "--payer", "auto-pip", "--payer-name", "evergreen mutual auto ",
        "--policy", "EMA-99", "--claim", "PIP-99", "--injury-date", "2026-11-01",
        "--accident-state", "WA", "--dx", "S13.4XXD", "--referrer", "Alan Brooks, DC",
        "--referrer-npi", "1987654328", "--rx-date", "2026-11-02", "--rx-until", "2026-12-31",
        "--visits", "8",
    )  # fmt: skip
    assert "The payer id and payer address of evergreen mutual auto from case 1" in (opened.stderr)
    case = json.loads(auto("case", "show", "2", "-f", "json").stdout)
    assert (case["payer_id"], case["payer_address"]) == ("EMA01", "PO Box 4410, Portland, OR 97208")
    # Given ones win; another payer type or name takes nothing.
    auto(
        "case", "open", "Linda", "--payer", "health", "--payer-name", "Evergreen Mutual Auto",
        "--dx", "M54.2", "--referrer", "Dr B", "--rx-date", "2026-11-02",
        "--rx-until", "2026-12-31", "--visits", "8",
    )  # fmt: skip
    case = json.loads(auto("case", "show", "3", "-f", "json").stdout)
    assert (case["payer_id"], case["payer_address"]) == (None, None)


def test_a_visit_voided_after_it_was_billed_is_never_sent(auto, tmp_path):
    auto("claim", "create", "Maria")
    voided = auto("session", "void", "2", "--reason", "entered for the wrong client")
    assert "session 2 is on draft claim 1, which can no longer be sent" in voided.stderr
    message = _refused(auto, "claim", "print", "1", "-o", str(tmp_path / "c.pdf"))
    assert "claim 1 bills session 2, void since" in message
    assert not (tmp_path / "c.pdf").exists() and show(auto)["status"] == "draft"
    auto("claim", "void", "1", "--reason", "visit 2 was void")
    auto("claim", "create", "Maria")  # the rest, without it
    assert 2 not in {x["session_id"] for x in show(auto, 2)["boxes"]["24"]}
    auto("claim", "print", "2", "-o", str(tmp_path / "c2.pdf"))
    voided = auto("session", "void", "3", "--reason", "duplicate")
    assert "session 3 is on submitted claim 2: send the payer a corrected claim" in voided.stderr


@pytest.mark.parametrize(
    ("change", "boxes"),
    [
        (("case", "edit", "1", "--dx", "S13.4XXD", "--dx", "M54.2", "--dx", "M62.830"), "21"),
        (("profile", "set", "--fee", "97140=60"), "24"),
        (("client", "edit", "Maria", "--address", "9 Elm St, Ferndale, WA 98248"), "5"),
        (("case", "edit", "1", "--claim", "PIP-26-999"), "11b"),
        (("profile", "set", "--claim-modifier", "auto-pip=59"), "24"),
    ],
)
def test_a_draft_that_no_longer_agrees_with_the_record_is_not_sent(auto, tmp_path, change, boxes):
    auto("claim", "create", "Maria")
    assert "no longer agrees" not in auto("claim", "show", "1").stderr
    auto(*change)
    shown = auto("claim", "show", "1")
    assert "draft claim 1 no longer agrees with the record" in shown.stderr
    assert f"box {boxes}" in shown.stderr or f", {boxes}" in shown.stderr, shown.stderr
    message = _refused(auto, "claim", "print", "1", "-o", str(tmp_path / "c.pdf"))
    assert "claim: 1 no longer agrees with the record" in message
    auto("claim", "void", "1", "--reason", "record corrected")
    auto("claim", "create", "Maria")
    auto("claim", "print", "2", "-o", str(tmp_path / "c.pdf"))  # made again: in step, sent
    assert show(auto, 2)["status"] == "submitted"


def test_voiding_a_replacement_draft_gives_the_original_back_its_standing(auto, tmp_path):
    """`replaced` is derived from a standing replacement, never stored: when the corrected
    claim is still a draft and is voided, the original is submitted again — its visits stay
    billed (no second original claim for them) and it can be replaced anew."""
    auto("claim", "create", "Maria")
    auto("claim", "print", "1", "-o", str(tmp_path / "c.pdf"))
    auto("claim", "create", "Maria", "--replaces", "1", "--original-ref", "ICN-1")
    assert show(auto, 1)["status"] == "replaced"
    assert "claim 1 is replaced by claim 2" in _refused(
        auto, "claim", "create", "Maria", "--replaces", "1", "--original-ref", "ICN-1"
    )
    assert "a void or replaced claim is never sent" in _refused(
        auto, "claim", "print", "1", "-o", str(tmp_path / "again.pdf")
    )
    auto("claim", "void", "2", "--reason", "corrected the wrong claim")
    old = show(auto, 1)
    assert (old["status"], old["replaced_by"]) == ("submitted", None)
    assert "no signed visits left to bill" in _refused(auto, "claim", "create", "Maria")
    auto("claim", "create", "Maria", "--replaces", "1", "--original-ref", "ICN-1")
    assert show(auto, 3)["replaces"] == 1 and show(auto, 1)["status"] == "replaced"
    listed = {c["id"]: c["status"] for c in json.loads(auto("claim", "list", "-f", "json").stdout)}
    assert listed == {1: "replaced", 2: "void", 3: "draft"}
    replaced = json.loads(auto("claim", "list", "--status", "replaced", "-f", "json").stdout)
    assert [c["id"] for c in replaced] == [1]
    # The shell cannot make a second standing replacement, or replace a draft.
    conn = sqlite3.connect(auto.db)
    for sql in (
        "INSERT INTO claim (case_id, frequency_code, replaces, data, created) "
        "VALUES (1, '7', 1, '{}', 'x')",
        "INSERT INTO claim (case_id, frequency_code, replaces, data, created) "
        "VALUES (1, '7', 3, '{}', 'x')",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="replaces"):
            conn.execute(sql)
    conn.close()
    assert auto("db", "check").exit_code == 0


def test_an_id_x12_cannot_carry_is_refused_without_echoing_it(auto, tmp_path):
    auto("profile", "set", *CLEARINGHOUSE)
    auto("case", "edit", "1", "--policy", "EMA~4471*902")  # legal on paper, an X12 delimiter
    auto("claim", "create", "Maria")
    message = _refused(auto, "claim", "export", "1", "-o", str(tmp_path / "c.837"))
    assert "box 1a insured's id is not 1 to 80 plain characters" in message
    assert "4471" not in message and not (tmp_path / "c.837").exists()
    assert show(auto)["status"] == "draft"


def test_the_readme_claim_json_example_has_the_real_keys(auto):
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("`claim show ID -f json`", 1)[1].split("```json", 1)[1]
    example = json.loads(block.split("```", 1)[0])
    auto("claim", "create", "Maria")
    real = show(auto)
    assert list(example) == list(real)
    assert list(example["boxes"]) == list(real["boxes"])
    assert set(example["boxes"]["24"][0]) == set(real["boxes"]["24"][0])
    assert example["boxes"]["24"][0] == real["boxes"]["24"][0] | {"session_id": 1}
    for key in ("carrier", "2", "3", "11b", "14", "17", "21", "25", "31", "33b"):
        assert example["boxes"][key] == real["boxes"][key], key
    # The README's practice has a ZIP+4 (it exports 837P files); the rest of box 33 is the same.
    assert example["boxes"]["33"] == real["boxes"]["33"] | {"zip": "982254410"}
