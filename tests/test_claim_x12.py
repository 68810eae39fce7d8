"""`claim export -f x12`: claims as one X12 837P 005010X222A2 interchange (medmassage.claims.x12).

Every file is checked by an independent validator, pyx12 (`x12n_document`, the engine behind its
`x12valid` script), and must come back with zero errors; then the segments are read back and
compared with the sample claims in tests/data/claims/ (the shape `claim show -f json` prints).

pyx12 4.0 ships the 837P map of 005010X222A1 only (the errata HIPAA adopted), not A2; its
lookup is by GS08, so the tests give it a copy of its map folder in which the A1 map is also
registered under 005010X222A2 (GS08's list of codes gets the A2 value too). The structure,
segments, codes and counts checked are A1's; A2's few clarifications are not.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document

from medmassage.claims.x12 import Envelope, X12Error, interchange, money

DATA = Path(__file__).parent / "data" / "claims"
SAMPLES = {path.stem: json.loads(path.read_text()) for path in sorted(DATA.glob("*.json"))}
ENVELOPE = Envelope(
    sender_id="MEDMASS01",
    receiver_id="CLEARHOUSE1",
    receiver_name="Example Clearinghouse",
    submitter_name="Cedar Street Medical Massage",
    contact_name="Dana Whitfield",
    contact_phone="(360) 555-0142",
    usage="T",
)
CREATED = datetime(2026, 12, 3, 13, 20)


# ---------------------------------------------------------------------------------------------
# The validator


def validate(document: str, maps: Path) -> list[str]:
    """pyx12's verdict on an X12 text: every error it reports, or [] when it accepts the file."""
    report, ack = io.StringIO(), io.StringIO()
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # errors come back in the report
    accepted = pyx12.x12n_document.x12n_document(
        pyx12.params.params(),
        io.StringIO(document),
        fd_997=ack,
        fd_html=None,
        fd_json=report,
        map_path=str(maps),
    )
    errors: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if "err_cde" in node:
                errors.append(f"{where}: {node['err_cde']} {node['err_str']} {node.get('err_val')}")
            label = node.get("seg_id") or node.get("name") or where
            for value in node.values():
                walk(value, f"{label}#{node.get('seg_count', '')}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(json.loads(report.getvalue() or "{}"), "interchange")
    if not accepted and not errors:
        errors.append("x12n_document rejected the file without details")
    # The 999 acknowledgement it writes must say "accepted" too.
    if "IK5*A~" not in ack.getvalue() or "AK9*A*" not in ack.getvalue():
        errors.append(f"999 does not accept: {ack.getvalue()}")
    return errors


# ---------------------------------------------------------------------------------------------
# Reading a file back


def parse(document: str) -> list[list[str]]:
    assert document.endswith("~") and "\n" not in document
    return [segment.split("*") for segment in document.split("~")[:-1]]


def find(segments: list[list[str]], tag: str, *first: str) -> list[list[str]]:
    return [s for s in segments if s[0] == tag and s[1 : 1 + len(first)] == list(first)]


def claim_block(segments: list[list[str]], pcn: str) -> list[list[str]]:
    """The 2300 loop (and its 2400s) of one claim: from its CLM to the next HL or the SE."""
    start = next(i for i, s in enumerate(segments) if s[:2] == ["CLM", pcn])
    end = next(i for i in range(start + 1, len(segments)) if segments[i][0] in ("HL", "SE"))
    return segments[start:end]


def subscriber_block(segments: list[list[str]], pcn: str) -> list[list[str]]:
    """From the HL*…*22 that leads to the claim down to its CLM (2000B, 2010BA/BB, 2000C/2010CA)."""
    clm = next(i for i, s in enumerate(segments) if s[:2] == ["CLM", pcn])
    start = max(i for i in range(clm) if segments[i][0] == "HL" and segments[i][3] == "22")
    return segments[start:clm]


def build(*claims: dict, control: int = 42) -> str:
    return interchange(list(claims), ENVELOPE, control, CREATED)


# ---------------------------------------------------------------------------------------------
# Valid files


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_is_a_valid_837p(name: str, maps: Path) -> None:
    assert validate(build(SAMPLES[name]), maps) == []


def test_all_samples_in_one_interchange_are_valid(maps: Path) -> None:
    document = build(*SAMPLES.values(), control=987654321)
    assert validate(document, maps) == []
    segments = parse(document)
    assert len(find(segments, "ST")) == len(find(segments, "GS")) == 1
    # claims are grouped under their billing provider (the organisation's two, then Dana's)
    assert [c["boxes"]["26"] for c in SAMPLES.values()] == ["MM000001", "MM000003", "MM000002"]
    assert [s[1] for s in find(segments, "CLM")] == ["MM000001", "MM000002", "MM000003"]
    assert len(find(segments, "HL", "1")) == 1  # one billing provider …
    assert len(find(segments, "PRV")) == 2  # … per distinct box 33: organisation and person


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_claim_carries_the_sample_values(name: str) -> None:
    claim = SAMPLES[name]
    boxes = claim["boxes"]
    segments = parse(build(claim))
    block = claim_block(segments, boxes["26"])
    clm = block[0]

    assert clm[1] == boxes["26"]
    assert Decimal(clm[2]) == Decimal(claim["total_cents"]) / 100
    assert clm[5] == f"{boxes['24'][0]['24B']}:B:{claim['frequency_code']}"
    assert clm[6:10] == ["Y", "A", "Y", "Y"]

    # HI: ICD-10-CM without the dot, in letter order, ABK first then ABF
    codes = [boxes["21"]["codes"][letter] for letter in sorted(boxes["21"]["codes"])]
    hi = find(block, "HI")
    assert len(hi) == 1
    assert hi[0][1:] == [
        f"{'ABK' if n == 0 else 'ABF'}:{code.replace('.', '')}" for n, code in enumerate(codes)
    ]

    # one LX/SV1/DTP*472 per line: procedure, modifiers, charge, units, pointers 1:2 from "AB"
    lines = boxes["24"]
    assert [s[1] for s in find(block, "LX")] == [str(n) for n in range(1, len(lines) + 1)]
    sv1 = find(block, "SV1")
    assert [s[1] for s in sv1] == [
        ":".join(["HC", line["24D"]["cpt"], *line["24D"]["modifiers"]]) for line in lines
    ]
    assert [Decimal(s[2]) for s in sv1] == [Decimal(line["24F"]) / 100 for line in lines]
    assert [s[3:5] for s in sv1] == [["UN", str(line["24G"])] for line in lines]
    assert [s[7] for s in sv1] == [
        ":".join(str(ord(letter) - 64) for letter in line["24E"]) for line in lines
    ]
    assert sum(Decimal(s[2]) for s in sv1) == Decimal(clm[2])
    assert find(block, "DTP", "472") == [
        ["DTP", "472", "D8", line["24A"]["from"].replace("-", "")] for line in lines
    ]

    # 2010AA billing provider and 2010BB payer
    assert find(segments, "NM1", "85")[0][-2:] == ["XX", boxes["33a"]]
    assert find(segments, "REF", "EI") == [["REF", "EI", boxes["25"]["value"]]]
    assert find(segments, "PRV") == [["PRV", "BI", "PXC", "225700000X"]]
    payer = find(segments, "NM1", "PR")
    assert len(payer) == 1 and payer[0][:4] == ["NM1", "PR", "2", boxes["carrier"]["name"].upper()]
    assert payer[0][-2:] == ["PI", boxes["carrier"]["payer_id"]]
    assert find(segments, "NM1", "IL")[0][-2:] == ["MI", boxes["1a"]]


def test_auto_pip_claim() -> None:
    boxes = SAMPLES["auto-pip"]["boxes"]
    segments = parse(build(SAMPLES["auto-pip"]))
    block, subscriber = claim_block(segments, "MM000001"), subscriber_block(segments, "MM000001")

    assert block[0][11] == "AA:::WA"  # CLM11: auto accident, state in CLM11-4
    assert find(block, "DTP", "439") == [["DTP", "439", "D8", "20261020"]]
    assert find(block, "DTP", "431") == []
    assert find(block, "REF", "G1") == [["REF", "G1", "AUTH-88120"]]
    assert find(block, "REF", "F8") == []
    assert [s[7] for s in find(block, "SV1")] == ["1:2", "1", "1:2"]
    assert find(block, "SV1")[0][1] == "HC:97140:59"

    # the patient is the insured: SBR02 18, AM, no 2000C; DMG and REF*Y4 in 2010BA
    assert find(subscriber, "SBR") == [["SBR", "P", "18", "", "", "", "", "", "", "AM"]]
    assert find(segments, "HL", "3") == [] and find(segments, "PAT") == []
    tags = [s[0] + (s[1] if s[0] in ("NM1", "REF") else "") for s in subscriber]
    assert tags.index("NM1IL") < tags.index("DMG") < tags.index("REFY4") < tags.index("NM1PR")
    assert find(subscriber, "REF", "Y4") == [["REF", "Y4", boxes["11b"]["value"]]]
    assert find(subscriber, "DMG") == [["DMG", "D8", "19850314", "F"]]

    # box 17 DK is the ordering provider: 2420E on every line (2310A takes DN or P3 only)
    assert find(block, "NM1", "DN") == []
    assert len(find(block, "NM1", "DK")) == 3
    assert find(block, "NM1", "DK")[0] == [
        "NM1", "DK", "1", "LEE", "SUSAN", "", "", "", "XX", "1456789019"
    ]  # fmt: skip
    # 32 is the billing address: no 2310C
    assert find(block, "NM1", "77") == []


def test_workers_comp_claim() -> None:
    segments = parse(build(SAMPLES["workers-comp"]))
    block, subscriber = claim_block(segments, "MM000002"), subscriber_block(segments, "MM000002")

    assert block[0][11] == "EM"
    assert find(block, "DTP", "439") == [["DTP", "439", "D8", "20261008"]]
    assert find(block, "DTP", "314") == [["DTP", "314", "RD8", "20261009-20261030"]]  # box 16
    assert find(block, "NM1", "DN") == [
        ["NM1", "DN", "1", "BROOKS", "ALAN", "", "", "", "XX", "1982736450"]
    ]
    assert find(block, "REF", "G1") == []

    # the insured is the employer; the patient is in 2000C with the Y4 claim number in 2010CA
    assert find(subscriber, "SBR") == [["SBR", "P", "", "", "", "", "", "", "", "WC"]]
    assert find(subscriber, "NM1", "IL") == [
        ["NM1", "IL", "2", "NORTHWIND LOGISTICS", "", "", "", "", "MI", "BH-55231"]
    ]
    assert find(subscriber, "HL", "2") == [["HL", "2", "1", "22", "1"]]
    assert find(subscriber, "HL", "3") == [["HL", "3", "2", "23", "0"]]
    assert find(subscriber, "PAT") == [["PAT", "G8"]]
    tags = [s[0] + (s[1] if s[0] in ("NM1", "REF") else "") for s in subscriber]
    assert tags.index("NM1PR") < tags.index("NM1QC") < tags.index("DMG") < tags.index("REFY4")
    assert tags.count("REFY4") == 1 and tags.count("DMG") == 1  # none for the employer


def test_health_replacement_claim() -> None:
    segments = parse(build(SAMPLES["health-two-forms"]))
    block = claim_block(segments, "MM000003")
    subscriber = subscriber_block(segments, "MM000003")

    assert block[0][:6] == ["CLM", "MM000003", "720", "", "", "11:B:7"]
    assert len(block[0]) == 10  # no CLM11: not related to an accident or employment
    assert find(block, "DTP", "431") == [["DTP", "431", "D8", "20260915"]]
    assert find(block, "DTP", "439") == []
    assert find(block, "REF", "F8") == [["REF", "F8", "2026110400123"]]
    assert find(block, "REF", "Y4") == find(subscriber, "REF", "Y4") == []
    assert find(block, "HI") == [["HI", "ABK:M5450", "ABF:M62830", "ABF:M7918"]]
    assert [s[7] for s in find(block, "SV1")] == ["1:2:3"] * 8
    # the billing provider is a person; the subscriber is the spouse
    assert find(segments, "NM1", "85") == [
        ["NM1", "85", "1", "WHITFIELD", "DANA", "", "", "", "XX", "1234567893"]
    ]
    assert find(subscriber, "SBR") == [["SBR", "P", "", "GRP-0042", "", "", "", "", "", "CI"]]
    assert find(subscriber, "NM1", "IL")[0][3:6] == ["ALVAREZ", "DIEGO", "R"]
    assert find(subscriber, "PAT") == [["PAT", "01"]]
    assert find(subscriber, "DMG") == [["DMG", "D8", "19850314", "F"]]  # the patient's only


def test_envelope_counts_and_links() -> None:
    document = build(*SAMPLES.values(), control=7)
    segments = parse(document)
    isa, gs, st = segments[0], segments[1], segments[2]
    se, ge, iea = segments[-3], segments[-2], segments[-1]

    assert document.index("~") == 105  # ISA is fixed width: 106 characters with its "~"
    assert isa[6] == "MEDMASS01      " and isa[8] == "CLEARHOUSE1    "
    assert isa[9:12] == ["261203", "1320", "^"] and isa[12:17] == [
        "00501",
        "000000007",
        "0",
        "T",
        ":",
    ]
    assert gs == [
        "GS",
        "HC",
        "MEDMASS01",
        "CLEARHOUSE1",
        "20261203",
        "1320",
        "7",
        "X",
        "005010X222A2",
    ]
    assert st == ["ST", "837", "0007", "005010X222A2"]
    assert segments[3] == ["BHT", "0019", "00", "000000007", "20261203", "1320", "CH"]
    assert int(gs[6]) == int(isa[13]) and ge[2] == gs[6] and iea[2] == isa[13]
    assert se == ["SE", str(len(segments) - 4), st[2]]  # ST … SE inclusive
    assert ge[1] == str(len(find(segments, "ST"))) and iea[1] == str(len(find(segments, "GS")))
    assert find(segments, "NM1", "41") == [
        ["NM1", "41", "2", "CEDAR STREET MEDICAL MASSAGE", "", "", "", "", "46", "MEDMASS01"]
    ]
    assert find(segments, "PER", "IC") == [["PER", "IC", "DANA WHITFIELD", "TE", "3605550142"]]
    assert find(segments, "NM1", "40")[0][3] == "EXAMPLE CLEARINGHOUSE"

    # HL ids run 1, 2, 3 … and every parent is an earlier HL
    hls = find(segments, "HL")
    assert [h[1] for h in hls] == [str(n) for n in range(1, len(hls) + 1)]
    for hl in hls:
        assert hl[2] == "" if hl[3] == "20" else int(hl[2]) < int(hl[1])


def test_control_number_is_zero_padded_only_where_fixed() -> None:
    segments = parse(build(SAMPLES["auto-pip"], control=999_999_999))
    assert segments[0][13] == "999999999" and segments[1][6] == "999999999"
    assert segments[2][2] == "999999999"


@pytest.mark.parametrize(
    ("cents", "text"),
    [(9000, "90"), (9050, "90.5"), (9055, "90.55"), (5, "0.05"), (10, "0.1"), (0, "0"),
     (123456, "1234.56")],
)  # fmt: skip
def test_money_is_an_x12_decimal(cents: int, text: str) -> None:
    assert money(cents) == text


def test_other_shapes_are_valid_too(maps: Path) -> None:
    """Another billing provider, a line over days at another place, a facility, a payment."""
    claim = copy.deepcopy(SAMPLES["auto-pip"])
    boxes = claim["boxes"]
    boxes["24"][1]["24A"] = {"from": "2026-11-03", "to": "2026-11-05"}
    boxes["24"][1]["24B"] = "12"
    boxes["24"][0]["24D"]["modifiers"] = ["59", "GP"]
    boxes["32"] = {
        "name": "Harbor Wellness Center", "street": "9 Bay St", "city": "Bellingham",
        "state": "WA", "zip": "98225-1234", "phone": None,
    }  # fmt: skip
    boxes["32a"] = "1326081402"
    boxes["29"] = 2550
    boxes["10a"] = True  # employment and auto accident both
    other = copy.deepcopy(SAMPLES["workers-comp"])
    other["boxes"]["33"]["name"] = "Second Practice LLC"
    other["boxes"]["25"] = {"value": "123-45-6789", "kind": "SSN"}

    document = build(claim, other, SAMPLES["health-two-forms"])
    assert validate(document, maps) == []
    segments = parse(document)
    block = claim_block(segments, "MM000001")
    assert find(block, "SV1")[0][1] == "HC:97140:59:GP"
    assert find(block, "SV1")[1][5] == "12"  # SV105 only where it differs from CLM05-1
    assert find(block, "DTP", "472")[1] == ["DTP", "472", "RD8", "20261103-20261105"]
    assert find(block, "NM1", "77") == [
        ["NM1", "77", "2", "HARBOR WELLNESS CENTER", "", "", "", "", "XX", "1326081402"]
    ]
    assert ["N4", "BELLINGHAM", "WA", "982251234"] in block
    assert find(block, "AMT", "F5") == [["AMT", "F5", "25.5"]]
    assert block[0][11] == "AA:EM::WA"
    assert len(find(segments, "HL", "1")) == 1
    assert [h[1] for h in find(segments, "HL") if h[3] == "20"] == ["1", "3", "6"]
    assert find(segments, "REF", "SY") == [["REF", "SY", "123456789"]]


def test_names_are_cleaned_for_x12(maps: Path) -> None:
    claim = copy.deepcopy(SAMPLES["auto-pip"])
    claim["boxes"]["2"] = claim["boxes"]["4"] = {
        "last": "Núñez*O'Brien~",
        "first": "Zoë:^",
        "middle": None,
        "text": "x",
    }
    claim["boxes"]["5"]["street"] = claim["boxes"]["7"]["street"] = "18  Harbor\tView Rd"
    document = build(claim)
    assert validate(document, maps) == []
    assert find(parse(document), "NM1", "IL")[0][3:5] == ["NUNEZ O'BRIEN", "ZOE"]
    assert ["N3", "18 HARBOR VIEW RD"] in parse(document)


# ---------------------------------------------------------------------------------------------
# The validator can fail


# name: (text in the good file, what it becomes, what pyx12 must say about it)
BREAKS = {
    "SE count one too many": ("SE*69*0042~", "SE*70*0042~", "SE count of 70"),
    "GE counts two transactions": ("GE*1*42~", "GE*2*42~", "GE count of 2"),
    "SBR09 not a filing code": ("*******AM~", "*******Q9~", "(Q9) is not a valid code"),
    "HL parent that does not exist": ("HL*4*3*23", "HL*4*9*23", "HL parent (9)"),
    "ordering provider DK in 2310A": ("NM1*DN*", "NM1*DK*", "NM1*DK not found"),
    "13th month": ("DTP*472*D8*20261103", "DTP*472*D8*20261303", "invalid date (20261303)"),
    "LX out of sequence": ("LX*2~", "LX*5~", "Service Line Number 5"),
    "patient DMG missing": ("DMG*D8*19850314*F~REF*Y4*BH", "REF*Y4*BH", '"Patient Demographic'),
    "CLM missing": ("CLM*MM000002*", "CLX*MM000002*", "CLX*MM000002 not found"),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_validator_reports_a_broken_file(name: str, maps: Path) -> None:
    document = build(SAMPLES["auto-pip"], SAMPLES["workers-comp"])
    assert validate(document, maps) == []
    good, bad, expected = BREAKS[name]
    assert good in document
    errors = validate(document.replace(good, bad, 1), maps)
    assert any(expected in error for error in errors), errors


# ---------------------------------------------------------------------------------------------
# What cannot be sent is refused


def _claim(**changes: object) -> dict:
    claim = copy.deepcopy(SAMPLES["auto-pip"])
    for path, value in changes.items():
        target = claim["boxes"]
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(last) if isinstance(target, list) else last] = value
    return claim


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        (_claim(**{"11b": None}), "11b"),
        (_claim(**{"26": "MM" + "0" * 19}), "box 26"),
        (_claim(**{"1a": "PGR*7731"}), "box 1a"),
        (_claim(**{"24__0__24F": 9100}), "box 28"),
        (_claim(**{"24__1__24J": "1326081402"}), "24J"),
        (_claim(**{"24__2__24E": "AC"}), "24E"),
        (_claim(**{"10b_state": None}), "10b"),
        (_claim(**{"33a": "12345"}), "33a"),
        (_claim(**{"6": "cousin"}), "box 6"),
        (_claim(**{"24__1__24A": {"from": "2026-11-31", "to": None}}), "line 2 box 24A"),
        ({**_claim(**{"22": None}), "frequency_code": "7"}, "box 22"),
    ],
)
def test_claims_the_file_cannot_carry_are_refused(claim: dict, message: str) -> None:
    with pytest.raises(X12Error, match=message):
        build(claim)


