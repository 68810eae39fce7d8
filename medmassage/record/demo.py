"""A small, realistic practice for `medmassage demo`, built through the same domain functions
(and so the same validation) as real use. Dates are relative to today, so it always looks current.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from medmassage.errors import InputError
from medmassage.record.authorizations import AuthorizationInput, renew_case
from medmassage.record.cases import CaseInput, find_case, open_case
from medmassage.record.clients import add_client, discharge_client, find_client
from medmassage.record.intake import IntakeInput, MeasureInput, add_measures, record_intake
from medmassage.record.profile import set_profile
from medmassage.record.sessions import SessionInput, amend_session, log_session, sign_sessions


def _visit_days(first: date, count: int, gaps: tuple[int, ...]) -> list[date]:
    days, day = [], first
    for i in range(count):
        days.append(day)
        day += timedelta(days=gaps[i % len(gaps)])
    return days


def _log(
    conn: sqlite3.Connection,
    case_id: int,
    day: date,
    pre: int,
    post: int,
    techniques: list[str],
    regions: list[str],
    soap: tuple[str, str, str, str],
    sign: bool = True,
    homecare: str | None = None,
) -> int:
    case = find_case(conn, case_id)
    logged = log_session(
        conn,
        case,
        SessionInput(
            pre=str(pre),
            post=str(post),
            techniques=techniques,
            regions=regions,
            day=day,
            start_time="10:00",
            notes=dict(
                zip(("subjective", "objective", "assessment", "plan"), soap, strict=True),
                homecare=homecare,
            ),
            sign=sign,
        ),
    )
    return logged.session_id


def build_demo(conn: sqlite3.Connection, today: date) -> int:
    """Fill an empty database. Returns the case whose progress table the demo shows."""
    used = conn.execute(
        "SELECT (SELECT count(*) FROM client) + (SELECT count(*) FROM profile)"
        " + (SELECT count(*) FROM custom_technique)"
    ).fetchone()[0]
    if used:
        path = conn.execute("PRAGMA database_list").fetchone()["file"]
        raise InputError("db", path, "already holds a practice; the demo needs a new or empty file")
    set_profile(
        conn,
        {
            "name": "Dana Whitfield",
            "credentials": "LMT",
            "license_number": "MA60512345",
            "license_state": "WA",
            "npi": "1234567893",
            "practice_name": "Cedar Street Medical Massage",
            "address": "412 Cedar St, Suite 3, Bellingham, WA 98225-4410",
            "phone": "360-555-0142",
            "tax_id": "91-1234567",
            # What a claim asks of the biller (CMS-1500 box 25, the 837P's envelope).
            "tax_id_kind": "ein",
            "submitter_id": "CSMM0042",
            "receiver_id": "DEMOCLEARING",
            "receiver_name": "Demo Clearinghouse",
        },
        ["97124=38", "97140=45", "97112=45", "97110=40", "97010=12"],
        [],
    )

    # 1. Whiplash after a rear-end collision, auto PIP: the case the demo shows.
    start = today - timedelta(days=34)
    maria = add_client(
        conn,
        {
            "name": "Maria Alvarez",
            "dob": "1984-03-12",
            "phone": "360-555-0199",
            "sex": "female",
            "address": "18 Harbor View Rd, Bellingham, WA 98226",
        },
    )
    maria_case = open_case(
        conn,
        find_client(conn, str(maria)),
        CaseInput(
            payer="auto-pip",
            payer_name="Evergreen Mutual Auto",
            payer_id="EMA01",
            payer_address="PO Box 4410, Portland, OR 97208",
            accident_state="WA",
            policy="EMA-4471902",
            claim="PIP-26-018833",
            injury_date=(start - timedelta(days=12)).isoformat(),
            adjuster="R. Okafor, 800-555-0110 ext 42",
            dx=["S13.4XXD", "M54.2"],
            referrer="Alan Brooks, DC",
            referrer_npi="1987654328",
            rx_date=(start - timedelta(days=3)).isoformat(),
            rx_until=(start + timedelta(days=27)).isoformat(),
            visits="8",
            frequency="2x/week",
            areas=["neck", "upper-back", "shoulder-both"],
        ),
    )
    # Four weeks in, the insurer re-authorizes 8 more visits on the same claim (a renewal).
    renew_case(
        conn,
        find_case(conn, maria_case),
        AuthorizationInput(
            written=(start + timedelta(days=25)).isoformat(),
            valid_until=(start + timedelta(days=60)).isoformat(),
            visits="8",
            auth_number="EMA-PA-20871",
        ),
    )
    record_intake(
        conn,
        find_case(conn, maria_case),
        IntakeInput(
            complaint="Neck pain and stiffness since the car accident; headaches by evening",
            pain="7",
            regions=["neck", "upper-back", "shoulder-left"],
            day=start,
            conditions=["whiplash", "neck-pain"],
            onset=(start - timedelta(days=12)).isoformat(),
            mechanism="Rear-end motor vehicle accident, driver, belted",
            aggravating="Turning head to check blind spot; computer work over 30 min",
            relieving="Heat, lying down",
            limitations=["Cannot turn head fully to drive", "Wakes 2-3 times a night from pain"],
            history="No prior neck injury",
            medications="Ibuprofen 400 mg as needed",
            contraindications="None known",
            consent_date=start.isoformat(),
            goals=[
                "Turn head to check blind spot without pain | full rotation | "
                + (start + timedelta(days=56)).isoformat(),
                "Sleep through the night | 0 wakings | " + (start + timedelta(days=42)).isoformat(),
            ],
            ndi="44",
            psfs=["turn head to drive=3", "sleep through the night=4"],
        ),
    )
    pains = [(7, 5), (6, 4), (6, 4), (5, 3), (5, 3), (4, 3), (4, 2), (3, 2), (3, 1), (3, 1)]
    days = _visit_days(start, len(pains), (3, 4))
    for i, (day, (pre, post)) in enumerate(zip(days, pains, strict=True)):
        techniques = ["myofascial-release=25", "trigger-point=10", "swedish=15"]
        if i < 4:
            techniques.append("hot-cold-pack=10")
        _log(
            conn,
            maria_case,
            day,
            pre,
            post,
            techniques,
            ["neck", "upper-back", "shoulder-left"],
            (
                f"Neck pain {pre}/10 on arrival; "
                f"headaches {'daily' if i < 5 else 'twice this week'}.",
                "Hypertonic upper trapezius and levator scapulae L>R; active trigger points; "
                f"cervical rotation L {45 + i * 3}°, R {55 + i * 2}°.",
                f"Pain {pre}→{post} after treatment; rotation improving.",
                "Continue 2x/week; MFR and TrP to cervical and upper thoracic regions.",
            ),
            sign=i < len(pains) - 1,
            homecare="Chin tucks 10x, 3 times a day; heat 15 min evenings",
        )
    add_measures(
        conn,
        find_case(conn, maria_case),
        MeasureInput(ndi="24", psfs=["turn head to drive=7", "sleep through the night=7"]),
        days[-1],
    )

    # 2. Workers' comp: lumbar strain lifting boxes, report due every 6 visits.
    start2 = today - timedelta(days=30)
    james = add_client(
        conn,
        {
            "name": "James Carter",
            "dob": "1979-11-02",
            "phone": "360-555-0171",
            "sex": "male",
            "address": "2210 Meridian St, Bellingham, WA 98225",
        },
    )
    james_case = open_case(
        conn,
        find_client(conn, str(james)),
        CaseInput(
            payer="workers-comp",
            payer_name="WA Labor & Industries",
            payer_id="LNI01",
            payer_address="PO Box 44291, Olympia, WA 98504-4291",
            employer="Northwind Logistics",
            insured_address="900 Port Way, Tacoma, WA 98421",
            claim="BH-55231",
            injury_date=(start2 - timedelta(days=20)).isoformat(),
            dx=["S39.012D", "M62.830"],
            referrer="Susan Lee, MD",
            referrer_npi="1456789019",
            rx_date=(start2 - timedelta(days=2)).isoformat(),
            rx_until=(today + timedelta(days=14)).isoformat(),
            visits="6",
            frequency="1x/week",
            areas=["lower-back", "gluteal-both"],
        ),
    )
    record_intake(
        conn,
        find_case(conn, james_case),
        IntakeInput(
            complaint="Low back pain after lifting boxes at work",
            pain="6",
            regions=["lower-back", "gluteal-right"],
            day=start2,
            conditions=["muscle-spasm"],
            mechanism="Lifting 40 lb boxes from floor at warehouse",
            limitations=["Sitting tolerance 20 min", "Cannot lift over 15 lb"],
            goals=["Sit for 60 minutes | 60 min", "Return to full duty lifting | 40 lb"],
            odi="38",
            consent_date=start2.isoformat(),
        ),
    )
    for i, (pre, post) in enumerate([(6, 4), (6, 4), (5, 3), (4, 3), (4, 2)]):
        _log(
            conn,
            james_case,
            start2 + timedelta(days=7 * i),
            pre,
            post,
            ["neuromuscular-therapy=30", "deep-tissue=15", "stretching=10"],
            ["lower-back", "gluteal-right"],
            (
                f"Low back pain {pre}/10; sitting tolerance {20 + i * 10} min.",
                "Lumbar paraspinals hypertonic R>L; QL trigger point R.",
                "Tolerated well; less guarding.",
                "Continue 1x/week; progress stretching.",
            ),
        )
    add_measures(
        conn, find_case(conn, james_case), MeasureInput(odi="26"), today - timedelta(days=2)
    )

    # 3. Health insurance, AMA units, a prescription that ran out before the last visit.
    start3 = today - timedelta(days=40)
    linda = add_client(
        conn,
        {
            "name": "Linda Nguyen",
            "dob": "1968-07-21",
            "email": "linda.n@example.com",
            "sex": "female",
            "address": "77 Alder Ct, Ferndale, WA 98248",
        },
    )
    linda_case = open_case(
        conn,
        find_client(conn, str(linda)),
        CaseInput(
            payer="health",
            payer_name="Regence BlueShield",
            payer_id="00934",
            payer_address="PO Box 30271, Salt Lake City, UT 84130-0271",
            policy="RBS88120455",
            dx=["M54.50", "M54.41"],
            referrer="Paul Ortiz, PA-C",
            rx_date=(start3 - timedelta(days=1)).isoformat(),
            rx_until=(today - timedelta(days=3)).isoformat(),
            visits="8",
            frequency="1x/week",
            units_rule="ama",
        ),
    )
    record_intake(
        conn,
        find_case(conn, linda_case),
        IntakeInput(
            complaint="Chronic low back pain with pain down the right leg",
            pain="6",
            regions=["lower-back", "gluteal-right", "thigh-right"],
            day=start3,
            conditions=["chronic-low-back-pain", "low-back-pain-with-sciatica"],
            consent_date=start3.isoformat(),
            goals=["Walk 30 minutes without leg pain | 30 min"],
        ),
    )
    linda_days = [start3 + timedelta(days=d) for d in (0, 7, 14, 28)] + [today - timedelta(days=1)]
    for i, (day, (pre, post)) in enumerate(
        zip(linda_days, [(6, 5), (6, 4), (5, 4), (5, 3), (4, 3)], strict=True)
    ):
        session_id = _log(
            conn,
            linda_case,
            day,
            pre,
            post,
            ["swedish=20", "soft-tissue-mobilization=20", "stretching=7"],
            ["lower-back", "gluteal-right"],
            (
                f"Back {pre}/10, leg symptoms {'daily' if i < 2 else 'occasional'}.",
                "Piriformis R tender; lumbar paraspinals hypertonic.",
                "Improving slowly.",
                "Continue weekly; request renewed prescription.",
            ),
            sign=False,
        )
        if i < 4:
            sign_sessions(conn, [session_id])
    amend_session(
        conn,
        session_id - 1,
        "Late entry: client reported numbness in the right foot after gardening; advised to "
        "inform her PA.",
    )

    # 4. FSA/HSA: TMJ and tension headaches.
    start4 = today - timedelta(days=20)
    priya = add_client(conn, {"name": "Priya Shah", "dob": "1991-01-30"})
    priya_case = open_case(
        conn,
        find_client(conn, str(priya)),
        CaseInput(
            payer="fsa-hsa",
            dx=["M26.602", "G44.209"],
            referrer="Grace Kim, DDS",
            rx_date=(start4 - timedelta(days=5)).isoformat(),
            rx_until=(start4 + timedelta(days=90)).isoformat(),
            visits="6",
            frequency="1x/week",
        ),
    )
    for i, (pre, post) in enumerate([(5, 3), (4, 2), (4, 2)]):
        _log(
            conn,
            priya_case,
            start4 + timedelta(days=7 * i),
            pre,
            post,
            ["myofascial-release=20", "trigger-point=15", "swedish=10"],
            ["jaw-left", "head", "neck"],
            (
                "Jaw clicking and temple headaches.",
                "Masseter and temporalis L hypertonic.",
                "Less jaw tension after treatment.",
                "Weekly; self-massage of masseter.",
            ),
        )

    # 5. Self-pay, plantar fasciitis: goals met, discharged.
    start5 = today - timedelta(days=60)
    tom = add_client(conn, {"name": "Tom Becker", "dob": "1975-05-09"})
    tom_case = open_case(
        conn,
        find_client(conn, str(tom)),
        CaseInput(
            payer="self-pay",
            dx=["M72.2"],
            referrer="Maya Patel, DPM",
            rx_date=(start5 - timedelta(days=2)).isoformat(),
            rx_until=(start5 + timedelta(days=60)).isoformat(),
            visits="4",
        ),
    )
    for i, (pre, post) in enumerate([(6, 4), (4, 2), (2, 1)]):
        _log(
            conn,
            tom_case,
            start5 + timedelta(days=10 * i),
            pre,
            post,
            ["deep-tissue=25", "myofascial-release=15"],
            ["foot-right", "leg-right"],
            (
                "Heel pain with first steps in the morning.",
                "Plantar fascia and gastrocnemius R tight.",
                "Morning pain easing.",
                "Continue; calf stretching at home.",
            ),
        )
    discharge_client(
        conn, tom, "Goals met: walks 2 miles without heel pain", today - timedelta(days=30)
    )

    return maria_case
