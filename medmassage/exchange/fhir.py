"""`export fhir`: one client's record as an HL7 FHIR R4 Bundle (type "collection"), each resource
conforming to its US Core 6.1.0 profile (named in `meta.profile`, canonical URLs in PROFILES).

What is in the bundle, in this order:

- **Patient** (us-core-patient): name with `text` exactly as entered and, as US Core requires
  (us-core-6), `family` and `given` split from it mechanically: the client has one name field,
  so the last word is the family name and the words before it the given names ("Zoë
  Nuñez-Ørsted" → given Zoë, family Nuñez-Ørsted; "Mary Ann van Dyke" → given Mary, Ann, van,
  family Dyke: a receiving system should show `text`). gender from sex (female, male, other,
  unknown are FHIR's own codes), `unknown` when none was recorded (US Core requires gender).
  birthDate, telecom phone/email, address as `text`. Identifiers: the practice's medical record
  number (type v2-0203 MR, the client number medmassage shows) under the practice's own system
  (below), and the resource's URI.
- **Practitioner** (us-core-practitioner; from the profile, left out with a warning when there
  is none): name split the same way (US Core requires name.family), the NPI as an identifier in
  `http://hl7.org/fhir/sid/us-npi`, telecom, address, and one qualification: credentials (e.g.
  LMT) as its code text, the license number as its identifier, the license state as its issuer.
- **Condition** (us-core-condition-encounter-diagnosis) per diagnosis of each case: ICD-10-CM
  coding (`http://hl7.org/fhir/sid/icd-10-cm`, the code, its description as display),
  clinicalStatus `active` while the case is open and `resolved` once it is closed (with the
  close date as abatementDateTime), category encounter-diagnosis, verificationStatus confirmed
  (the diagnosis comes from the referral), the referring provider as asserter (display only),
  recordedDate the day the case was opened.
- **Encounter** (us-core-encounter) per session that is not void: status finished, class AMB
  (ambulatory, `http://terminology.hl7.org/CodeSystem/v3-ActCode`), type SNOMED CT 308335008
  "Patient encounter procedure" (the US Core Encounter Type value set is that concept and its
  descendants, plus CPT; text "Medical massage therapy session"), period from the date, start
  time and minutes (a session logged without a start time has the date alone as start and end),
  length in minutes, the Practitioner as primary performer, the case's Conditions as
  reasonReference.
- **Observation** (us-core-observation-screening-assessment: US Core 6.1 has no pain profile,
  and a patient-reported 0-10 score is a screening assessment, category `survey`) ×2 per
  session, pain before and after treatment: LOINC 72514-3 "Pain severity - 0-10 verbal numeric
  rating [Score] - Reported", valueInteger 0–10, effectiveDateTime, subject, the Patient as
  performer (she reports it), the Encounter. Status `final` for a signed note and `preliminary`
  for a draft (whose numbers can still change).

How a receiving EHR tells the pre-session score from the post-session one (both carry the
same LOINC code, as the score itself is the same measurement):

1. `code.text` says it: "Pain severity 0-10, before treatment" / "… after treatment" — the text
   an EHR shows beside the LOINC code;
2. `note[0].text` is "Before treatment" / "After treatment";
3. `effectiveDateTime` is the Encounter's period.start for the pre score and period.end for the
   post score (when the session has a start time);
4. an `identifier` under the practice's pain-score system (below) is "<session uuid>/pre" or
   "…/post", and the resource's fullUrl is a different stable UUID for each.

Stable identities: every fullUrl is `urn:uuid:` + a UUIDv5 of the table and row key in a
namespace made from the database's PRAGMA application_id *and its first audit row* (when and
by whom the practice file began). application_id alone is the same for every medmassage
database, so two practices' "client 1" would otherwise get the same UUID. The audit log is
append-only, so the namespace never changes: exporting the same data again gives the same
bytes. The bundle carries no export timestamp for the same reason. Each resource's `id` is its
UUID, and `identifier` repeats the fullUrl (system `urn:ietf:rfc:3986`), so an EHR importing
the bundle twice can recognise what it already has.

Identifier systems the practice owns: the practice's random id (practice_meta, made once when
the database got its audit chain, never changed; it also names the audit key) is a UUID, so
each system is `urn:uuid:` + UUIDv5(practice id, a fixed name): "medical-record-number" for the
Patient's MR identifier, "pain-score" for the Observations'. No two practices share them, and
they never change (PracticeSystems).

Times: a session's start time is wall-clock time where the practice is. It gets the UTC offset
of the profile's time zone on that day (daylight saving included; the end is start + minutes,
computed in UTC), so the same file exports the same bytes on any computer. A profile without a
time zone (profile.py says when that happens) falls back to this computer's, with a warning.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.record.authorizations import load_many

LOINC = "http://loinc.org"
PAIN_CODE = "72514-3"
PAIN_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
URI_SYSTEM = "urn:ietf:rfc:3986"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
# The US Core 6.1.0 profile each resource claims (meta.profile).
PROFILES = {
    "Patient": US_CORE + "us-core-patient",
    "Practitioner": US_CORE + "us-core-practitioner",
    "Condition": US_CORE + "us-core-condition-encounter-diagnosis",
    "Encounter": US_CORE + "us-core-encounter",
    "Observation": US_CORE + "us-core-observation-screening-assessment",
}
ENCOUNTER_TYPE = {
    "coding": [{"system": SNOMED, "code": "308335008", "display": "Patient encounter procedure"}],
    "text": "Medical massage therapy session",
}

# Which pain score: the word in identifiers, the note, and the code's text.
PAIN_MOMENTS = {
    "pre": ("Before treatment", "Pain severity 0-10, before treatment"),
    "post": ("After treatment", "Pain severity 0-10, after treatment"),
}


class FhirExport(NamedTuple):
    bundle: dict
    counts: dict[str, int]  # resourceType → entries
    warnings: list[str]


def practice_namespace(conn: sqlite3.Connection) -> uuid.UUID:
    """The UUID namespace of this practice database (see the module doc)."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    first = conn.execute("SELECT at, actor FROM audit ORDER BY id LIMIT 1").fetchone()
    origin = f"{first[0]}|{first[1]}" if first else ""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"medmassage:{application_id}:{origin}")