@pytest.mark.parametrize(
    ("envelope", "control", "message"),
    [
        (ENVELOPE, 0, "control number"),
        (ENVELOPE, 1_000_000_000, "control number"),
        (ENVELOPE._replace(usage="X"), 1, "usage"),
        (ENVELOPE._replace(sender_id="A" * 16), 1, "sender id"),
        (ENVELOPE._replace(receiver_id="CLEAR~HOUSE"), 1, "receiver id"),
        (ENVELOPE._replace(version="005010X222"), 1, "version"),
    ],
)
def test_bad_envelopes_are_refused(envelope: Envelope, control: int, message: str) -> None:
    with pytest.raises(X12Error, match=message):
        interchange([SAMPLES["auto-pip"]], envelope, control, CREATED)


# ---------------------------------------------------------------------------------------------
# Fast, and light on start-up

SPEED = """
import json, sys, time
start = time.perf_counter()
from datetime import datetime
from medmassage.claims.x12 import Envelope, interchange
samples = [json.loads(open(p).read()) for p in sys.argv[1:]]
claims = []
for n in range(50):
    claim = json.loads(json.dumps(samples[n % len(samples)]))
    claim["boxes"]["26"] = f"MM{n:06d}"
    claims.append(claim)
envelope = Envelope("MEDMASS01", "CLEARHOUSE1", "X", "Y", "Z", "3605550142")
document = interchange(claims, envelope, 1, datetime(2026, 12, 3, 13, 20))
print(time.perf_counter() - start, document.count("CLM*"), "pydantic" in sys.modules)
"""


def test_fifty_claims_in_well_under_the_budget() -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", SPEED, *map(str, sorted(DATA.glob("*.json")))],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - began
    inside, claims, pydantic = done.stdout.split()
    assert claims == "50" and pydantic == "False"
    assert float(inside) < 0.5  # import and build; the budget for `claim export` is 2 s
    assert wall < 2.0


def test_the_hipaa_adopted_a1_guide_validates_against_pyx12s_own_a1_rules(maps: Path) -> None:
    """A clearinghouse asking for 005010X222A1 (profile set --x12-version A1) gets it in GS08 and
    ST03, and pyx12 checks that file against the A1 rules it ships, with nothing re-registered."""
    document = interchange(
        list(SAMPLES.values()), ENVELOPE._replace(version="005010X222A1"), 7, CREATED
    )
    segments = parse(document)
    assert next(s for s in segments if s[0] == "GS")[8] == "005010X222A1"
    assert next(s for s in segments if s[0] == "ST")[3] == "005010X222A1"
    assert validate(document, maps) == []
