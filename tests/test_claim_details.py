"""What a claim needs beyond the chart (M012), through the real CLI: the case's payer, insured,
accident and work details (`case open/edit/show`), the practice's claim settings and per-payer
claim rules (`profile set/show`), and the address splitter the claim uses (rules/address.py)."""

from __future__ import annotations

import json

import pytest

from medmassage.rules.address import ADDRESS_RULE, Address, split_address
from tests.conftest import count_rows, query

# --- the address splitter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "412 Cedar St, Suite 3, Bellingham, WA 98225",
            ("412 Cedar St, Suite 3", "Bellingham", "WA", "98225"),
        ),
        ("412 Cedar St, Olympia WA 98501", ("412 Cedar St", "Olympia", "WA", "98501")),
        ("PO Box 44291, Olympia, WA 98504-4291", ("PO Box 44291", "Olympia", "WA", "985044291")),
        ("PO Box 44291, Olympia, WA 985044291", ("PO Box 44291", "Olympia", "WA", "985044291")),
        (
            "18 Harbor View Rd, Bellingham, wa 98226",
            ("18 Harbor View Rd", "Bellingham", "WA", "98226"),
        ),
        ("412 Cedar St\nBellingham, WA 98225", ("412 Cedar St", "Bellingham", "WA", "98225")),
        ("412  Cedar St ,  Port  Angeles , WA , 98362, USA", ("412 Cedar St", "Port Angeles",
                                                             "WA", "98362")),
        ("1 Calle Sol, San Juan, PR 00901", ("1 Calle Sol", "San Juan", "PR", "00901")),
    ],
)  # fmt: skip
def test_split_address_reads_addresses_as_therapists_type_them(text, parts):
    assert split_address(text) == Address(*parts)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "412 Cedar St, Olympia, WA",  # no ZIP
        "412 Cedar St, Olympia, XX 98501",  # not a state
        "412 Cedar St, Olympia, Washington 98501",  # the state's name, not its code
        "Bellingham WA 98225",  # only one part: no street
        "412 Cedar St, WA 98225",  # no city
        "412 Cedar St, Olympia, WA 9850",  # a ZIP of 4 digits
        "412 Cedar St, Olympia, WA 98501-12",  # a broken ZIP+4
        "412 Cedar St, 98501, WA 98501",  # a city with no letter
    ],
)
def test_split_address_is_none_when_the_parts_are_not_all_there(text):
    assert split_address(text) is None


# --- case open / edit / show ------------------------------------------------------------------

CASE_OPTIONS = {
    "--payer-id": "91051",
    "--payer-address": "PO Box 44291, Olympia, WA 98504-4291",
    "--insured-name": "Sam Doe",
    "--insured-relationship": "Spouse",
    "--insured-dob": "1979-03-14",
    "--insured-sex": "m",
    "--insured-address": "18 Harbor View Rd, Bellingham, WA 98226",
    "--group-number": "GRP-100",
    "--employer": "Cedar Mill Co.",
    "--accident-state": "wa",
    "--account-number": "JD-0001",
    "--unable-from": "2026-10-02",
    "--unable-to": "2026-10-20",
}
STORED = {
    "payer_id": "91051",
    "payer_address": "PO Box 44291, Olympia, WA 98504-4291",
    "insured_name": "Sam Doe",
    "insured_relationship": "spouse",
    "insured_dob": "1979-03-14",
    "insured_sex": "male",
    "insured_address": "18 Harbor View Rd, Bellingham, WA 98226",
    "group_number": "GRP-100",
    "employer": "Cedar Mill Co.",
    "accident_state": "WA",
    "account_number": "JD-0001",
    "unable_from": "2026-10-02",
    "unable_to": "2026-10-20",
}
OPEN = (
    "case", "open", "Pat", "--payer", "auto-pip", "--dx", "S13.4XXD", "--injury-date",
    "2026-10-01", "--claim", "PIP-1", "--referrer", "Alan Brooks, DC", "--referrer-npi",
    "1987654328", "--rx-date", "2026-10-21", "--rx-until", "2026-12-31", "--visits", "8",
)  # fmt: skip


def flat(options: dict[str, str]) -> list[str]:
    return [x for pair in options.items() for x in pair]


def case_row(db_path, case_id: int = 1) -> dict:
    return dict(query(db_path, "SELECT * FROM care_case WHERE id = ?", (case_id,))[0])


def case_json(cli, case_id: str = "1") -> dict:
    return json.loads(cli("case", "show", case_id, "-f", "json").stdout)


@pytest.fixture
def pip(cli):
    cli("client", "add", "Pat Pip")
    return cli


