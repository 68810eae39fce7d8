"""Shipped catalogs: techniques → CPT, body regions, conditions → ICD-10-CM, MCID thresholds,
payer types and their progress-report rules. Data with sources, no logic beyond look-ups.

CPT numbers carry short labels of our own: the full CPT descriptors are AMA text.
"""

import re
from functools import cache
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

# --- What therapists type: abbreviations and region phrases (SPEC §12) ------------------------
# Case, spaces, dashes, underscores and slashes do not matter ("Hot pack" = "hot-pack"); each
# spelling names exactly one technique or region. Shown in these forms by `catalog techniques`
# and `catalog regions`.

# Every technique's other spellings. The first is the abbreviation tables print (progress_view.py),
# the rest are those of notes-domain §2.1 and of therapists' SOAP notes.
TECHNIQUE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "swedish": ("SW", "Swedish massage"),
    "deep-tissue": ("DT", "DTM", "deep", "deep tissue massage"),
    "trigger-point": ("TrP", "TP", "TPT", "trigger", "trigger points", "trigger point therapy"),
    "myofascial-release": ("MFR",),
    "neuromuscular-therapy": ("NMT",),
    "soft-tissue-mobilization": ("STM", "soft tissue", "soft tissue mobilisation"),
    "manual-lymphatic-drainage": ("MLD", "lymphatic drainage", "lymph drainage", "lymphatic"),
    "scar-tissue-mobilization": (
        "SCAR",
        "scar tissue",
        "scar mobilization",
        "scar mobilisation",
        "scar tissue mobilisation",
    ),
    "neuromuscular-reeducation": ("NMR", "NMRe", "NM re-ed", "neuromuscular re-education"),
    "therapeutic-exercise": ("TE", "ther-ex", "therex", "exercise", "exercises"),
    "stretching": ("STR", "stretch", "stretches"),
    "hot-cold-pack": (
        "HCP",
        "hot pack",
        "cold pack",
        "hot/cold",
        "ice",
        "ice pack",
        "heat",
        "moist heat",
    ),
}

# Words that name more than one technique: refused, with the ones they could mean.
AMBIGUOUS_TECHNIQUES: dict[str, tuple[str, ...]] = {
    "massage": ("swedish", "deep-tissue"),
    "nm": ("neuromuscular-therapy", "neuromuscular-reeducation"),
    "neuromuscular": ("neuromuscular-therapy", "neuromuscular-reeducation"),
    "st": ("soft-tissue-mobilization", "stretching"),
    "tissue": ("deep-tissue", "soft-tissue-mobilization", "scar-tissue-mobilization"),
    "mobilization": ("soft-tissue-mobilization", "scar-tissue-mobilization"),
    "mobilisation": ("soft-tissue-mobilization", "scar-tissue-mobilization"),
}

# Midline regions' other names.
REGION_SPELLINGS: dict[str, tuple[str, ...]] = {
    "head": ("scalp",),
    "neck": ("cervical", "c-spine"),
    "upper-back": ("upper thoracic", "UB"),
    "mid-back": ("middle back", "midback", "mid thoracic"),
    "lower-back": ("low back", "lumbar", "lumbosacral", "LB"),
    "chest": ("pectoral", "pecs"),
    "abdomen": ("abdominal", "abs"),
}

# Sided parts: the words for the part (its catalog name first), and their plurals, which are
# taken with "both" only ("both shoulders", "bilateral knees").
SIDED_PART_WORDS: dict[str, tuple[str, ...]] = {
    "jaw": ("jaw", "TMJ"),
    "shoulder": ("shoulder",),
    "hip": ("hip",),
    "gluteal": ("gluteal", "glute", "gluteus", "buttock"),
    "arm": ("arm", "upper arm"),
    "forearm": ("forearm",),
    "wrist-hand": ("wrist hand", "wrist", "hand"),
    "thigh": ("thigh",),
    "knee": ("knee",),
    "leg": ("leg", "lower leg", "calf"),
    "foot": ("foot",),
}
SIDED_PART_PLURALS: dict[str, tuple[str, ...]] = {
    "jaw": ("jaws",),
    "shoulder": ("shoulders",),
    "hip": ("hips",),
    "gluteal": ("glutes", "buttocks"),
    "arm": ("arms", "upper arms"),
    "forearm": ("forearms",),
    "wrist-hand": ("wrists", "hands"),
    "thigh": ("thighs",),
    "knee": ("knees",),
    "leg": ("legs", "lower legs", "calves"),
    "foot": ("feet",),
}

