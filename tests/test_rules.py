"""Clinical rules (SPEC §5): MCID, progress report due, prescription/authorization guards, and the
warnings `session log` prints and the facts `progress -f json` reports.

The pure rules (medmassage.rules.progress) are table-driven at their boundaries; the CLI tests check
the same rules end to end against a real database. "Today" is 2026-11-27, a Friday.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from medmassage.rules.catalog import DEFAULT_REPORT_RULES, ReportRule
from medmassage.rules.coverage import Visit, Window, cover, outside_flag
from medmassage.rules.progress import change, report_due
from tests.conftest import count_rows, query

D = date.fromisoformat
HEALTH = DEFAULT_REPORT_RULES["health"]
WORKERS_COMP = DEFAULT_REPORT_RULES["workers-comp"]


def days_from(first: str, n: int) -> list[date]:
    """n visits on consecutive days starting at `first`."""
    return [D(first) + timedelta(days=i) for i in range(n)]


# --- MCID ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "baseline", "current", "met"),
    [
        # NPRS: ≥ 2 points or ≥ 30 % of baseline.
        pytest.param("nprs", 7, 5, True, id="nprs-7to5-2pts-met"),
        pytest.param("nprs", 3, 2, True, id="nprs-3to2-1pt-33pct-met"),
        pytest.param("nprs", 5, 4, False, id="nprs-5to4-1pt-20pct-not"),
        pytest.param("nprs", 4, 3, False, id="nprs-4to3-1pt-25pct-not"),
        pytest.param("nprs", 10, 7, True, id="nprs-10to7-3pts-met"),
        pytest.param("nprs", 10, 8, True, id="nprs-10to8-2pts-20pct-met"),
        pytest.param("nprs", 10, 9, False, id="nprs-10to9-1pt-10pct-not"),
        pytest.param("nprs", 0, 0, False, id="nprs-0to0-no-room-not"),
        pytest.param("nprs", 5, 7, False, id="nprs-5to7-worse-not"),
        pytest.param("nprs", 1, 3, False, id="nprs-1to3-worse-by-2-not"),
        pytest.param("nprs", 6, 6, False, id="nprs-unchanged-not"),
        pytest.param("nprs", 1, 0, True, id="nprs-1to0-100pct-met"),
        # NDI: ≥ 15 points on the 0–100 % scale.
        pytest.param("ndi", 40, 25, True, id="ndi-40to25-15pts-met"),
        pytest.param("ndi", 40, 26, False, id="ndi-40to26-14pts-not"),
        pytest.param("ndi", 25, 40, False, id="ndi-worse-not"),
        # ODI: ≥ 10 points.
        pytest.param("odi", 30, 20, True, id="odi-30to20-10pts-met"),
        pytest.param("odi", 30, 21, False, id="odi-30to21-9pts-not"),
        # Scores are stored with one decimal (NDI with a skipped item is score/45: 31.1 %).
        # Exactly the threshold in decimal must be met, whatever binary floats make of it.
        pytest.param("ndi", 16.4, 1.4, True, id="ndi-16.4to1.4-exactly-15-met"),
        pytest.param("ndi", 31.1, 16.1, True, id="ndi-31.1to16.1-exactly-15-met"),
        pytest.param("odi", 33.3, 23.3, True, id="odi-33.3to23.3-exactly-10-met"),
        pytest.param("odi", 16.4, 6.4, True, id="odi-16.4to6.4-exactly-10-met"),
        # PSFS: higher is better, ≥ 2 points.
        pytest.param("psfs", 3, 5, True, id="psfs-3to5-2pts-met"),
        pytest.param("psfs", 3, 4, False, id="psfs-3to4-1pt-not"),
        pytest.param("psfs", 5, 3, False, id="psfs-5to3-worse-not"),
        pytest.param("psfs", 0, 2, True, id="psfs-0to2-from-zero-met"),
    ],
)
def test_mcid(measure: str, baseline: float, current: float, met: bool) -> None:
    assert change(measure, baseline, current).mcid_met is met


@pytest.mark.parametrize(
    ("baseline", "current", "points", "percent"),
    [
        pytest.param(7, 5, 2, 28.6, id="7to5"),
        pytest.param(3, 2, 1, 33.3, id="3to2"),
        pytest.param(5, 7, -2, -40.0, id="worse-is-negative"),
        pytest.param(0, 0, 0, None, id="baseline-0-no-percent"),
    ],
)
def test_nprs_change_points_and_percent(baseline, current, points, percent) -> None:
    result = change("nprs", baseline, current)
    assert result.improvement == points
    assert result.percent == percent


def test_psfs_improvement_is_signed_higher_is_better() -> None:
    assert change("psfs", 3, 5).improvement == 2
    assert change("psfs", 5, 3).improvement == -2


# --- progress report due -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "visits", "on", "due"),
    [
        # Health: every 10 visits or 30 days since start of care (the first visit).
        pytest.param(HEALTH, days_from("2026-11-01", 9), "2026-11-09", False, id="health-9v"),
        pytest.param(HEALTH, days_from("2026-11-01", 10), "2026-11-10", True, id="health-10v"),
        pytest.param(HEALTH, days_from("2026-11-01", 11), "2026-11-11", True, id="health-11v"),
        pytest.param(HEALTH, [D("2026-10-29")], "2026-11-27", False, id="health-29days"),
        pytest.param(HEALTH, [D("2026-10-28")], "2026-11-27", True, id="health-30days"),
        # Workers' comp: every 6 visits (or 30 days).
        pytest.param(WORKERS_COMP, days_from("2026-11-01", 5), "2026-11-05", False, id="wc-5v"),
        pytest.param(WORKERS_COMP, days_from("2026-11-01", 6), "2026-11-06", True, id="wc-6v"),
        pytest.param(WORKERS_COMP, [D("2026-10-29")], "2026-11-27", False, id="wc-29days"),
        pytest.param(WORKERS_COMP, [D("2026-10-28")], "2026-11-27", True, id="wc-30days"),
        # No visits: nothing to report on.
        pytest.param(HEALTH, [], "2026-11-27", False, id="no-visits"),
        # A rule switched off never falls due.
        pytest.param(ReportRule(None, None), days_from("2026-01-01", 50), "2026-11-27", False,
                     id="rule-off"),
    ],
)  # fmt: skip
def test_report_due_from_start_of_care(rule, visits, on, due) -> None:
    result = report_due(rule, visits, None, D(on))
    assert result.due is due
    assert bool(result.reasons) is due


def test_report_due_reasons_name_the_trigger() -> None:
    by_visits = report_due(HEALTH, days_from("2026-11-01", 10), None, D("2026-11-10"))
    assert by_visits.reasons == ("10 visits since start of care",)
    by_days = report_due(HEALTH, [D("2026-10-28")], None, D("2026-11-27"))
    assert by_days.reasons == ("30 days since start of care",)


def test_report_due_visit_order_does_not_matter() -> None:
    # Backdated sessions arrive out of order; the anchor is still the earliest visit.
    visits = [D("2026-11-20"), D("2026-10-28"), D("2026-11-10")]
    result = report_due(HEALTH, visits, None, D("2026-11-27"))
    assert result.anchor == D("2026-10-28")
    assert result.due is True


def test_report_due_next_visit_and_date_from_start_of_care() -> None:
    result = report_due(HEALTH, [D("2026-11-02"), D("2026-11-05")], None, D("2026-11-27"))
    assert result.due is False
    assert result.anchor == D("2026-11-02")
    assert result.anchor_kind == "start of care"
    assert result.visits_since == 2
    assert result.next_visit == 10
    assert result.next_date == D("2026-12-02")


def test_report_due_without_visits_has_no_anchor() -> None:
    result = report_due(HEALTH, [], None, D("2026-11-27"))
    assert (result.due, result.anchor, result.next_visit, result.next_date) == (
        False,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("n_visits", "on", "due"),
    [
        # 12 visits 11-01..11-12, report written 11-05: visits 1–5 (on or before it) are covered,
        # so 7 are new — not yet 10.
        pytest.param(12, "2026-11-12", False, id="7-since-report"),
        pytest.param(15, "2026-11-15", True, id="10-since-report"),
        # 30 days after the report (12-05), with visits since: due; the day before: not.
        pytest.param(12, "2026-12-04", False, id="29days-since-report"),
        pytest.param(12, "2026-12-05", True, id="30days-since-report"),
    ],
)
def test_report_due_counts_from_the_last_report(n_visits, on, due) -> None:
    visits = days_from("2026-11-01", n_visits)
    result = report_due(HEALTH, visits, D("2026-11-05"), D(on))
    assert result.due is due
    assert result.anchor == D("2026-11-05")
    assert result.anchor_kind == "last report"
    assert result.visits_since == n_visits - 5
    assert result.next_visit == 15  # 5 covered by the report + 10
    assert result.next_date == D("2026-12-05")


def test_report_not_due_when_no_visit_since_the_last_report() -> None:
    # A report about zero new visits is pointless, however long ago the last one was.
    result = report_due(
        HEALTH, [D("2026-09-01"), D("2026-09-10")], D("2026-09-10"), D("2026-11-27")
    )
    assert result.visits_since == 0
    assert result.due is False


# --- prescription and authorization guards -------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "flag"),
    [
        pytest.param("2026-10-31", "not-yet-valid", id="day-before-rx-date"),
        pytest.param("2026-11-01", None, id="on-rx-date"),
        pytest.param("2026-11-20", None, id="inside"),
        pytest.param("2026-12-31", None, id="on-valid-until"),
        pytest.param("2027-01-01", "expired", id="day-after-valid-until"),
    ],
)
def test_rx_flag(day: str, flag: str | None) -> None:
    one = [Window(1, D("2026-11-01"), D("2026-11-01"), D("2026-12-31"), 12)]
    assert outside_flag(one, D(day)) == flag


@pytest.mark.parametrize(
    ("used", "authorized", "over"),
    [
        pytest.param(11, 12, False, id="11-of-12"),
        pytest.param(12, 12, False, id="12-of-12-last-authorized"),
        pytest.param(13, 12, True, id="13-of-12"),
        pytest.param(1, 1, False, id="1-of-1"),
        pytest.param(2, 1, True, id="2-of-1"),
    ],
)
def test_over_authorized(used: int, authorized: int, over: bool) -> None:
    one = [Window(1, D("2026-11-01"), D("2026-11-01"), D("2026-12-31"), authorized)]
    visits = [Visit(i, D("2026-11-02") + timedelta(days=i)) for i in range(1, used + 1)]
    assert cover(one, visits)[-1].over_authorized is over


# --- through the CLI: helpers --------------------------------------------------------------------


def open_case(
    cli,
    client: str,
    *,
    payer: str = "health",
    rx_date: str = "2026-10-01",
    rx_until: str = "2026-12-31",
    visits: int = 20,
    extra: tuple[str, ...] = (),
) -> None:
    """A new client with one open case (no frequency or areas unless `extra` gives them)."""
    cli("client", "add", client)
    args = [
        "case", "open", client, "--payer", payer, "--dx", "M54.2",
        "--referrer", "Alan Brooks, DC", "--referrer-npi", "1987654328",
        "--rx-date", rx_date, "--rx-until", rx_until, "--visits", str(visits),
    ]  # fmt: skip
    if payer in ("workers-comp", "auto-pip"):
        args += ["--injury-date", "2026-09-15"]
    cli(*args, *extra)


def log(cli, client: str, day: str, *, pre=6, post=4, region="neck", extra=(), ok=True):
    return cli(
        "session", "log", client, "--pre", str(pre), "--post", str(post),
        "--technique", "swedish=30", "--region", region, "--date", day, *extra, ok=ok,
    )  # fmt: skip


def progress(cli, client: str) -> dict:
    return json.loads(cli("progress", client, "-f", "json").stdout)


def session_rows(db_path) -> list:
    return query(db_path, "SELECT * FROM session ORDER BY id")


# --- prescription guard through the CLI ----------------------------------------------------------


def test_health_session_after_rx_end_is_recorded_warned_and_flagged(cli, db_path) -> None:
    open_case(cli, "Hana Health", rx_until="2026-11-15")
    on_last_day = log(cli, "Hana", "2026-11-15")
    assert "prescription" not in on_last_day.stderr
    after = log(cli, "Hana", "2026-11-16")
    assert after.exit_code == 0
    assert "prescription expired on 2026-11-15" in after.stderr
    assert [r["logged_rx_flag"] for r in session_rows(db_path)] == [None, "expired"]
    visits = progress(cli, "Hana")["visits"]
    assert [v["rx_flag"] for v in visits] == [None, "expired"]


def test_health_session_beyond_authorized_visits_is_recorded_and_flagged(cli, db_path) -> None:
    open_case(cli, "Hana Health", visits=2)
    log(cli, "Hana", "2026-11-10")
    second = log(cli, "Hana", "2026-11-12")
    assert "beyond" not in second.stderr
    third = log(cli, "Hana", "2026-11-14")
    assert "visit 3 is beyond the 2 visits authorized" in third.stderr
    data = progress(cli, "Hana")
    assert [v["over_authorized"] for v in data["visits"]] == [False, False, True]
    assert data["authorization"] == {
        "visits_authorized": 2,
        "visits_used": 3,
        "visits_remaining": 0,
        "id": 1,
        "number": 1,
        "state": "in force",
        "visits_on_claim": 3,
    }


@pytest.mark.parametrize(
    ("day", "visits", "earlier", "refusal", "warning"),
    [
        pytest.param("2026-11-16", 10, (),
                     "date: 2026-11-16 is after the prescription's valid-until date 2026-11-15",
                     "prescription expired on 2026-11-15", id="after-rx-end"),
        pytest.param("2026-09-30", 10, (),
                     "date: 2026-09-30 is before the prescription date 2026-10-01",
                     "prescription starts on 2026-10-01", id="before-rx"),
        pytest.param("2026-11-12", 2, ("2026-11-05", "2026-11-10"),
                     "visits: visit 3 is beyond the 2", "visit 3 is beyond the 2",
                     id="over-authorized"),
    ],
)  # fmt: skip
def test_workers_comp_outside_rx_is_refused_then_allowed_with_reason(
    cli, db_path, day, visits, earlier, refusal, warning
) -> None:
    open_case(cli, "Walt Comp", payer="workers-comp", rx_until="2026-11-15", visits=visits)
    for d in earlier:
        log(cli, "Walt", d)
    before = count_rows(db_path)

    refused = log(cli, "Walt", day, ok=False)
    assert refused.exit_code == 2
    assert refusal in refused.stderr  # names the field and the value first
    assert "--allow-expired" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert count_rows(db_path) == before  # nothing written, not even an audit row

    reason = "adjuster approved renewal by phone 2026-11-14"
    allowed = log(cli, "Walt", day, extra=("--allow-expired", reason))
    assert warning in allowed.stderr  # still warned
    last = session_rows(db_path)[-1]
    assert last["date"] == day
    assert last["override_reason"] == reason


def test_workers_comp_inside_rx_needs_no_override(cli, db_path) -> None:
    # The valid-until date itself and the last authorized visit are still inside.
    open_case(cli, "Walt Comp", payer="workers-comp", rx_until="2026-11-15", visits=2)
    log(cli, "Walt", "2026-10-01")
    log(cli, "Walt", "2026-11-15")
    assert [r["override_reason"] for r in session_rows(db_path)] == [None, None]
    assert [r["logged_rx_flag"] for r in session_rows(db_path)] == [None, None]


# --- progress report due through the CLI ---------------------------------------------------------


def report_due_warned(result) -> bool:
    return "progress report due" in result.stderr


def test_report_due_warning_on_the_tenth_health_visit(cli) -> None:
    open_case(cli, "Hana Health")
    days = [f"2026-11-{d:02d}" for d in range(10, 20)]  # 10 visits inside 30 days
    results = [log(cli, "Hana", d) for d in days]
    assert [report_due_warned(r) for r in results[:9]] == [False] * 9
    assert report_due_warned(results[9])
    assert "10 visits since start of care" in results[9].stderr
    assert progress(cli, "Hana")["progress_report"]["due"] is True


def test_report_due_warning_on_the_sixth_workers_comp_visit(cli) -> None:
    open_case(cli, "Walt Comp", payer="workers-comp")
    days = [f"2026-11-{d:02d}" for d in range(10, 16)]
    results = [log(cli, "Walt", d) for d in days]
    assert [report_due_warned(r) for r in results[:5]] == [False] * 5
    assert report_due_warned(results[5])
    assert "6 visits since start of care" in results[5].stderr


@pytest.mark.parametrize(
    ("first_visit", "due"),
    [
        pytest.param("2026-10-29", False, id="29-days-ago"),
        pytest.param("2026-10-28", True, id="30-days-ago"),
    ],
)
def test_progress_report_due_after_thirty_days(cli, first_visit: str, due: bool) -> None:
    open_case(cli, "Hana Health")
    log(cli, "Hana", first_visit)
    report = progress(cli, "Hana")["progress_report"]
    assert report["due"] is due
    assert report["counted_from"] == first_visit
    assert report["next_visit"] == 10


def test_profile_report_every_changes_when_a_report_is_due(cli) -> None:
    open_case(cli, "Hana Health")
    for d in ("2026-11-20", "2026-11-23"):
        log(cli, "Hana", d)
    assert progress(cli, "Hana")["progress_report"]["due"] is False

    cli("profile", "set", "--report-every", "health=3/30")
    third = log(cli, "Hana", "2026-11-25")
    assert "progress report due: 3 visits since start of care" in third.stderr
    report = progress(cli, "Hana")["progress_report"]
    assert report["due"] is True
    assert report["next_visit"] == 3
    assert "3 visits" in report["rule"]


def test_report_every_for_one_payer_leaves_the_others_alone(cli) -> None:
    cli("profile", "set", "--report-every", "workers-comp=2/30")
    open_case(cli, "Hana Health")
    for d in ("2026-11-20", "2026-11-23"):
        log(cli, "Hana", d)
    assert progress(cli, "Hana")["progress_report"]["due"] is False


# --- visit warnings ------------------------------------------------------------------------------


def frequency_warned(result) -> bool:
    return "visits in the week of" in result.stderr


def test_weekly_frequency_warning_on_the_third_visit_of_a_monday_to_sunday_week(cli) -> None:
    open_case(cli, "Hana Health", extra=("--frequency", "2x/week"))
    # Fri 11-20 and Sun 11-22 are the week of Mon 11-16; Mon 11-23 starts a new week.
    quiet = [log(cli, "Hana", d) for d in ("2026-11-20", "2026-11-22", "2026-11-23", "2026-11-25")]
    assert [frequency_warned(r) for r in quiet] == [False] * 4
    third = log(cli, "Hana", "2026-11-27")
    assert "3 visits in the week of 2026-11-23 (Mon–Sun); the order is 2x/week" in third.stderr


def test_regions_not_on_the_prescription_are_warned(practice) -> None:
    # The practice case orders neck and upper-back.
    inside = practice(
        "session", "log", "Jane", "--pre", "6", "--post", "4", "--technique", "swedish=30",
        "--region", "neck", "--region", "upper-back", "--date", "2026-11-20",
    )  # fmt: skip
    assert "not on the prescription" not in inside.stderr
    outside = practice(
        "session", "log", "Jane", "--pre", "6", "--post", "4", "--technique", "swedish=30",
        "--region", "neck", "--region", "lower-back", "--date", "2026-11-23",
    )  # fmt: skip
    assert "regions not on the prescription: lower-back" in outside.stderr
    assert "ordered: neck, upper-back" in outside.stderr


# --- progress -f json ----------------------------------------------------------------------------


def test_progress_json_pain_and_authorization(practice) -> None:
    # Intake pain is 7 (baseline). Visits are logged out of order: the 11-05 visit is entered
    # last, but the latest *by date* (11-20, pre 5) is the current pain.
    for day, pre, post in (("2026-11-10", 7, 4), ("2026-11-20", 5, 3), ("2026-11-05", 8, 6)):
        practice(
            "session", "log", "Jane", "--pre", str(pre), "--post", str(post),
            "--technique", "swedish=30", "--region", "neck", "--date", day,
        )  # fmt: skip
    data = practice("progress", "Jane", "-f", "json")
    report = json.loads(data.stdout)
    assert report["pain"]["baseline"] == 7
    assert report["pain"]["baseline_source"] == "intake"
    assert report["pain"]["current"] == 5
    assert report["pain"]["change_points"] == 2
    assert report["pain"]["change_percent"] == 28.6
    assert report["pain"]["mcid_met"] is True  # 2 points, though under 30 %
    assert report["pain"]["average_relief"] == 2.3  # (2 + 3 + 2) / 3
    assert [v["date"] for v in report["visits"]] == ["2026-11-05", "2026-11-10", "2026-11-20"]
    assert [v["visit"] for v in report["visits"]] == [1, 2, 3]
    assert report["authorization"]["visits_used"] == 3
    assert report["authorization"]["visits_remaining"] == 9
    assert report["progress_report"]["due"] is False
    assert report["progress_report"]["counted_from"] == "2026-11-05"
    assert report["progress_report"]["next_visit"] == 10
    assert report["progress_report"]["next_date"] == "2026-12-05"


@pytest.mark.parametrize(
    ("pres", "current", "points", "percent", "met"),
    [
        pytest.param((6, 4), 4, 2, 33.3, True, id="6to4-met"),
        pytest.param((6, 5), 5, 1, 16.7, False, id="6to5-not"),
        pytest.param((3, 2), 2, 1, 33.3, True, id="3to2-met-by-percent"),
        pytest.param((4, 6), 6, -2, -50.0, False, id="4to6-worse"),
    ],
)
def test_progress_json_baseline_without_intake_is_first_visit(
    cli, pres, current, points, percent, met
) -> None:
    open_case(cli, "Hana Health")
    for day, pre in zip(("2026-11-10", "2026-11-17"), pres, strict=True):
        log(cli, "Hana", day, pre=pre, post=max(pre - 1, 0))
    pain = progress(cli, "Hana")["pain"]
    assert pain["baseline"] == pres[0]
    assert pain["baseline_source"] == "first visit"
    assert pain["current"] == current
    assert pain["change_points"] == points
    assert pain["change_percent"] == percent
    assert pain["mcid_met"] is met
    assert pain["average_relief"] == 1.0


def test_progress_json_before_any_visit(practice) -> None:
    report = json.loads(practice("progress", "Jane", "-f", "json").stdout)
    assert report["visits"] == []
    assert report["pain"]["baseline"] == 7  # from the intake
    assert report["pain"]["current"] is None
    assert report["pain"]["mcid_met"] is None
    assert report["authorization"]["visits_remaining"] == 12
    assert report["progress_report"]["due"] is False


def test_progress_json_measures_reach_mcid_at_exactly_the_threshold(practice) -> None:
    # NDI 16.4 → 1.4 is exactly 15 points and ODI 33.3 → 23.3 exactly 10: both are the MCID.
    # The JSON goes to insurers, so the improvement must read 15.0 and 10.0 as well.
    practice("measure", "add", "Jane", "--date", "2026-11-02", "--ndi", "16.4", "--odi", "33.3")
    practice("measure", "add", "Jane", "--date", "2026-11-20", "--ndi", "1.4", "--odi", "23.3")
    measures = {m["measure"]: m for m in progress(practice, "Jane")["measures"]}
    assert (measures["ndi"]["improvement"], measures["ndi"]["mcid_met"]) == (15.0, True)
    assert (measures["odi"]["improvement"], measures["odi"]["mcid_met"]) == (10.0, True)


def test_session_log_visit_number_matches_the_progress_order(practice) -> None:
    """The receipt's visit number is the visit's place in the progress table (date, start
    time, then entry order), also when a session is logged out of order."""
    base = ("--pre", "5", "--post", "3", "--technique", "swedish=30", "--region", "neck")
    first = practice("session", "log", "Jane", *base, "--date", "2026-11-20 14:00")
    earlier_same_day = practice("session", "log", "Jane", *base, "--date", "2026-11-20 09:00")
    backdated = practice("session", "log", "Jane", *base, "--date", "2026-11-18")
    assert "visit 1 of 12" in first.stdout
    assert "visit 1 of 12" in earlier_same_day.stdout
    assert "visit 1 of 12" in backdated.stdout
    visits = json.loads(practice("progress", "Jane", "-f", "json").stdout)["visits"]
    assert [(v["date"], v["session_id"]) for v in visits] == [
        ("2026-11-18", 3),
        ("2026-11-20", 2),
        ("2026-11-20", 1),
    ]
