"""Claims as one X12 837P 005010X222A2 interchange (SPEC §11): `claim export ID… -f x12`.

Reads only the claim dicts of `claim show -f json` (boxes keyed by NUCC CMS-1500 number, samples
in tests/data/claims/) and the clearinghouse envelope. Standard library only, so `claim export`
stays fast and no other command pays for it.

One ISA/GS/ST…SE/GE/IEA holds every claim:

    1000A submitter, 1000B receiver
    2000A billing provider (one per distinct provider, in first-seen order)
      2010AA NM1*85, N3/N4, REF*EI|SY, PRV*BI*PXC
      2000B subscriber (one per claim)  SBR, 2010BA NM1*IL (+DMG, REF*Y4 when self), 2010BB payer
        [2000C patient when not the insured: PAT, 2010CA NM1*QC, DMG, REF*Y4]
          2300 CLM, DTP*439|431, DTP*314|360|361, AMT*F5, REF*G1, REF*F8, HI, 2310A DN, 2310C
            2400 LX, SV1, DTP*472, REF*6R, 2420E DK (ordering provider)

Data the file cannot carry raises X12Error with the claim and the box, so nothing half-valid
is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from medmassage.rules.textsafety import ascii_caps

SEGMENT = "~"
ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
VERSION = "005010X222A2"  # the default; a clearinghouse may ask for the HIPAA-adopted A1
VERSIONS = ("005010X222A1", "005010X222A2")

#: SBR09 claim filing indicator by payer type.
FILING_INDICATOR = {"health": "CI", "auto-pip": "AM", "workers-comp": "WC"}
#: PAT01 (2000C) by box 6; "self" has no 2000C.
PATIENT_RELATIONSHIP = {"spouse": "01", "child": "19", "other": "G8"}
#: Payer types whose claim number goes in REF*Y4 (property and casualty).
PROPERTY_CASUALTY = {"auto-pip", "workers-comp"}

# Element maximum lengths of the TR3 (names and addresses are cut, ids are refused).
_MAX = {"org": 60, "last": 60, "first": 35, "middle": 25, "street": 55, "city": 30}
_UNSAFE = re.compile(r"[~*:^\x00-\x1f\x7f]")


class X12Error(ValueError):
    """A claim that cannot be written as a valid 837P; the message names the claim and box."""


class Envelope(NamedTuple):
    sender_id: str  # ISA06/GS02 (the clearinghouse's submitter id for the practice)
    receiver_id: str  # ISA08/GS03
    receiver_name: str  # NM1*40
    submitter_name: str  # NM1*41 (the practice)
    contact_name: str  # PER*IC
    contact_phone: str  # PER*IC…TE
    usage: str = "P"  # ISA15: P production, T test
    version: str = VERSION  # GS08/ST03: the guide the clearinghouse asks for


# ---------------------------------------------------------------------------------------------
# Values


def text(value: Any, limit: int | None = None) -> str:
    """Free text as X12 customarily carries it: ASCII upper case, no delimiters, one space."""
    cleaned = " ".join(_UNSAFE.sub(" ", ascii_caps(value)).split())
    return cleaned[:limit].rstrip() if limit else cleaned


def money(cents: Any) -> str:
    """X12 decimal (R) dollars, no superfluous zeros: 9000 -> 90, 9050 -> 90.5, 9055 -> 90.55."""
    if not isinstance(cents, int) or isinstance(cents, bool) or cents < 0:
        raise X12Error(f"amount must be whole non-negative cents, got {cents!r}")
    dollars, rest = divmod(cents, 100)
    if rest == 0:
        return str(dollars)
    return f"{dollars}.{rest:02d}".rstrip("0")


def day(iso: Any, where: str = "", what: str = "date") -> str:
    """CCYYMMDD from an ISO date (YYYY-MM-DD)."""
    try:
        return datetime.strptime(str(iso), "%Y-%m-%d").strftime("%Y%m%d")
    except ValueError:
        raise X12Error(f"{where}: {what} {iso!r} is not a YYYY-MM-DD date") from None


def digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def seg(*elements: Any) -> str:
    """One segment; trailing empty elements are dropped, as X12 requires."""
    values = ["" if e is None else str(e) for e in elements]
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join(values)


def comp(*components: Any) -> str:
    """One composite element; trailing empty components are dropped."""
    values = ["" if c is None else str(c) for c in components]
    while values and values[-1] == "":
        values.pop()
    return COMPONENT.join(values)


def ident(value: Any, where: str, what: str, limit: int = 50) -> str:
    """An identifier is sent verbatim; one the file cannot carry is refused, never altered."""
    raw = str(value or "").strip()
    if not raw:
        raise X12Error(f"{where}: {what} is empty")
    if len(raw) > limit or _UNSAFE.search(raw) or not raw.isascii():
        # Not echoed: a member id or claim number is the client's (SPEC §13, messages).
        why = f"{len(raw)} characters" if len(raw) > limit else "a character X12 cannot carry"
        raise X12Error(f"{where}: {what} is not 1 to {limit} plain characters ({why})")
    return raw


# ---------------------------------------------------------------------------------------------
# Small segment builders


def nm1(entity: str, kind: str, last: str, first="", middle="", qualifier="", code="") -> str:
    """NM1: entity, 1 person / 2 organisation, names, then the id qualifier and id (if any)."""
    return seg("NM1", entity, kind, last, first, middle, "", "", qualifier if code else "", code)


def _person_nm1(code: str, name: dict, id_qualifier: str = "", id_value: str = "") -> str:
    """NM1 for a person (NM102 1), or an organisation (2) when there is no first name."""
    first = text(name.get("first"), _MAX["first"])
    if not first:
        return nm1(code, "2", text(name.get("last"), _MAX["org"]), "", "", id_qualifier, id_value)
    last, middle = text(name.get("last"), _MAX["last"]), text(name.get("middle"), _MAX["middle"])
    return nm1(code, "1", last, first, middle, id_qualifier, id_value)


def _address(address: dict | None) -> list[str]:
    """N3 and N4 (ZIP digits only: 5 or 9)."""
    if not address or not address.get("street"):
        return []
    return [
        seg("N3", text(address["street"], _MAX["street"])),
        seg(
            "N4",
            text(address.get("city"), _MAX["city"]),
            text(address.get("state"), 2),
            digits(address.get("zip")),
        ),
    ]


def _dmg(demographics: dict | None, where: str) -> list[str]:
    if not demographics or not demographics.get("dob"):
        return []
    sex = text(demographics.get("sex"))[:1]
    born = day(demographics["dob"], where, "birth date")
    return [seg("DMG", "D8", born, sex if sex in ("F", "M") else "U")]


# ---------------------------------------------------------------------------------------------
# Loops


class _Counter:
    """HL numbering for one transaction."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last += 1
        return self.last


