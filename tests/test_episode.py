"""A whole episode of care through the real CLI (SPEC §10): renewals and re-authorizations on
one claim, visit standing derived after every void, late entry and backdated approval, and
corrections before signing."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import count_rows, query

PROFILE = (
    "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
    "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
)  # fmt: skip


def open_claim(cli, name="Pat Pip", payer="auto-pip", visits="8", until="2026-11-20", *extra):
    cli("client", "add", name)
    first = name.split()[0]
    cli(
        "case", "open", first, "--payer", payer, "--dx", "S13.4XXD", "--injury-date",
        "2026-10-01", "--claim", "PIP-1", "--referrer", "Alan Brooks, DC", "--referrer-npi",
        "1987654328", "--rx-date", "2026-10-21", "--rx-until", until, "--visits", visits,
        "--frequency", "2x/week", *extra,
    )  # fmt: skip
    return first


def log(cli, who: str, day: str, *extra: str, ok: bool = True):
    return cli(
        "session", "log", who, "--date", day, "--pre", "6", "--post", "4",
        "--technique", "swedish=30", "--region", "neck", *extra, ok=ok,
    )  # fmt: skip


def progress(cli, who: str) -> dict:
    return json.loads(cli("progress", who, "-f", "json").stdout)


def summary(cli, who: str, *extra: str) -> dict:
    return json.loads(cli("summary", who, "-f", "json", *extra).stdout)


def standing(cli, who: str) -> list[tuple]:
    """(session id, visit, authorization id, place, rx_flag, over) per visit, from progress."""
    return [
        (
            v["session_id"],
            v["visit"],
            v["authorization_id"],
            v["authorization_visit"],
            v["rx_flag"],
            v["over_authorized"],
        )
        for v in progress(cli, who)["visits"]
    ]


def due(cli, *extra: str) -> list[dict]:
    return json.loads(cli(*extra, "report", "due", "-f", "json").stdout)


@pytest.fixture
def pip(cli):
    cli(*PROFILE)
    return cli, open_claim(cli)


# --- 1. a void leaves no false flag --------------------------------------------------------


def test_a_visit_logged_twice_and_voided_leaves_no_exceeded_flag_anywhere(pip, tmp_path):
    cli, who = pip
    days = [
        "2026-10-22",
        "2026-10-25",
        "2026-10-29",
        "2026-11-01",
        "2026-11-05",
        "2026-11-08",
        "2026-11-12",
        "2026-11-12",
        "2026-11-15",
    ]  # fmt: skip  (the 12th twice: a mistake)
    results = [log(cli, who, d, "--sign") for d in days]
    assert "visit 9 is beyond the 8 visits authorized" in results[-1].stderr
    # Before the void: the 9th visit is over, and every document says so.
    assert [s[5] for s in standing(cli, who)] == [False] * 8 + [True]
    assert "Authorization exceeded: 9 visits used of 8 authorized." in summary(cli, who)["flags"]
    assert json.loads(cli("report", "monthly", "-f", "json").stdout)["cases_over_authorized"] == 1

    cli("session", "void", "8", "--reason", "Entered twice")

    assert standing(cli, who)[-1] == (9, 8, 1, 8, None, False)
    d = summary(cli, who)
    assert not any("exceeded" in f.lower() for f in d["flags"]), d["flags"]
    assert d["authorization"]["visits_used"] == 8
    assert all("over authorized visits" not in v["flags"] for v in d["visits"])
    for suffix in ("md", "html", "pdf"):
        out = tmp_path / f"s.{suffix}"
        cli("summary", who, "--preview", "-o", str(out))
        if suffix == "pdf":
            from pypdf import PdfReader

            text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
        else:
            text = out.read_text(encoding="utf-8")
        assert "exceeded" not in text.lower(), suffix
        assert "over authorized" not in text.lower(), suffix
    monthly = json.loads(cli("report", "monthly", "-f", "json").stdout)
    assert monthly["cases_over_authorized"] == 0
    items = due(cli)
    assert [i["kind"] for i in items] == ["report-due", "rx-expired"]  # none "over"
    assert not any("over" in i["detail"] for i in items)
    listed = json.loads(cli("session", "list", who, "-f", "json").stdout)
    assert [s["over_authorized"] for s in listed] == [False] * 9  # the void has no standing
    assert [s["visit"] for s in listed] == [1, 2, 3, 4, 5, 6, 7, None, 8]
    shown = cli("session", "show", "9").stdout
    assert re.search(r"^Visit\s+8 of 8$", shown, re.M)
    assert not re.search(r"^Flags", shown, re.M)  # nothing stands against it now …
    assert re.search(r"^Warned when logged\s+over auth$", shown, re.M)  # … the history stays
    assert (
        json.loads(cli("session", "show", "9", "-f", "json").stdout)["logged_over_authorized"] == 1
    )


# --- 2. a late entry moves the visits after it -----------------------------------------------


def test_a_late_entry_renumbers_the_later_visits_and_moves_the_over_flag(pip):
    cli, who = pip
    for d in ("2026-10-22", "2026-10-25", "2026-10-29", "2026-11-01", "2026-11-05",
              "2026-11-08", "2026-11-12", "2026-11-15"):  # fmt: skip
        log(cli, who, d, "--sign")
    late = log(cli, who, "2026-10-27")  # a visit forgotten, entered now: the 9th of 8
    assert "Session 9 saved: Pat Pip, case 1, visit 3 of 8 on 2026-10-27" in late.stdout
    assert "this visit comes before session 8, which is now flagged over authorized" in late.stderr
    rows = standing(cli, who)
    assert [(s[0], s[1]) for s in rows] == [
        (1, 1), (2, 2), (9, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9)
    ]  # fmt: skip
    assert [s[0] for s in rows if s[5]] == [8]  # the last visit, not the late one
    listed = json.loads(cli("session", "list", who, "-f", "json").stdout)
    assert [(s["id"], s["visit"], s["over_authorized"]) for s in listed][-1] == (8, 9, True)


# --- 3. a backdated renewal ------------------------------------------------------------------


def test_a_backdated_renewal_clears_the_expired_flag_and_counts_them_under_it(pip):
    cli, who = pip
    for d in ("2026-11-10", "2026-11-17", "2026-11-21", "2026-11-24"):
        log(cli, who, d, "--sign")
    assert [s[4] for s in standing(cli, who)] == [None, None, "expired", "expired"]
    assert "Prescription expired on 2026-11-20: 2 visit(s)" in summary(cli, who)["flags"][0]

    renewed = cli(
        "case", "renew", "1", "--rx-date", "2026-11-25", "--from", "2026-11-16",
        "--rx-until", "2026-12-31", "--visits", "6", "--auth-number", "PA-7781",
    )  # fmt: skip
    assert renewed.stdout == "2\n"
    assert "renewal 2 of 2026-11-25, valid 2026-11-16 to 2026-12-31, 6 visits" in renewed.stderr
    assert "session 3 (visit 3): Rx expired → covered, 2 of 6 under it" in renewed.stderr
    assert "session 2 (visit 2): covered → covered, 1 of 6 under it" in renewed.stderr

    assert standing(cli, who) == [
        (1, 1, 1, 1, None, False),
        (2, 2, 2, 1, None, False),  # the overlap: the renewal, written later, wins
        (3, 3, 2, 2, None, False),
        (4, 4, 2, 3, None, False),
    ]
    d = summary(cli, who)
    assert d["flags"] == []
    assert d["authorization"]["number"] == 2 and d["authorization"]["auth_number"] == "PA-7781"
    assert (d["authorization"]["visits_used"], d["authorization"]["visits_authorized"]) == (3, 6)
    assert [(a["number"], a["visits_used"]) for a in d["authorizations"]] == [(1, 1), (2, 3)]
    assert d["case"]["rx_until"] == "2026-12-31"
    md = cli("summary", who).stdout
    assert "Authorizations on this claim" in md and "PA-7781" in md
    assert [i["kind"] for i in due(cli)] == []  # nothing expired, nothing over
    text = cli("progress", who).stdout
    assert re.search(r"^Visits\s+4 on the claim; 3 of 6 authorized under renewal 2 of", text, re.M)
    assert "#2 3/6" in text  # the table's Auth column, once there are renewals


def test_progress_runs_over_the_whole_case_across_renewals(pip):
    cli, who = pip
    cli("intake", who, "--complaint", "Neck pain", "--pain", "8", "--region", "neck",
        "--date", "2026-10-21")  # fmt: skip
    for d in ("2026-10-22", "2026-10-29", "2026-11-05", "2026-11-12"):
        log(cli, who, d, "--sign")
    cli("case", "renew", "1", "--rx-date", "2026-11-18", "--from", "2026-11-21",
        "--rx-until", "2026-12-31", "--visits", "8")  # fmt: skip
    cli("session", "log", who, "--date", "2026-11-24", "--pre", "4", "--post", "2",
        "--technique", "swedish=30", "--region", "neck")  # fmt: skip
    p = progress(cli, who)
    assert (p["pain"]["baseline"], p["pain"]["baseline_source"]) == (8, "intake")
    assert (p["pain"]["current"], p["pain"]["mcid_met"]) == (4, True)
    # The report-due clock counts from the start of care, not from the renewal.
    assert p["progress_report"]["counted_from"] == "2026-10-22"
    assert p["progress_report"]["visits_since"] == 5
    s = summary(cli, who)
    assert s["outcomes"][0]["baseline"] == 8 and s["period"]["from"] == "2026-10-21"


# --- 4. a gap between authorizations ---------------------------------------------------------


def test_a_visit_between_two_authorizations_is_outside_the_prescription(pip):
    cli, who = pip
    log(cli, who, "2026-11-18", "--sign")
    gapped = log(cli, who, "2026-11-22", "--sign")  # after the first ends
    renewed = cli("case", "renew", "1", "--rx-date", "2026-11-24", "--rx-until", "2026-12-31",
                  "--visits", "6")  # fmt: skip
    assert (
        "gap: the prescription of 2026-10-21 ends 2026-11-20 and renewal 2 of 2026-11-24 "
        "starts 2026-11-24; visits in between are outside the prescription" in renewed.stderr
    )
    assert "prescription expired on 2026-11-20" in gapped.stderr  # what was known then
    assert [s[4] for s in standing(cli, who)] == [None, "gap"]
    assert "between Rx" in cli("progress", who).stdout
    d = summary(cli, who)
    assert d["visits"][1]["flags"] == ["between authorizations"]
    assert (
        "1 visit(s) in this period fell between authorizations, covered by none "
        "(2026-11-22)." in d["flags"]
    )
    uncovered = [i for i in due(cli) if i["kind"] == "uncovered"]
    assert [(i["case_id"], i["date"]) for i in uncovered] == [(1, "2026-11-22")]
    assert "1 visit(s) not covered by any authorization" in uncovered[0]["detail"]
    # The approval arrives, backdated over the gap: nothing is uncovered any more.
    cli("case", "renew", "1", "--rx-date", "2026-11-26", "--from", "2026-11-21",
        "--rx-until", "2026-11-23", "--visits", "1")  # fmt: skip
    assert [s[4] for s in standing(cli, who)] == [None, None]
    assert [i for i in due(cli) if i["kind"] == "uncovered"] == []


# --- 5. workers' comp, judged against the authorization in force -----------------------------


def test_workers_comp_refusal_follows_the_authorization_in_force(cli, db_path):
    cli(*PROFILE)
    who = open_claim(cli, "Walt Comp", "workers-comp", "2", "2026-12-31")
    log(cli, who, "2026-11-02")
    log(cli, who, "2026-11-09")
    before = count_rows(db_path)
    refused = log(cli, who, "2026-11-16", ok=False)
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        "error: visits: visit 3 is beyond the 2 visits authorized — workers' comp"
    )
    assert "medmassage case renew 1" in refused.stderr
    assert count_rows(db_path) == before
    # A re-authorization from Nov 16 (written the 13th): the same visit needs no override now.
    cli("case", "renew", "1", "--rx-date", "2026-11-13", "--from", "2026-11-16",
        "--rx-until", "2026-11-24", "--visits", "4")  # fmt: skip
    ok = log(cli, who, "2026-11-16")
    assert "visit 3 on the claim (1 of 4 under renewal 2 of 2026-11-13)" in ok.stdout
    assert query(db_path, "SELECT override_reason FROM session WHERE id = 3")[0][0] is None
    # After the renewal's end there is nothing in force: refused again, with the dates.
    # After the renewal's window, the first prescription's (to Dec 31) holds the day again,
    # and its 2 visits are used: refused as over that one.
    late = log(cli, who, "2026-11-26", ok=False)
    assert late.exit_code == 2
    assert late.stderr.startswith(
        "error: visits: visit 3 under the prescription of 2026-10-21 is beyond the 2 visits "
        "authorized — workers' comp"
    )


def test_workers_comp_refuses_a_visit_in_a_gap_naming_both_authorizations(cli):
    cli(*PROFILE)
    who = open_claim(cli, "Walt Comp", "workers-comp", "6", "2026-11-10")
    cli("case", "renew", "1", "--rx-date", "2026-11-14", "--from", "2026-11-20",
        "--rx-until", "2026-12-31", "--visits", "6")  # fmt: skip
    refused = log(cli, who, "2026-11-15", ok=False)
    assert refused.exit_code == 2
    assert (
        "date: 2026-11-15 falls between the prescription of 2026-10-21, valid until "
        "2026-11-10, and renewal 2 of 2026-11-14, valid from 2026-11-20"
    ) in refused.stderr
    allowed = log(cli, who, "2026-11-15", "--allow-expired", "adjuster approved by phone")
    assert "no authorization covers 2026-11-15" in allowed.stderr


# --- 6. renewal input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("--rx-date", "2026-11-25", "--from", "2026-12-01", "--rx-until", "2026-11-30"),
            "error: rx-until: '2026-11-30' — must be on or after --from 2026-12-01",
            id="ends-before-it-starts",
        ),
        pytest.param(
            ("--rx-date", "2026-11-25", "--rx-until", "2026-11-24"),
            "error: rx-until: '2026-11-24' — must be on or after the Rx date 2026-11-25",
            id="ends-before-written",
        ),
        pytest.param(
            ("--rx-date", "2026-10-21", "--from", "2026-11-15", "--rx-until", "2026-12-31"),
            "error: rx-date: '2026-10-21' — the prescription of 2026-10-21 (2026-10-21 to "
            "2026-11-20) was written the same day and its dates overlap these",
            id="overlaps-one-written-the-same-day",
        ),
        pytest.param(
            ("--rx-date", "2026-11-30", "--rx-until", "2026-12-31"),
            "error: rx-date: '2026-11-30' — ",
            id="written-in-the-future",
        ),
        pytest.param(
            ("--rx-date", "2026-11-25", "--rx-until", "2026-12-31", "--visits", "0"),
            "error: visits: '0' — visits authorized",
            id="no-visits",
        ),
        pytest.param(
            ("--rx-date", "2026-11-25", "--rx-until", "2026-12-31", "--referrer-npi", "123"),
            "error: referrer-npi: '123' — ",
            id="bad-npi",
        ),
    ],
)
def test_a_bad_renewal_is_one_line_exit_2_and_writes_nothing(pip, db_path, args, message):
    cli, _ = pip
    before = count_rows(db_path)
    argv = ["case", "renew", "1", *args]
    if "--visits" not in args:
        argv += ["--visits", "6"]
    result = cli(*argv, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert count_rows(db_path) == before


def test_renewing_an_unknown_case_names_the_id(pip, db_path):
    cli, _ = pip
    result = cli("case", "renew", "7", "--rx-date", "2026-11-25", "--rx-until", "2026-12-31",
                 "--visits", "6", ok=False)  # fmt: skip
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        "error: case: '7' — no case has this id (see: medmassage case list)",
    )


def test_a_renewal_keeps_the_order_unless_told_otherwise(pip, db_path):
    cli, _ = pip
    cli("case", "renew", "1", "--rx-date", "2026-11-18", "--rx-until", "2026-12-31",
        "--visits", "6")  # fmt: skip
    cli("case", "renew", "1", "--rx-date", "2026-11-26", "--from", "2027-01-01",
        "--rx-until", "2027-01-31", "--visits", "4", "--referrer", "Susan Lee",
        "--referrer-credentials", "MD", "--frequency", "1x/week", "--area", "upper-back",
        "--note", "PT consult")  # fmt: skip
    rows = [
        tuple(r)
        for r in query(
            db_path,
            "SELECT prescriber, prescriber_credentials, prescriber_npi, frequency, "
            "areas_ordered, note FROM authorization ORDER BY id",
        )
    ]
    assert rows == [
        ("Alan Brooks, DC", None, "1987654328", "2x/week", "[]", None),
        ("Alan Brooks, DC", None, "1987654328", "2x/week", "[]", None),  # kept
        ("Susan Lee", "MD", None, "1x/week", '["upper-back"]', "PT consult"),  # another's NPI
    ]
    shown = cli("case", "show", "1").stdout
    assert "2. 2026-11-18 to 2026-12-31: 0 of 6 visits used — IN FORCE" in shown
    assert "written 2026-11-26 by Susan Lee, MD" in shown
    data = json.loads(cli("case", "show", "1", "-f", "json").stdout)
    assert [a["number"] for a in data["authorizations"]] == [1, 2, 3]
    assert (data["authorization_in_force"], data["rx_until"]) == (2, "2026-12-31")
    listed = json.loads(cli("case", "list", "-f", "json").stdout)
    assert (listed[0]["authorization"], listed[0]["visits_authorized"]) == (2, 6)
    audit = query(db_path, "SELECT action, entity FROM audit WHERE entity = 'authorization'")
    assert len(audit) == 3


def test_a_second_open_case_warns_and_names_the_open_one(pip):
    cli, who = pip
    result = cli("case", "open", who, "--payer", "health", "--dx", "M79.7", "--referrer",
                 "Dr Ames", "--rx-date", "2026-11-20", "--rx-until", "2026-12-31",
                 "--visits", "10")  # fmt: skip
    assert result.stdout == "2\n"
    assert "already has case 1 open (auto-pip)" in result.stderr
    assert "medmassage case renew 1" in result.stderr


# --- 7. the recommendation's arithmetic ------------------------------------------------------


@pytest.mark.parametrize(
    ("visits", "frequency", "logged", "text"),
    [
        pytest.param("6", "2x/week", 3,
                     "Continue treatment 2x/week for 2 weeks (4 visits), through 2026-12-11. "
                     "This requires authorization of 1 more visit (3 remain authorized).",
                     id="3-left-at-2-a-week"),
        pytest.param("6", "2x/week", 2,
                     "Continue treatment 2x/week for 2 weeks (4 visits), through 2026-12-11.",
                     id="4-left-at-2-a-week"),
        pytest.param("3", "2x/week", 3,
                     "Renewal requested (the authorized visits are used): treatment 2x/week for "
                     "4 weeks (8 visits), from 2026-11-27 through 2026-12-25.",
                     id="none-left: a renewal, not more visits"),
        pytest.param("8", "4x/month", 3,
                     "Continue treatment 4x/month for 2 months (8 visits), through 2027-01-27. "
                     "This requires authorization of 3 more visits (5 remain authorized). The "
                     "prescription must be renewed to continue past its valid-until date.",
                     id="per-month"),
        pytest.param("6", "1x/day", 1,
                     "Continue treatment 1x/day for 1 week (7 visits), through 2026-12-04. "
                     "This requires authorization of 2 more visits (5 remain authorized).",
                     id="per-day"),
    ],
)  # fmt: skip
def test_the_recommendation_names_as_many_visits_as_frequency_times_weeks(
    cli, visits, frequency, logged, text
):
    cli(*PROFILE)
    cli("client", "add", "Ann Health")
    cli("case", "open", "Ann", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr Ames",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", visits,
        "--frequency", frequency)  # fmt: skip
    for day in range(logged):
        log(cli, "Ann", f"2026-11-{10 + day}", "--sign", "--plan", "continue")
    rec = summary(cli, "Ann")["recommendation"]
    assert rec["text"] == text
    per = {"day": 7, "week": 1, "month": 1}[frequency.split("/")[1]]
    span = rec["months"] if rec["months"] is not None else rec["weeks"]
    assert rec["visits"] == int(frequency.split("x")[0]) * per * span


# --- 8. corrections before signing -----------------------------------------------------------


@pytest.fixture
def draft(pip):
    cli, who = pip
    log(cli, who, "2026-11-10", "--subjective", "Stiff neck")
    return cli, who


def test_session_edit_changes_a_draft_and_works_out_the_units_again(draft, db_path):
    cli, _ = draft
    result = cli("session", "edit", "1", "--technique", "myofascial-release=40",
                 "--technique", "swedish=15", "--pre", "7", "--plan", "Home stretches")  # fmt: skip
    assert "Session 1 updated: Pat Pip, case 1, visit 1 of 8 on 2026-11-10 (draft" in result.stdout
    assert re.search(r"^  97140  Manual therapy\s+40 min  3 units$", result.stdout, re.M)
    row = query(db_path, "SELECT pain_pre, pain_post, minutes, subjective, plan FROM session")[0]
    assert tuple(row) == (7, 4, 55, "Stiff neck", "Home stretches")
    cpt = [tuple(r) for r in query(db_path, "SELECT cpt, minutes, units FROM session_cpt")]
    assert cpt == [("97140", 40, 3), ("97124", 15, 1)]
    edits = query(db_path, "SELECT action FROM audit WHERE entity = 'session' ORDER BY id")
    assert [r[0] for r in edits] == ["log", "edit"]
    moved = cli("session", "edit", "1", "--date", "2026-11-12 09:30", "--subjective", "",
                "--sign", "-f", "json")  # fmt: skip
    data = json.loads(moved.stdout)
    assert (data["date"], data["signed"], data["visit"]) == ("2026-11-12", True, 1)
    row = query(db_path, "SELECT date, start_time, subjective, status FROM session")[0]
    assert tuple(row) == ("2026-11-12", "09:30", None, "signed")


def test_editing_a_signed_or_void_note_is_refused_with_the_way_forward(draft, db_path):
    cli, who = draft
    cli("session", "sign", "1")
    log(cli, who, "2026-11-12")
    cli("session", "void", "2", "--reason", "wrong day")
    before = count_rows(db_path)
    signed = cli("session", "edit", "1", "--pre", "5", ok=False)
    assert signed.exit_code == 2
    assert re.fullmatch(
        r"error: session: 1 — is signed and locked \(.+\); correct it with an addendum: "
        r"medmassage session amend 1 --text …\n",
        signed.stderr,
    )
    void = cli("session", "edit", "2", "--pre", "5", ok=False)
    assert void.exit_code == 2 and "is void; log the visit again" in void.stderr
    nothing = cli("session", "edit", "3", "--pre", "5", ok=False)
    assert nothing.exit_code == 2 and "no session has this id" in nothing.stderr
    bad = cli("session", "edit", "1", ok=False)  # nothing to change: refused before the lock
    assert bad.exit_code == 2
    assert count_rows(db_path) == before


def test_session_edit_with_nothing_to_change_says_so(draft, db_path):
    cli, _ = draft
    result = cli("session", "edit", "1", ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: session: 1 — nothing to change")


def test_session_edit_of_a_workers_comp_draft_keeps_the_refusal(cli, db_path):
    cli(*PROFILE)
    who = open_claim(cli, "Walt Comp", "workers-comp", "6", "2026-11-20")
    log(cli, who, "2026-11-10")
    before = count_rows(db_path)
    moved = cli("session", "edit", "1", "--date", "2026-11-25", ok=False)
    assert moved.exit_code == 2
    assert "date: 2026-11-25 is after the prescription's valid-until date 2026-11-20" in (
        moved.stderr
    )
    assert count_rows(db_path) == before
    assert query(db_path, "SELECT date FROM session")[0][0] == "2026-11-10"


def test_sign_several_at_once_all_or_none(pip, db_path):
    cli, who = pip
    for d in ("2026-11-02", "2026-11-05", "2026-11-09"):
        log(cli, who, d)
    assert [s["id"] for s in json.loads(cli("session", "list", "--drafts", "-f", "json")
                                        .stdout)] == [1, 2, 3]  # fmt: skip
    cli("session", "sign", "2")
    refused = cli("session", "sign", "1", "2", "3", ok=False)
    assert refused.exit_code == 2
    assert "session: 2 — is already signed" in refused.stderr
    statuses = [r[0] for r in query(db_path, "SELECT status FROM session ORDER BY id")]
    assert statuses == ["draft", "signed", "draft"]
    done = cli("session", "sign", "1", "3")
    assert "Sessions 1, 3 signed and locked" in done.stderr
    assert "No drafts" in cli("session", "list", "--drafts").stderr
    signs = query(db_path, "SELECT entity_id FROM audit WHERE action = 'sign' ORDER BY id")
    assert [r[0] for r in signs] == [2, 1, 3]


def test_report_due_lists_drafts_left_unsigned_after_the_day(pip):
    cli, who = pip
    log(cli, who, "2026-11-20")
    log(cli, who, "2026-11-26")
    log(cli, who, "2026-11-27")  # today's: not yet late
    cli("case", "close", "1", "--reason", "moved away")  # a closed case's notes still need it
    items = [i for i in due(cli) if i["kind"] == "unsigned"]
    assert items == [
        {
            "kind": "unsigned",
            "client_id": 1,
            "client": "Pat Pip",
            "case_id": 1,
            "payer_type": "auto-pip",
            "date": "2026-11-20",
            "detail": "2 unsigned draft(s), the oldest from 2026-11-20: sign with "
            "medmassage session sign 1 2",
        }
    ]
    assert cli("report", "due", "--fail-if-due", ok=False).exit_code == 3


# --- 9. the editor: nothing typed is ever lost ------------------------------------------------


def editor(tmp_path, body: str, *, name="ed.py") -> str:
    """An $EDITOR that replaces the file with `body` (a Python script, run by this Python)."""
    import sys

    script = tmp_path / name
    script.write_text(
        f"import sys, pathlib\npathlib.Path(sys.argv[1]).write_text({body!r}, encoding='utf-8')\n"
    )
    return f"{sys.executable} {script}"


def keep_unchanged(tmp_path) -> str:
    import sys

    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    return f"{sys.executable} {script}"


def log_with_editor(cli, who: str, *extra: str, ok: bool = True):
    return cli("session", "log", who, "--pre", "6", "--post", "4", "--technique", "swedish=30",
               "--region", "neck", "--date", "2026-11-10", "--edit", *extra, ok=ok)  # fmt: skip


def recovered(db_path) -> list:
    folder = db_path.parent / "recovered-notes"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_an_unchanged_or_emptied_template_saves_nothing_and_says_so(
    pip, db_path, tmp_path, monkeypatch
):
    cli, who = pip
    before = count_rows(db_path)
    monkeypatch.setenv("EDITOR", keep_unchanged(tmp_path))
    result = log_with_editor(cli, who, ok=False)
    assert result.exit_code == 1
    assert "the note was saved unchanged or empty: the session was not logged" in result.stderr
    monkeypatch.setenv("EDITOR", editor(tmp_path, "# Subjective\n\n# Plan\n   \n"))
    emptied = log_with_editor(cli, who, ok=False)
    assert emptied.exit_code == 1
    assert count_rows(db_path) == before
    assert recovered(db_path) == []  # there was nothing to keep


def test_an_unreadable_heading_keeps_the_text_in_an_owner_only_file(
    pip, db_path, tmp_path, monkeypatch
):
    cli, who = pip
    before = count_rows(db_path)
    typed = "# Subjective\nNeck pain 6/10, worse at the desk.\n# Assesment\nLess guarding.\n"
    monkeypatch.setenv("EDITOR", editor(tmp_path, typed))
    result = log_with_editor(cli, who, ok=False)
    assert result.exit_code == 2
    assert count_rows(db_path) == before
    [kept] = recovered(db_path)
    assert kept.read_text(encoding="utf-8") == typed
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert oct(kept.parent.stat().st_mode & 0o777) == "0o700"
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert message.startswith("error: notes: '# Assesment' — unknown heading; use # Subjective")
    assert f"What you wrote is kept in {kept}" in message
    assert "Neck pain" not in message  # the note itself is not echoed
    # Corrected, the file is the way back in.
    kept.write_text(typed.replace("Assesment", "Assessment"), encoding="utf-8")
    cli("session", "log", who, "--pre", "6", "--post", "4", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-10", "--notes-file", str(kept))  # fmt: skip
    row = query(db_path, "SELECT subjective, assessment FROM session")[0]
    assert tuple(row) == ("Neck pain 6/10, worse at the desk.", "Less guarding.")


def test_on_a_terminal_the_editor_reopens_with_the_problem_on_top(
    pip, db_path, tmp_path, monkeypatch
):
    import sys

    cli, who = pip
    state = tmp_path / "calls"
    script = tmp_path / "twice.py"
    script.write_text(
        "import sys, pathlib\n"
        f"calls = pathlib.Path({str(state)!r})\n"
        "n = int(calls.read_text()) + 1 if calls.exists() else 1\n"
        "calls.write_text(str(n))\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "if n == 1:\n"
        "    path.write_text('# Subjective\\nsore\\n# Asessment\\nbetter\\n')\n"
        "else:\n"
        f"    pathlib.Path({str(tmp_path / 'seen.txt')!r}).write_text(path.read_text())\n"
        "    path.write_text(path.read_text().replace('Asessment', 'Assessment'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.setattr("medmassage.cli.sessions.is_interactive", lambda: True)
    log_with_editor(cli, who)
    seen = (tmp_path / "seen.txt").read_text()
    assert seen.startswith("#! notes: '# Asessment' — unknown heading")
    assert "sore" in seen
    row = query(db_path, "SELECT subjective, assessment FROM session")[0]
    assert tuple(row) == ("sore", "better")
    assert recovered(db_path) == []


def test_a_command_that_fails_after_the_editor_keeps_what_was_typed(
    draft, db_path, tmp_path, monkeypatch
):
    cli, _ = draft
    cli("client", "add", "Other Person")
    cli("case", "open", "Other", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr A",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "4")  # fmt: skip
    before = count_rows(db_path)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "# Subjective\nA long careful note.\n"))
    result = cli("session", "edit", "1", "--edit", "--case", "2", ok=False)
    assert result.exit_code == 2
    assert "case: 2 — belongs to another client" in result.stderr
    [kept] = recovered(db_path)
    assert kept.read_text(encoding="utf-8") == "# Subjective\nA long careful note.\n"
    assert f"The note you wrote is kept in {kept}" in result.stderr
    assert count_rows(db_path) == before


def test_an_editor_that_fails_keeps_what_was_typed(pip, db_path, tmp_path, monkeypatch):
    import sys

    cli, who = pip
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys, pathlib\n"
        "pathlib.Path(sys.argv[1]).write_text('# Subjective\\nhalf a note')\n"
        "sys.exit(3)\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = log_with_editor(cli, who, ok=False)
    assert result.exit_code == 2
    [kept] = recovered(db_path)
    assert kept.read_text(encoding="utf-8") == "# Subjective\nhalf a note"
    assert "exited with 3; nothing saved; what you wrote is kept in" in result.stderr


def test_session_edit_opens_the_note_as_it_is(draft, db_path, tmp_path, monkeypatch):
    cli, _ = draft
    monkeypatch.setenv("EDITOR", keep_unchanged(tmp_path))
    same = cli("session", "edit", "1", "--edit")
    assert "The note was saved unchanged or empty: session 1 not changed." in same.stderr
    assert [r[0] for r in query(db_path, "SELECT action FROM audit WHERE entity = 'session'")] \
        == ["log"]  # fmt: skip
    shown = tmp_path / "shown.txt"
    script = tmp_path / "append.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        f"pathlib.Path({str(shown)!r}).write_text(p.read_text())\n"
        "p.write_text(p.read_text().replace('# Plan\\n', '# Plan\\nTwice a week\\n'))\n"
    )
    import sys

    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    cli("session", "edit", "1", "--edit")
    assert "# Subjective\nStiff neck\n" in shown.read_text()
    row = query(db_path, "SELECT subjective, plan FROM session")[0]
    assert tuple(row) == ("Stiff neck", "Twice a week")


# --- 10. intake and case details --------------------------------------------------------------


def test_intake_edit_completes_the_intake_and_moves_the_baseline(pip, db_path):
    cli, who = pip
    cli("intake", who, "--complaint", "Neck pain", "--pain", "7", "--region", "neck",
        "--date", "2026-10-21")  # fmt: skip
    log(cli, who, "2026-10-22")
    result = cli("intake", "edit", "1", "--consent-date", "2026-10-21", "--history",
                 "Whiplash 2019", "--pain", "8", "--ndi", "42", "--region", "neck",
                 "--region", "upper-back")  # fmt: skip
    assert "Intake of case 1 updated: pain, regions, history, consent_date, ndi" in result.stderr
    row = query(db_path, "SELECT pain, regions, history, consent_date FROM intake")[0]
    assert tuple(row) == (8, '["neck", "upper-back"]', "Whiplash 2019", "2026-10-21")
    measures = [tuple(r) for r in query(db_path, "SELECT kind, date, score FROM measure")]
    assert measures == [("nprs", "2026-10-21", 8.0), ("ndi", "2026-10-21", 42.0)]
    assert progress(cli, who)["pain"]["baseline"] == 8
    audit = [tuple(r) for r in query(db_path, "SELECT action, entity FROM audit ORDER BY id")]
    assert ("edit", "intake") in audit and ("edit", "measure") in audit
    cleared = cli("intake", "edit", "1", "--history", "")
    assert "history" in cleared.stderr
    assert query(db_path, "SELECT history FROM intake")[0][0] is None
    # `intake CLIENT …` still records (the default subcommand), and refuses a second one.
    again = cli("intake", who, "--complaint", "x", "--pain", "3", "--region", "neck", ok=False)
    assert again.exit_code == 2 and "already has an intake" in again.stderr


def test_intake_edit_bad_input_writes_nothing(pip, db_path):
    cli, who = pip
    before = count_rows(db_path)
    none_yet = cli("intake", "edit", "1", "--pain", "5", ok=False)
    assert none_yet.exit_code == 2 and "has no intake yet" in none_yet.stderr
    cli("intake", who, "--complaint", "Neck pain", "--pain", "7", "--region", "neck")
    before = count_rows(db_path)
    for args, start in (
        (("--pain", "11"), "error: pain: '11' — "),
        (("--complaint", " "), "error: complaint: "),
        (("--consent-date", "2026-13-01"), "error: consent-date: '2026-13-01' — "),
        ((), "error: intake: '1' — nothing to change"),
    ):
        result = cli("intake", "edit", "1", *args, ok=False)
        assert result.exit_code == 2, args
        assert result.stderr.startswith(start), result.stderr
    assert count_rows(db_path) == before


def test_case_edit_changes_payer_details_and_diagnoses_audited(pip, db_path):
    cli, _ = pip
    result = cli("case", "edit", "1", "--claim", "PIP-26-018833", "--adjuster",
                 "R. Okafor 800-555-0110", "--dx", "S13.4XXD", "--dx", "M54.2",
                 "--policy", "")  # fmt: skip
    assert "Case 1 updated: claim, adjuster, dx" in result.stderr
    row = query(db_path, "SELECT claim, adjuster, policy FROM care_case")[0]
    assert tuple(row) == ("PIP-26-018833", "R. Okafor 800-555-0110", None)
    dx = [tuple(r) for r in query(db_path, "SELECT position, code FROM diagnosis ORDER BY 1")]
    assert dx == [(1, "S13.4XXD"), (2, "M54.2")]
    assert query(db_path, "SELECT count(*) FROM audit WHERE action = 'edit' AND "
                 "entity = 'case'")[0][0] == 1  # fmt: skip
    same = cli("case", "edit", "1", "--claim", "PIP-26-018833")
    assert "nothing changed" in same.stderr
    before = count_rows(db_path)
    for args, start in (
        (("--dx", "M54.5"), "error: dx: "),
        (("--units-rule", "metric"), "error: units-rule: 'metric' — "),
        (("--injury-date", ""), "error: injury-date: (missing) — required for auto-pip"),
        ((), "error: case: '1' — nothing to change"),
    ):
        bad = cli("case", "edit", "1", *args, ok=False)
        assert bad.exit_code == 2, args
        assert bad.stderr.startswith(start), bad.stderr
    assert count_rows(db_path) == before


def test_case_edit_units_rule_applies_to_drafts_edited_and_later_visits(pip, db_path):
    cli, who = pip
    log(cli, who, "2026-11-02", "--sign")
    log(cli, who, "2026-11-05")
    cli("case", "edit", "1", "--units-rule", "ama")
    cli("session", "edit", "2", "--technique", "swedish=22", "--technique", "trigger-point=7")
    rules = [tuple(r) for r in query(db_path, "SELECT id, units_rule FROM session")]
    assert rules == [(1, "cms"), (2, "ama")]  # the signed note keeps what it was billed with


# --- 11. the other ways in and out ------------------------------------------------------------


def test_import_checks_each_row_against_the_authorization_for_its_date(cli, db_path, tmp_path):
    cli(*PROFILE)
    who = open_claim(cli, "Walt Comp", "workers-comp", "2", "2026-11-10")
    cli("case", "renew", "1", "--rx-date", "2026-11-12", "--from", "2026-11-14",
        "--rx-until", "2026-12-31", "--visits", "2")  # fmt: skip
    rows = ["client,date,pre,post,techniques,regions"]
    rows += [f"Walt,{d},6,4,swedish=30,neck" for d in ("2026-11-02", "2026-11-09",
                                                      "2026-11-16", "2026-11-20")]  # fmt: skip
    good = tmp_path / "good.csv"
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cli("import", "sessions", str(good))
    assert [(s[1], s[2], s[3]) for s in standing(cli, who)] == [
        (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 2)
    ]  # fmt: skip
    before = count_rows(db_path)
    gap = tmp_path / "gap.csv"  # between the two authorizations: refused, nothing written
    gap.write_text("client,date,pre,post,techniques,regions\nWalt,2026-11-12,6,4,swedish=30,"
                   "neck\n", encoding="utf-8")  # fmt: skip
    refused = cli("import", "sessions", str(gap), ok=False)
    assert refused.exit_code == 2
    assert "line 2: date: '2026-11-12' — falls between the prescription of 2026-10-21" in (
        refused.stderr
    )
    over = tmp_path / "over.csv"  # a third visit under the renewal of 2
    over.write_text("client,date,pre,post,techniques,regions\nWalt,2026-11-24,6,4,swedish=30,"
                    "neck\n", encoding="utf-8")  # fmt: skip
    refused = cli("import", "sessions", str(over), ok=False)
    assert "line 2: visits: '3' — is beyond the 2 visits authorized under renewal 2" in (
        refused.stderr
    )
    assert count_rows(db_path) == before


def test_superbill_warns_of_visits_no_authorization_covers(pip):
    cli, who = pip
    cli("profile", "set", "--fee", "97124=38")
    log(cli, who, "2026-11-18", "--sign")
    log(cli, who, "2026-11-24", "--sign")  # after the prescription
    result = cli("superbill", who, "-f", "json")
    assert "session 2 on 2026-11-24 is outside the prescription's dates" in result.stderr
    cli("case", "renew", "1", "--rx-date", "2026-11-25", "--from", "2026-11-21",
        "--rx-until", "2026-12-31", "--visits", "6")  # fmt: skip
    again = cli("superbill", who, "-f", "json")
    assert "outside the prescription" not in again.stderr
    assert json.loads(again.stdout)["cases"][0]["referrer"] == "Alan Brooks, DC"


def test_a_renewal_on_a_closed_case_covers_its_visits_and_says_new_ones_need_an_open_case(pip):
    cli, who = pip
    log(cli, who, "2026-11-24", "--sign")
    cli("case", "close", "1", "--reason", "PIP benefits exhausted")
    result = cli("case", "renew", "1", "--rx-date", "2026-11-26", "--from", "2026-11-21",
                 "--rx-until", "2026-11-30", "--visits", "1")  # fmt: skip
    assert "case 1 is closed: the renewal covers the visits already logged" in result.stderr
    assert standing(cli, who) == [(1, 1, 2, 1, None, False)]