class PracticeSystems(NamedTuple):
    """Identifier systems of this practice (see the module doc)."""

    medical_record_number: str
    pain_score: str


def practice_systems(conn: sqlite3.Connection) -> PracticeSystems:
    from medmassage.store.audit import practice_id

    practice = uuid.UUID(practice_id(conn))
    return PracticeSystems(
        f"urn:uuid:{uuid.uuid5(practice, 'medical-record-number')}",
        f"urn:uuid:{uuid.uuid5(practice, 'pain-score')}",
    )


def human_name(full: str) -> dict:
    """A HumanName: `text` as entered, the last word as family, the words before it as given."""
    words = full.split()
    name = {"text": full, "family": words[-1] if words else full}
    if len(words) > 1:
        name["given"] = words[:-1]
    return name


def practice_zone(conn: sqlite3.Connection, warnings: list[str]) -> tzinfo | None:
    """The profile's time zone; without one, this computer's (None: its local offsets), with a
    warning that another computer could export other offsets."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from medmassage.record.profile import TIME_ZONE_HELP, computer_zone, stored_time_zone

    name = stored_time_zone(conn)
    if name is None:
        name = computer_zone()
        shown = f" ({name})" if name else ""
        warnings.append(
            f"the profile has no time zone: times use this computer's{shown}; set the "
            "practice's with `medmassage profile set --time-zone ZONE` so every computer "
            "exports the same times"
        )
        if name is None:
            return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            "time-zone",
            name,
            f"not in this computer's time zone database; set {TIME_ZONE_HELP} "
            "with `medmassage profile set --time-zone`",
        ) from None


class _Ids:
    def __init__(self, namespace: uuid.UUID) -> None:
        self.namespace = namespace

    def uuid(self, *key: object) -> str:
        return str(uuid.uuid5(self.namespace, "/".join(str(k) for k in key)))


def _entry(resource_type: str, uid: str, body: dict) -> dict:
    url = f"urn:uuid:{uid}"
    resource = {
        "resourceType": resource_type,
        "id": uid,
        "meta": {"profile": [PROFILES[resource_type]]},
        "identifier": [{"system": URI_SYSTEM, "value": url}],
        **body,
    }
    return {"fullUrl": url, "resource": resource}


def _ref(entry: dict) -> dict:
    return {"reference": entry["fullUrl"]}


def _drop_empty(data: dict) -> dict:
    """FHIR forbids empty values: leave out keys whose value is None, "" or []."""
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def _telecom(phone: str | None, email: str | None) -> list[dict]:
    found = []
    if phone:
        found.append({"system": "phone", "value": phone})
    if email:
        found.append({"system": "email", "value": email})
    return found


def _period(row: sqlite3.Row, zone: tzinfo | None) -> tuple[str, str]:
    """Start and end as FHIR dateTimes: the wall-clock start time in the practice's zone (None:
    this computer's), the end `minutes` later in real time (a DST change in between counts)."""
    day = date.fromisoformat(row["date"])
    if not row["start_time"]:
        return day.isoformat(), day.isoformat()
    wall = datetime.combine(day, time.fromisoformat(row["start_time"]))
    start = wall.replace(tzinfo=zone) if zone is not None else wall.astimezone()
    end = (start.astimezone(UTC) + timedelta(minutes=row["minutes"])).astimezone(zone)
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")


