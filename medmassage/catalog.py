"""Shipped catalogs: techniques → CPT, body regions, conditions → ICD-10-CM, MCID thresholds,
payer types and their progress-report rules. Data with sources, no logic beyond look-ups.

CPT numbers carry short labels of our own: the full CPT descriptors are AMA text.
"""

from typing import NamedTuple

# --- CPT codes ---------------------------------------------------------------------------------


class Cpt(NamedTuple):
    code: str
    label: str
    timed: bool  # timed codes bill 15-minute units; untimed codes bill 1 unit per visit


CPT_CODES: dict[str, Cpt] = {
    c.code: c
    for c in (
        Cpt("97124", "Massage", True),
        Cpt("97140", "Manual therapy", True),
        Cpt("97112", "Neuromuscular re-education", True),
        Cpt("97110", "Therapeutic exercise", True),
        Cpt("97010", "Hot/cold pack", False),
    )
}

# --- Techniques → CPT (SPEC §4; notes-domain §2.1) --------------------------------------------

TECHNIQUES: dict[str, str] = {
    "swedish": "97124",
    "deep-tissue": "97124",
    "trigger-point": "97140",
    "myofascial-release": "97140",
    "neuromuscular-therapy": "97140",  # NMT is manual therapy, not 97112 re-education
    "soft-tissue-mobilization": "97140",
    "manual-lymphatic-drainage": "97140",
    "scar-tissue-mobilization": "97140",
    "neuromuscular-reeducation": "97112",
    "therapeutic-exercise": "97110",
    "stretching": "97110",
    "hot-cold-pack": "97010",
}

# --- Regions: a fixed vocabulary, with sides where they apply --------------------------------

_MIDLINE = ["head", "neck", "upper-back", "mid-back", "lower-back", "chest", "abdomen"]
_SIDED = [
    "jaw",
    "shoulder",
    "hip",
    "gluteal",
    "arm",
    "forearm",
    "wrist-hand",
    "thigh",
    "knee",
    "leg",
    "foot",
]
REGIONS: tuple[str, ...] = tuple(
    _MIDLINE + [f"{part}-{side}" for part in _SIDED for side in ("left", "right")]
)
SIDED_PARTS: tuple[str, ...] = tuple(_SIDED)

# --- Conditions seen in the practice, with the ICD-10-CM codes usually used -------------------
# Codes checked against the April 2026 ICD-10-CM release (simple-icd-10-cm); tests re-check them.


class Condition(NamedTuple):
    key: str
    label: str
    codes: tuple[str, ...]


CONDITIONS: dict[str, Condition] = {
    c.key: c
    for c in (
        Condition("chronic-low-back-pain", "Chronic low back pain", ("M54.50", "M54.51", "M54.59")),
        Condition(
            "low-back-pain-with-sciatica",
            "Low back pain with sciatica",
            ("M54.40", "M54.41", "M54.42"),
        ),
        Condition("sciatica", "Sciatica", ("M54.30", "M54.31", "M54.32")),
        Condition("neck-pain", "Neck pain / stiffness", ("M54.2",)),
        Condition("tension-headache", "Tension headache", ("G44.209", "G44.229")),
        Condition("shoulder-impingement", "Shoulder impingement", ("M75.40", "M75.41", "M75.42")),
        Condition(
            "rotator-cuff-injury",
            "Rotator cuff injury",
            (
                "M75.100",
                "M75.101",
                "M75.102",
                "M75.110",
                "M75.111",
                "M75.112",
                "M75.120",
                "M75.121",
                "M75.122",
            ),
        ),
        Condition("whiplash", "Whiplash", ("S13.4XXA", "S13.4XXD", "S13.4XXS")),
        Condition(
            "sports-strain-sprain",
            "Sports strain / sprain",
            ("S33.5XXA", "S33.5XXD", "S39.012A", "S39.012D", "S16.1XXA", "S16.1XXD"),
        ),
        Condition("post-surgical-scar", "Post-surgical scar tissue", ("L90.5",)),
        Condition("fibromyalgia", "Fibromyalgia", ("M79.7",)),
        Condition("tmj-disorder", "TMJ disorder", ("M26.601", "M26.602", "M26.603", "M26.609")),
        Condition(
            "carpal-tunnel", "Carpal tunnel syndrome", ("G56.00", "G56.01", "G56.02", "G56.03")
        ),
        Condition("plantar-fasciitis", "Plantar fasciitis", ("M72.2",)),
        Condition("muscle-spasm", "Muscle spasm", ("M62.830", "M62.838")),
    )
}

# --- Outcome measures and their clinically important change (MCID) ---------------------------


class Mcid(NamedTuple):
    measure: str
    label: str
    scale: str
    lower_is_better: bool
    points: float  # improvement of at least this many points is clinically important…
    percent: float | None  # …or at least this share of the baseline, where the rule has one
    source: str


MCID: dict[str, Mcid] = {
    m.measure: m
    for m in (
        Mcid(
            "nprs",
            "Pain (NPRS)",
            "0–10",
            True,
            2,
            30,
            "Farrar 2001 Pain 94:149; Childs 2005 Spine 30:1331; Ostelo 2008 Spine 33:90",
        ),
        Mcid(
            "ndi",
            "Neck Disability Index",
            "0–100 %",
            True,
            15,
            None,
            "NDI MCID 7.5/50 = 15 %-points (see notes-domain §3)",
        ),
        Mcid(
            "odi",
            "Oswestry Disability Index",
            "0–100 %",
            True,
            10,
            None,
            "Ostelo 2008 Spine 33:90",
        ),
        Mcid(
            "psfs",
            "Patient-Specific Functional Scale",
            "0–10 per activity",
            False,
            2,
            None,
            "Abbott & Schmitt 2014 JOSPT 44:560 (MID 1.3–2.7; 2 used)",
        ),
    )
}

# --- Payers and their progress-report rules --------------------------------------------------

PAYER_TYPES: tuple[str, ...] = ("health", "workers-comp", "auto-pip", "fsa-hsa", "self-pay")


class ReportRule(NamedTuple):
    visits: int | None  # a progress report is due after this many visits since the last one…
    days: int | None  # …or this many days, whichever comes first; None = never by this measure


# Default: every 10 visits or 30 days (Medicare-style plans of care that payers copy);
# workers' comp: every 6 visits or 1 month (WA L&I, WAC 296-23-250). Changed with
# `profile set --report-every PAYER=VISITS/DAYS`.
DEFAULT_REPORT_RULES: dict[str, ReportRule] = {
    "health": ReportRule(10, 30),
    "workers-comp": ReportRule(6, 30),
    "auto-pip": ReportRule(10, 30),
    "fsa-hsa": ReportRule(10, 30),
    "self-pay": ReportRule(10, 30),
}

# Payers for which a session past the Rx end date or beyond the authorized visits is refused
# unless the therapist overrides it with a stored reason ("never treat past the Rx end date,
# not even 1 day" — notes-domain §1.2).
STRICT_RX_PAYERS: frozenset[str] = frozenset({"workers-comp"})

UNITS_RULES: tuple[str, ...] = ("cms", "ama")
