"""`medmassage export fhir`: one client as an HL7 FHIR Bundle, through the real CLI.

Bundles are validated with fhir.resources: its 8.x line models R5 and R4B (4.3), not R4 itself;
R4B's Patient, Practitioner, Condition, Encounter, Observation and Bundle are R4's, so the R4B
models are the check here (see pyproject.toml).
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from tests.conftest import Cli, count_rows, query

NAME = "Zoë Nuñez-Ørsted"
LOINC = "http://loinc.org"
PAIN_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)")


def set_profile(cli: Cli) -> None:
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--phone", "360-555-0142",
    )  # fmt: skip


def log(cli: Cli, client: str, day: str, pre: int, post: int, *extra: str) -> None:
    cli(
        "session", "log", client, "--date", day, "--pre", str(pre), "--post", str(post),
        "--technique", "myofascial-release=30", "--region", "neck", *extra,
    )  # fmt: skip


def build(cli: Cli) -> None:
    """Zoë: an earlier closed case (1 dx, 1 visit) and an open case (2 dx) with three signed
    visits (one with a start time), one draft without a start time and one voided visit.
    Bob: his own case and visit, which must never appear in Zoë's bundle."""
    set_profile(cli)
    cli(
        "client", "add", NAME, "--dob", "1980-04-02", "--sex", "female",
        "--phone", "360-555-0100", "--email", "zoe@example.org",
        "--address", "12 Ærø Way\nOlympia WA 98501",
    )  # fmt: skip
    cli("client", "add", "Bob Smith", "--dob", "1975-01-01", "--sex", "m")
    cli(
        "case", "open", "Zoë", "--payer", "self-pay", "--dx", "M54.50", "--referrer", "Dr Ames",
        "--rx-date", "2026-09-01", "--rx-until", "2026-10-31", "--visits", "6",
    )  # fmt: skip
    log(cli, "Zoë", "2026-09-10", 8, 6, "--sign")  # session 1, case 1
    cli("case", "close", "1", "--reason", "Goals met")
    cli(
        "case", "open", "Zoë", "--payer", "health", "--dx", "M54.2", "--dx", "M62.830",
        "--referrer", "Alan Brooks, DC", "--rx-date", "2026-11-01", "--rx-until", "2026-12-31",
        "--visits", "12",
    )  # fmt: skip
    log(cli, "Zoë", "2026-11-03 14:30", 7, 4, "--sign")  # session 2
    log(cli, "Zoë", "2026-11-06", 6, 3, "--sign")  # session 3
    log(cli, "Zoë", "2026-11-10", 5, 5, "--sign")  # session 4: voided below
    log(cli, "Zoë", "2026-11-13", 5, 2)  # session 5: draft
    cli("session", "void", "4", "--reason", "Entered for the wrong client")
    cli(
        "case", "open", "Bob", "--payer", "self-pay", "--dx", "M54.50", "--referrer", "Dr Ames",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "6",
    )  # fmt: skip
    log(cli, "Bob", "2026-11-12", 4, 1, "--sign")  # session 6, case 3


@pytest.fixture
def zoe(cli: Cli) -> Cli:
    build(cli)
    return cli