def build_bundle(
    conn: sqlite3.Connection, client: sqlite3.Row, case_ids: list[int] | None = None
) -> FhirExport:
    """The client's bundle; `case_ids` limits it to those cases (default: all the client's).

    Reads only; call it inside one read transaction for a consistent picture.
    """
    ids = _Ids(practice_namespace(conn))
    systems = practice_systems(conn)
    warnings: list[str] = []
    zone = practice_zone(conn, warnings)
    entries: list[dict] = []

    patient = _entry(
        "Patient",
        ids.uuid("client", client["id"]),
        _drop_empty(
            {
                "name": [human_name(client["name"])],
                "telecom": _telecom(client["phone"], client["email"]),
                "gender": client["sex"] or "unknown",
                "birthDate": client["dob"],
                "address": [{"text": client["address"]}] if client["address"] else None,
            }
        ),
    )
    patient["resource"]["identifier"].insert(
        0,
        {
            "use": "usual",
            "type": {
                "coding": [
                    {"system": IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}
                ],
                "text": "Medical record number",
            },
            "system": systems.medical_record_number,
            "value": str(client["id"]),
        },
    )
    entries.append(patient)

    practitioner = _practitioner(conn, ids, warnings)
    if practitioner is not None:
        entries.append(practitioner)

    if case_ids is None:
        cases = conn.execute(
            "SELECT * FROM care_case WHERE client_id = ? ORDER BY id", (client["id"],)
        ).fetchall()
    else:
        marks = ", ".join("?" for _ in case_ids)
        cases = conn.execute(
            f"SELECT * FROM care_case WHERE id IN ({marks}) AND client_id = ? ORDER BY id",
            (*case_ids, client["id"]),
        ).fetchall()

    # The diagnosing provider: the prescriber of each case's first authorization.
    prescribers = {
        case_id: authorizations[0].prescriber_line
        for case_id, authorizations in load_many(conn, [c["id"] for c in cases]).items()
    }
    conditions_by_case: dict[int, list[dict]] = {}
    for case in cases:
        found = []
        for dx in conn.execute(
            "SELECT code, description FROM diagnosis WHERE case_id = ? ORDER BY position",
            (case["id"],),
        ):
            found.append(_condition(ids, case, dx, patient, prescribers[case["id"]]))
        conditions_by_case[case["id"]] = found
        entries.extend(found)

    if cases:
        marks = ", ".join("?" for _ in cases)
        sessions = conn.execute(
            f"SELECT * FROM session WHERE case_id IN ({marks}) AND status != 'void' "
            "ORDER BY date, coalesce(start_time, ''), id",
            tuple(c["id"] for c in cases),
        ).fetchall()
    else:
        sessions = []
    for session in sessions:
        encounter, observations = _visit(
            ids,
            systems,
            zone,
            session,
            patient,
            practitioner,
            conditions_by_case[session["case_id"]],
        )
        entries.append(encounter)
        entries.extend(observations)

    counts: dict[str, int] = {}
    for e in entries:
        kind = e["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    bundle_key = ["bundle", "client", client["id"]]
    if case_ids is not None:
        bundle_key += ["case", *case_ids]
    bundle = {
        "resourceType": "Bundle",
        "id": ids.uuid(*bundle_key),
        "type": "collection",
        "entry": entries,
    }
    return FhirExport(bundle, counts, warnings)


def _practitioner(conn: sqlite3.Connection, ids: _Ids, warnings: list[str]) -> dict | None:
    profile = conn.execute("SELECT * FROM profile WHERE id = 1").fetchone()
    if profile is None or not profile["name"]:
        warnings.append(
            "no therapist profile: the bundle has no Practitioner "
            "(set one with: medmassage profile set --name … --npi …)"
        )
        return None
    if not profile["npi"]:
        warnings.append("the profile has no NPI: the Practitioner carries none")
    qualification = None
    if profile["credentials"] or profile["license_number"]:
        qualification = [
            _drop_empty(
                {
                    "identifier": [{"value": profile["license_number"]}]
                    if profile["license_number"]
                    else None,
                    "code": {"text": profile["credentials"] or "License"},
                    "issuer": {"display": f"State of {profile['license_state']}"}
                    if profile["license_state"]
                    else None,
                }
            )
        ]
    entry = _entry(
        "Practitioner",
        ids.uuid("profile", profile["id"]),
        _drop_empty(
            {
                "name": [human_name(profile["name"])],
                "telecom": _telecom(profile["phone"], profile["email"]),
                "address": [{"text": profile["address"]}] if profile["address"] else None,
                "qualification": qualification,
            }
        ),
    )
    if profile["npi"]:
        entry["resource"]["identifier"].append({"system": NPI_SYSTEM, "value": profile["npi"]})
    return entry


def _condition(
    ids: _Ids, case: sqlite3.Row, dx: sqlite3.Row, patient: dict, prescriber: str
) -> dict:
    closed = case["status"] == "closed"
    return _entry(
        "Condition",
        ids.uuid("diagnosis", case["id"], dx["code"]),
        _drop_empty(
            {
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": CONDITION_CLINICAL,
                            "code": "resolved" if closed else "active",
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": CONDITION_CATEGORY,
                                "code": "encounter-diagnosis",
                                "display": "Encounter Diagnosis",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [
                        {"system": ICD10CM, "code": dx["code"], "display": dx["description"]}
                    ],
                    "text": dx["description"],
                },
                "subject": _ref(patient),
                "abatementDateTime": case["close_date"] if closed else None,
                "recordedDate": case["opened"][:10],
                "asserter": {"display": prescriber},
            }
        ),
    )


