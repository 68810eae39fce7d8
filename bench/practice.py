"""A synthetic practice at scale, for the benchmarks: 2,000 clients, 100,000 sessions, 10 years.

Realistic shapes rather than uniform ones:
- clients arrive throughout the ten years; how many visits each has is long-tailed
  (log-normal: most have 10–60, a few have 200+, capped at 400);
- every payer type, in a typical mix (health 45 %, auto PIP 20 %, workers' comp 15 %,
  self-pay 12 %, FSA/HSA 8 %), each case with its prescription and renewals (a new
  authorization every 8–20 visits) covering the client's visits;
- visits 1–3 times a week with breaks, pain falling over a course of care with noise, and
  SOAP notes of realistic length (a few sentences, 150–900 characters).

Clients and cases are written straight into SQLite (a CSV of sessions cannot hold them); the
sessions then go in through `medmassage import sessions`, the project's own import path with the
same checks as `session log` (bench/run.py times that step). Then settle() leaves what ten years
of practice leave besides visits: clients whose care ended discharged and their cases closed,
prescriptions that ended with the care, and progress reports written at each payer's cadence.
Without settle() (bench/run.py --all-active) every client is still active and every case open:
the worst case of a therapist who never discharges anyone.
"""

from __future__ import annotations

import csv
import math
import random
from datetime import date, timedelta
from pathlib import Path

PAYERS = (
    ("health", 45),
    ("auto-pip", 20),
    ("workers-comp", 15),
    ("self-pay", 12),
    ("fsa-hsa", 8),
)
TECHNIQUES = (
    "swedish=30",
    "myofascial-release=25;swedish=20",
    "trigger-point=15;deep-tissue=30",
    "neuromuscular-therapy=20;stretching=10;hot-cold-pack=10",
    "soft-tissue-mobilization=33;neuromuscular-reeducation=7",
    "myofascial-release=30;trigger-point=15;stretching=8",
    "manual-lymphatic-drainage=45",
)
REGIONS = (
    "neck;upper-back",
    "lower-back;gluteal-left",
    "shoulder-right;upper-back",
    "neck",
    "lower-back",
    "jaw-left;jaw-right;neck",
    "foot-left;leg-left",
    "wrist-hand-right;forearm-right",
)
SENTENCES = (
    "Reports stiffness after long hours at the desk.",
    "Slept better since the last visit but still sore turning to the left.",
    "Tender at C5-C6 with hypertonic upper trapezius bilaterally.",
    "Range of motion improved by about ten degrees in rotation.",
    "Client tolerated deep pressure well; guarding decreased through the session.",
    "Headaches down from daily to twice a week.",
    "Lumbar flexion limited by pain at end range; trigger points in quadratus lumborum.",
    "Returned to light duty at work; lifting still aggravates.",
    "Home stretching done most days as instructed.",
    "Numbness in the right hand less frequent, mostly at night.",
    "Plantar fascia tender at the medial calcaneal tubercle; first steps painful.",
    "Jaw clicking reduced; opening measured at 38 mm.",
)
CLIENT_NAMES = (
    "Maria", "James", "Linda", "Priya", "Robert", "Zoë", "Ana", "Kenji", "Fatima", "Liam",
    "Olga", "Tomás", "Grace", "Ahmed", "Sofia", "Noah", "Chloé", "Dmitri", "Aisha", "Ben",
)  # fmt: skip
SURNAMES = (
    "Alvarez", "Carter", "Nguyen", "Shah", "Brown", "Nuñez", "Kowalski", "Tanaka", "Haddad",
    "O'Neil", "Petrova", "García", "Smith", "Rahman", "Rossi", "Müller", "Dubois", "Ivanov",
)  # fmt: skip


def _visit_counts(rng: random.Random, clients: int, sessions: int) -> list[int]:
    raw = [min(400.0, rng.lognormvariate(math.log(35), 0.8)) for _ in range(clients)]
    scale = sessions / sum(raw)
    counts = [max(1, round(r * scale)) for r in raw]
    counts[0] += sessions - sum(counts)  # exact total, on a client that can take it
    if counts[0] < 1:
        raise ValueError("too few sessions for that many clients")
    return counts


def _note(rng: random.Random) -> str:
    return " ".join(rng.sample(SENTENCES, rng.randint(2, 7)))