def export(cli: Cli, tmp_path: Path, *args: str, name: str = "bundle.json") -> dict:
    out = tmp_path / name
    cli("export", "fhir", *args, "-o", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def validate(bundle: dict) -> None:
    """Parse the bundle and every entry's resource into the FHIR models (raises if invalid)."""
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def references(value: object) -> list[str]:
    """Every Reference.reference anywhere in the value."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


def pain_moment(observation: dict) -> str:
    """What a receiving system reads to tell the scores apart (any one of these suffices)."""
    moment = observation["identifier"][1]["value"].rsplit("/", 1)[1]
    word = {"pre": "before treatment", "post": "after treatment"}[moment]
    assert observation["code"]["text"].endswith(word)
    assert observation["note"][0]["text"].lower() == word
    return moment


def test_the_bundle_is_valid_fhir_with_the_expected_resources(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    validate(bundle)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    counts = {}
    for e in bundle["entry"]:
        counts[e["resource"]["resourceType"]] = counts.get(e["resource"]["resourceType"], 0) + 1
    # Sessions 1, 2, 3, 5 (4 is void); 3 diagnoses over two cases; two pain scores a visit.
    assert counts == {
        "Patient": 1,
        "Practitioner": 1,
        "Condition": 3,
        "Encounter": 4,
        "Observation": 8,
    }


def test_patient_and_practitioner_carry_the_records_fields(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    [patient] = resources(bundle, "Patient")
    assert patient["name"] == [{"text": NAME}]
    assert (patient["birthDate"], patient["gender"]) == ("1980-04-02", "female")
    assert patient["telecom"] == [
        {"system": "phone", "value": "360-555-0100"},
        {"system": "email", "value": "zoe@example.org"},
    ]
    assert patient["address"] == [{"text": "12 Ærø Way\nOlympia WA 98501"}]
    [practitioner] = resources(bundle, "Practitioner")
    assert practitioner["name"] == [{"text": "Dana Whitfield"}]
    assert {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"} in practitioner[
        "identifier"
    ]
    [qualification] = practitioner["qualification"]
    assert qualification["code"]["text"] == "LMT"
    assert qualification["identifier"] == [{"value": "MA60512345"}]
    # Unicode is written as itself in the file.
    assert NAME in (tmp_path / "bundle.json").read_text(encoding="utf-8")


def test_conditions_are_icd10cm_with_status_from_the_case(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    conditions = resources(bundle, "Condition")
    coded = {
        c["code"]["coding"][0]["code"]: (
            c["code"]["coding"][0]["system"],
            c["code"]["coding"][0]["display"],
            c["clinicalStatus"]["coding"][0]["code"],
        )
        for c in conditions
    }
    descriptions = {r["code"]: r["description"] for r in query(zoe.db, "SELECT * FROM diagnosis")}
    icd = "http://hl7.org/fhir/sid/icd-10-cm"
    assert coded == {
        "M54.50": (icd, descriptions["M54.50"], "resolved"),  # case 1 is closed
        "M54.2": (icd, descriptions["M54.2"], "active"),
        "M62.830": (icd, descriptions["M62.830"], "active"),
    }
    closed = next(c for c in conditions if c["code"]["coding"][0]["code"] == "M54.50")
    assert closed["abatementDateTime"] == "2026-11-27"
    for c in conditions:
        assert c["clinicalStatus"]["coding"][0]["system"] == (
            "http://terminology.hl7.org/CodeSystem/condition-clinical"
        )


def test_encounters_are_finished_ambulatory_visits_with_periods(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    encounters = resources(bundle, "Encounter")
    [practitioner] = resources(bundle, "Practitioner")
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    for enc in encounters:
        assert enc["status"] == "finished"
        assert enc["class"] == {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        }
        assert enc["participant"] == [{"individual": {"reference": urls[practitioner["id"]]}}]
        assert enc["length"]["value"] == 30
    timed = encounters[1]  # 2026-11-03 14:30, 30 minutes
    assert DATETIME.fullmatch(timed["period"]["start"])
    assert timed["period"]["start"].startswith("2026-11-03T14:30:00")
    assert timed["period"]["end"].startswith("2026-11-03T15:00:00")
    untimed = encounters[2]  # logged without a start time: the date alone
    assert untimed["period"] == {"start": "2026-11-06", "end": "2026-11-06"}
    # Reasons: the Conditions of the visit's own case.
    by_code = {
        e["fullUrl"]: e["resource"]["code"]["coding"][0]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Condition"
    }
    assert [by_code[r["reference"]] for r in encounters[0]["reasonReference"]] == ["M54.50"]
    assert [by_code[r["reference"]] for r in timed["reasonReference"]] == ["M54.2", "M62.830"]


def test_two_pain_observations_per_visit_with_loinc_and_the_scores(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    encounters = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    stored = {
        r["id"]: r
        for r in query(zoe.db, "SELECT id, date, pain_pre, pain_post, status FROM session")
    }
    session_of = {}  # Encounter fullUrl → session row, by date (one visit a day here)
    for url, res in encounters.items():
        if res["resourceType"] == "Encounter":
            day = res["period"]["start"][:10]
            [row] = [r for r in stored.values() if r["date"] == day and r["status"] != "void"]
            session_of[url] = row
    seen = {}
    for obs in resources(bundle, "Observation"):
        assert obs["code"]["coding"] == [
            {"system": LOINC, "code": "72514-3", "display": PAIN_DISPLAY}
        ]
        assert obs["category"][0]["coding"][0]["code"] == "survey"
        assert isinstance(obs["valueInteger"], int)
        row = session_of[obs["encounter"]["reference"]]
        moment = pain_moment(obs)
        assert obs["valueInteger"] == row["pain_pre" if moment == "pre" else "pain_post"]
        assert obs["status"] == ("final" if row["status"] == "signed" else "preliminary")
        seen.setdefault(row["id"], []).append(moment)
    assert seen == {1: ["pre", "post"], 2: ["pre", "post"], 3: ["pre", "post"], 5: ["pre", "post"]}


def test_pre_and_post_are_told_apart_by_time_too(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    timed = [
        o for o in resources(bundle, "Observation") if o["effectiveDateTime"][:10] == "2026-11-03"
    ]
    by_moment = {pain_moment(o): o for o in timed}
    assert by_moment["pre"]["effectiveDateTime"].startswith("2026-11-03T14:30:00")
    assert by_moment["post"]["effectiveDateTime"].startswith("2026-11-03T15:00:00")
    assert by_moment["pre"]["identifier"][1]["system"] == "urn:medmassage:pain-score"
    assert by_moment["pre"]["id"] != by_moment["post"]["id"]


def test_every_reference_resolves_inside_the_bundle(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    for entry in bundle["entry"]:
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", entry["fullUrl"])
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    refs = references(bundle)
    assert refs  # subject, encounter, participant, reasonReference
    assert set(refs) <= set(urls)
    [patient_url] = [
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    for kind in ("Condition", "Encounter", "Observation"):
        assert all(r["subject"]["reference"] == patient_url for r in resources(bundle, kind))


def test_voided_sessions_and_other_clients_are_left_out(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    text = json.dumps(bundle, ensure_ascii=False)
    assert "2026-11-10" not in text  # the voided visit's date
    assert "Bob" not in text and "2026-11-12" not in text
    assert len(resources(bundle, "Encounter")) == 4


def test_a_re_export_is_byte_for_byte_identical(zoe: Cli, tmp_path: Path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    zoe("export", "fhir", "Zoë", "-o", str(first))
    # Another client's new visit changes nothing in Zoë's bundle.
    zoe(
        "session", "log", "Bob", "--date", "2026-11-20", "--pre", "3", "--post", "1",
        "--technique", "swedish=30", "--region", "neck",
    )  # fmt: skip
    zoe("export", "fhir", "Zoë", "-o", str(second))
    assert first.read_bytes() == second.read_bytes()
    assert zoe("export", "fhir", "Zoë").stdout.encode("utf-8") == first.read_bytes()
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_ids_differ_between_practices(tmp_path: Path):
    """Same row ids in two practice files must not give the same UUIDs (application_id is the
    same for every medmassage database; the first audit row tells the files apart)."""
    from medmassage.db import connect
    from medmassage.fhir import practice_namespace

    spaces = []
    for name, at in (("a.db", "2026-01-01T09:00:00+00:00"), ("b.db", "2026-02-01T09:00:00+00:00")):
        conn, _ = connect(tmp_path / name)
        conn.execute(
            "INSERT INTO audit (at, actor, action, entity) VALUES (?, 'dana', 'set', 'profile')",
            (at,),
        )
        spaces.append(practice_namespace(conn))
        # Later audit rows change nothing.
        conn.execute(
            "INSERT INTO audit (at, actor, action, entity) VALUES (?, 'x', 'y', 'z')",
            ("2030-01-01T00:00:00+00:00",),
        )
        assert practice_namespace(conn) == spaces[-1]
        conn.close()
    assert spaces[0] != spaces[1]


def test_case_option_limits_the_bundle_to_that_case(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë", "--case", "2")
    validate(bundle)
    assert [c["code"]["coding"][0]["code"] for c in resources(bundle, "Condition")] == [
        "M54.2",
        "M62.830",
    ]
    assert len(resources(bundle, "Encounter")) == 3
    assert len(resources(bundle, "Observation")) == 6
    whole = export(zoe, tmp_path, "Zoë", name="whole.json")
    assert bundle["id"] != whole["id"]
    # The same resources keep the same ids whichever way they were exported.
    assert {e["fullUrl"] for e in bundle["entry"]} <= {e["fullUrl"] for e in whole["entry"]}


def test_without_a_profile_there_is_no_practitioner_and_a_warning(cli: Cli, tmp_path: Path):
    cli("client", "add", NAME)
    result = cli("export", "fhir", NAME)
    bundle = json.loads(result.stdout)
    validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]
    assert bundle["entry"][0]["resource"]["name"] == [{"text": NAME}]
    assert "no therapist profile" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Nobody",), "client: 'Nobody' — no client matches"),
        (("Zoë", "--case", "3"), "belongs to another client"),
        (("Zoë", "--case", "99"), "no case has this id"),
        (("Zoë", "-o", "{tmp}/missing/bundle.json"), "cannot write there"),
        (("Zoë", "-o", "{tmp}"), "cannot write there"),
        (("Zoë", "-o", "/"), "give a file name"),
    ],
)
def test_bad_fhir_input_is_one_line_exit_2_and_writes_nothing(
    zoe: Cli, tmp_path: Path, args, message
):
    before = count_rows(zoe.db)
    listing = sorted(tmp_path.rglob("*"))
    result = zoe("export", "fhir", *(a.format(tmp=tmp_path) for a in args), ok=False)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert count_rows(zoe.db) == before
    assert sorted(tmp_path.rglob("*")) == listing