# Side words, before or after the part ("R wrist", "wrist R", "wrist-r"); the first is the
# catalog's.
SIDE_WORDS: dict[str, tuple[str, ...]] = {
    "left": ("left", "L", "Lt"),
    "right": ("right", "R", "Rt"),
    "both": ("both", "bilateral", "bilat"),
}


_SEPARATORS = re.compile(r"[-\s_/]+")


def spelling_key(text: str) -> str:
    """How a typed name is compared: lower case, spaces, underscores and slashes as dashes."""
    return _SEPARATORS.sub("-", text.strip().lower()).strip("-")


@cache
def _technique_aliases() -> dict[str, str]:
    """Spelling key → the technique it names (the catalog names not included)."""
    return {spelling_key(s): name for name, words in TECHNIQUE_SPELLINGS.items() for s in words}


def technique_name(typed: str, custom: dict[str, str] | None = None) -> str:
    """The catalog (or the therapist's own) technique a typed name or abbreviation means:
    `MFR`, `mfr` → myofascial-release. Unknown, or naming two techniques: InputError."""
    from medmassage.errors import InputError

    if typed in TECHNIQUES:  # as most are typed (and imported: 100,000 rows)
        return typed
    key = spelling_key(typed)
    if key in TECHNIQUES or (custom and key in custom):  # a name of its own wins
        return key
    aliases = _technique_aliases()
    if key in aliases:
        return aliases[key]
    if key in AMBIGUOUS_TECHNIQUES:
        both = AMBIGUOUS_TECHNIQUES[key]
        named = " or ".join(f"{n} ({TECHNIQUE_SPELLINGS[n][0]})" for n in both)
        raise InputError(
            "technique", typed.strip(), f"names {len(both)} techniques: {named}; type one of them"
        )
    raise InputError("technique", key, "unknown technique" + _technique_hint(key, custom))


def _technique_hint(key: str, custom: dict[str, str] | None) -> str:
    """`; did you mean myofascial-release?`: the techniques whose names or spellings are close."""
    import difflib

    spellings = {name: name for name in (*TECHNIQUES, *(custom or {}))}
    spellings.update(_technique_aliases())
    found = difflib.get_close_matches(key, list(spellings), n=6, cutoff=0.6)
    if not found:
        found = [s for s in spellings if key and (key in s or s.startswith(key[:3]))]
    names = list(dict.fromkeys(spellings[s] for s in found))[:3]
    hint = f"; did you mean {', '.join(names)}?" if names else ""
    return hint + " (see: medmassage catalog techniques)"


def _side_of(word: str) -> str | None:
    for side, words in SIDE_WORDS.items():
        if word in (w.lower() for w in words):
            return side
    return None


@cache
def _part_lookup() -> tuple[dict[str, str], dict[str, str]]:
    """(singular words → part, plural words → part), by spelling key."""
    singular = {spelling_key(w): p for p, words in SIDED_PART_WORDS.items() for w in words}
    singular.update({p: p for p in SIDED_PARTS})
    plural = {spelling_key(w): p for p, words in SIDED_PART_PLURALS.items() for w in words}
    return singular, plural


@cache
def _midline_lookup() -> dict[str, str]:
    return {spelling_key(s): r for r, words in REGION_SPELLINGS.items() for s in words}


def _sided(part: str, side: str) -> list[str]:
    return [f"{part}-left", f"{part}-right"] if side == "both" else [f"{part}-{side}"]


def region_names(typed: str) -> list[str] | None:
    """The catalog regions a typed phrase names ("right wrist" → [wrist-hand-right], "both
    shoulders" → [shoulder-left, shoulder-right]), or None when it names none."""
    if typed in REGIONS:  # as most are typed (and imported)
        return [typed]
    key = spelling_key(typed)
    if key in REGIONS:
        return [key]
    midline = _midline_lookup()
    if key in midline:
        return [midline[key]]
    singular, plural = _part_lookup()
    words = key.split("-")
    for side_word, rest in ((words[0], words[1:]), (words[-1], words[:-1])):
        side = _side_of(side_word) if len(words) > 1 else None
        if side is None:
            continue
        part_key = "-".join(rest)
        if part_key in singular:
            return _sided(singular[part_key], side)
        if side == "both" and part_key in plural:
            return _sided(plural[part_key], side)
    return None


