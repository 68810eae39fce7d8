"""Every command's happy path through the real CLI, asserting the data it stores and prints.

stdout carries data only (ids, tables, JSON, CSV); messages and warnings go to stderr.
The CliRunner is not a terminal, so tables are plain text.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import sys
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import query

# A visit row of the plain progress table: "#  Date  Min  …".
PROGRESS_ROW = re.compile(r"^\s*(\d+)\s{2}(\d{4}-\d{2}-\d{2})\s+(\d+)\s{2}")
BOX_CHARS = set("┃━┏┓┗┛│─┡┩╇")


def log(cli, *extra: str, client: str = "Jane", pre: str = "6", post: str = "3",
        day: str | None = None, tech: tuple[str, ...] = ("myofascial-release=25", "swedish=20"),
        region: tuple[str, ...] = ("neck",), ok: bool = True):  # fmt: skip
    args = ["session", "log", client, "--pre", pre, "--post", post]
    for t in tech:
        args += ["--technique", t]
    for r in region:
        args += ["--region", r]
    if day:
        args += ["--date", day]
    return cli(*args, *extra, ok=ok)


def one(db: Path, sql: str, params: tuple = ()):
    rows = query(db, sql, params)
    assert len(rows) == 1, f"{sql} -> {len(rows)} rows"
    return rows[0]


def bare_runner_invoke(*args: str):
    """`medmassage ARGS` without the --db option the `cli` fixture always adds."""
    from medmassage.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def progress_rows(stdout: str) -> list[tuple[int, str, int]]:
    out = []
    for line in stdout.splitlines():
        m = PROGRESS_ROW.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2), int(m.group(3))))
    return out


def summary_line(stdout: str, label: str) -> str:
    """The value beside `label` in the lines under the progress table."""
    for line in stdout.splitlines():
        if line.startswith(label + "  "):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} line in:\n{stdout}")


# --- profile --------------------------------------------------------------------------------


def set_full_profile(cli):
    return cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "wa", "--npi", "1234567893",
        "--practice-name", "Cedar Street Medical Massage", "--address", "412 Cedar St",
        "--phone", "360-555-0142", "--email", "dana@example.com", "--tax-id", "91-1234567",
        "--fee", "97140=45", "--fee", "97124=38.50",
        "--report-every", "workers-comp=6/30", "--report-every", "health=8/21",
    )  # fmt: skip


def test_profile_set_stores_fields_fees_and_report_rules(cli, db_path):
    result = set_full_profile(cli)
    assert result.stdout == ""
    assert "Profile updated" in result.stderr
    row = one(db_path, "SELECT * FROM profile")
    assert (row["name"], row["credentials"], row["license_number"], row["license_state"]) == (
        "Dana Whitfield",
        "LMT",
        "MA60512345",
        "WA",
    )
    assert (row["npi"], row["practice_name"], row["address"]) == (
        "1234567893",
        "Cedar Street Medical Massage",
        "412 Cedar St",
    )
    assert (row["phone"], row["email"], row["tax_id"]) == (
        "360-555-0142",
        "dana@example.com",
        "91-1234567",
    )
    fees = {r["cpt"]: r["cents"] for r in query(db_path, "SELECT * FROM fee")}
    assert fees == {"97140": 4500, "97124": 3850}
    rules = {
        r["payer_type"]: (r["every_visits"], r["every_days"])
        for r in query(db_path, "SELECT * FROM report_rule")
    }
    assert rules == {"workers-comp": (6, 30), "health": (8, 21)}

    # Only the fields given change.
    cli("profile", "set", "--phone", "360-555-0000", "--fee", "97140=50")
    row = one(db_path, "SELECT name, phone FROM profile")
    assert (row["name"], row["phone"]) == ("Dana Whitfield", "360-555-0000")
    assert one(db_path, "SELECT cents FROM fee WHERE cpt = '97140'")["cents"] == 5000


def test_profile_show_table_and_json(cli):
    set_full_profile(cli)
    text = cli("profile", "show").stdout
    assert text.splitlines()[0] == "Therapist profile"
    assert re.search(r"^Name\s+Dana Whitfield$", text, re.M)
    assert re.search(r"^License\s+WA MA60512345$", text, re.M)
    assert re.search(r"^NPI\s+1234567893$", text, re.M)
    assert re.search(r"^Fees per unit\s+97124 \$38\.50, 97140 \$45\.00$", text, re.M)
    assert "health: every 8 visits or 21 days" in text
    assert "workers-comp: every 6 visits or 30 days" in text

    data = json.loads(cli("profile", "show", "-f", "json").stdout)
    assert data["name"] == "Dana Whitfield"
    assert data["license_state"] == "WA"
    assert data["tax_id"] == "91-1234567"
    assert data["fees"] == {"97124": 38.5, "97140": 45.0}
    assert data["report_rules"]["health"] == "every 8 visits or 21 days"
    assert data["report_rules"]["workers-comp"] == "every 6 visits or 30 days"
    assert data["report_rules"]["auto-pip"] == "every 10 visits or 30 days"


# --- clients --------------------------------------------------------------------------------


def test_client_add_prints_only_the_new_id(cli, db_path):
    first = cli(
        "client", "add", "Jane Doe", "--dob", "1980-04-02", "--phone", "360-555-0100",
        "--email", "jane@example.com", "--address", "1 Main St", "--sex", "f",
    )  # fmt: skip
    assert first.stdout == "1\n"
    assert "Added client 1" in first.stderr
    second = cli("client", "add", "Bob Smith")
    assert second.stdout == "2\n"
    row = one(db_path, "SELECT * FROM client WHERE id = 1")
    assert (row["name"], row["dob"], row["phone"], row["email"]) == (
        "Jane Doe",
        "1980-04-02",
        "360-555-0100",
        "jane@example.com",
    )
    assert (row["address"], row["sex"], row["status"]) == ("1 Main St", "female", "active")
    assert one(db_path, "SELECT name, dob FROM client WHERE id = 2")["name"] == "Bob Smith"


def test_client_list_last_visit_skips_void_visits_across_cases(practice):
    cli = practice  # Jane: health case 1
    visit = ("--pre", "5", "--post", "3", "--technique", "swedish=30", "--region", "neck")
    cli("session", "log", "Jane", "--date", "2026-11-10", *visit)
    cli("session", "log", "Jane", "--date", "2026-11-20", *visit)
    cli("session", "void", "2", "--reason", "entered in error")
    listed = json.loads(cli("client", "list", "-f", "json").stdout)
    assert [(c["last_visit"], c["open_cases"]) for c in listed] == [("2026-11-10", 1)]
    cli(
        "case", "open", "Jane", "--payer", "self-pay", "--dx", "M54.2", "--referrer", "Dr Ames",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "5",
    )  # fmt: skip
    cli("session", "log", "Jane", "--case", "2", "--date", "2026-11-15", *visit)
    listed = json.loads(cli("client", "list", "-f", "json").stdout)
    assert [(c["last_visit"], c["open_cases"]) for c in listed] == [("2026-11-15", 2)]
    cli("session", "log", "Jane", "--case", "1", "--date", "2026-11-25", *visit)
    listed = json.loads(cli("client", "list", "-f", "json").stdout)
    assert listed[0]["last_visit"] == "2026-11-25"


def test_client_list_shows_active_and_all_includes_discharged(cli):
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02", "--phone", "360-555-0100")
    cli("client", "add", "Bob Smith")
    cli("client", "add", "Carla Diaz")
    cli("client", "discharge", "Bob", "--reason", "Moved away")

    active = json.loads(cli("client", "list", "-f", "json").stdout)
    assert [(c["id"], c["name"], c["status"]) for c in active] == [
        (3, "Carla Diaz", "active"),
        (1, "Jane Doe", "active"),
    ]
    everyone = json.loads(cli("client", "list", "--all", "-f", "json").stdout)
    assert [(c["id"], c["status"]) for c in everyone] == [
        (2, "discharged"),
        (3, "active"),
        (1, "active"),
    ]

    table = cli("client", "list").stdout
    assert table.splitlines()[0] == "2 client(s)"
    assert re.search(r"^\s*1\s+Jane Doe\s+1980-04-02\s+360-555-0100\s+0\s+active$", table, re.M)
    assert "Bob Smith" not in table
    table_all = cli("client", "list", "--all").stdout
    assert re.search(r"^\s*2\s+Bob Smith\s+0\s+discharged$", table_all, re.M)


@pytest.mark.parametrize("ref", ["1", "jane", "DOE", "ane d", "Jane Doe"])
def test_client_show_by_id_or_part_of_the_name(practice, ref):
    text = practice("client", "show", ref).stdout
    assert re.search(r"^Client\s+1 Jane Doe$", text, re.M)
    assert re.search(r"^Born\s+1980-04-02$", text, re.M)
    assert re.search(r"^Phone\s+360-555-0100$", text, re.M)
    assert re.search(r"^Status\s+active$", text, re.M)
    # The case table under the record: case 1, health, Regence, 0 of 12, open.
    assert re.search(r"^\s*1\s+health\s+Regence\s+0\s+12\s+2026-12-31\s+open$", text, re.M)


def test_client_show_json(practice):
    data = json.loads(practice("client", "show", "jane", "-f", "json").stdout)
    assert (data["id"], data["name"], data["dob"], data["status"]) == (
        1,
        "Jane Doe",
        "1980-04-02",
        "active",
    )
    assert data["cases"] == [
        {
            "id": 1,
            "payer_type": "health",
            "payer_name": "Regence",
            "status": "open",
            "rx_until": "2026-12-31",
            "visits_authorized": 12,
            "visits_used": 0,
        }
    ]


@pytest.mark.parametrize("ref", ["ángela", "ÁNGELA RUIZ", "ángela ruiz"])
def test_client_show_finds_accented_names_case_insensitively(cli, ref):
    """Spanish, French, Vietnamese… names: lower-case typing must still find the client."""
    cli("client", "add", "Ángela Ruiz")
    result = cli("client", "show", ref, ok=False)
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^Client\s+1 Ángela Ruiz$", result.stdout, re.M)


def test_client_edit_changes_phone_and_empty_string_clears_email(cli, db_path):
    cli("client", "add", "Jane Doe", "--phone", "360-555-0100", "--email", "jane@example.com")
    result = cli("client", "edit", "jane", "--phone", "360-555-0199", "--email", "")
    assert result.stdout == ""
    assert "Client 1 updated: email, phone" in result.stderr
    row = one(db_path, "SELECT name, phone, email FROM client WHERE id = 1")
    assert (row["name"], row["phone"], row["email"]) == ("Jane Doe", "360-555-0199", None)
    text = cli("client", "show", "1").stdout
    assert re.search(r"^Phone\s+360-555-0199$", text, re.M)
    assert "Email" not in text


def test_client_discharge_closes_open_cases(practice, db_path):
    result = practice("client", "discharge", "Jane", "--reason", "Goals met")
    assert result.stdout == ""
    assert "Discharged client 1 Jane Doe; closed case(s) 1" in result.stderr
    client = one(db_path, "SELECT * FROM client WHERE id = 1")
    assert (client["status"], client["discharge_reason"], client["discharge_date"]) == (
        "discharged",
        "Goals met",
        "2026-11-27",
    )
    case = one(db_path, "SELECT * FROM care_case WHERE id = 1")
    assert (case["status"], case["close_reason"], case["close_date"]) == (
        "closed",
        "Goals met",
        "2026-11-27",
    )


# --- cases ----------------------------------------------------------------------------------


def test_case_open_with_every_option(cli, db_path):
    cli("client", "add", "Sam Lee")
    result = cli(
        "case", "open", "Sam", "--payer", "workers-comp", "--payer-name", "WA L&I",
        "--policy", "POL-1", "--claim", "BH-55231", "--injury-date", "2026-10-15",
        "--adjuster", "R. Okafor 800-555-0110", "--dx", "M54.50", "--dx", "s134xxa",
        "--referrer", "Susan Lee, MD", "--referrer-npi", "1987654328",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "8",
        "--frequency", "2x/week", "--area", "neck", "--area", "lower-back",
        "--units-rule", "ama",
    )  # fmt: skip
    assert result.stdout == "1\n"
    assert "Opened case 1 for Sam Lee (workers-comp)" in result.stderr
    assert "M54.50  Low back pain, unspecified" in result.stderr
    assert "S13.4XXA  Sprain of ligaments of cervical spine, initial encounter" in result.stderr
    assert "referrer-npi" not in result.stderr  # the NPI was given: no warning

    case = one(db_path, "SELECT * FROM care_case WHERE id = 1")
    assert dict(case) | {"opened": None} == {
        "id": 1,
        "client_id": 1,
        "payer_type": "workers-comp",
        "payer_name": "WA L&I",
        "policy": "POL-1",
        "claim": "BH-55231",
        "injury_date": "2026-10-15",
        "adjuster": "R. Okafor 800-555-0110",
        "units_rule": "ama",
        "status": "open",
        "close_date": None,
        "close_reason": None,
        "opened": None,
    } | dict.fromkeys(  # the claim details (migration 12): none given here
        ("payer_id", "payer_address", "insured_name", "insured_relationship", "insured_dob",
         "insured_sex", "insured_address", "group_number", "employer", "accident_state",
         "account_number", "unable_from", "unable_to")
    )  # fmt: skip
    # The prescription is the case's first authorization (valid from the date written).
    authorization = one(db_path, "SELECT * FROM authorization WHERE case_id = 1")
    assert dict(authorization) | {"created": None} == {
        "id": 1,
        "case_id": 1,
        "prescriber": "Susan Lee, MD",
        "prescriber_credentials": None,
        "prescriber_npi": "1987654328",
        "written": "2026-11-01",
        "valid_from": "2026-11-01",
        "valid_until": "2026-12-31",
        "visits": 8,
        "frequency": "2x/week",
        "areas_ordered": '["neck", "lower-back"]',
        "auth_number": None,
        "note": None,
        "created": None,
    }
    dx = [tuple(r) for r in query(db_path, "SELECT position, code FROM diagnosis ORDER BY 1")]
    assert dx == [(1, "M54.50"), (2, "S13.4XXA")]


def test_case_list_all_and_for_one_client(practice):
    practice("client", "add", "Bob Smith")
    practice(
        "case", "open", "Bob", "--payer", "self-pay", "--dx", "M72.2",
        "--referrer", "Maya Patel, DPM", "--rx-date", "2026-11-10",
        "--rx-until", "2027-01-10", "--visits", "4",
    )  # fmt: skip
    everything = json.loads(practice("case", "list", "-f", "json").stdout)
    assert [(c["id"], c["client"], c["payer_type"], c["dx"]) for c in everything] == [
        (2, "Bob Smith", "self-pay", "M72.2"),
        (1, "Jane Doe", "health", "M54.2"),
    ]
    bobs = json.loads(practice("case", "list", "Bob", "-f", "json").stdout)
    assert [(c["id"], c["client_id"], c["visits_authorized"]) for c in bobs] == [(2, 2, 4)]

    table = practice("case", "list", "jane").stdout
    assert table.splitlines()[0] == "1 case(s)"
    assert re.search(
        r"^\s*1\s+Jane Doe\s+health\s+Regence\s+M54\.2\s+0\s+12\s+2026-12-31\s+open$", table, re.M
    )
    assert "Bob" not in table


def test_case_show_json_and_text(practice):
    log(practice, day="2026-11-03")
    data = json.loads(practice("case", "show", "1", "-f", "json").stdout)
    assert data["diagnoses"] == [{"code": "M54.2", "description": "Cervicalgia"}]
    assert data["visits_used"] == 1
    assert data["visits_authorized"] == 12
    assert data["client"] == "Jane Doe"
    assert data["payer_name"] == "Regence"
    assert data["referrer"] == "Alan Brooks, DC"
    assert data["referrer_npi"] == "1987654328"
    assert data["areas_ordered"] == ["neck", "upper-back"]
    assert data["intake"]["pain"] == 7
    assert data["intake"]["complaint"] == "Neck pain at the desk"

    text = practice("case", "show", "1").stdout
    assert re.search(r"^Diagnoses\s+M54\.2  Cervicalgia$", text, re.M)
    assert re.search(r"^Visits\s+1 of 12 authorized$", text, re.M)
    assert re.search(r"^Referrer\s+Alan Brooks, DC \(NPI 1987654328\)$", text, re.M)
    assert re.search(r"^Prescription\s+2026-11-01 to 2026-12-31$", text, re.M)
    assert re.search(r"^Intake\s+2026-11-02: Neck pain at the desk \(pain 7/10\)$", text, re.M)


def test_case_close_with_reason(practice, db_path):
    result = practice("case", "close", "1", "--reason", "Rx ended")
    assert result.stdout == ""
    assert "Closed case 1" in result.stderr
    case = one(db_path, "SELECT status, close_reason, close_date FROM care_case WHERE id = 1")
    assert tuple(case) == ("closed", "Rx ended", "2026-11-27")
    # The client stays active; the case list shows it closed.
    assert one(db_path, "SELECT status FROM client WHERE id = 1")["status"] == "active"
    listed = json.loads(practice("case", "list", "-f", "json").stdout)
    assert [(c["id"], c["status"]) for c in listed] == [(1, "closed")]


# --- intake and measures --------------------------------------------------------------------


def test_intake_with_every_option_stores_intake_goals_and_measures(cli, db_path):
    cli("client", "add", "Sam Lee")
    cli(
        "case", "open", "Sam", "--payer", "health", "--dx", "M54.50",
        "--referrer", "Paul Ortiz, PA-C", "--rx-date", "2026-11-01",
        "--rx-until", "2026-12-31", "--visits", "8",
    )  # fmt: skip
    result = cli(
        "intake", "Sam", "--complaint", "Low back pain after lifting", "--pain", "6",
        "--region", "lower-back", "--region", "gluteal-right", "--date", "2026-11-02",
        "--condition", "chronic-low-back-pain", "--onset", "2026-10-01",
        "--mechanism", "Lifting boxes", "--aggravating", "Sitting", "--relieving", "Heat",
        "--limitation", "Sitting tolerance 20 min", "--limitation", "Cannot lift over 15 lb",
        "--history", "No surgery", "--medications", "Ibuprofen", "--contraindications", "None",
        "--consent-date", "2026-11-02", "--goal", "Sit 60 minutes | 60 min | 2026-12-31",
        "--goal", "Lift groceries", "--ndi", "40", "--odi", "32.5",
        "--psfs", "drive=3", "--psfs", "sleep through the night=4",
    )  # fmt: skip
    assert result.stdout == "1\n"
    assert "Intake recorded for Sam Lee, case 1" in result.stderr
    assert "warning" not in result.stderr  # condition matches the dx; consent given

    row = one(db_path, "SELECT * FROM intake")
    assert row["case_id"] == 1
    assert row["date"] == "2026-11-02"
    assert row["complaint"] == "Low back pain after lifting"
    assert row["pain"] == 6
    assert json.loads(row["regions"]) == ["lower-back", "gluteal-right"]
    assert json.loads(row["conditions"]) == ["chronic-low-back-pain"]
    assert row["onset_date"] == "2026-10-01"
    assert (row["mechanism"], row["aggravating"], row["relieving"]) == (
        "Lifting boxes",
        "Sitting",
        "Heat",
    )
    assert json.loads(row["limitations"]) == ["Sitting tolerance 20 min", "Cannot lift over 15 lb"]
    assert (row["history"], row["medications"], row["contraindications"]) == (
        "No surgery",
        "Ibuprofen",
        "None",
    )
    assert row["consent_date"] == "2026-11-02"

    goals = [tuple(r) for r in query(db_path, "SELECT text, target, target_date, status FROM goal")]
    assert goals == [
        ("Sit 60 minutes", "60 min", "2026-12-31", "progressing"),
        ("Lift groceries", None, None, "progressing"),
    ]
    measures = {
        (r["kind"], r["activity"]): (r["score"], r["date"])
        for r in query(db_path, "SELECT * FROM measure WHERE case_id = 1")
    }
    assert measures == {
        ("nprs", None): (6.0, "2026-11-02"),
        ("ndi", None): (40.0, "2026-11-02"),
        ("odi", None): (32.5, "2026-11-02"),
        ("psfs", "drive"): (3.0, "2026-11-02"),
        ("psfs", "sleep through the night"): (4.0, "2026-11-02"),
    }


def test_measure_add_records_each_measure(practice, db_path):
    result = practice(
        "measure", "add", "Jane", "--date", "2026-11-20", "--nprs", "4", "--ndi", "22",
        "--odi", "12.5", "--psfs", "turn head to drive=6",
    )  # fmt: skip
    assert result.stdout == ""
    assert "Recorded 4 measure(s) for Jane Doe, case 1 on 2026-11-20" in result.stderr
    rows = {
        (r["kind"], r["activity"]): r["score"]
        for r in query(db_path, "SELECT * FROM measure WHERE date = '2026-11-20'")
    }
    assert rows == {
        ("nprs", None): 4.0,
        ("ndi", None): 22.0,
        ("odi", None): 12.5,
        ("psfs", "turn head to drive"): 6.0,
    }
    # Without --date the measure is dated today.
    practice("measure", "add", "Jane", "--nprs", "3")
    assert query(db_path, "SELECT score FROM measure WHERE date = '2026-11-27'")[0]["score"] == 3.0


# --- session log ----------------------------------------------------------------------------


def test_session_log_text_output(practice, db_path):
    result = log(practice, pre="7", post="4", day="2026-11-20")
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Session 1 saved: Jane Doe, case 1, visit 1 of 12 on 2026-11-20 "
        "(draft — sign with: medmassage session sign 1)"
    )
    # CMS: 25 + 20 = 45 timed minutes = 3 units; 97140 gets the extra unit (10 min left over).
    assert re.fullmatch(r"\s+97140\s+Manual therapy\s+25 min\s+2 units", lines[1])
    assert re.fullmatch(r"\s+97124\s+Massage\s+20 min\s+1 unit", lines[2])
    assert lines[3].strip() == (
        "timed minutes 45 → 3 timed units (CMS 8-minute rule); 3 units in all"
    )
    assert len(lines) == 4
    assert "warning" not in result.stdout

    session = one(db_path, "SELECT * FROM session")
    assert (session["date"], session["minutes"], session["pain_pre"], session["pain_post"]) == (
        "2026-11-20",
        45,
        7,
        4,
    )
    assert (session["status"], session["start_time"]) == ("draft", None)
    cpt = [tuple(r) for r in query(db_path, "SELECT cpt, minutes, units FROM session_cpt")]
    assert cpt == [("97140", 25, 2), ("97124", 20, 1)]

    second = log(practice, day="2026-11-24")
    assert "visit 2 of 12 on 2026-11-24" in second.stdout


def test_session_log_json_with_sign_and_warnings(practice, db_path):
    result = log(
        practice, "-f", "json", "--sign", pre="6", post="3", day="2026-11-20",
        tech=("trigger-point=30", "hot-cold-pack=10"), region=("neck", "shoulder-left"),
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert {"session_id", "visit", "cpt", "total_units", "warnings"} <= set(data)
    assert data["session_id"] == 1
    assert data["visit"] == 1
    assert data["visits_authorized"] == 12
    assert data["date"] == "2026-11-20"
    assert data["minutes"] == 40
    assert data["units_rule"] == "cms"
    assert data["timed_minutes"] == 30
    assert data["cpt"] == [
        {"code": "97140", "minutes": 30, "units": 2},
        {"code": "97010", "minutes": 10, "units": 1},
    ]
    assert data["total_units"] == 3
    assert data["signed"] is True
    # shoulder-left is not on the prescription (neck, upper-back).
    assert len(data["warnings"]) == 1
    assert data["warnings"][0].startswith("regions not on the prescription: shoulder-left")
    assert "warning: regions not on the prescription: shoulder-left" in result.stderr

    row = one(db_path, "SELECT status, signed_at FROM session WHERE id = 1")
    assert row["status"] == "signed"
    assert row["signed_at"]


def test_session_log_date_with_time_stores_start_time(practice, db_path):
    result = log(practice, day="2026-11-20 14:30")
    assert "on 2026-11-20" in result.stdout
    row = one(db_path, "SELECT date, start_time FROM session")
    assert tuple(row) == ("2026-11-20", "14:30")
    assert re.search(r"^Date\s+2026-11-20 14:30$", practice("session", "show", "1").stdout, re.M)


def test_session_log_minutes_sets_total_but_not_units(practice, db_path):
    result = log(practice, "--minutes", "60", day="2026-11-20", tech=("swedish=40",))
    assert "40 min  3 units" in result.stdout
    row = one(db_path, "SELECT minutes FROM session")
    assert row["minutes"] == 60
    assert one(db_path, "SELECT units FROM session_cpt")["units"] == 3


SOAP_FILE = """\
# Subjective
Neck stiff after a long drive.
# Objective
Upper trapezius hypertonic L>R.
# Assessment
Rotation improved 10 degrees.
# Plan
Continue 2x/week.
"""


def test_session_log_notes_file_sections(practice, db_path, tmp_path):
    notes = tmp_path / "note.md"
    notes.write_text(SOAP_FILE, encoding="utf-8")
    log(practice, "--notes-file", str(notes), "--homecare", "Chin tucks", day="2026-11-20")
    row = one(db_path, "SELECT * FROM session")
    assert row["subjective"] == "Neck stiff after a long drive."
    assert row["objective"] == "Upper trapezius hypertonic L>R."
    assert row["assessment"] == "Rotation improved 10 degrees."
    assert row["plan"] == "Continue 2x/week."
    assert row["homecare"] == "Chin tucks"
    assert row["feedback"] is None


def test_session_log_notes_from_stdin(practice, db_path):
    practice(
        "session", "log", "Jane", "--pre", "5", "--post", "2", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-20", "--notes-file", "-",
        input="# Subjective\nFrom stdin.\n# Plan\nWeekly.\n",
    )  # fmt: skip
    row = one(db_path, "SELECT subjective, objective, plan FROM session")
    assert tuple(row) == ("From stdin.", None, "Weekly.")


def test_session_log_edit_opens_editor_on_a_soap_template(practice, db_path, tmp_path, monkeypatch):
    seen = tmp_path / "template-seen.md"
    editor = tmp_path / "fake-editor.sh"
    editor.write_text(
        "#!/bin/sh\n"
        f'cp "$1" "{seen}"\n'
        'printf "# Subjective\\nWritten in the editor.\\n'
        '# Assessment\\nLess guarding.\\n" > "$1"\n',
        encoding="utf-8",
    )
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    log(practice, "--edit", "--plan", "Typed plan", day="2026-11-20")

    template = seen.read_text(encoding="utf-8")
    for heading in ("# Subjective", "# Objective", "# Assessment", "# Plan"):
        assert heading in template
    assert "Typed plan" in template  # the options' text is in the template the editor sees
    row = one(db_path, "SELECT subjective, assessment, plan FROM session")
    # The editor's result wins: it removed the plan.
    assert tuple(row) == ("Written in the editor.", "Less guarding.", None)


# --- session list, show, sign, amend, void --------------------------------------------------


def test_session_list_filters_by_client_and_dates(practice):
    practice("client", "add", "Bob Smith")
    practice(
        "case", "open", "Bob", "--payer", "self-pay", "--dx", "M72.2",
        "--referrer", "Maya Patel, DPM", "--rx-date", "2026-10-01",
        "--rx-until", "2027-01-10", "--visits", "4",
    )  # fmt: skip
    log(practice, day="2026-10-30")  # before Jane's Rx: flagged, still recorded (id 1)
    log(practice, day="2026-11-03")  # id 2
    log(practice, client="Bob", day="2026-11-10", region=("foot-right",))  # id 3
    log(practice, day="2026-11-20 09:00")  # id 4

    def ids(*args: str) -> list[int]:
        return [
            s["id"] for s in json.loads(practice("session", "list", *args, "-f", "json").stdout)
        ]

    assert ids() == [1, 2, 3, 4]
    assert ids("Jane") == [1, 2, 4]
    assert ids("bob") == [3]
    assert ids("--from", "2026-11", "--to", "2026-11") == [2, 3, 4]
    assert ids("Jane", "--from", "2026-11-04") == [4]
    assert ids("--to", "2026-10") == [1]

    listed = json.loads(practice("session", "list", "Bob", "-f", "json").stdout)
    assert listed[0] | {"id": None} == {
        "id": None,
        "date": "2026-11-10",
        "start_time": None,
        "client_id": 2,
        "client": "Bob Smith",
        "case_id": 2,
        "payer_type": "self-pay",
        "minutes": 45,
        "pain_pre": 6,
        "pain_post": 3,
        "units": 3,
        "status": "draft",
        "visit": 1,
        "rx_flag": None,
        "over_authorized": False,
    }
    # Jane's first visit came before her prescription: flagged as such, derived when listed.
    jane = json.loads(practice("session", "list", "Jane", "-f", "json").stdout)
    assert [(s["visit"], s["rx_flag"]) for s in jane] == [
        (1, "not-yet-valid"),
        (2, None),
        (3, None),
    ]
    table = practice("session", "list", "--from", "2026-11").stdout
    assert table.splitlines()[0] == "3 session(s)"
    assert re.search(
        r"^\s*3\s+2026-11-10\s+Bob Smith\s+2\s+1\s+45\s+6 → 3\s+3\s+draft$", table, re.M
    )
    assert re.search(
        r"^\s*1\s+2026-10-30\s+Jane Doe .* draft\s+before Rx$",
        practice("session", "list").stdout,
        re.M,
    )


def test_session_list_from_after_to_is_refused_in_one_line(practice, db_path):
    log(practice, pre="6", post="3", day="2026-11-20")
    within = json.loads(
        practice("session", "list", "--from", "2026-11", "--to", "2026-11-20", "-f", "json").stdout
    )
    assert [r["date"] for r in within] == ["2026-11-20"]  # a month to a day, both ends kept
    result = practice("session", "list", "--from", "2026-11-21", "--to", "2026-11-20", ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: from: '2026-11-21' — must be on or before --to (2026-11-20)"
    )
    month = practice("session", "list", "--from", "2026-12", "--to", "2026-11", ok=False)
    assert month.exit_code == 2
    assert "must be on or before --to (2026-11-30)" in month.stderr


def test_session_show_text_and_json(practice):
    log(
        practice, "--subjective", "Stiff neck.", "--objective", "Tender upper traps.",
        "--assessment", "Improving.", "--plan", "Continue.", "--homecare", "Heat 15 min",
        pre="6", post="3", day="2026-11-20 14:30",
    )  # fmt: skip
    text = practice("session", "show", "1").stdout
    assert re.search(r"^Session\s+1 — draft$", text, re.M)
    assert re.search(r"^Client\s+1 Jane Doe, case 1 \(health\)$", text, re.M)
    assert re.search(r"^Visit\s+1 of 12$", text, re.M)
    assert re.search(r"^Pain\s+6 → 3 \(relief 3\)$", text, re.M)
    assert re.search(r"^Techniques\s+myofascial-release 25 min, swedish 20 min$", text, re.M)
    assert re.search(r"^CPT\s+97140 25 min × 2, 97124 20 min × 1 \(cms\)$", text, re.M)
    assert re.search(r"^Subjective\s+Stiff neck\.$", text, re.M)
    assert re.search(r"^Objective\s+Tender upper traps\.$", text, re.M)
    assert re.search(r"^Assessment\s+Improving\.$", text, re.M)
    assert re.search(r"^Plan\s+Continue\.$", text, re.M)
    assert re.search(r"^Home care\s+Heat 15 min$", text, re.M)

    data = json.loads(practice("session", "show", "1", "-f", "json").stdout)
    assert (data["id"], data["visit"], data["status"], data["start_time"]) == (
        1,
        1,
        "draft",
        "14:30",
    )
    assert data["regions"] == ["neck"]
    assert data["techniques"] == [
        {"technique": "myofascial-release", "cpt": "97140", "minutes": 25},
        {"technique": "swedish", "cpt": "97124", "minutes": 20},
    ]
    assert data["cpt"] == [
        {"cpt": "97140", "minutes": 25, "units": 2},
        {"cpt": "97124", "minutes": 20, "units": 1},
    ]
    assert data["addenda"] == []


def test_session_sign_locks_the_note(practice, db_path):
    log(practice, day="2026-11-20")
    result = practice("session", "sign", "1")
    assert result.stdout == ""
    assert "Session 1 signed and locked" in result.stderr
    row = one(db_path, "SELECT status, signed_at FROM session WHERE id = 1")
    assert row["status"] == "signed" and row["signed_at"]
    assert re.search(
        r"^Session\s+1 — signed .+ \(locked\)$", practice("session", "show", "1").stdout, re.M
    )


def test_session_amend_adds_an_addendum_and_keeps_the_original(practice, db_path):
    log(practice, "--subjective", "Original words.", "--sign", day="2026-11-20")
    result = practice("session", "amend", "1", "--text", "Late entry: headache on arrival.")
    assert result.stdout == ""
    assert "Addendum 1 added to session 1" in result.stderr

    assert one(db_path, "SELECT subjective FROM session WHERE id = 1")["subjective"] == (
        "Original words."
    )
    text = practice("session", "show", "1").stdout
    assert re.search(r"^Subjective\s+Original words\.$", text, re.M)
    assert re.search(r"^Addendum 1\s+\S+ by \S+:$", text, re.M)
    assert re.search(r"^\s+Late entry: headache on arrival\.$", text, re.M)
    data = json.loads(practice("session", "show", "1", "-f", "json").stdout)
    assert [a["text"] for a in data["addenda"]] == ["Late entry: headache on arrival."]
    assert data["subjective"] == "Original words."


def test_session_void_is_kept_but_no_longer_counted(practice, db_path):
    log(practice, pre="8", post="6", day="2026-11-03")  # logged by mistake
    log(practice, pre="6", post="4", day="2026-11-10")
    result = practice("session", "void", "1", "--reason", "Entered for the wrong client")
    assert result.stdout == ""
    assert "Session 1 voided" in result.stderr
    row = one(db_path, "SELECT status, void_reason FROM session WHERE id = 1")
    assert tuple(row) == ("void", "Entered for the wrong client")

    data = json.loads(practice("progress", "Jane", "-f", "json").stdout)
    assert data["voided_sessions"] == 1
    assert [(v["visit"], v["session_id"]) for v in data["visits"]] == [(1, 2)]
    assert data["authorization"]["visits_used"] == 1
    assert data["pain"]["current"] == 6
    text = practice("progress", "Jane").stdout
    assert progress_rows(text) == [(1, "2026-11-10", 45)]
    assert summary_line(text, "Voided") == "1 voided session(s) not shown or counted"
    # The void keeps the row: session show still tells what happened.
    shown = practice("session", "show", "1").stdout
    assert re.search(r"^Session\s+1 — void — Entered for the wrong client$", shown, re.M)


# --- progress -------------------------------------------------------------------------------


def three_visits(cli) -> None:
    log(cli, pre="7", post="5", day="2026-11-03")  # 97140×2, 97124×1
    log(cli, pre="6", post="3", day="2026-11-10", tech=("trigger-point=30",))  # 97140×2
    log(cli, pre="4", post="2", day="2026-11-20", tech=("swedish=40", "hot-cold-pack=10"))


def _columns_on_screen(line: str) -> int:
    """Terminal columns `line` takes: wide East Asian characters two, combining marks none."""
    import unicodedata

    return sum(
        0
        if unicodedata.combining(ch)
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in line
    )


def test_client_list_columns_line_up_with_wide_and_combining_characters(cli):
    names = ["李小龍", "Zoë Nuñez-Øster", "Sq\u0307a Dupont", "Ana Li"]  # q̇: no precomposed form
    for name in names:
        cli("client", "add", name, "--dob", "1980-04-02", "--phone", "555-0100")
    lines = cli("client", "list").stdout.splitlines()
    assert lines[0] == "4 client(s)"
    body = lines[3:]
    assert len(body) == 4
    # The date of birth starts at the same screen column on every line, header included.
    starts = {_columns_on_screen(line[: line.index("1980-04-02")]) for line in body}
    header = lines[1]
    assert starts == {_columns_on_screen(header[: header.index("Born")])}
    assert len({_columns_on_screen(line) for line in lines[1:3]}) == 1  # header and rule


def test_progress_plain_table(practice):
    three_visits(practice)
    result = practice("progress", "Jane")
    text = result.stdout
    assert not BOX_CHARS & set(text), "the CliRunner is not a terminal: plain text expected"
    assert "\x1b[" not in text
    assert text.splitlines()[0] == ("Jane Doe — case 1 · health (Regence) · dx M54.2 · CMS units")
    assert progress_rows(text) == [
        (1, "2026-11-03", 45),
        (2, "2026-11-10", 30),
        (3, "2026-11-20", 50),
    ]
    row3 = next(
        line for line in text.splitlines() if (m := PROGRESS_ROW.match(line)) and m.group(1) == "3"
    )
    assert "4 → 2" in row3 and "97124×3, 97010×1" in row3 and "+2" in row3
    assert summary_line(text, "Baseline pain") == "7/10 (intake)"
    assert summary_line(text, "Current pain") == "4/10 (pre-session, visit 3)"
    change = summary_line(text, "Change")
    assert change.startswith("−3 points (−42.9 %) — MCID met")
    assert "MCID" in change
    assert summary_line(text, "Visits") == "3 of 12 authorized (9 remaining)"
    assert summary_line(text, "Rx valid until") == "2026-12-31 (34 days left)"
    assert summary_line(text, "Progress report").startswith("at visit 10 or by 2026-12-03")
    assert result.stderr == ""


def test_progress_json(practice):
    three_visits(practice)
    data = json.loads(practice("progress", "Jane", "-f", "json").stdout)
    assert set(data) >= {
        "client", "case", "as_of", "visits", "voided_sessions", "pain", "measures", "goals",
        "authorization", "progress_report",
    }  # fmt: skip
    assert data["client"] == {"id": 1, "name": "Jane Doe"}
    assert data["as_of"] == "2026-11-27"
    assert data["case"]["id"] == 1
    assert data["case"]["payer_type"] == "health"
    assert data["case"]["rx_until"] == "2026-12-31"
    assert data["case"]["rx_expired"] is False
    assert data["case"]["diagnoses"] == [{"code": "M54.2", "description": "Cervicalgia"}]
    pain = data["pain"]
    assert pain["baseline"] == 7
    assert pain["baseline_source"] == "intake"
    assert pain["current"] == 4  # the latest session's pre-pain
    assert pain["change_points"] == 3
    assert pain["change_percent"] == 42.9
    assert pain["mcid_met"] is True
    assert pain["average_relief"] == 2.3
    assert len(pain["trend"]) == 3
    assert [
        (v["visit"], v["session_id"], v["date"], v["pain_pre"], v["pain_post"], v["relief"])
        for v in data["visits"]
    ] == [
        (1, 1, "2026-11-03", 7, 5, 2),
        (2, 2, "2026-11-10", 6, 3, 3),
        (3, 3, "2026-11-20", 4, 2, 2),
    ]
    assert data["visits"][2]["cpt"] == [
        {"code": "97124", "minutes": 40, "units": 3},
        {"code": "97010", "minutes": 10, "units": 1},
    ]
    assert data["visits"][2]["units"] == 4
    assert data["visits"][0]["techniques"] == [
        {"name": "myofascial-release", "minutes": 25},
        {"name": "swedish", "minutes": 20},
    ]
    assert data["voided_sessions"] == 0
    assert list(data["authorization"].items()) == [
        ("visits_authorized", 12),
        ("visits_used", 3),
        ("visits_remaining", 9),
        ("id", 1),
        ("number", 1),
        ("state", "in force"),
        ("visits_on_claim", 3),
    ]
    assert [a["visits_used"] for a in data["authorizations"]] == [3]
    assert [(v["authorization_id"], v["authorization_visit"]) for v in data["visits"]] == [
        (1, 1),
        (1, 2),
        (1, 3),
    ]
    report = data["progress_report"]
    assert report["due"] is False
    assert report["visits_since"] == 3
    assert report["next_visit"] == 10
    assert report["next_date"] == "2026-12-03"
    assert report["counted_from"] == "2026-11-03"
    # The intake pain is the NPRS baseline measure.
    assert [(m["measure"], m["baseline"]) for m in data["measures"]] == [("nprs", 7.0)]


def test_progress_csv(practice):
    three_visits(practice)
    rows = list(csv.reader(io.StringIO(practice("progress", "Jane", "-f", "csv").stdout)))
    assert rows[0] == [
        "visit", "session_id", "date", "minutes", "techniques", "regions", "pain_pre",
        "pain_post", "relief", "cpt", "units", "status", "rx_flag", "over_authorized",
        "authorization_id", "authorization_visit",
    ]  # fmt: skip
    assert len(rows) == 4
    assert rows[1] == [
        "1", "1", "2026-11-03", "45", "myofascial-release=25;swedish=20", "neck", "7", "5",
        "2", "97140=2;97124=1", "3", "draft", "", "false", "1", "1",
    ]  # fmt: skip
    assert [r[2] for r in rows[1:]] == ["2026-11-03", "2026-11-10", "2026-11-20"]
    assert rows[3][9] == "97124=3;97010=1"


def test_progress_markdown(practice):
    three_visits(practice)
    text = practice("progress", "Jane", "-f", "md").stdout
    lines = text.splitlines()
    assert lines[0] == "## Jane Doe — case 1 · health (Regence) · dx M54.2 · CMS units"
    assert "| # | Date | Min | Techniques (min) | Regions | Pain pre→post |" in text
    assert "| 2 | 2026-11-10 | 30 | TrP 30 | neck | 6 → 3 | +3 | 97140×2 | draft |" in lines
    assert "- **Baseline pain:** 7/10 (intake)" in lines
    assert "- **Visits:** 3 of 12 authorized (9 remaining)" in lines


def test_progress_output_file_format_from_extension(practice, tmp_path):
    three_visits(practice)
    target = tmp_path / "out" / "jane.json"
    target.parent.mkdir()
    result = practice("progress", "Jane", "-o", str(target))
    assert result.stdout == ""
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["pain"]["baseline"] == 7
    assert len(data["visits"]) == 3
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600

    csv_file = tmp_path / "out" / "jane.csv"
    practice("progress", "Jane", "-o", str(csv_file))
    assert csv_file.read_text(encoding="utf-8").startswith("visit,session_id,date,")


def test_progress_shows_last_20_visits_unless_all(practice):
    # 22 visits on consecutive days (beyond the 12 authorized: warned, still recorded).
    for day in range(5, 27):
        log(practice, pre="5", post="3", day=f"2026-11-{day:02d}")
    text = practice("progress", "Jane").stdout
    rows = progress_rows(text)
    assert [r[0] for r in rows] == list(range(3, 23))
    assert rows[0][1] == "2026-11-07" and rows[-1][1] == "2026-11-26"
    assert "2 earlier visit(s) not shown; --all shows every visit" in text
    assert summary_line(text, "Visits").startswith("22 of 12 authorized (0 remaining)")

    every = practice("progress", "Jane", "--all").stdout
    assert [r[0] for r in progress_rows(every)] == list(range(1, 23))
    assert "not shown" not in every.split("\n\n")[1]
    assert len(json.loads(practice("progress", "Jane", "-f", "json").stdout)["visits"]) == 22


# --- db path, catalog, version --------------------------------------------------------------


def test_db_path_prints_the_option(cli, db_path):
    result = cli("db", "path")
    assert result.stdout == f"{db_path}\n"
    assert "--db option" in result.stderr


def test_db_path_from_environment(monkeypatch, tmp_path):
    env_db = tmp_path / "elsewhere" / "clinic.db"
    monkeypatch.setenv("MEDMASSAGE_DB", str(env_db))
    result = bare_runner_invoke("db", "path")
    assert result.exit_code == 0
    assert result.stdout == f"{env_db}\n"
    assert "MEDMASSAGE_DB" in result.stderr


def test_db_path_default_is_in_the_user_data_folder(tmp_path):
    result = bare_runner_invoke("db", "path")
    assert result.exit_code == 0
    expected = Path(os.environ["XDG_DATA_HOME"]) / "medmassage" / "practice.db"
    if sys.platform.startswith("linux"):
        assert result.stdout == f"{expected}\n"
    assert "default data folder" in result.stderr
    assert not Path(result.stdout.strip()).exists()  # printing the path creates nothing


def test_catalog_techniques_regions_conditions(cli):
    techniques = json.loads(cli("catalog", "techniques", "-f", "json").stdout)
    by_name = {t["technique"]: t for t in techniques}
    assert by_name["myofascial-release"] == {
        "technique": "myofascial-release",
        "cpt": "97140",
        "label": "Manual therapy",
        "timed": True,
        "source": "shipped",
        "abbreviation": "MFR",
        "accepted": ["MFR"],
    }
    assert by_name["swedish"]["cpt"] == "97124"
    assert by_name["neuromuscular-reeducation"]["cpt"] == "97112"
    assert by_name["stretching"]["cpt"] == "97110"
    assert (by_name["hot-cold-pack"]["cpt"], by_name["hot-cold-pack"]["timed"]) == ("97010", False)
    table = cli("catalog", "techniques").stdout
    assert re.search(r"^hot-cold-pack\s+97010\s+Hot/cold pack\s+no\s+shipped\s+HCP, ", table, re.M)

    regions = [r["region"] for r in json.loads(cli("catalog", "regions", "-f", "json").stdout)]
    assert {"head", "neck", "upper-back", "lower-back", "jaw-left", "shoulder-right"} <= set(
        regions
    )
    assert "shoulder" not in regions
    lines = cli("catalog", "regions").stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["Region", "-" * 16, "head"]

    conditions = json.loads(cli("catalog", "conditions", "-f", "json").stdout)
    codes = {c["condition"]: c["codes"] for c in conditions}
    assert codes["chronic-low-back-pain"][:2] == ["M54.50", "M54.51"]
    assert codes["plantar-fasciitis"] == ["M72.2"]
    assert re.search(
        r"^neck-pain\s+Neck pain / stiffness\s+M54\.2$", cli("catalog", "conditions").stdout, re.M
    )


def test_catalog_add_technique_then_log_with_it(practice, db_path):
    result = practice("catalog", "add-technique", "cupping", "--cpt", "97140")
    assert "Added technique cupping → 97140" in result.stderr
    listed = json.loads(practice("catalog", "techniques", "-f", "json").stdout)
    assert {"technique": "cupping", "cpt": "97140", "label": "Manual therapy", "timed": True,
            "source": "yours", "abbreviation": None, "accepted": []} in listed  # fmt: skip

    data = json.loads(
        log(practice, "-f", "json", day="2026-11-20", tech=("cupping=10", "swedish=30")).stdout
    )
    assert data["cpt"] == [
        {"code": "97140", "minutes": 10, "units": 1},
        {"code": "97124", "minutes": 30, "units": 2},
    ]
    techniques = [
        tuple(r) for r in query(db_path, "SELECT technique, cpt, minutes FROM session_technique")
    ]
    assert techniques == [("cupping", "97140", 10), ("swedish", "97124", 30)]


def test_version():
    result = bare_runner_invoke("--version")
    assert result.exit_code == 0
    import medmassage

    assert result.stdout == f"medmassage {medmassage.__version__}\n"
    assert medmassage.__version__ == metadata.version("medmassage")