def test_case_open_stores_and_shows_every_claim_detail(pip, db_path):
    pip(*OPEN, *flat(CASE_OPTIONS))
    row = case_row(db_path)
    assert {k: row[k] for k in STORED} == STORED
    data = case_json(pip)
    assert {k: data[k] for k in STORED} == STORED  # json keys are the column names
    text = pip("case", "show", "1").stdout
    for line in (
        "Payer ID         91051",
        "Payer address    PO Box 44291, Olympia, WA 98504-4291",
        "Insured          Sam Doe (spouse), born 1979-03-14, male",
        "Insured address  18 Harbor View Rd, Bellingham, WA 98226",
        "Group number     GRP-100",
        "Employer         Cedar Mill Co.",
        "Accident state   WA",
        "Unable to work   2026-10-02 to 2026-10-20",
        "Account number   JD-0001",
    ):
        assert line in text, text
    pip("db", "check")


def test_a_case_opened_without_them_has_none_and_shows_none(pip, db_path):
    pip(*OPEN)
    data = case_json(pip)
    assert all(data[k] is None for k in STORED)
    text = pip("case", "show", "1").stdout
    assert "Insured" not in text and "Payer ID" not in text


def test_case_edit_sets_changes_and_clears_each_claim_detail_audited(pip, db_path):
    pip(*OPEN)
    result = pip("case", "edit", "1", *flat(CASE_OPTIONS))
    assert result.stderr.startswith("Case 1 updated: payer_id, payer_address, insured_name")
    assert {k: case_row(db_path)[k] for k in STORED} == STORED
    edits = "SELECT count(*) FROM audit WHERE action = 'edit' AND entity = 'case'"
    assert query(db_path, edits)[0][0] == 1
    pip("db", "check")

    pip("case", "edit", "1", "--insured-relationship", "child", "--accident-state", "OR")
    assert case_json(pip)["insured_relationship"] == "child"
    assert case_json(pip)["accident_state"] == "OR"
    same = pip("case", "edit", "1", "--payer-id", "91051")
    assert "nothing changed" in same.stderr
    assert query(db_path, edits)[0][0] == 2

    cleared = pip("case", "edit", "1", *[x for option in CASE_OPTIONS for x in (option, "")])
    assert "Case 1 updated" in cleared.stderr
    assert all(v is None for k, v in case_row(db_path).items() if k in STORED)
    assert all(case_json(pip)[k] is None for k in STORED)
    assert query(db_path, edits)[0][0] == 3
    pip("db", "check")


def test_one_date_unable_to_work_is_checked_against_the_other_on_record(pip, db_path):
    pip(*OPEN, "--unable-from", "2026-10-02")
    bad = pip("case", "edit", "1", "--unable-to", "2026-10-01", ok=False)
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: unable-to: '2026-10-01' — unable to work from 2026-10-02")
    pip("case", "edit", "1", "--unable-to", "2026-10-30")
    bad = pip("case", "edit", "1", "--unable-from", "2026-11-01", ok=False)
    assert bad.stderr.startswith("error: unable-from: '2026-11-01' — ")
    pip("case", "edit", "1", "--unable-from", "")  # clearing one leaves nothing to compare
    assert case_json(pip)["unable_to"] == "2026-10-30"


BAD_CASE_VALUES = [
    ("--payer-id", "9", "error: payer-id: '9' — 2–80 letters and digits"),
    ("--payer-id", "91*051", "error: payer-id: '91*051' — 2–80 letters and digits"),
    ("--payer-address", "PO Box 44291", f"error: payer-address: 'PO Box 44291' — a US address: "
     f"{ADDRESS_RULE}"),
    ("--payer-address", "1 Main St, Olympia, XX 98501", "error: payer-address: "),
    ("--insured-name", "Sam\u202eDoe", "error: insured-name: "),
    ("--insured-relationship", "parent", "error: insured-relationship: 'parent' — one of self, "
     "spouse, child, other"),
    ("--insured-dob", "1979-02-30", "error: insured-dob: '1979-02-30' — expected"),
    ("--insured-dob", "2027-01-01", "error: insured-dob: '2027-01-01' — is in the future"),
    ("--insured-sex", "other", "error: insured-sex: 'other' — one of female, male"),
    ("--insured-address", "18 Harbor View Rd, Bellingham WA", "error: insured-address: "),
    ("--group-number", "G~1", "error: group-number: 'G~1' — 1–50 letters and digits"),
    ("--group-number", "G" * 51, "error: group-number: "),
    ("--employer", "x" * 201, "error: employer: "),
    ("--accident-state", "XX", "error: accident-state: 'XX' — a two-letter USPS state code"),
    ("--accident-state", "Washington", "error: accident-state: 'Washington' — "),
    ("--account-number", "A" * 39, "error: account-number: "),
    ("--unable-from", "soon", "error: unable-from: 'soon' — expected"),
    ("--unable-to", "2026-13-01", "error: unable-to: '2026-13-01' — expected"),
]  # fmt: skip