def _billing_key(boxes: dict) -> str:
    """Claims with the same billing provider (boxes 25, 33, 33a, 33b) share one 2000A."""
    return json.dumps([boxes.get(box) for box in ("25", "33", "33a", "33b")], sort_keys=True)


def _billing_provider(boxes: dict, hl: int, where: str) -> list[str]:
    provider = boxes.get("33") or {}
    npi = digits(boxes.get("33a"))
    if len(npi) != 10:
        raise X12Error(f"{where}: box 33a billing provider NPI must be 10 digits")
    tax = boxes.get("25") or {}
    tax_id = digits(tax.get("value"))
    if len(tax_id) != 9:
        raise X12Error(f"{where}: box 25 tax id must be 9 digits")
    out = [seg("HL", hl, "", "20", "1")]
    taxonomy = (boxes.get("33b") or {}).get("value")
    if taxonomy:
        out.append(seg("PRV", "BI", "PXC", text(taxonomy)))
    person = provider.get("person")
    if provider.get("entity") == "person" and person:
        out.append(_person_nm1("85", person, "XX", npi))
    else:
        out.append(nm1("85", "2", text(provider.get("name"), _MAX["org"]), "", "", "XX", npi))
    out += _address(provider)
    out.append(seg("REF", "SY" if tax.get("kind") == "SSN" else "EI", tax_id))
    return out


def _claim_filing(claim: dict, where: str) -> str:
    try:
        return FILING_INDICATOR[claim["payer_type"]]
    except KeyError:
        raise X12Error(f"{where}: unknown payer type {claim.get('payer_type')!r}") from None


