"""`medmassage claim …`: CMS-1500 claims and 837P files from signed visits (SPEC §11)."""

from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import (
    CaseOpt,
    ClientArg,
    FormatOpt,
    OutputOpt,
    database,
    guard,
    say,
    warn,
)

app = typer.Typer(no_args_is_help=True)

ClaimArg = Annotated[str, typer.Argument(metavar="ID", help="Claim id (see: claim list).")]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", metavar="DATE", help="First day of service to bill (a date or month)."),
]
ToOpt = Annotated[
    str | None, typer.Option("--to", metavar="DATE", help="Last day of service to bill.")
]
OffsetX = Annotated[
    float,
    typer.Option("--offset-x", metavar="MM", help="Move everything right (mm; negative: left)."),
]
OffsetY = Annotated[
    float,
    typer.Option("--offset-y", metavar="MM", help="Move everything down (mm; negative: up)."),
]


def _money(cents: int) -> str:
    # As the superbill prints amounts (documents/superbill.money), with a $; not imported from
    # there: it would load the insurer documents (~75 ms) into every claim command.
    return f"${cents // 100:,}.{cents % 100:02d}"


def _offset(field: str, value: float) -> float:
    from medmassage.errors import InputError

    if not -25.0 <= value <= 25.0:
        raise InputError(field, value, "millimetres between -25 and 25")
    return value


@app.command("create")
@guard
def create(
    ctx: typer.Context,
    client: ClientArg,
    case: CaseOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    session: Annotated[
        list[int] | None,
        typer.Option(
            "--session", metavar="ID", help="Bill this visit (repeatable); default: the period's."
        ),
    ] = None,
    replaces: Annotated[
        str | None,
        typer.Option(
            "--replaces",
            metavar="ID",
            help="A corrected claim replacing submitted claim ID (box 22 code 7); its visits "
            "unless --session/--from/--to say otherwise.",
        ),
    ] = None,
    original_ref: Annotated[
        str | None,
        typer.Option(
            "--original-ref",
            metavar="REF",
            help="With --replaces: the payer's claim number of the original (ICN/DCN).",
        ),
    ] = None,
) -> None:
    """Make a draft claim of the case's signed visits not yet on a claim (the period's, or
    those named with --session): every CMS-1500 box from the record, one line per CPT code
    per visit, charges at your fees now. Drafts refuse the claim; missing details are listed
    in one message. See it with `claim show ID`; print or export it to submit it."""
    from medmassage.claims.build import ClaimRequest
    from medmassage.claims.store import create_claim, parse_claim_id
    from medmassage.cli.documents import _period_bounds
    from medmassage.errors import InputError
    from medmassage.record.cases import case_with_history
    from medmassage.record.clients import find_client
    from medmassage.rules.dates import today

    first, last = _period_bounds(from_, to)
    if first and last and first > last:
        raise InputError("from", from_, f"is after --to {to}")
    if session and (from_ or to):
        raise InputError("session", session[0], "give visits with --session or a period, not both")
    if original_ref is not None:
        original_ref = original_ref.strip()
        if not 1 <= len(original_ref) <= 50:
            raise InputError("original-ref", original_ref, "1 to 50 characters")
    with database(ctx) as conn:
        client_row = find_client(conn, client)
        case_row = case_with_history(conn, client_row, case)
        request = ClaimRequest(
            case_id=case_row["id"],
            first=first,
            last=last,
            sessions=tuple(dict.fromkeys(session or ())),
            replaces=parse_claim_id(replaces) if replaces is not None else None,
            original_ref=original_ref or None,
        )
        claim_id, warnings, skipped = create_claim(conn, request, today())
        from medmassage.claims.store import claim_dict

        data = claim_dict(conn, claim_id)
    for message in skipped + warnings:
        warn(message)
    forms = len(data["forms"])
    lines = len(data["boxes"]["24"])
    replacing = f", replacing claim {request.replaces}" if request.replaces else ""
    say(
        f"Claim {claim_id} (draft{replacing}): case {data['case_id']}, {data['visits']} visit(s), "
        f"{lines} line(s) on {forms} form(s), total {_money(data['total_cents'])}. "
        f"Check it: medmassage claim show {claim_id}"
    )


