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


class Text(NamedTuple):
    title: str
    body: str
    source: str = ""  # where the text came from, e.g. "from visit 12 on 2026-11-20"


class Signature(NamedTuple):
    lines: list[str]  # printed under the signature line: name, credentials, license, NPI
    date_label: str


Block = Title | Fields | Flags | Table | Chart | Text | Signature


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
    c, a, t, p = d["case"], d["authorization"], d["totals"], d["period"]
    client = d["client"]
    period_text = f"{p['from']} to {p['to']}"
    blocks: list[Block] = [
        Title(
            "Progress Summary — Medical Massage Therapy",
            f"Reporting period {period_text} · written {d['written']}",
        ),
        Fields(
            [
                _therapist_group(d["therapist"]),
                (
                    "Client",
                    [
                        ("Name", client["name"]),
                        ("Date of birth", _v(client.get("dob"))),
                        ("Payer", PAYER_LABELS[c["payer_type"]]),
                        ("Payer name", _v(c["payer_name"])),
                        ("Policy / member #", _v(c["policy"])),
                        ("Claim #", _v(c["claim"])),
                        ("Date of injury", _v(c["injury_date"])),
                        ("Adjuster", _v(c["adjuster"])),
                    ],
                ),
                (
                    "Referral" if len(d["authorizations"]) == 1 else "Referral in force",
                    [
                        ("Referring provider", c["referrer"]),
                        ("Referrer NPI", _v(c["referrer_npi"])),
                        ("Prescription date", c["rx_date"]),
                        ("Valid", f"{a['valid_from']} to {a['valid_until']}"),
                        ("Frequency ordered", _v(c["frequency"])),
                        ("Areas ordered", _v(c["areas_ordered"])),
                    ],
                ),
                (
                    "Authorization",
                    [
                        ("Authorization #", _v(a["auth_number"])),
                        ("Visits authorized", str(a["visits_authorized"])),
                        ("Visits used", str(a["visits_used"])),
                        ("Visits remaining", str(a["visits_remaining"])),
                        ("Visits on the claim", str(a["visits_on_claim"])),
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
    ]
    if len(d["authorizations"]) > 1:
        blocks.append(
            Table(
                "Authorizations on this claim",
                ["#", "Written", "Valid from", "Valid until", "Visits", "Used", "Auth #", "By"],
                [
                    [
                        str(x["number"])
                        + (
                            " (in force)" if x["id"] == a["id"] and a["state"] == "in force" else ""
                        ),
                        x["written"],
                        x["valid_from"],
                        x["valid_until"],
                        str(x["visits_allowed"]),
                        str(x["visits_used"]),
                        _v(x["auth_number"]),
                        ", ".join(y for y in (x["prescriber"], x["prescriber_credentials"]) if y),
                    ]
                    for x in d["authorizations"]
                ],
                [1.1, 1.1, 1.1, 1.1, 0.7, 0.7, 1.3, 2.2],
                right=frozenset({4, 5}),
            )
        )
    if d["flags"]:
        blocks.append(Flags(d["flags"]))
    units_by_cpt = ", ".join(f"{k}: {v}" for k, v in t["units_by_cpt"].items())
    headers = ["Visit", "Date", "Minutes", "CPT × units", "Units", "Pain pre", "Pain post", "Notes"]
    rows = [
        [
            str(v["visit"]),
            v["date"],
            str(v["minutes"]),
            _cpt_cell(v["cpt"]),
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
        units_by_cpt,
        str(t["units"]),
        _num(t["average_pain_pre"]),
        _num(t["average_pain_post"]),
        "pain: averages",
    ]
    if len(d["authorizations"]) > 1:
        # After a renewal, each visit's place under its authorization: "#2 3/6".
        by_id = {x["id"]: x for x in d["authorizations"]}
        headers.insert(1, "Auth")
        for row, v in zip(rows, d["visits"], strict=True):
            x = by_id.get(v["authorization_id"])
            row.insert(
                1, f"#{x['number']} {v['authorization_visit']}/{x['visits_allowed']}" if x else "—"
            )
        widths = [0.5, 0.75, 1.1, 0.8, 2.95, 0.55, 0.9, 0.9, 1.25]
        right = {0, 1, 3, 5, 6, 7}
        footer[0:1] = ["", "Total"]  # "Total" would not fit the narrower Visit column
    blocks.append(
        Table(
            f"Visits in the period ({t['visits']})",
            headers,
            rows,
            widths,
            right=frozenset(right),
            footer=footer,
        )
    )
    blocks.append(
        Table(
            "Outcomes",
            ["Measure", "Baseline", "Current", "Change", "MCID", "MCID met"],
            [
                [
                    o["label"] + (f": {o['activity']}" if o["activity"] else ""),
                    f"{_num(o['baseline'])} ({o['baseline_date']})",
                    f"{_num(o['current'])} ({o['current_date']})",
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
                    [g["text"], _v(g["target"]), _v(g["target_date"]), g["status"]]
                    for g in d["goals"]
                ],
                [4, 2.2, 1.2, 1.2],
            )
        )
    blocks.append(Chart("Pain before and after each visit (NPRS 0–10)", d["pain_chart"]))
    blocks.append(Text("Assessment", d["assessment"] or "—", _source(d["assessment_from"])))
    blocks.append(Text("Plan", d["plan"] or "—", _source(d["plan_from"])))
    blocks.append(Text("Recommendation", d["recommendation"]["text"]))
    blocks.append(Signature(therapist_lines(d["therapist"]), "Date"))
    dob = f" · DOB {client['dob']}" if client.get("dob") else ""
    return Document(
        f"Progress summary — {client['name']} — {period_text}",
        f"{client['name']}{dob} · claim {_v(c['claim'])} · progress summary {d['written']}",
        blocks,
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


def superbill_document(d: dict) -> Document:
    client, total, p = d["client"], d["total"], d["period"]
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
                _therapist_group(d["provider"], with_tax_id=True),
                (
                    "Client",
                    [
                        ("Name", client["name"]),
                        ("Date of birth", _v(client.get("dob"))),
                        ("Address", _v(client.get("address"))),
                        ("Phone", _v(client.get("phone"))),
                        ("Payer", payer or "—"),
                        ("Referring provider", referrers or "—"),
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
        Table(
            "Services",
            ["Date of service", "CPT", "Description", "Diagnosis", "Units", "Fee / unit", "Amount"],
            [
                [
                    line["date"],
                    line["cpt"],
                    line["description"],
                    ", ".join(line["diagnosis_codes"]),
                    str(line["units"]),
                    line["fee"],
                    line["amount"],
                ]
                for line in d["lines"]
            ],
            [1.4, 0.8, 2.0, 1.7, 0.7, 1.1, 1.1],
            right=frozenset({4, 5, 6}),
            footer=[
                "Total",
                "",
                _count(total["visits"], "visit"),
                "",
                str(total["units"]),
                "",
                total["amount"],
            ],
            note=f"Amounts in {d['currency']}. Fees are per 15-minute unit (untimed codes: per "
            "service).",
        ),
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