@pytest.mark.parametrize(("option", "value", "start"), BAD_CASE_VALUES)
def test_bad_claim_details_exit_2_naming_the_field_and_write_nothing(
    pip, db_path, option, value, start
):
    pip(*OPEN, "--unable-from", "2026-10-02", "--unable-to", "2026-10-20")
    before, row = count_rows(db_path), case_row(db_path)
    for command in (OPEN, ("case", "edit", "1")):
        bad = pip(*command, option, value, ok=False)
        assert bad.exit_code == 2, (command, bad.stderr)
        assert bad.stderr.startswith(start), bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
        assert "Traceback" not in bad.stderr
    assert count_rows(db_path) == before
    assert case_row(db_path) == row


def test_case_edit_with_nothing_still_says_nothing_to_change(pip):
    pip(*OPEN)
    bad = pip("case", "edit", "1", ok=False)
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: case: '1' — nothing to change")


# --- profile set / show ----------------------------------------------------------------------

PROFILE_OPTIONS = {
    "--tax-id": "91-1234567",
    "--tax-id-kind": "EIN",
    "--taxonomy": "225700000x",
    "--place-of-service": "12",
    "--accept-assignment": "no",
    "--submitter-id": "SUB123456",
    "--receiver-id": "030240928",
    "--receiver-name": "Availity",
}
PROFILE_STORED = {
    "tax_id": "91-1234567",
    "tax_id_kind": "ein",
    "taxonomy": "225700000X",
    "place_of_service": "12",
    "accept_assignment": 0,
    "submitter_id": "SUB123456",
    "receiver_id": "030240928",
    "receiver_name": "Availity",
}
ADDRESS = "412 Cedar St, Suite 3, Bellingham, WA 98225"


@pytest.fixture
def dana(cli):
    cli("profile", "set", "--name", "Dana Whitfield", "--npi", "1234567893", "--address", ADDRESS)
    return cli


def profile_row(db_path) -> dict:
    return dict(query(db_path, "SELECT * FROM profile")[0])


def profile_json(cli) -> dict:
    return json.loads(cli("profile", "show", "-f", "json").stdout)


def claim_rules(db_path) -> set[tuple]:
    return {tuple(r) for r in query(db_path, "SELECT * FROM claim_rule")}


def test_profile_claim_settings_are_stored_and_shown(dana, db_path):
    result = dana("profile", "set", *flat(PROFILE_OPTIONS))
    assert "accept_assignment" in result.stderr and "cannot be split" not in result.stderr
    assert {k: profile_row(db_path)[k] for k in PROFILE_STORED} == PROFILE_STORED
    data = profile_json(dana)
    assert {k: data[k] for k in PROFILE_STORED} == {**PROFILE_STORED, "accept_assignment": False}
    text = dana("profile", "show").stdout
    for line in (
        "Tax ID             91-1234567 (EIN)",
        "Taxonomy           225700000X",
        "Place of service   12 home",
        "Accept assignment  no",
        "Submitter ID       SUB123456",
        "Receiver           030240928 (Availity)",
    ):
        assert line in text, text
    dana("profile", "set", "--accept-assignment", "yes")
    assert profile_json(dana)["accept_assignment"] is True
    dana("db", "check")


def test_unset_claim_settings_show_their_defaults_and_json_null(dana, db_path):
    data = profile_json(dana)
    assert all(data[k] is None for k in PROFILE_STORED if k != "tax_id")
    text = dana("profile", "show").stdout
    assert "Taxonomy           225700000X (default, massage therapist)" in text
    assert "Place of service   11 office (default)" in text
    assert "Accept assignment  yes (default)" in text
    # "" clears one: the default applies again.
    dana("profile", "set", "--taxonomy", "225700000X", "--place-of-service", "12")
    dana("profile", "set", "--taxonomy", "", "--place-of-service", "")
    assert profile_json(dana)["taxonomy"] is None
    assert profile_json(dana)["place_of_service"] is None