def _text(value) -> str:
    """One box's value in words for the table and Markdown views."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "text" in value:
            return str(value["text"])
        if "street" in value:
            zip_code = value.get("zip") or ""
            if len(zip_code) == 9:
                zip_code = f"{zip_code[:5]}-{zip_code[5:]}"
            state = " ".join(x for x in (value.get("state"), zip_code) if x)
            parts = [value.get("name"), value.get("street"), value.get("city"), state]
            shown = ", ".join(p for p in parts if p)
            return shown + (f" · {value['phone']}" if value.get("phone") else "")
        return " ".join(_text(v) for v in value.values() if _text(v))
    return str(value)


# What each box is, as the NUCC form labels it (shortened).
BOX_LABELS = {
    "carrier": "Payer",
    "1": "Insurance type",
    "1a": "Insured's ID",
    "2": "Patient's name",
    "3": "Patient's birth date, sex",
    "4": "Insured's name",
    "5": "Patient's address",
    "6": "Relationship to insured",
    "7": "Insured's address",
    "10a": "Employment related",
    "10b": "Auto accident",
    "10b_state": "Accident state",
    "10c": "Other accident",
    "11": "Insured's group number",
    "11a": "Insured's birth date, sex",
    "11b": "Other claim ID",
    "11c": "Insurance plan name",
    "11d": "Another health benefit plan",
    "12": "Patient's signature",
    "13": "Insured's signature",
    "14": "Date of current injury/illness",
    "16": "Unable to work",
    "17": "Referring/ordering provider",
    "17b": "NPI (17)",
    "20": "Outside lab",
    "21": "Diagnoses (ICD-10-CM)",
    "22": "Resubmission",
    "23": "Prior authorization",
    "25": "Federal tax ID",
    "26": "Patient's account no.",
    "27": "Accept assignment",
    "28": "Total charge",
    "29": "Amount paid",
    "31": "Signature of provider",
    "32": "Service facility",
    "32a": "NPI (32)",
    "33": "Billing provider",
    "33a": "NPI (33)",
    "33b": "Other ID (33)",
}


def _box_value(key: str, value) -> str:
    if key in ("28", "29") and isinstance(value, int):
        return _money(value)
    if key == "21" and value:
        return "  ".join(f"{k}. {v}" for k, v in value["codes"].items()) + " (ICD ind. 0)"
    if key in ("11b", "33b") and value:
        return f"{value['qualifier']} {value['value']}"
    if key == "14" and value:
        return f"{value['date']} (qual. {value['qualifier']})"
    if key == "17" and value:
        return f"{value['qualifier']} {_text(value['name'])}"
    if key == "22" and value:
        return f"code {value['code']}, original ref. {value['original_ref']}"
    if key == "25" and value:
        return f"{value['value']} ({value['kind']})"
    if key in ("3", "11a") and value:
        return " ".join(x for x in (value.get("dob"), value.get("sex")) if x)
    if key == "20" and value:
        return "yes" if value["outside_lab"] else "no"
    if key == "16" and value:
        return f"{value['from']} to {value['to'] or '…'}"
    if key == "12" and value:
        return value["signature"]
    if key == "31" and value:
        return f"{value['signature']} {value['date']}"
    if key == "carrier" and value:
        return " · ".join(
            x
            for x in (value["name"], value.get("payer_id") and f"payer id {value['payer_id']}",
                      _text(value.get("address")))
            if x
        )  # fmt: skip
    return _text(value)


@app.command("show")
@guard
def show(ctx: typer.Context, claim: ClaimArg, fmt: FormatOpt = None, output: OutputOpt = None):
    """A claim box by box (NUCC numbers), its lines and its state. `-f json` is the contract
    the README documents: keys are the box numbers ("1a", "11b", "24" lines with "24A"…)."""
    from medmassage.claims.store import claim_dict, drift, parse_claim_id
    from medmassage.cli.render import (
        Col,
        json_text,
        markdown_table,
        on_screen,
        plain_table,
        resolve_format,
    )
    from medmassage.rules.textsafety import visible
    from medmassage.store.files import write_output

    chosen = resolve_format(fmt, output, ("table", "json", "md"))
    claim_id = parse_claim_id(claim)
    with database(ctx) as conn:
        data = claim_dict(conn, claim_id)
        changed = drift(conn, claim_id)
    if changed:
        warn(
            f"draft claim {claim_id} no longer agrees with the record ({'; '.join(changed)} "
            f"changed since it was made): void it and make it again before you send it"
        )
    if chosen == "json":
        write_output(on_screen(json_text(data), output, as_json=True), output)
        return
    boxes = data["boxes"]
    rows = [
        {"box": k, "what": BOX_LABELS.get(k, ""), "value": visible(_box_value(k, v))}
        for k, v in boxes.items()
        if k != "24" and _box_value(k, v)
    ]
    lines = [
        {
            "line": x["line"],
            "form": x["form"],
            "date": x["24A"]["from"],
            "place": x["24B"],
            "cpt": " ".join([x["24D"]["cpt"], *x["24D"]["modifiers"]]),
            "pointer": x["24E"],
            "charge": _money(x["24F"]),
            "units": x["24G"],
            "npi": x["24J"] or "",
            "session": x["session_id"],
        }
        for x in boxes["24"]
    ]
    box_cols = [Col("box", "Box"), Col("what", "What"), Col("value", "Value")]
    line_cols = [
        Col("line", "24", right=True),
        Col("form", "Form", right=True),
        Col("date", "A Date"),
        Col("place", "B POS"),
        Col("cpt", "D CPT/mod"),
        Col("pointer", "E Ptr"),
        Col("charge", "F Charge", right=True),
        Col("units", "G Units", right=True),
        Col("npi", "J NPI"),
        Col("session", "Session", right=True),
    ]
    state = data["status"] + (f" {data['submitted']} by {data['submitted_by']}"
                              if data["submitted"] else "")  # fmt: skip
    if data["replaced_by"]:
        state += f", replaced by claim {data['replaced_by']}"
    if data["void_reason"]:
        state += f" ({data['void_reason']})"
    title = (
        f"Claim {claim_id} — {state} — case {data['case_id']} ({data['payer_type']}) — "
        f"{data['visits']} visit(s), {len(lines)} line(s) on {len(data['forms'])} form(s), "
        f"total {_money(data['total_cents'])}"
    )
    if chosen == "md":
        text = (
            f"## {visible(title)}\n\n"
            + markdown_table(box_cols, rows)
            + "\n### Box 24: services\n\n"
            + markdown_table(line_cols, lines)
        )
        write_output(text, output)
        return
    text = plain_table(box_cols, rows, visible(title)) + "\n" + plain_table(
        line_cols, lines, "Box 24: services"
    )  # fmt: skip
    write_output(text, output)


@app.command("list")
@guard
def list_(
    ctx: typer.Context,
    client: Annotated[
        str | None, typer.Argument(metavar="[CLIENT]", help="Only this client's claims.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="draft, submitted, replaced or void."),
    ] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Claims, oldest first: client, case, payer, dates of service, lines, total, status."""
    from medmassage.claims.store import list_claims
    from medmassage.cli.render import Col, print_rows, resolve_format
    from medmassage.record.clients import find_client

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        client_id = find_client(conn, client)["id"] if client else None
        rows = list_claims(conn, client_id, status.strip().lower() if status else None)
    for r in rows:
        r["total"] = _money(r["total_cents"])
        r["service"] = r["first"] if r["first"] == r["last"] else f"{r['first']} – {r['last']}"
        r["sent"] = f"{r['submitted']} ({r['submitted_by']})" if r["submitted"] else ""
    columns = [
        Col("id", "ID", right=True),
        Col("client", "Client"),
        Col("case_id", "Case", right=True),
        Col("payer_type", "Payer"),
        Col("service", "Service dates"),
        Col("visits", "Visits", right=True),
        Col("lines", "Lines", right=True),
        Col("total", "Total", right=True),
        Col("status", "Status"),
        Col("sent", "Submitted"),
    ]
    keys = [
        "id", "client_id", "client", "case_id", "payer_type", "payer_name", "status", "created",
        "submitted", "submitted_by", "replaces", "first", "last", "visits", "lines", "total_cents",
    ]  # fmt: skip
    print_rows(
        columns,
        rows,
        chosen,
        output,
        keys=keys,
        empty="No claims. Make one: medmassage claim create CLIENT",
    )