def _subscriber(claim: dict, hl: int, parent: int, has_patient: bool, where: str) -> list[str]:
    boxes = claim["boxes"]
    self_insured = not has_patient
    member_id = ident(boxes.get("1a"), where, "box 1a insured's id", 80)
    relationship, group = "18" if self_insured else "", text(boxes.get("11"), 50)
    filing = _claim_filing(claim, where)
    out = [
        seg("HL", hl, parent, "22", "1" if has_patient else "0"),
        seg("SBR", "P", relationship, group, "", "", "", "", "", filing),
        _person_nm1("IL", boxes.get("4") or boxes.get("2") or {}, "MI", member_id),
    ]
    out += _address(boxes.get("7") or (boxes.get("5") if self_insured else None))
    if self_insured:
        out += _dmg(boxes.get("3") or boxes.get("11a"), where)
        out += _casualty_ref(claim, where)
    carrier = boxes.get("carrier") or {}
    payer_id = ident(carrier.get("payer_id"), where, "carrier payer id", 80)
    out.append(nm1("PR", "2", text(carrier.get("name"), _MAX["org"]), "", "", "PI", payer_id))
    out += _address(carrier.get("address"))
    return out


def _casualty_ref(claim: dict, where: str) -> list[str]:
    """REF*Y4, the property-and-casualty claim number (box 11b), for auto and workers' comp."""
    other = claim["boxes"].get("11b") or {}
    if other.get("qualifier") == "Y4" and other.get("value"):
        return [seg("REF", "Y4", ident(other["value"], where, "box 11b claim number"))]
    if claim["payer_type"] in PROPERTY_CASUALTY:
        raise X12Error(f"{where}: box 11b property-and-casualty claim number (Y4) is missing")
    return []


def _patient(claim: dict, hl: int, parent: int, where: str) -> list[str]:
    boxes = claim["boxes"]
    relationship = boxes.get("6")
    try:
        code = PATIENT_RELATIONSHIP[relationship]
    except KeyError:
        raise X12Error(f"{where}: box 6 relationship {relationship!r} is not known") from None
    out = [
        seg("HL", hl, parent, "23", "0"),
        seg("PAT", code),
        _person_nm1("QC", boxes.get("2") or {}),
    ]
    out += _address(boxes.get("5"))
    dmg = _dmg(boxes.get("3"), where)
    if not dmg:
        raise X12Error(f"{where}: box 3 patient's birth date is required")
    out += dmg
    out += _casualty_ref(claim, where)
    return out


def _related_causes(boxes: dict, where: str) -> str:
    """CLM11: EM employment, AA auto accident (state in CLM11-4), OA other accident; two at most."""
    causes = [c for c, flag in (("AA", "10b"), ("EM", "10a"), ("OA", "10c")) if boxes.get(flag)]
    if not causes:
        return ""
    if len(causes) > 2:
        raise X12Error(f"{where}: boxes 10a-c: an 837P carries two related causes at most")
    state = ""
    if "AA" in causes:
        state = text(boxes.get("10b_state"), 2)
        if len(state) != 2:
            raise X12Error(f"{where}: box 10b auto accident needs the state (10b_state)")
    return comp(causes[0], causes[1] if len(causes) > 1 else "", "", state)


def _pointers(letters: str, order: dict[str, int], where: str, line: int) -> str:
    numbers = []
    for letter in str(letters or "").replace(",", "").replace(" ", "").upper():
        if letter not in order:
            raise X12Error(f"{where}: line {line} box 24E points at {letter!r}, not in box 21")
        numbers.append(str(order[letter]))
    if not 1 <= len(numbers) <= 4:
        raise X12Error(f"{where}: line {line} box 24E needs one to four diagnosis pointers")
    return comp(*numbers)


def _provider_nm1(code: str, referrer: dict, npi: str) -> str:
    name = referrer.get("name") or {}
    last, first = text(name.get("last"), _MAX["last"]), text(name.get("first"), _MAX["first"])
    return nm1(code, "1", last, first, text(name.get("middle"), _MAX["middle"]), "XX", npi)