def test_claim_rules_per_payer_are_stored_shown_and_digested(dana, db_path):
    assert claim_rules(db_path) == set()
    rules = profile_json(dana)["claim_rules"]
    assert rules == {
        p: {"distinct_modifier": None, "gp": False}
        for p in ("health", "workers-comp", "auto-pip", "fsa-hsa", "self-pay")
    }
    audits = "SELECT count(*) FROM audit WHERE entity = 'profile'"
    before = query(db_path, audits)[0][0]
    result = dana(
        "profile", "set", "--claim-modifier", "health=59", "--claim-modifier", "workers-comp=xs",
        "--claim-gp", "workers-comp=yes", "--claim-gp", "auto-pip=no",
    )  # fmt: skip
    assert "claim modifier health, claim modifier workers-comp, claim GP workers-comp" in (
        result.stderr
    )
    assert query(db_path, audits)[0][0] == before + 1
    assert claim_rules(db_path) == {
        ("health", "59", 0),
        ("workers-comp", "XS", 1),
        ("auto-pip", None, 0),
    }
    rules = profile_json(dana)["claim_rules"]
    assert rules["health"] == {"distinct_modifier": "59", "gp": False}
    assert rules["workers-comp"] == {"distinct_modifier": "XS", "gp": True}
    text = dana("profile", "show").stdout
    assert "health: modifier 59, no GP" in text
    assert "workers-comp: modifier XS, GP" in text
    assert "self-pay: no distinct modifier, no GP" in text
    dana("db", "check")  # the profile's digest covers claim_rule

    # One rule changes without the other; none takes the modifier away.
    dana("profile", "set", "--claim-modifier", "workers-comp=none", "--claim-gp", "health=yes")
    assert claim_rules(db_path) == {
        ("health", "59", 1),
        ("workers-comp", None, 1),
        ("auto-pip", None, 0),
    }
    dana("db", "check")


BAD_PROFILE_VALUES = [
    ("--tax-id-kind", "itin", "error: tax-id-kind: 'itin' — ein or ssn"),
    ("--taxonomy", "2257000000", "error: taxonomy: '2257000000' — a NUCC taxonomy code"),
    ("--taxonomy", "225700000", "error: taxonomy: '225700000' — a NUCC taxonomy code"),
    ("--taxonomy", "22570-000X", "error: taxonomy: "),
    ("--place-of-service", "1", "error: place-of-service: '1' — a two-digit place of service"),
    ("--place-of-service", "00", "error: place-of-service: '00' — "),
    ("--place-of-service", "office", "error: place-of-service: 'office' — "),
    ("--accept-assignment", "maybe", "error: accept-assignment: 'maybe' — yes or no"),
    ("--submitter-id", "S", "error: submitter-id: 'S' — 2–15 letters and digits"),
    ("--submitter-id", "S" * 16, "error: submitter-id: "),
    ("--receiver-id", "03024*0928", "error: receiver-id: '03024*0928' — 2–15"),
    ("--receiver-name", "A" * 61, "error: receiver-name: "),
    ("--claim-modifier", "health", "error: claim-modifier: 'health' — expected PAYER=59"),
    ("--claim-modifier", "health=25", "error: claim-modifier: 'health=25' — PAYER=59, PAYER=XS"),
    ("--claim-modifier", "medicare=59", "error: claim-modifier: 'medicare=59' — PAYER is one of "
     "health, workers-comp"),
    ("--claim-gp", "health=maybe", "error: claim-gp: 'health=maybe' — PAYER=yes or PAYER=no"),
    ("--claim-gp", "yes", "error: claim-gp: 'yes' — expected PAYER=yes"),
    ("--claim-gp", "dental=yes", "error: claim-gp: 'dental=yes' — PAYER is one of "),
]  # fmt: skip


@pytest.mark.parametrize(("option", "value", "start"), BAD_PROFILE_VALUES)
def test_bad_profile_claim_values_exit_2_naming_the_field_and_write_nothing(
    dana, db_path, option, value, start
):
    before, row, rules = count_rows(db_path), profile_row(db_path), claim_rules(db_path)
    bad = dana("profile", "set", "--phone", "360-555-0142", option, value, ok=False)
    assert bad.exit_code == 2, bad.stderr
    assert bad.stderr.startswith(start), bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert count_rows(db_path) == before
    assert profile_row(db_path) == row  # not even the good --phone
    assert claim_rules(db_path) == rules


def test_a_profile_address_claims_cannot_split_is_stored_with_a_warning(dana, db_path):
    result = dana("profile", "set", "--address", "412 Cedar St, Bellingham")
    assert result.exit_code == 0
    assert "warning: the address cannot be split" in result.stderr
    assert ADDRESS_RULE in result.stderr
    assert profile_row(db_path)["address"] == "412 Cedar St, Bellingham"
    fine = dana("profile", "set", "--address", "412 Cedar St\nBellingham, WA 98225")
    assert "cannot be split" not in fine.stderr
    other = dana("profile", "set", "--phone", "360-555-0142")  # address not given: no warning
    assert "cannot be split" not in other.stderr
