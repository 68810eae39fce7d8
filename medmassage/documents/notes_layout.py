"""The chart notes of a period (or of one visit), laid out as document blocks.

Built from the JSON dict of chart_notes.ChartNotes with the block classes of layout.py, so
pdf.py, html.py and markdown.py draw it as they draw the summary and the superbill: a cover
(who and what: provider, client, payer and ids, diagnoses, the period and its visits), then
every visit in order: its facts and CPT lines, an attention box if it is an unsigned draft or
void, the full SOAP note, its addenda, and its signature. A missing fact is said in words.
"""

from __future__ import annotations

from medmassage.documents.layout import (
    PAYER_LABELS,
    Block,
    Document,
    Fields,
    Flags,
    Table,
    Title,
    body_diagram,
)

# The note's sections, headed as `session log --edit` heads them (one table: sessions.py).
from medmassage.record.sessions import NOTE_HEADINGS

NONE = "not on file"
NOT_RECORDED = "not recorded"
UNITS_RULES = {
    "cms": "CMS 8-minute rule (total timed minutes)",
    "ama": "AMA rule (each code on its own minutes)",
}
# Payers whose adjuster files by claim number; a health plan by the member id (policy).
_CLAIM_PAYERS = ("workers-comp", "auto-pip")


def _v(value: object, missing: str = NONE) -> str:
    return missing if value is None or value == "" else str(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _time(stamp: str | None) -> str:
    """'2026-11-20T15:02:11-08:00' as '2026-11-20 15:02 (UTC−08:00)'."""
    if not stamp:
        return ""
    day, clock = stamp[:10], stamp[11:16]
    offset = stamp[19:] or "+00:00"
    return f"{day} {clock} (UTC{offset.replace('-', '−')})"


def _zone_text(zone: dict) -> str:
    if zone["name"]:
        return f"the practice's time zone, {zone['name']}"
    offset = zone["offset_now"].replace("-", "−")
    return f"this computer's time zone (UTC{offset} when written; the profile names none)"


def region_text(region: str) -> str:
    """'shoulder-left' → 'left shoulder', 'upper-back' → 'upper back': the words the body
    diagram's lists use, so the document spells a region one way."""
    from medmassage.documents.bodymap import region_label

    return region_label(region)


def _technique_text(name: str) -> str:
    return name.replace("-", " ")


def _therapist_name(t: dict) -> str:
    return ", ".join(x for x in (t.get("name"), t.get("credentials")) if x)


def _license(t: dict) -> str:
    state = f" ({t['license_state']})" if t.get("license_state") else ""
    return _v(t.get("license_number")) + state


def _provider(t: dict) -> tuple[str, list[tuple[str, str]]]:
    return (
        "Provider",
        [
            ("Therapist", _therapist_name(t)),
            ("Practice", _v(t.get("practice_name"))),
            ("Address", _v(t.get("address"))),
            ("Phone", _v(t.get("phone"))),
            ("License", _license(t)),
            ("NPI", _v(t.get("npi"))),
        ],
    )


def _client(d: dict) -> tuple[str, list[tuple[str, str]]]:
    c, client = d["case"], d["client"]
    return (
        "Client",
        [
            ("Name", client["name"]),
            ("Date of birth", _v(client.get("dob"))),
            ("Payer", PAYER_LABELS[c["payer_type"]]),
            ("Payer name", _v(c["payer_name"])),
            ("Claim #", _v(c["claim"])),
            ("Policy / member #", _v(c["policy"])),
            ("Date of injury", _v(c["injury_date"])),
            ("Adjuster", _v(c["adjuster"])),
            ("Case", f"#{c['id']} ({c['status']})"),
        ],
    )


def _this_note(d: dict) -> tuple[str, list[tuple[str, str]]]:
    v = d["visits"][0]
    if v["status"] == "void":
        status = "VOID"
    else:
        status = "signed" if v["status"] == "signed" else "UNSIGNED DRAFT"
    pairs = [
        ("Visit", str(v["visit"]) if v["visit"] is not None else "none (void)"),
        ("Session", str(v["session_id"])),
        ("Date", " ".join(x for x in (v["date"], v["start_time"]) if x)),
        ("Status", status),
        ("Written", d["written"]),
        ("Times in", _zone_text(d["time_zone"])),
    ]
    return ("This note", pairs)


def _these_notes(d: dict) -> tuple[str, list[tuple[str, str]]]:
    if d["document"] == "chart-note":
        return _this_note(d)
    t, p = d["totals"], d["period"]
    visits = _count(t["visits"], "visit")
    if t["unsigned"]:
        visits += f" ({t['signed']} signed, {t['unsigned']} unsigned)"
    pairs = [
        ("Period", f"{p['from']} to {p['to']}"),
        ("Visits", visits),
        ("Void sessions", str(t["void"]) if t["void"] else "none"),
        ("Minutes", str(t["minutes"])),
        ("Units", ", ".join(f"{k} × {v}" for k, v in t["units_by_cpt"].items()) or "none"),
        ("Written", d["written"]),
        ("Times in", _zone_text(d["time_zone"])),
    ]
    return ("These notes", pairs)


def _id_line(d: dict) -> str:
    """What the adjuster files the notes under, for the footer of every page."""
    c = d["case"]
    if c["payer_type"] in _CLAIM_PAYERS:
        return f"claim {_v(c['claim'])}"
    if c["payer_type"] == "health":
        return f"member # {_v(c['policy'])}"
    return f"case #{c['id']}"


def _visit_name(v: dict) -> str:
    return f"visit {v['visit']}" if v["visit"] is not None else f"session {v['session_id']}"


def _visit_title(v: dict) -> str:
    when = " ".join(x for x in (v["date"], v["start_time"]) if x)
    if v["status"] == "void":
        return f"Session {v['session_id']} — {when} — VOID"
    status = "signed" if v["status"] == "signed" else "UNSIGNED DRAFT"
    standing = "".join(f" · {f}" for f in _extra_flags(v))
    return f"Visit {v['visit']} — {when} — {status}{standing}"


def _cpt_text(v: dict) -> str:
    return ", ".join(f"{c['code']} × {c['units']}" for c in v["cpt"]) or "none"


def _index(d: dict) -> Table:
    """One line per session of the period: the table of contents of what follows."""
    t = d["totals"]
    rows = []
    for v in d["visits"]:
        if v["status"] == "void":
            state = "VOID"
        elif v["status"] == "signed":
            state = f"signed {v['signature']['signed_at'][:10]}"
        else:
            state = "UNSIGNED"
        rows.append(
            [
                str(v["visit"]) if v["visit"] is not None else "—",
                v["date"],
                str(v["minutes"]),
                _cpt_text(v),
                str(v["pain_pre"]),
                str(v["pain_post"]),
                " · ".join([state, *_extra_flags(v)]),
            ]
        )
    units = ", ".join(f"{k} × {n}" for k, n in t["units_by_cpt"].items())
    rules = " and the ".join(
        UNITS_RULES[k] for k in dict.fromkeys(v["units_rule"] for v in d["visits"])
    )
    note = (
        f"Pain on the NPRS (0–10). Units by the {rules}. Times are in {_zone_text(d['time_zone'])}."
    )
    if t["void"]:
        note += " Void sessions are listed and shown, but are not visits on the claim."
    return Table(
        f"Visits in these notes ({t['visits']})",
        ["Visit", "Date", "Minutes", "CPT × units", "Pain pre", "Pain post", "Note"],
        rows,
        [0.6, 1.2, 0.8, 2.4, 0.8, 0.8, 2.6],
        right=frozenset({0, 2, 4, 5}),
        footer=["Total", _count(t["visits"], "visit"), str(t["minutes"]), units, "", "", ""],
        note=note,
    )


def _extra_flags(v: dict) -> list[str]:
    return [f for f in v["flags"] if f not in ("unsigned", "void")]


def _regions(d: dict) -> list[Block]:
    """The regions treated in the period with their visits and whether ordered, then the body
    diagram: those treated shaded, those ordered (by the authorizations in force during the
    period) outlined, as on the summary."""
    treated, ordered = d["regions_treated"], d["areas_ordered"]
    absent = "not ordered" if ordered else "no areas named"
    if not ordered:
        note = "No authorization in force during the period names any areas."
    elif not any(r["region"] in ordered for r in treated):
        note = "None of these regions is among the areas ordered."
    else:
        note = ""
    blocks: list[Block] = [
        Table(
            "Regions treated in the period",
            ["Region", "Visits", "On the prescription"],
            [
                [
                    region_text(r["region"]),
                    str(r["visits"]),
                    "yes" if r["region"] in ordered else absent,
                ]
                for r in treated
            ],
            [3, 1, 2],
            right=frozenset({1}),
            note=note,
        )
    ]
    diagram = body_diagram([r["region"] for r in treated], ordered)
    if diagram is not None:
        blocks.append(diagram)
    return blocks


def _status_row(v: dict) -> list[list[str]]:
    """An unsigned draft or a void session says so first, in capitals."""
    name, day = _visit_name(v), v["date"]
    if v["status"] == "void":
        when = _time(v["void"]["voided_at"]) or "a date not recorded"
        return [
            [
                "Status",
                f"VOID: {name} of {day} was voided on {when}. Reason: {v['void']['reason']}. "
                "It is not a visit on the claim and is not billed; its note is kept as recorded.",
            ]
        ]
    if v["status"] != "signed":
        return [
            [
                "Status",
                "UNSIGNED DRAFT: the therapist has not signed this note; it may still change.",
            ]
        ]
    return []


def _signature_row(v: dict) -> list[str]:
    s = v["signature"]
    ids = f"License {_license(s)} · NPI {_v(s.get('npi'))}"
    if s["signed"]:
        text = f"Electronically signed by {_therapist_name(s)} on {_time(s['signed_at'])}\n{ids}"
    else:
        text = f"NOT SIGNED (draft). Therapist: {_therapist_name(s)}\n{ids}"
    return ["Signature", text]


def _visit_table(v: dict) -> Table:
    """One visit as labelled rows: its facts, CPT lines, the full SOAP note and the signature.

    One table, not paragraphs and several tables: its heading row repeats when the visit runs
    onto the next page, a row (the signature's too) never splits, and the PDF lays table text
    out many times faster than fpdf2's paragraphs (100 visits within a second)."""
    techniques = ", ".join(
        f"{_technique_text(t['technique'])} {t['minutes']} min" for t in v["techniques"]
    )
    rows = [
        *_status_row(v),
        ["Minutes", str(v["minutes"])],
        ["Regions", ", ".join(region_text(r) for r in v["regions"])],
        ["Techniques", techniques or NOT_RECORDED],
    ]
    rule = v["units_rule"].upper()
    for c in v["cpt"]:
        rows.append(
            [f"CPT {c['code']}", f"{c['label']}: {c['minutes']} min, {_count(c['units'], 'unit')}"]
        )
    if not v["cpt"]:
        rows.append(["CPT", "no CPT lines"])
    rows.append(["Units", f"{v['units']} ({rule} rule)"])
    rows.append(
        [
            "Pain (NPRS 0–10)",
            f"before {v['pain_pre']}, after {v['pain_post']} (relief {v['relief']})",
        ]
    )
    for key, heading in NOTE_HEADINGS.items():
        text = (v["notes"].get(key) or "").strip()
        for i, chunk in enumerate(_chunks(text) if text else [NOT_RECORDED]):
            rows.append([heading if i == 0 else "", chunk])
    rows.append(_signature_row(v))
    when = " ".join(x for x in (v["date"], v["start_time"]) if x)
    return Table(
        _visit_title(v), [_visit_name(v).capitalize(), f"{when} · session {v['session_id']}"],
        rows, [1.3, 7.5],
    )  # fmt: skip


# A note section is one row per line of text (so Markdown and HTML keep its lines), a line
# longer than this cut at spaces into several: a PDF table row never splits across pages, so no
# row may be taller than a page (a note holds up to 20,000 characters).
_ROW_CHARS = 1200


def _chunks(text: str) -> list[str]:
    rows: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        while len(line) > _ROW_CHARS:
            cut = line.rfind(" ", 0, _ROW_CHARS)
            cut = cut if cut > 0 else _ROW_CHARS
            rows.append(line[:cut])
            line = line[cut:].lstrip(" ")
        if line.strip():
            rows.append(line)
    return rows or [NOT_RECORDED]


def _addenda(v: dict) -> Table:
    rows = []
    for a in v["addenda"]:
        for i, chunk in enumerate(_chunks(a["text"])):
            first = i == 0
            rows.append(
                [
                    str(a["id"]) if first else "",
                    _time(a["written"]) if first else "",
                    a["author"] if first else "",
                    chunk,
                ]
            )
    return Table(
        f"Addenda — {_visit_name(v)} (added after the note; the note is unchanged)",
        ["#", "Written", "Recorded by", "Addendum"],
        rows,
        [0.5, 1.7, 1.2, 5.4],
    )


def _visit(v: dict) -> list[Block]:
    blocks: list[Block] = [_visit_table(v)]
    if v["addenda"]:
        blocks.append(_addenda(v))
    return blocks


def _cover_flags(d: dict) -> Flags | None:
    items = []
    drafts = [v for v in d["visits"] if v["status"] == "draft"]
    if drafts:
        which = ", ".join(f"{v['visit']} ({v['date']})" for v in drafts)
        items.append(
            f"{_count(len(drafts), 'visit')} not signed by the therapist (unsigned drafts): "
            f"{'visit' if len(drafts) == 1 else 'visits'} {which}."
        )
    void = [v for v in d["visits"] if v["status"] == "void"]
    if void:
        which = ", ".join(f"session {v['session_id']} ({v['date']})" for v in void)
        items.append(f"{_count(len(void), 'session')} void, shown marked VOID: {which}.")
    return Flags(items) if items else None


def notes_document(d: dict) -> Document:
    client, p = d["client"], d["period"]
    single = d["document"] == "chart-note"
    period_text = p["from"] if p["from"] == p["to"] else f"{p['from']} to {p['to']}"
    n = d["totals"]["visits"]
    if single:
        v = d["visits"][0]
        title = Title(
            "Chart Note — Medical Massage Therapy",
            f"{_visit_name(v).capitalize()} on {v['date']} · written {d['written']}",
        )
    else:
        title = Title(
            "Chart Notes — Medical Massage Therapy",
            f"Visits {period_text} · {_count(n, 'visit')} · written {d['written']}",
        )
    blocks: list[Block] = [
        title,
        Fields([_provider(d["therapist"]), _client(d), _these_notes(d)]),
        Table(
            "Diagnoses (ICD-10-CM)",
            ["Code", "Description"],
            [[x["code"], x["description"]] for x in d["diagnoses"]],
            [1, 6],
        ),
    ]
    flags = _cover_flags(d)
    if flags is not None and not single:
        blocks.append(flags)
    if not single:
        blocks.append(_index(d))
        blocks.extend(_regions(d))
    for v in d["visits"]:
        blocks.extend(_visit(v))
    if single:  # the visit's regions are in its note; the diagram shows them against the order
        diagram = body_diagram([r["region"] for r in d["regions_treated"]], d["areas_ordered"])
        if diagram is not None:
            blocks.append(diagram)
    dob = f" · DOB {client['dob']}" if client.get("dob") else ""
    kind = "chart note" if single else "chart notes"
    return Document(
        f"{'Chart note' if single else 'Chart notes'} — {client['name']} — {period_text}",
        f"{client['name']}{dob} · {_id_line(d)} · {kind} {period_text}",
        blocks,
    )
