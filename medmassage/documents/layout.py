"""What goes on an insurer document, in order, independent of the format.

The progress summary and the superbill are laid out here once, as a list of blocks built from
their JSON dicts; pdf.py, html.py and markdown.py each draw the same blocks. So the formats
cannot drift apart: a field added here shows up in all of them.
"""

from __future__ import annotations

from typing import NamedTuple

PAYER_LABELS = {
    "health": "Health insurance",
    "workers-comp": "Workers' compensation",
    "auto-pip": "Auto insurance (PIP)",
    "fsa-hsa": "FSA / HSA",
    "self-pay": "Self-pay",
}


class Title(NamedTuple):
    text: str
    subtitle: str


class Fields(NamedTuple):
    """Labelled facts in groups; the PDF sets two groups side by side."""

    groups: list[tuple[str, list[tuple[str, str]]]]


class Flags(NamedTuple):
    """Problems an adjuster must see (expired prescription, authorization exceeded)."""

    items: list[str]


class Table(NamedTuple):
    title: str
    headers: list[str]
    rows: list[list[str]]
    widths: list[float]  # relative column widths
    right: frozenset[int] = frozenset()  # columns aligned right (numbers)
    footer: list[str] | None = None  # a totals row
    note: str = ""


class Chart(NamedTuple):
    """Pain (0–10) before and after each visit; `in_period` marks the reporting period."""

    title: str
    points: list[dict]  # visit, date, pain_pre, pain_post, in_period


_TICK_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