def parse_region(typed: str) -> list[str]:
    """One region as typed: a catalog name, a phrase ("R wrist", "low back", "TMJ left"), or a
    sided part with both sides ("both shoulders", "shoulder-both") → its left and right."""
    from medmassage.errors import InputError

    found = region_names(typed)
    if found is not None:
        return found
    key = spelling_key(typed)
    singular, plural = _part_lookup()
    part = singular.get(key) or plural.get(key)
    if part is not None:
        example = SIDED_PART_WORDS[part][-1] if part == "wrist-hand" else part
        raise InputError(
            "region",
            key,
            f"unknown region; say which side: {part}-left, {part}-right or {part}-both "
            f"(or 'left {example}', 'right {example}', 'both {SIDED_PART_PLURALS[part][-1]}')",
        )
    near = region_suggestions(key)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise InputError("region", key, f"unknown region{hint} (see: medmassage catalog regions)")


def _close_side(word: str) -> str | None:
    """The side a (mis)typed word means: `rigth` → right, `lft` → left."""
    import difflib

    side = _side_of(word)
    if side is not None or len(word) < 3:
        return side
    found = difflib.get_close_matches(word, ["left", "right", "both", "bilateral"], n=1, cutoff=0.7)
    return _side_of(found[0]) if found else None


def region_suggestions(typed: str, n: int = 3) -> list[str]:
    """Catalog regions close to a near miss, those on the side typed first ("sholder left" →
    shoulder-left before shoulder-right)."""
    import difflib

    key = spelling_key(typed)
    words = key.split("-")
    side, rest = None, words
    for at in (0, -1) if len(words) > 1 else ():
        side = _close_side(words[at])
        if side is not None:
            rest = words[1:] if at == 0 else words[:-1]
            break
    singular, plural = _part_lookup()
    parts = {**singular, **plural}
    found: list[str] = []
    if side is not None and side != "both":
        part_key = "-".join(rest)
        for word in difflib.get_close_matches(part_key, list(parts), n=2, cutoff=0.6):
            found.append(f"{parts[word]}-{side}")
    spellings = all_region_spellings()
    for spelling in difflib.get_close_matches(key, list(spellings), n=12, cutoff=0.5):
        found.extend(spellings[spelling])
    if not found:
        found = [r for r in REGIONS if key and (key in r or r.startswith(key[:3]))]
    unique = list(dict.fromkeys(found))
    if side in ("left", "right"):  # the side typed first; stable otherwise
        unique.sort(key=lambda r: not r.endswith(f"-{side}"))
    return unique[:n]


def region_spellings() -> dict[str, list[str]]:
    """Every other spelling each catalog region is accepted as, in display form (parse_region
    takes each of them, and only those besides the catalog names and the both-sides forms)."""
    out: dict[str, list[str]] = {}
    for region in REGIONS:
        if region in REGION_SPELLINGS:
            out[region] = list(REGION_SPELLINGS[region])
            continue
        part, _, side = region.rpartition("-")
        spellings = []
        for word in SIDED_PART_WORDS[part]:
            for side_word in SIDE_WORDS[side]:
                spellings += [f"{side_word} {word}", f"{word} {side_word}"]
        out[region] = [s for s in spellings if spelling_key(s) != region]
    return out


def both_sides_spellings() -> dict[str, list[str]]:
    """For each sided part, the spellings that name both sides at once."""
    out: dict[str, list[str]] = {}
    for part in SIDED_PARTS:
        spellings = [f"{part}-both"]
        for side_word in SIDE_WORDS["both"]:
            for word in (*SIDED_PART_WORDS[part], *SIDED_PART_PLURALS[part]):
                spellings += [f"{side_word} {word}", f"{word} {side_word}"]
        keys = {spelling_key(s): s for s in reversed(spellings)}  # the first of equal ones
        out[part] = [s for s in dict.fromkeys(spellings) if keys[spelling_key(s)] == s]
    return out


@cache
def all_region_spellings() -> dict[str, list[str]]:
    """Spelling key → the regions it names, for suggestions: catalog names, phrases, both."""
    found = {r: [r] for r in REGIONS}
    for region, spellings in region_spellings().items():
        for s in spellings:
            found[spelling_key(s)] = [region]
    for part, spellings in both_sides_spellings().items():
        for s in spellings:
            found[spelling_key(s)] = _sided(part, "both")
    return found