def _authorizations(
    rng: random.Random, visit_days: list[date], today: date
) -> list[tuple[str, str, str, int]]:
    """(written, valid from, valid until, visits) of a case's prescription and its renewals: a
    new authorization every 8 to 20 visits, written up to 3 days before its first visit, each
    window running from that visit to the day before the next one's first (the last to today
    or beyond), each allowing its visits and a few more."""
    out = []
    first = 0
    while first < len(visit_days):
        last = min(first + rng.randint(8, 20), len(visit_days)) - 1
        while last < len(visit_days) - 1 and visit_days[last + 1] == visit_days[last]:
            last += 1  # two visits the same day stay under one authorization
        begins = visit_days[first]
        more = last + 1 < len(visit_days)
        ends = visit_days[last + 1] - timedelta(days=1) if more else max(visit_days[-1], today)
        ends = max(ends, visit_days[last])
        written = (begins - timedelta(days=rng.randint(0, 3))).isoformat()
        allowed = last - first + 1 + rng.randint(0, 4)
        out.append((written, begins.isoformat(), ends.isoformat(), allowed))
        first = last + 1
    return out


def build(db: Path, csv_path: Path, *, clients: int, sessions: int, today: date, seed: int = 1):
    """Write the clients and cases into `db` and the sessions to import into `csv_path`.
    Returns (number of sessions written to the CSV, names of the clients)."""
    from medmassage.store.db import connect

    rng = random.Random(seed)
    counts = _visit_counts(rng, clients, sessions)
    first_day = today - timedelta(days=3650)
    conn, _ = connect(db)
    stamp = f"{today.isoformat()}T08:00:00+00:00"
    payer_names = [p for p, _ in PAYERS]
    payer_weights = [w for _, w in PAYERS]
    plans = []
    for i, visits in enumerate(counts, start=1):
        weeks = visits / rng.uniform(1.0, 2.5)
        span = min(int(weeks * 7 * rng.uniform(1.0, 1.6)) + 1, (today - first_day).days)
        latest_start = max(0, (today - first_day).days - span)
        start = first_day + timedelta(days=rng.randint(0, latest_start))
        days = sorted(rng.sample(range(span), min(visits, span)))
        while len(days) < visits:  # more visits than days: some days twice
            days.append(rng.randrange(span))
        days.sort()
        plans.append((i, start, [start + timedelta(days=d) for d in days]))
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT OR IGNORE INTO profile (id, name, credentials, license_number, npi, updated) "
        "VALUES (1, 'Dana Whitfield', 'LMT', 'MA60512345', '1234567893', ?)",
        (stamp,),
    )
    names = []
    for i, start, visit_days in plans:
        name = f"{rng.choice(CLIENT_NAMES)} {rng.choice(SURNAMES)} {i:04d}"
        names.append(name)
        payer = rng.choices(payer_names, payer_weights)[0]
        conn.execute(
            "INSERT INTO client (id, name, dob, created) VALUES (?, ?, ?, ?)",
            (i, name, f"{rng.randint(1945, 2005)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
             f"{start.isoformat()}T08:00:00+00:00"),
        )  # fmt: skip
        opened = f"{start.isoformat()}T08:00:00+00:00"
        conn.execute(
            "INSERT INTO care_case (id, client_id, payer_type, payer_name, claim, injury_date, "
            "opened) VALUES (?, ?, ?, 'Regence', ?, ?, ?)",
            (i, i, payer, f"CL-{i:05d}", (start - timedelta(days=7)).isoformat(), opened),
        )
        conn.executemany(
            "INSERT INTO authorization (case_id, prescriber, written, valid_from, valid_until, "
            "visits, frequency, created) VALUES (?, 'Dr Ames', ?, ?, ?, ?, '2x/week', ?)",
            [(i, *window, opened) for window in _authorizations(rng, visit_days, today)],
        )
        conn.execute(
            "INSERT INTO diagnosis (case_id, position, code, description) "
            "VALUES (?, 1, 'M54.50', 'Low back pain, unspecified')",
            (i,),
        )
    conn.execute("COMMIT")
    conn.close()

    from medmassage.exchange.import_sessions import COLUMNS

    written = 0
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS, restval="", lineterminator="\n")
        out.writeheader()
        for i, _, visit_days in plans:
            pain = rng.randint(5, 9)
            for n, day in enumerate(visit_days):
                pre = max(0, min(10, pain - n // 4 + rng.randint(-1, 1)))
                out.writerow(
                    {
                        "client": i,
                        "case": i,
                        "date": f"{day.isoformat()} {8 + n % 10:02d}:{15 * (n % 4):02d}",
                        "pre": pre,
                        "post": max(0, pre - rng.randint(0, 4)),
                        "techniques": rng.choice(TECHNIQUES),
                        "regions": rng.choice(REGIONS),
                        "subjective": _note(rng),
                        "objective": _note(rng),
                        "assessment": rng.choice(SENTENCES),
                        "plan": "Continue 2x/week; home stretching daily.",
                    }
                )
                written += 1
    return written, names


DISCHARGE_AFTER_DAYS = 60  # no visit for this long: the course of care has ended
CLOSE_REASONS = (
    "Goals met",
    "Goals met",
    "Goals met",
    "Plateaued",
    "Moved away",
    "Authorization ended",
)


# The case's latest authorization ends with the care (or runs a while yet).
_LAST_ENDS = (
    "UPDATE authorization SET valid_until = max(?, valid_from) "
    "WHERE id = (SELECT max(id) FROM authorization a WHERE a.case_id = ?)"
)


def settle(db: Path, today: date, *, seed: int = 1) -> dict[str, int]:
    """After the import: clients with no visit in DISCHARGE_AFTER_DAYS are discharged and their
    case closed two weeks after the last visit, the prescription ending then; every case gets
    the progress reports its payer asks for (medmassage.rules.catalog.DEFAULT_REPORT_RULES: every 10
    visits or 30 days, workers' comp every 6), each written on the visit that made it due.
    Written straight into SQLite like the clients and cases. Returns counts for the header."""
    from medmassage.rules.catalog import DEFAULT_REPORT_RULES
    from medmassage.store.db import connect

    rng = random.Random(seed)
    conn, _ = connect(db)
    conn.execute("BEGIN IMMEDIATE")
    cases = {
        case_id: (client_id, DEFAULT_REPORT_RULES[payer])
        for case_id, client_id, payer in conn.execute(
            "SELECT id, client_id, payer_type FROM care_case"
        )
    }
    visits: dict[int, list[tuple[int, date]]] = {}
    for case_id, session_id, day in conn.execute(
        "SELECT case_id, id, date FROM session WHERE status != 'void' ORDER BY case_id, date, id"
    ):
        visits.setdefault(case_id, []).append((session_id, date.fromisoformat(day)))
    reports = []
    closed = 0
    for case_id, (client_id, rule) in cases.items():
        seen = visits.get(case_id, [])
        if not seen:
            continue
        anchor, since, period_from = seen[0][1], 0, seen[0][1]
        for session_id, day in seen:
            since += 1
            if since >= (rule.visits or 10**9) or (day - anchor).days >= (rule.days or 10**9):
                stamp = f"{day.isoformat()}T18:00:00+00:00"
                reports.append((case_id, day.isoformat(), period_from.isoformat(),
                                day.isoformat(), session_id, stamp))  # fmt: skip
                anchor, since, period_from = day, 0, day + timedelta(days=1)
        last = seen[-1][1]
        if (today - last).days > DISCHARGE_AFTER_DAYS:
            ended = (last + timedelta(days=14)).isoformat()
            reason = rng.choice(CLOSE_REASONS)
            conn.execute(
                "UPDATE care_case SET status = 'closed', close_date = ?, close_reason = ? "
                "WHERE id = ?",
                (ended, reason, case_id),
            )
            conn.execute(_LAST_ENDS, (ended, case_id))
            conn.execute(
                "UPDATE client SET status = 'discharged', discharge_date = ?, "
                "discharge_reason = ? WHERE id = ?",
                (ended, reason, client_id),
            )
            closed += 1
        else:  # in care: the prescription runs a while yet (or has just run out)
            ends = max(last, today + timedelta(days=rng.randint(-7, 90)))
            conn.execute(_LAST_ENDS, (ends.isoformat(), case_id))
    conn.executemany(
        "INSERT INTO progress_report (case_id, written, period_from, period_to, last_session_id, "
        "created) VALUES (?, ?, ?, ?, ?, ?)",
        reports,
    )
    conn.execute("COMMIT")
    conn.close()
    return {"closed": closed, "open": len(cases) - closed, "reports": len(reports)}