def axis_ticks(n: int, most: int = 16) -> list[int]:
    """The indices of the points a chart labels on its x axis (visit numbers), at most `most`:
    the first and the last always, between them every k-th visit (k = 1, 2, 5, 10, 20, 25, 50 …,
    the smallest that fits), leaving out one that would crowd the first or the last label
    (nearer than 0.6 k: "96" beside "100")."""
    if n <= most:
        return list(range(n))
    step = next((k for k in _TICK_STEPS if n // k + 2 <= most), -(-n // (most - 2)))
    inner = [i for i in range(1, n - 1) if (i + 1) % step == 0]
    inner = [i for i in inner if i >= 0.6 * step and (n - 1 - i) >= 0.6 * step]
    return [0, *inner, n - 1]


class Text(NamedTuple):
    title: str
    body: str
    source: str = ""  # where the text came from, e.g. "from visit 12 on 2026-11-20"


class Signature(NamedTuple):
    lines: list[str]  # printed under the signature line: name, credentials, license, NPI
    date_label: str


class BodyDiagram(NamedTuple):
    """Front and back outlines of a figure: the regions `treated` shaded, those `ordered`
    outlined (bodymap.py holds the shapes)."""

    title: str
    treated: list[str]
    ordered: list[str]


def body_diagram(
    treated: list[str], ordered: list[str], title: str = "Body diagram: regions treated and ordered"
) -> BodyDiagram | None:
    """The diagram of `treated` beside `ordered`, each head to foot; None when both are empty."""
    from medmassage.documents.bodymap import in_order

    if not treated and not ordered:
        return None
    return BodyDiagram(title, in_order(treated), in_order(ordered))


Block = Title | Fields | Flags | Table | Chart | Text | Signature | BodyDiagram


class Document(NamedTuple):
    title: str
    footer: str  # printed on every page beside the page number: who the document is about
    blocks: list[Block]


def _v(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(x) for x in value) or "—"
    return str(value)


def _num(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def therapist_lines(t: dict) -> list[str]:
    name = ", ".join(x for x in (t.get("name"), t.get("credentials")) if x)
    lic = t.get("license_number") or "—"
    if t.get("license_state"):
        lic = f"{lic} ({t['license_state']})"
    return [name, f"License {lic} · NPI {_v(t.get('npi'))}"]


def _therapist_group(t: dict, with_tax_id: bool = False) -> tuple[str, list[tuple[str, str]]]:
    pairs = [
        ("Therapist", ", ".join(x for x in (t.get("name"), t.get("credentials")) if x)),
        ("Practice", _v(t.get("practice_name"))),
        ("Address", _v(t.get("address"))),
        ("Phone", _v(t.get("phone"))),
        (
            "License",
            _v(t.get("license_number"))
            + (f" ({t['license_state']})" if t.get("license_state") else ""),
        ),
        ("NPI", _v(t.get("npi"))),
    ]
    if with_tax_id:
        pairs.append(("Tax ID", _v(t.get("tax_id"))))
    return ("Provider", pairs)


def _cpt_cell(cpt: list[dict]) -> str:
    return ", ".join(f"{c['code']} × {c['units']}" for c in cpt) or "—"


def summary_document(d: dict) -> Document:
    c, a, p = d["case"], d["authorization"], d["period"]
    client = d["client"]
    period_text = f"{p['from']} to {p['to']}"
    many = len(d["authorizations"]) > 1
    blocks: list[Block] = [
        Title(
            "Progress Summary — Medical Massage Therapy",
            f"Reporting period {period_text} · written {d['written']}",
        ),
        Fields(
            [
                _summary_provider(d["therapist"]),
                (
                    "Client",
                    [
                        ("Name", client["name"]),
                        ("Date of birth", _summary_v(client.get("dob"))),
                        ("Payer", PAYER_LABELS[c["payer_type"]]),
                        ("Payer name", _summary_v(c["payer_name"])),
                        ("Policy / member #", _summary_v(c["policy"])),
                        ("Claim #", _summary_v(c["claim"])),
                        ("Date of injury", _summary_v(c["injury_date"])),
                        ("Adjuster", _summary_v(c["adjuster"])),
                    ],
                ),
                (
                    "Referral in force" if many else "Referral",
                    [
                        ("Referring provider", c["referrer"]),
                        ("Referrer NPI", _summary_v(c["referrer_npi"])),
                        ("Prescription date", c["rx_date"]),
                        ("Valid", f"{a['valid_from']} to {a['valid_until']}"),
                        ("Frequency ordered", _summary_v(c["frequency"])),
                        ("Areas ordered", _region_names(c["areas_ordered"], "none named")),
                    ],
                ),
                (
                    "Authorization",
                    [
                        ("Authorization #", _summary_v(a["auth_number"])),
                        ("Status", _summary_state(a)),
                        ("Visits authorized", str(a["visits_authorized"])),
                        ("Visits used", str(a["visits_used"])),
                        ("Visits remaining", str(a["visits_remaining"])),
                        ("Visits on the claim", str(a["visits_on_claim"])),
                        (
                            "Other authorizations",
                            f"{len(d['authorizations']) - 1} (table below)"
                            if many
                            else "none on this claim",
                        ),
                        ("Reporting period", period_text),
                        ("Date written", d["written"]),
                        ("Case", f"#{c['id']} ({c['status']})"),
                    ],
                ),
            ]
        ),
        Table(
            "Diagnoses (ICD-10-CM)",
            ["Code", "Description"],
            [[x["code"], x["description"]] for x in d["diagnoses"]],
            [1, 6],
        ),
        _summary_intake(d["intake"]),
    ]
    if many:
        blocks.append(
            Table(
                "Authorizations on this claim",
                ["#", "Written", "Valid from", "Valid until", "Visits", "Used", "Auth #", "By"],
                [
                    [
                        str(x["number"])
                        + (f" ({_summary_state(a)})" if x["id"] == a["id"] else ""),
                        x["written"],
                        x["valid_from"],
                        x["valid_until"],
                        str(x["visits_allowed"]),
                        str(x["visits_used"]),
                        _summary_v(x["auth_number"]),
                        ", ".join(y for y in (x["prescriber"], x["prescriber_credentials"]) if y),
                    ]
                    for x in d["authorizations"]
                ],
                [1.5, 1.1, 1.1, 1.1, 0.7, 0.7, 1.3, 1.8],
                right=frozenset({4, 5}),
            )
        )
    if d["flags"]:
        blocks.append(Flags(d["flags"]))
    blocks.append(_summary_visits(d))
    blocks += _summary_treatment(d["treatment"])
    blocks += _summary_body_diagram(d)
    last = d["visits"][-1]
    blocks.append(_summary_note(d, "objective", "Objective findings", "objective findings", last))
    blocks.append(
        Table(
            "Outcomes",
            ["Measure", "Baseline", "Current", "Change", "MCID", "MCID met"],
            [
                [
                    o["label"] + (f": {o['activity']}" if o["activity"] else ""),
                    f"{_summary_num(o['baseline'])} ({o['baseline_date']})",
                    f"{_summary_num(o['current'])} ({o['current_date']})",
                    _change_text(o),
                    o["mcid"],
                    "yes" if o["mcid_met"] else "no",
                ]
                for o in d["outcomes"]
            ],
            [2.7, 1.55, 1.55, 1.3, 2.0, 1.0],
            note="Change is signed so that + is an improvement. NPRS current = pain before the "
            "latest visit in the period; immediate relief per visit is in the table above.",
        )
    )
    if d["goals"]:
        blocks.append(
            Table(
                "Functional goals",
                ["Goal", "Target", "By", "Status"],
                [
                    [
                        g["text"],
                        _summary_v(g["target"]),
                        _summary_v(g["target_date"], "no date set"),
                        g["status"],
                    ]
                    for g in d["goals"]
                ],
                [4, 2.2, 1.2, 1.2],
            )
        )
    else:
        blocks.append(Text("Functional goals", "No functional goals recorded for this case."))
    blocks.append(Chart("Pain before and after each visit (NPRS 0–10)", d["pain_chart"]))
    blocks.append(_summary_note(d, "assessment", "Assessment", "assessment", last))
    blocks.append(_summary_note(d, "plan", "Plan", "plan", last))
    blocks.append(_summary_note(d, "home_program", "Home program", "home program", last))
    blocks.append(Text("Recommendation", d["recommendation"]["text"]))
    blocks.append(Signature(_summary_signer(d["therapist"]), "Date"))
    dob = f" · DOB {client['dob']}" if client.get("dob") else " · date of birth not recorded"
    return Document(
        f"Progress summary — {client['name']} — {period_text}",
        f"{client['name']}{dob} · {_summary_reference(c)} · progress summary {d['written']}",
        blocks,
    )


# In the summary a missing fact is said in words: a dash reads as "not applicable".
_SUMMARY_NONE = "not recorded"


def _summary_v(value: object, missing: str = _SUMMARY_NONE) -> str:
    if isinstance(value, list):
        return ", ".join(str(x) for x in value) or missing
    return missing if value is None or value == "" else str(value)


def _summary_num(value: float | int | None) -> str:
    return _SUMMARY_NONE if value is None else _num(value)


def _summary_reference(c: dict) -> str:
    """What the payer files the case under, for the page footer: the claim number for workers'
    comp and auto, the member (policy) id for a health plan or FSA/HSA."""
    if c["payer_type"] in ("workers-comp", "auto-pip"):
        return f"claim {c['claim']}" if c["claim"] else "no claim number recorded"
    if c["payer_type"] == "self-pay":
        return "self-pay"
    return f"member id {c['policy']}" if c["policy"] else "no member id recorded"


def _summary_state(a: dict) -> str:
    state = a["state"]
    if state == "expired":
        return f"expired {a['valid_until']}"
    if state == "gap":
        return f"ended {a['valid_until']}, the next not begun"
    if state == "not yet valid":
        return f"not yet valid (from {a['valid_from']})"
    return state


def _summary_provider(t: dict) -> tuple[str, list[tuple[str, str]]]:
    lic = _summary_v(t.get("license_number"))
    return (
        "Provider",
        [
            ("Therapist", ", ".join(x for x in (t.get("name"), t.get("credentials")) if x)),
            ("Practice", _summary_v(t.get("practice_name"))),
            ("Address", _summary_v(t.get("address"))),
            ("Phone", _summary_v(t.get("phone"))),
            ("License", lic + (f" ({t['license_state']})" if t.get("license_state") else "")),
            ("NPI", _summary_v(t.get("npi"))),
        ],
    )


def _summary_signer(t: dict) -> list[str]:
    name = ", ".join(x for x in (t.get("name"), t.get("credentials")) if x)
    lic = f"License {_summary_v(t.get('license_number'))}"
    if t.get("license_state"):
        lic += f" ({t['license_state']})"
    return [name, f"{lic} · NPI {_summary_v(t.get('npi'))}"]


def _summary_intake(i: dict) -> Text:
    """Chief complaint and history, as recorded at intake."""
    title = "Chief complaint and history"
    if i["date"] is None:
        return Text(
            title,
            "No intake assessment recorded for this case: chief complaint, onset, mechanism "
            "and history not recorded.",
        )
    lines = [
        f"Chief complaint: {i['chief_complaint']}",
        f"Condition: {_summary_v('; '.join(i['conditions']))}",
        f"Onset: {_summary_v(i['onset_date'])}",
        f"Mechanism: {_summary_v(i['mechanism'])}",
        f"Relevant history: {_summary_v(i['history'])}",
        f"Functional limitations at intake: {_summary_v('; '.join(i['limitations']))}",
        f"Aggravated by: {_summary_v(i['aggravating'])}",
        f"Relieved by: {_summary_v(i['relieving'])}",
    ]
    return Text(title, "\n".join(lines), f"from the intake assessment of {i['date']}")


def _summary_cpt_cell(cpt: list[dict]) -> str:
    # A code with 0 units (its minutes too few under the 8-minute rule) is not billed: "× 0"
    # would read as a line billed for nothing. Its minutes are in the techniques table.
    return ", ".join(f"{c['code']} × {c['units']}" for c in cpt if c["units"]) or "none billed"


def _summary_visits(d: dict) -> Table:
    t = d["totals"]
    units_by_cpt = ", ".join(f"{k}: {v}" for k, v in t["units_by_cpt"].items() if v)
    headers = ["Visit", "Date", "Minutes", "CPT × units", "Units", "Pain pre", "Pain post", "Notes"]
    rows = [
        [
            str(v["visit"]),
            v["date"],
            str(v["minutes"]),
            _summary_cpt_cell(v["cpt"]),
            str(v["units"]),
            str(v["pain_pre"]),
            str(v["pain_post"]),
            ", ".join(v["flags"]),
        ]
        for v in d["visits"]
    ]
    widths = [0.6, 1.2, 0.8, 2.8, 0.6, 0.9, 0.9, 1.9]
    right = {0, 2, 4, 5, 6}
    footer = [
        "Total",
        _count(t["visits"], "visit"),
        str(t["minutes"]),
        units_by_cpt or "none billed",
        str(t["units"]),
        _summary_num(t["average_pain_pre"]),
        _summary_num(t["average_pain_post"]),
        "pain: averages",
    ]
    if len(d["authorizations"]) > 1:
        # After a renewal, each visit's place under its authorization: "#2 3/6".
        by_id = {x["id"]: x for x in d["authorizations"]}
        headers.insert(1, "Auth")
        for row, v in zip(rows, d["visits"], strict=True):
            x = by_id.get(v["authorization_id"])
            row.insert(
                1,
                f"#{x['number']} {v['authorization_visit']}/{x['visits_allowed']}" if x else "none",
            )
        widths = [0.5, 0.95, 1.1, 0.8, 2.75, 0.55, 0.9, 0.9, 1.25]  # "#2 17/24" on one line
        right = {0, 1, 3, 5, 6, 7}
        footer[0:1] = ["", "Total"]  # "Total" would not fit the narrower Visit column
    return Table(
        f"Visits in the period ({t['visits']})",
        headers,
        rows,
        widths,
        right=frozenset(right),
        footer=footer,
    )


def _summary_technique(name: str) -> str:
    return name.replace("-", " ").capitalize()


def _summary_treatment(treatment: dict) -> list[Block]:
    """Techniques (minutes, visits) and regions (visits, ordered or not) of the period."""
    techniques, regions = treatment["techniques"], treatment["regions"]
    areas_ordered = treatment["areas_ordered"]
    blocks: list[Block] = []
    if techniques:
        blocks.append(
            Table(
                "Techniques in the period",
                ["Technique", "CPT", "Visits", "Minutes"],
                [
                    [
                        _summary_technique(x["technique"]),
                        " ".join(y for y in (x["cpt"], x["cpt_label"]) if y),
                        str(x["visits"]),
                        str(x["minutes"]),
                    ]
                    for x in techniques
                ],
                [3, 3, 1, 1],
                right=frozenset({2, 3}),
                footer=["Total", "", "", str(sum(x["minutes"] for x in techniques))],
                note="Minutes are those recorded for each technique, summed over the period; "
                "units are billed per visit under the 8-minute rule (the visits table above).",
            )
        )
    else:
        blocks.append(Text("Techniques in the period", "No techniques recorded in the period."))
    absent = "not ordered" if areas_ordered else "no areas named"
    note = ""
    if not areas_ordered:
        note = "No authorization of the period names any areas."
    elif not any(r["ordered"] for r in regions):
        note = "None of these regions is among the areas ordered."
    blocks.append(
        Table(
            "Regions treated in the period",
            ["Region", "Visits", "On the prescription"],
            [
                [_region_name(r["region"]), str(r["visits"]), "yes" if r["ordered"] else absent]
                for r in regions
            ],
            [3, 1, 2],
            right=frozenset({1}),
            note=note,
        )
    )
    return blocks


def _region_name(region: str) -> str:
    """A region as the therapist says it ("left shoulder"), as the diagram's lists print it;
    the catalog name ("shoulder-left") is for JSON."""
    from medmassage.documents.bodymap import region_label

    return region_label(region)


def _region_names(regions: list[str], missing: str) -> str:
    return ", ".join(_region_name(r) for r in regions) or missing


def _summary_body_diagram(d: dict) -> list[Block]:
    """The regions of the period's visits beside the areas ordered in it (the same list as
    the "On the prescription" column: CaseCoverage.areas_ordered)."""
    regions = d["treatment"]["regions"]
    diagram = body_diagram([r["region"] for r in regions], d["treatment"]["areas_ordered"])
    return [diagram] if diagram else []


def _summary_note(d: dict, key: str, title: str, noun: str, last: dict) -> Text:
    """A text of the period's notes with the visit it is from; one taken from a visit before
    the period's last is named as such, and a missing one is said in words."""
    text, where, source = d[key], d[f"{key}_from"], d["note_sources"][key]
    if not text:
        return Text(title, f"No {noun} recorded in the period.")
    if where == "given":
        return Text(title, text, "as given for this report")
    if source is None:
        return Text(title, text, f"from the note of {where}" if where else "")
    draft = "" if source["signed"] else " (an unsigned draft)"
    if source["last_visit"]:
        return Text(title, text, f"from the note of {where}{draft}")
    return Text(
        title,
        text,
        f"from {where}{draft}, not the last visit of the period: the note of visit "
        f"{last['visit']} on {last['date']} has no {noun}",
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _change_text(o: dict) -> str:
    text = f"{o['change']:+g}"
    if o.get("change_percent") is not None:
        text += f" ({o['change_percent']:+g} %)"
    return text


def _source(where: str | None) -> str:
    if not where:
        return ""
    return "as given for this report" if where == "given" else f"from the note of {where}"


_SUPERBILL_NONE = "not on file"  # said in words: a dash reads as "not applicable"
_SUPERBILL_UNSIGNED = "†"


def _superbill_v(value: object) -> str:
    return _SUPERBILL_NONE if value is None or value == "" else str(value)


# CMS place-of-service codes a massage therapist bills under (notes-claims.md, CMS-1500 24B).
_SUPERBILL_PLACES = {"11": "office", "12": "home"}


def _superbill_place(lines: list[dict]) -> str:
    codes = dict.fromkeys(line["place_of_service"] for line in lines)
    return ", ".join(
        f"{c} ({_SUPERBILL_PLACES[c]})" if c in _SUPERBILL_PLACES else c for c in codes
    )


def _superbill_provider(t: dict, lines: list[dict]) -> tuple[str, list[tuple[str, str]]]:
    state = t.get("license_state") or "state not on file"
    return (
        "Provider",
        [
            ("Therapist", ", ".join(x for x in (t.get("name"), t.get("credentials")) if x)),
            ("Practice", _superbill_v(t.get("practice_name"))),
            ("Address", _superbill_v(t.get("address"))),
            ("Phone", _superbill_v(t.get("phone"))),
            ("License", f"{_superbill_v(t.get('license_number'))} ({state})"),
            ("NPI", _superbill_v(t.get("npi"))),
            ("Tax ID", _superbill_v(t.get("tax_id"))),
            ("Place of service", _superbill_place(lines)),
        ],
    )


def _superbill_services(d: dict) -> Table:
    """One row per CPT line. An unsigned visit's lines carry a mark explained in the note; a
    Modifiers column appears only when some line has a modifier (none are recorded yet)."""
    lines, total = d["lines"], d["total"]
    with_modifiers = any(line["modifiers"] for line in lines)
    headers = [
        "Date of service",
        "CPT",
        "Description",
        "Diagnosis",
        "Units",
        "Fee / unit",
        "Amount",
    ]
    rows = [
        [
            line["date"] + ("" if line["signed"] else f" {_SUPERBILL_UNSIGNED}"),
            line["cpt"],
            line["description"],
            ", ".join(line["diagnosis_codes"]),
            str(line["units"]),
            line["fee"],
            line["amount"],
        ]
        for line in lines
    ]
    widths = [1.4, 0.8, 2.0, 1.7, 0.7, 1.1, 1.1]
    right = {4, 5, 6}
    footer = [
        "Total", "", _count(total["visits"], "visit"), "", str(total["units"]), "", total["amount"]
    ]  # fmt: skip
    if with_modifiers:
        headers.insert(2, "Modifiers")
        for row, line in zip(rows, lines, strict=True):
            row.insert(2, " ".join(line["modifiers"]))
        footer.insert(2, "")
        widths = [1.4, 0.8, 0.9, 1.6, 1.3, 0.6, 1.0, 1.0]
        right = {5, 6, 7}
    note = f"Amounts in {d['currency']}. Fees are per 15-minute unit (untimed codes: per service)."
    if not all(line["signed"] for line in lines):
        note += (
            f" {_SUPERBILL_UNSIGNED} Unsigned: the therapist had not yet signed this visit's "
            "note when this superbill was issued."
        )
    return Table(
        "Services", headers, rows, widths, right=frozenset(right), footer=footer, note=note
    )


def superbill_document(d: dict) -> Document:
    client, p = d["client"], d["period"]
    period_text = f"{p['from']} to {p['to']}"
    payer = "; ".join(
        f"{PAYER_LABELS[k['payer_type']]}"
        + (f" — {k['payer_name']}" if k["payer_name"] else "")
        + (f", policy {k['policy']}" if k["policy"] else "")
        for k in d["cases"]
    )
    referrers = "; ".join(dict.fromkeys(k["referrer"] for k in d["cases"]))
    blocks: list[Block] = [
        Title(
            "Superbill — Statement of Services for Reimbursement",
            f"Dates of service {period_text} · issued {d['written']}",
        ),
        Fields(
            [
                _superbill_provider(d["provider"], d["lines"]),
                (
                    "Client",
                    [
                        ("Name", client["name"]),
                        ("Date of birth", _superbill_v(client.get("dob"))),
                        ("Address", _superbill_v(client.get("address"))),
                        ("Phone", _superbill_v(client.get("phone"))),
                        ("Payer", _superbill_v(payer)),
                        ("Referring provider", _superbill_v(referrers)),
                    ],
                ),
            ]
        ),
        Table(
            "Diagnoses (ICD-10-CM)",
            ["Code", "Description"],
            [[x["code"], x["description"]] for x in d["diagnoses"]],
            [1, 6],
        ),
        # The statement and signature follow the services table directly: the PDF keeps them
        # on the page of its last lines (nothing may come between).
        _superbill_services(d),
        Text(
            "Statement",
            "I certify that the services listed above were medically necessary and were "
            "provided by me on the dates shown.",
        ),
        Signature(therapist_lines(d["provider"]), "Date"),
    ]
    dob = f" · DOB {client['dob']}" if client.get("dob") else ""
    return Document(
        f"Superbill — {client['name']} — {period_text}",
        f"{client['name']}{dob} · superbill {d['written']}",
        blocks,
    )
