"""Clinical rules as pure functions over plain values: pain change, MCID, report due, Rx guards.

Nothing here touches the database or the terminal, so every rule has table-driven tests at its
boundaries (tests/test_rules.py).
"""

from datetime import date, timedelta
from typing import NamedTuple

from medmassage.rules.catalog import MCID, ReportRule

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


class Change(NamedTuple):
    """Change of an outcome measure from baseline to current, signed so that + is better."""

    measure: str
    baseline: float
    current: float
    improvement: float
    percent: float | None  # improvement as % of baseline; None when the baseline is 0
    mcid_met: bool


def change(measure: str, baseline: float, current: float) -> Change:
    """Improvement and whether it reaches the MCID of `measure` (catalog.MCID).

    NPRS: ≥ 2 points or ≥ 30 % of baseline (a 0 baseline cannot improve). NDI 15 points,
    ODI 10 points (0–100 % scales), PSFS +2 points (higher is better).
    """
    rule = MCID[measure]
    improvement = (baseline - current) if rule.lower_is_better else (current - baseline)
    # Scores are stored to one decimal; round away binary noise (16.4 - 1.4 = 14.999…) so a
    # change of exactly the threshold counts as reaching it.
    improvement = round(improvement, 1)
    percent = None
    if baseline and rule.lower_is_better:
        percent = round(improvement * 100 / baseline, 1)
    met = improvement > 0 and improvement >= rule.points
    if not met and rule.percent is not None and baseline > 0 and improvement > 0:
        # Compare in integers where possible: 1 point of 3 is 33 %, which is ≥ 30 %.
        met = improvement * 100 >= rule.percent * baseline
    return Change(measure, baseline, current, improvement, percent, met)


def relief(pre: int, post: int) -> int:
    """Immediate relief in a session: pre − post (negative when pain went up)."""
    return pre - post


def sparkline(values: list[int], low: int = 0, high: int = 10) -> str:
    """One block character per value on a fixed 0–10 scale, so sparklines compare across clients."""
    span = high - low
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((min(max(v, low), high) - low) * top / span)] for v in values)


# --- Progress report due ----------------------------------------------------------------------


class ReportDue(NamedTuple):
    due: bool
    reasons: tuple[str, ...]
    visits_since: int
    anchor: date | None  # last report, or start of care
    anchor_kind: str  # 'last report' or 'start of care'
    next_visit: int | None  # the visit number at which the next report falls due
    next_date: date | None

    def describe(self) -> str:
        if self.anchor is None:
            return "after the first visit"
        if self.due:
            return "due now (" + "; ".join(self.reasons) + ")"
        parts = []
        if self.next_visit is not None:
            parts.append(f"at visit {self.next_visit}")
        if self.next_date is not None:
            parts.append(f"by {self.next_date.isoformat()}")
        return " or ".join(parts) + (", whichever comes first" if len(parts) == 2 else "")


def report_due(
    rule: ReportRule,
    visit_dates: list[date],
    last_report: date | None,
    on: date,
    late: int = 0,
) -> ReportDue:
    """Is a progress report due on `on`?

    `visit_dates` are the dates of the case's (non-void) visits. Counting starts at the end of
    the period the last report covered, or at the first visit (start of care) when none was
    written. `late` visits are dated within that period but were logged after the report, so
    they were not in it and count as since. Due when at least `rule.visits` visits happened
    since, or `rule.days` days have passed since.
    """
    return report_due_counted(
        rule,
        VisitCounts(
            len(visit_dates),
            min(visit_dates, default=None),
            sum(1 for d in visit_dates if d <= last_report) if last_report is not None else 0,
        ),
        last_report,
        on,
        late,
    )


class VisitCounts(NamedTuple):
    """All report_due needs of a case's visits: what SQL can count without listing them."""

    visits: int  # non-void visits
    first: date | None  # the first of them (start of care)
    by_last_report: int  # those dated on or before the last report's period end


def report_due_counted(
    rule: ReportRule, counts: VisitCounts, last_report: date | None, on: date, late: int = 0
) -> ReportDue:
    """report_due from the visits counted (reports.case_states counts them in SQL)."""
    if last_report is not None:
        anchor, kind = last_report, "last report"
        before = counts.by_last_report - late
    elif counts.first is not None:
        anchor, kind = counts.first, "start of care"
        before = 0
    else:
        return ReportDue(False, (), 0, None, "start of care", None, None)
    since = counts.visits - before
    reasons = []
    if rule.visits is not None and since >= rule.visits:
        reasons.append(f"{since} visits since {kind}")
    days = (on - anchor).days
    if rule.days is not None and days >= rule.days and since > 0:
        reasons.append(f"{days} days since {kind}")
    next_visit = before + rule.visits if rule.visits is not None else None
    next_date = anchor + timedelta(days=rule.days) if rule.days is not None else None
    return ReportDue(bool(reasons), tuple(reasons), since, anchor, kind, next_visit, next_date)


def rule_text(rule: ReportRule) -> str:
    parts = []
    if rule.visits is not None:
        parts.append(f"every {rule.visits} visits")
    if rule.days is not None:
        parts.append(f"{rule.days} days")
    return " or ".join(parts) if parts else "off"