@app.command("void")
@guard
def void(
    ctx: typer.Context,
    claim: ClaimArg,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (kept on the claim).")],
) -> None:
    """Void a draft claim (before it is submitted): its visits can go on a new claim. A
    submitted claim is corrected with `claim create … --replaces ID` instead."""
    from medmassage.claims.store import parse_claim_id, void_claim

    claim_id = parse_claim_id(claim)
    with database(ctx) as conn:
        void_claim(conn, claim_id, reason)
    say(f"Claim {claim_id} void; its visits can be billed on a new claim.")


@app.command("print")
@guard
def print_(
    ctx: typer.Context,
    claims: Annotated[
        list[str] | None, typer.Argument(metavar="ID…", help="Claim ids, each on its forms.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="The PDF to write (owner-only)."),
    ] = None,
    offset_x: OffsetX = 0.0,
    offset_y: OffsetY = 0.0,
    proof: Annotated[
        bool,
        typer.Option(
            "--proof",
            help="Draw the form's boxes and labels under the data: for the screen and your "
            "records, not for the payer (the claim stays a draft).",
        ),
    ] = False,
    alignment: Annotated[
        bool,
        typer.Option("--alignment", help="Print a test page to line a printer up with the form."),
    ] = False,
) -> None:
    """Print claims onto pre-printed red CMS-1500 (02/12) forms: the data only, in 10-pitch
    Courier, placed on the form's grid (payers scan the red form; plain-paper copies are
    refused). Printing marks a draft submitted today. Align a printer with --alignment and
    --offset-x/--offset-y first."""
    from medmassage.errors import InputError

    if output is None:
        raise InputError("output", None, "give -o FILE.pdf (a PDF to print on the red form)")
    if output.suffix.lower() != ".pdf":
        raise InputError("output", str(output), "name the file .pdf")
    dx, dy = _offset("offset-x", offset_x), _offset("offset-y", offset_y)
    if alignment:
        if claims:
            raise InputError("alignment", claims[0], "prints a test page alone: give no claim id")
        from medmassage.claims.cms1500 import alignment_pdf
        from medmassage.store.files import write_file

        write_file(output, alignment_pdf(offset_x_mm=dx, offset_y_mm=dy))
        say(f"Wrote {output}: alignment test page (offsets {dx:+.1f} mm, {dy:+.1f} mm)")
        return
    if not claims:
        raise InputError("claim", None, "give claim ids to print (see: medmassage claim list)")
    from medmassage.claims.cms1500 import claim_pdf
    from medmassage.claims.store import claim_dict, claims_to_send, mark_submitted, parse_claim_id
    from medmassage.rules.dates import today
    from medmassage.store import db
    from medmassage.store.files import staged_write

    ids = [parse_claim_id(c) for c in claims]
    with database(ctx) as conn:
        claims_to_send(conn, ids)
        data = [claim_dict(conn, i) for i in dict.fromkeys(ids)]
        pdf = claim_pdf(data, offset_x_mm=dx, offset_y_mm=dy, proof=proof)
        marked: list[int] = []
        with staged_write(output, pdf) as place, db.transaction(conn):
            if not proof:
                marked = mark_submitted(conn, list(dict.fromkeys(ids)), "print", today())
            place()
    pages = sum(len(d["forms"]) for d in data)
    kind = "proof copy (boxes drawn; not for the payer)" if proof else "data for the red form"
    say(f"Wrote {output}: {len(data)} claim(s), {pages} form page(s), {kind}")
    if marked:
        say(f"Marked submitted today: claim(s) {', '.join(map(str, marked))}")


@app.command("export")
@guard
def export(
    ctx: typer.Context,
    claims: Annotated[list[str], typer.Argument(metavar="ID…", help="Claim ids to send.")],
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", metavar="FORMAT", help="x12 (837P).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="The 837 file to write (owner-only)."),
    ] = None,
    test: Annotated[
        bool, typer.Option("--test", help="Mark the interchange a test (ISA15 T), not production.")
    ] = False,
) -> None:
    """Write claims as one X12 837P 005010X222A2 interchange for your clearinghouse (its
    submitter and receiver ids: profile set --submitter-id/--receiver-id/--receiver-name).
    Every interchange gets a control number never used before. Exporting marks drafts
    submitted today."""
    from datetime import datetime

    from medmassage.errors import InputError

    if fmt is not None and fmt.strip().lower() != "x12":
        raise InputError("format", fmt, "x12 (an 837P file)")
    if output is None:
        raise InputError("output", None, "give -o FILE.837 (the file for the clearinghouse)")
    from medmassage.claims.store import (
        claim_dict,
        claims_to_send,
        mark_submitted,
        parse_claim_id,
        record_interchange,
    )
    from medmassage.claims.x12 import Envelope, X12Error, interchange
    from medmassage.errors import RuleRefused
    from medmassage.rules.dates import now_stamp, today
    from medmassage.store import db
    from medmassage.store.files import staged_write

    ids = list(dict.fromkeys(parse_claim_id(c) for c in claims))
    with database(ctx) as conn:
        claims_to_send(conn, ids)
        profile = conn.execute("SELECT * FROM profile WHERE id = 1").fetchone()
        need = {
            "submitter id (profile set --submitter-id)": profile and profile["submitter_id"],
            "receiver id (profile set --receiver-id)": profile and profile["receiver_id"],
            "receiver name (profile set --receiver-name)": profile and profile["receiver_name"],
        }
        data = [claim_dict(conn, i) for i in ids]
        for d in data:
            if not d["boxes"]["carrier"].get("payer_id"):
                case_id = d["case_id"]
                need[f"payer id of case {case_id} (case edit {case_id} --payer-id)"] = None
            # The 837P's billing provider N403 takes the 9-digit ZIP (ZIP+4); paper takes 5.
            if len(d["boxes"]["33"]["zip"] or "") != 9:
                need["your ZIP+4 in the address, e.g. WA 98225-1234 (profile set --address)"] = None
        missing = [what for what, value in need.items() if not value]
        if missing:
            raise RuleRefused(
                "claim export: the 837P needs — " + "; ".join(missing) + "; nothing was written"
            )
        name = profile["practice_name"] or profile["name"]
        envelope = Envelope(
            sender_id=profile["submitter_id"],
            receiver_id=profile["receiver_id"],
            receiver_name=profile["receiver_name"],
            submitter_name=name,
            contact_name=profile["name"],
            contact_phone="".join(ch for ch in profile["phone"] or "" if ch.isdigit()),
            usage="T" if test else "P",
            version=profile["x12_version"] or "005010X222A2",
        )
        with db.transaction(conn):
            number = record_interchange(conn, ids)
            created = datetime.fromisoformat(now_stamp())
            try:
                text = interchange(data, envelope, number, created)
            except X12Error as error:
                raise RuleRefused(f"claim export: {error}; nothing was written") from None
            with staged_write(output, text.encode("utf-8")) as place:
                marked = mark_submitted(conn, ids, "x12", today())
                place()
    say(f"Wrote {output}: 837P interchange {number:09d}, {len(ids)} claim(s)")
    if marked:
        say(f"Marked submitted today: claim(s) {', '.join(map(str, marked))}")