def _service_lines(claim: dict, order: dict[str, int], place: str, where: str) -> list[str]:
    boxes = claim["boxes"]
    pcn = str(boxes.get("26"))
    referrer = boxes.get("17") or {}
    ordering = referrer.get("qualifier") == "DK" and (referrer.get("name") or {}).get("last")
    ordering_npi = digits(boxes.get("17b"))
    billing_npi = digits(boxes.get("33a"))
    out: list[str] = []
    lines = boxes.get("24") or []
    if not 1 <= len(lines) <= 50:
        raise X12Error(f"{where}: box 24 needs one to 50 service lines")
    for number, line in enumerate(lines, start=1):
        rendering = digits(line.get("24J"))
        if rendering and rendering != billing_npi:
            raise X12Error(
                f"{where}: line {number} box 24J rendering NPI differs from 33a; the rendering "
                "provider's name is needed to send it"
            )
        procedure = line.get("24D") or {}
        modifiers = [text(m, 2) for m in procedure.get("modifiers") or []][:4]
        line_place = text(line.get("24B"), 2)
        dates = line.get("24A") or {}
        what = f"line {number} box 24A service date"
        start = day(dates.get("from"), where, what)
        end = day(dates.get("to") or dates.get("from"), where, what)
        service = comp("HC", text(procedure.get("cpt"), 48), *modifiers)
        units = line.get("24G") or 1
        pointers = _pointers(line.get("24E"), order, where, number)
        other_place = line_place if line_place != place else ""
        when = ("D8", start) if start == end else ("RD8", f"{start}-{end}")
        out += [
            seg("LX", number),
            seg("SV1", service, money(line.get("24F")), "UN", units, other_place, "", pointers),
            seg("DTP", "472", *when),
            seg("REF", "6R", f"{pcn}-{line.get('line', number)}"[:50]),
        ]
        if ordering:
            out.append(_provider_nm1("DK", referrer, ordering_npi))
    return out


def _service_facility(boxes: dict) -> list[str]:
    """2310C only when the service was somewhere other than the billing provider's address."""
    facility, billing = boxes.get("32"), boxes.get("33") or {}
    if not facility or not facility.get("street"):
        return []
    keys = ("street", "city", "state", "zip")
    if all(text(facility.get(k)) == text(billing.get(k)) for k in keys):
        return []
    npi = digits(boxes.get("32a"))
    name = text(facility.get("name"), _MAX["org"])
    return [nm1("77", "2", name, "", "", "XX", npi), *_address(facility)]


def _claim(claim: dict, where: str) -> list[str]:
    boxes = claim["boxes"]
    pcn = ident(boxes.get("26"), where, "box 26 patient account number", 20)
    lines = boxes.get("24") or []
    total = boxes.get("28", claim.get("total_cents"))
    if total != sum(line.get("24F") or 0 for line in lines):
        raise X12Error(f"{where}: box 28 total differs from the sum of the service lines")
    if total <= 0:
        raise X12Error(f"{where}: box 28 total must be more than zero for a chargeable claim")
    frequency = str(claim.get("frequency_code") or "1")
    place = text((lines[0] if lines else {}).get("24B"), 2) or "11"
    causes = _related_causes(boxes, where)
    location, assignment = comp(place, "B", frequency), "A" if boxes.get("27") else "C"
    # CLM06 provider signature, CLM08 benefits assigned (box 13), CLM09 release (box 12): on file.
    out = [seg("CLM", pcn, money(total), "", "", location, "Y", assignment, "Y", "Y", "", causes)]
    onset = (boxes.get("14") or {}).get("date")
    if onset:
        out.append(seg("DTP", "439" if causes else "431", "D8", day(onset, where, "box 14")))
    out += _disability(boxes.get("16") or {}, where)
    if boxes.get("29"):
        out.append(seg("AMT", "F5", money(boxes["29"])))
    if boxes.get("23"):
        out.append(seg("REF", "G1", ident(boxes["23"], where, "box 23 prior authorization")))
    if frequency in ("7", "8"):
        original = (boxes.get("22") or {}).get("original_ref")
        what = f"box 22 original reference (frequency {frequency})"
        out.append(seg("REF", "F8", ident(original, where, what)))
    hi, pointers = _diagnoses(boxes, where)
    out.append(hi)
    referrer = boxes.get("17") or {}
    if referrer.get("qualifier") == "DN" and (referrer.get("name") or {}).get("last"):
        out.append(_provider_nm1("DN", referrer, digits(boxes.get("17b"))))
    out += _service_facility(boxes)
    out += _service_lines(claim, pointers, place, where)
    return out


def _disability(unable: dict, where: str) -> list[str]:
    """Box 16 as the one disability DTP: 314 for a range, 360 start only, 361 end only."""
    start, end = (day(unable[k], where, "box 16") if unable.get(k) else "" for k in ("from", "to"))
    if start and end:
        return [seg("DTP", "314", "RD8", f"{start}-{end}")]
    if start or end:
        return [seg("DTP", "360" if start else "361", "D8", start or end)]
    return []