def _visit(
    ids: _Ids,
    systems: PracticeSystems,
    zone: tzinfo | None,
    session: sqlite3.Row,
    patient: dict,
    practitioner: dict | None,
    conditions: list[dict],
) -> tuple[dict, list[dict]]:
    start, end = _period(session, zone)
    session_uuid = ids.uuid("session", session["id"])
    encounter = _entry(
        "Encounter",
        session_uuid,
        _drop_empty(
            {
                "status": "finished",
                "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
                "type": [ENCOUNTER_TYPE],
                "subject": _ref(patient),
                "participant": [_performer(practitioner)] if practitioner else None,
                "period": {"start": start, "end": end},
                "length": {
                    "value": session["minutes"],
                    "unit": "min",
                    "system": UCUM,
                    "code": "min",
                },
                "reasonReference": [_ref(c) for c in conditions],
            }
        ),
    )
    status = "final" if session["status"] == "signed" else "preliminary"
    observations = []
    for moment, value, when in (
        ("pre", session["pain_pre"], start),
        ("post", session["pain_post"], end),
    ):
        note, code_text = PAIN_MOMENTS[moment]
        entry = _entry(
            "Observation",
            ids.uuid("session", session["id"], "pain", moment),
            {
                "status": status,
                "category": [
                    {
                        "coding": [
                            {"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}
                        ]
                    }
                ],
                "code": {
                    "coding": [{"system": LOINC, "code": PAIN_CODE, "display": PAIN_DISPLAY}],
                    "text": code_text,
                },
                "subject": _ref(patient),
                "encounter": _ref(encounter),
                "effectiveDateTime": when,
                "performer": [_ref(patient)],  # she reports her own pain
                "valueInteger": value,
                "note": [{"text": note}],
            },
        )
        entry["resource"]["identifier"].append(
            {"system": systems.pain_score, "value": f"{session_uuid}/{moment}"}
        )
        observations.append(entry)
    return encounter, observations


def _performer(practitioner: dict) -> dict:
    return {
        "type": [
            {
                "coding": [
                    {"system": PARTICIPATION_TYPE, "code": "PPRF", "display": "primary performer"}
                ]
            }
        ],
        "individual": _ref(practitioner),
    }


def bundle_bytes(bundle: dict) -> bytes:
    """The bundle as UTF-8 JSON, the same bytes for the same data."""
    from medmassage.rules.textsafety import json_visible  # invisible characters as \u escapes

    return (json_visible(json.dumps(bundle, indent=2, ensure_ascii=False)) + "\n").encode("utf-8")