def _diagnoses(boxes: dict, where: str) -> tuple[str, dict[str, int]]:
    """HI*ABK:principal*ABF:other… (ICD-10-CM without the dot) and letter -> pointer number."""
    diagnosis = boxes.get("21") or {}
    if str(diagnosis.get("indicator", "0")) != "0":
        raise X12Error(f"{where}: box 21 must be ICD-10 (indicator 0)")
    codes = sorted((diagnosis.get("codes") or {}).items())
    if not 1 <= len(codes) <= 12:
        raise X12Error(f"{where}: box 21 needs one to 12 diagnosis codes")
    elements = [
        comp("ABK" if n == 0 else "ABF", text(code).replace(".", "").replace(" ", ""))
        for n, (_, code) in enumerate(codes)
    ]
    return seg("HI", *elements), {letter.upper(): n for n, (letter, _) in enumerate(codes, 1)}


def _transaction(
    claims: list[dict], envelope: Envelope, st02: str, bht03: str, created: datetime
) -> list[str]:
    submitter = text(envelope.submitter_name, _MAX["org"])
    receiver = text(envelope.receiver_name, _MAX["org"])
    out = [
        seg("ST", "837", st02, envelope.version),
        # BHT: original (00) chargeable (CH) claims, the reference being the interchange number.
        seg("BHT", "0019", "00", bht03, created.strftime("%Y%m%d"), created.strftime("%H%M"), "CH"),
        nm1("41", "2", submitter, "", "", "46", envelope.sender_id),  # 1000A
        seg("PER", "IC", text(envelope.contact_name, 60), "TE", digits(envelope.contact_phone)),
        nm1("40", "2", receiver, "", "", "46", envelope.receiver_id),  # 1000B
    ]
    hl = _Counter()
    for group in _by_billing_provider(claims):
        provider_hl = hl.next()
        first = group[0]
        out += _billing_provider(first["boxes"], provider_hl, _where(first))
        for claim in group:
            where = _where(claim)
            has_patient = (claim["boxes"].get("6") or "self") != "self"
            subscriber_hl = hl.next()
            out += _subscriber(claim, subscriber_hl, provider_hl, has_patient, where)
            if has_patient:
                out += _patient(claim, hl.next(), subscriber_hl, where)
            out += _claim(claim, where)
    out.append(seg("SE", len(out) + 1, st02))
    return out


def _where(claim: dict) -> str:
    return f"claim {claim.get('claim_id', '?')}"


def _by_billing_provider(claims: Iterable[dict]) -> Iterator[list[dict]]:
    groups: dict[str, list[dict]] = {}
    for claim in claims:
        groups.setdefault(_billing_key(claim["boxes"]), []).append(claim)
    yield from groups.values()


def _check_envelope(envelope: Envelope, control_number: int) -> None:
    if not isinstance(control_number, int) or not 1 <= control_number <= 999_999_999:
        raise X12Error(f"control number must be 1..999999999, got {control_number!r}")
    for label, value in (("sender id", envelope.sender_id), ("receiver id", envelope.receiver_id)):
        if ident(value, "envelope", label, 15) != value or len(value) < 2:
            raise X12Error(f"envelope {label} must be 2 to 15 plain characters, got {value!r}")
    if envelope.usage not in ("P", "T"):
        raise X12Error(f"envelope usage must be P or T, got {envelope.usage!r}")
    if not digits(envelope.contact_phone):
        raise X12Error("envelope contact phone is empty")


def interchange(
    claims: list[dict], envelope: Envelope, control_number: int, created: datetime
) -> str:
    """Every claim in one ISA/GS/ST interchange, as one line of "~"-terminated segments."""
    if not claims:
        raise X12Error("no claims to write")
    if envelope.version not in VERSIONS:
        raise X12Error(f"version: {envelope.version!r} — one of {', '.join(VERSIONS)}")
    _check_envelope(envelope, control_number)
    isa13 = f"{control_number:09d}"
    st02 = f"{control_number:04d}"
    sender, receiver = envelope.sender_id, envelope.receiver_id
    date, time = created.strftime("%Y%m%d"), created.strftime("%H%M")
    # ISA is fixed width: blank authorization and security, ids padded to 15, no TA1 requested.
    parties = ["00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15)]
    control = [date[2:], time, REPETITION, "00501", isa13, "0", envelope.usage, COMPONENT]
    isa = ELEMENT.join(["ISA", *parties, *control])
    segments = [
        isa,
        seg("GS", "HC", sender, receiver, date, time, control_number, "X", envelope.version),
        *_transaction(claims, envelope, st02, isa13, created),
        seg("GE", 1, control_number),
        seg("IEA", 1, isa13),
    ]
    return "".join(s + SEGMENT for s in segments)
