"""Print claims on the CMS-1500 (02/12) grid as a PDF: `claim print ID -o claim.pdf`.

Reads only the claim dicts of `claim show -f json` (boxes keyed by NUCC number; samples in
tests/data/claims/). By default the PDF holds the data and nothing else, in black 10-pt Courier
spaced to the form's 10 characters per inch, upper case, for printing onto the pre-printed red
OCR form that payers scan (a black-on-white copy of the form is commonly rejected). Where each
box is comes from cms1500_grid.py (OpenEMR's line/column grid, cited there).

- Each claim prints as many form pages as its `forms` list says, six service lines a page (the
  `form` key of each line says which). Boxes 1-23 and 25-33 repeat on every page; box 28 holds
  the total only on the last page and "CONTINUED" on the others, box 29 is on the last page only.
- `offset_x_mm` / `offset_y_mm` move everything (printer alignment; positive = right / down).
- `proof=True` draws the boxes and short labels in light red under the data: a copy to read on
  screen and keep in the records, never one to send.
- `alignment_pdf` prints a test pattern to hold against a red form.

Formats (cells as OpenEMR Hcfa1500.php places them): dates MM DD YYYY in their date cells
(24A: MM DD YY), money as dollars and cents in their split cells without "$" or ".", a phone
number as area code (inside the form's parentheses) and the 7 digits, 24E pointer letters
without commas, qualifiers in their own cell before the number (11b: "Enter the qualifier to the
left of the vertical, dotted line", NUCC as quoted by support.speedysoftusa.com; 14, 15, 17,
17a, 24I likewise) or run into the number (32b, 33b). Box 21: the diagnosis codes without their
decimal point, per the Medicare Claims Processing Manual (Pub. 100-04 ch. 26, item 21, quoted by
cms1500claimbilling.com "Box #21, ICD 10 entering on CMS 1500 new form"): "Do not insert a
period in the ICD-9-CM or ICD-10-CM code" (OpenEMR strips it too; the NUCC manual itself was
not opened). Box 31's date goes on the last line at column 6, as OpenEMR prints it.

A box that is None (or missing) is left empty; nothing here raises on one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from medmassage.claims import cms1500_grid as grid
from medmassage.documents.fpdf_lean import lean_fpdf_import
from medmassage.rules.textsafety import ascii_caps

with lean_fpdf_import():
    from fpdf import FPDF, FPDF_VERSION

LANGUAGE = "en-US"
MM = 72 / 25.4  # points per millimetre
INK = (0, 0, 0)
PROOF_LINE = (226, 128, 128)  # light red, like the dropout ink
PROOF_TEXT = (200, 80, 80)
PROOF_SHADE = (253, 236, 236)
PROOF_LABEL_PT = 5.2
LINES_PER_FORM = 6


class Field(NamedTuple):
    """One run of data: `text` from grid column `col` on grid line `line`, in box `box`,
    `pitch` points a character (10 a inch; 12 a inch for a name too long for its box)."""

    box: str
    line: int
    col: int
    text: str
    pitch: float = grid.COL_W


# --- values -------------------------------------------------------------------------------------


def _clean(value: Any) -> str:
    """Upper-case ASCII text for the OCR form (accents dropped: JOSÉ → JOSE), '' for None."""
    if value is False:
        return ""
    return ascii_caps(value)


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return _clean(value.get("text") or _join(value.get("last"), value.get("first")))
    return _clean(value)


def _join(*parts: Any, sep: str = ", ") -> str:
    return sep.join(str(p) for p in parts if p)


def _date(value: Any) -> tuple[str, str, str] | None:
    """(MM, DD, YYYY) of an ISO date string, None if there is none or it is not a date."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    year, month, day = value[:4], value[5:7], value[8:10]
    if not (year.isdigit() and month.isdigit() and day.isdigit()):
        return None
    return month, day, year


def _money(cents: Any) -> tuple[str, str] | None:
    """(dollars, cents) of integer cents: 9000 → ("90", "00"); None if not a number."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        return None
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}{dollars}", f"{rest:02d}"


def _phone(value: Any) -> tuple[str, str] | None:
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return None
    return digits[:3], digits[3:]


def _zip(value: Any) -> str:
    """A ZIP as the form takes it: 5 digits, or ZIP+4 with its hyphen (98504-4291); the claim
    dict carries digits only, as the 837P's N403 does."""
    text = str(value or "")
    return f"{text[:5]}-{text[5:]}" if len(text) == 9 and text.isdigit() else text


def _street(value: Any) -> str:
    """NUCC items 5, 7, 32, 33: no punctuation in the address ("412 CEDAR ST SUITE 3", not
    "412 Cedar St., Suite 3"); a # or / stays, the rest becomes a space."""
    text = "".join(ch if ch.isalnum() or ch in "#/-" else " " for ch in str(value or ""))
    return " ".join(text.split())


def _city_line(address: dict) -> str:
    """CITY ST ZIP: NUCC wants a space, not a comma, between them (items 32, 33)."""
    city, state = address.get("city"), address.get("state")
    return _clean(_join(city, state, _zip(address.get("zip")), sep=" "))


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# --- the fields of one page ---------------------------------------------------------------------


class _Page:
    """Collects the fields of one form page, cut to the room each box has."""

    def __init__(self) -> None:
        self.fields: list[Field] = []

    def put(self, box: str, line: int, col: int, text: Any, maxlen: int) -> None:
        """Text in `maxlen` columns; if it is longer, at 12 characters an inch in the same
        room (NUCC allows 10 or 12 pitch) rather than cut, and cut only beyond that."""
        text = _clean(text)
        if len(text) <= maxlen:
            if text:
                self.fields.append(Field(box, line, col, text))
            return
        room = int(maxlen * grid.COL_W / grid.NARROW_PITCH)
        self.fields.append(Field(box, line, col, text[:room].rstrip(), grid.NARROW_PITCH))

    def right(self, box: str, line: int, last_col: int, text: str) -> None:
        """Text right-aligned so that its last character is in column `last_col`."""
        if text:
            self.fields.append(Field(box, line, last_col - len(text) + 1, text))

    def check(self, box: str, choice: str) -> None:
        spot = grid.CHECKBOXES.get((box, choice))
        if spot is not None:
            self.fields.append(Field(box, spot[0], spot[1], "X"))

    def yes_no(self, box: str, value: Any) -> None:
        if value is True:
            self.check(box, "yes")
        elif value is False:
            self.check(box, "no")

    def date(self, box: str, line: int, cols: tuple[int, int, int], value: Any, short=False):
        parts = _date(value)
        if parts is None:
            return
        month, day, year = parts
        for col, text in zip(cols, (month, day, year[2:] if short else year), strict=True):
            self.fields.append(Field(box, line, col, text))

    def money(self, box: str, line: int, dollars_last: int, cents_col: int, cents: Any) -> None:
        amount = _money(cents)
        if amount is not None:
            self.right(box, line, dollars_last, amount[0])
            self.fields.append(Field(box, line, cents_col, amount[1]))

    def phone(self, box: str, line: int, area_col: int, number_col: int, value: Any) -> None:
        parts = _phone(value)
        if parts is not None:
            self.fields.append(Field(box, line, area_col, parts[0]))
            self.fields.append(Field(box, line, number_col, parts[1]))

    def qualified(self, box: str, line: int, qual_col: int, col: int, value: Any, maxlen: int):
        """A {qualifier, value} box (11b, 17a, 32b, 33b), or a plain string."""
        if isinstance(value, dict):
            self.put(box, line, qual_col, value.get("qualifier"), 3)
            self.put(box, line, col, value.get("value"), maxlen)
        else:
            self.put(box, line, col, value, maxlen)


def _header(page: _Page, b: dict) -> None:
    """Boxes 1-23 and 25-27, 30-33: the same on every page of a claim."""
    carrier = _dict(b.get("carrier"))
    address = _dict(carrier.get("address"))
    page.put("carrier", 2, 41, carrier.get("name"), 40)
    page.put("carrier", 3, 41, _street(address.get("street")), 40)
    page.put("carrier", 5, 41, _city_line(address), 40)

    if isinstance(b.get("1"), str):
        page.check("1", b["1"].lower())
    page.put("1a", 8, 50, b.get("1a"), 29)
    page.put("2", 10, 1, _name(b.get("2")), 28)
    born = _dict(b.get("3"))
    page.date("3", 10, (31, 34, 37), born.get("dob"))
    if born.get("sex") in ("M", "F"):
        page.check("3", born["sex"])
    page.put("4", 10, 50, _name(b.get("4")), 29)

    for key, col, width, state_col, city_box, state_box, zip_box, phone_box, area in (
        ("5", 1, 28, 26, "5_city", "5_state", "5_zip", "5_phone", (15, 19)),
        ("7", 50, 29, 74, "7_city", "7_state", "7_zip", "7_phone", (65, 69)),
    ):
        where = _dict(b.get(key))
        page.put(key, 12, col, _street(where.get("street")), width)
        page.put(city_box, 14, col, where.get("city"), 22)
        page.put(state_box, 14, state_col, where.get("state"), 2)
        page.put(zip_box, 16, col, _zip(where.get("zip")), 10)
        page.phone(phone_box, 16, area[0], area[1], where.get("phone"))
    if isinstance(b.get("6"), str):
        page.check("6", b["6"].lower())

    page.put("9", 18, 1, _name(b.get("9")), 28)
    page.put("9a", 20, 1, b.get("9a"), 28)
    page.put("9d", 26, 1, b.get("9d"), 28)
    page.yes_no("10a", b.get("10a"))
    page.yes_no("10b", b.get("10b"))
    if b.get("10b") is True:
        page.put("10b", 22, 45, b.get("10b_state"), 2)
    page.yes_no("10c", b.get("10c"))
    page.put("10d", 26, 34, b.get("10d"), 15)
    page.put("11", 18, 50, b.get("11"), 29)
    insured = _dict(b.get("11a"))
    page.date("11a", 20, (53, 56, 59), insured.get("dob"))
    if insured.get("sex") in ("M", "F"):
        page.check("11a", insured["sex"])
    page.qualified("11b", 22, 50, 54, b.get("11b"), 26)
    page.put("11c", 24, 50, b.get("11c"), 29)
    page.yes_no("11d", b.get("11d"))

    patient_sig = b.get("12")
    if isinstance(patient_sig, dict):
        page.put("12", 29, 7, patient_sig.get("signature"), 24)
        page.date("12", 29, (37, 40, 43), patient_sig.get("date"))
    else:
        page.put("12", 29, 7, patient_sig, 24)
    page.put("13", 29, 55, b.get("13"), 24)

    onset = _dict(b.get("14"))
    page.date("14", 32, (2, 5, 8), onset.get("date"))
    page.put("14", 32, 16, onset.get("qualifier"), 3)
    other = _dict(b.get("15"))
    page.put("15", 32, 31, other.get("qualifier"), 3)
    page.date("15", 32, (37, 40, 43), other.get("date"))
    for key, line in (("16", 32), ("18", 34)):
        span = _dict(b.get(key))
        page.date(key, line, (54, 57, 60), span.get("from"))
        page.date(key, line, (68, 71, 74), span.get("to"))

    referrer = _dict(b.get("17"))
    page.put("17", 34, 1, referrer.get("qualifier"), 2)
    page.put("17", 34, 4, _name(referrer.get("name")), 23)
    page.qualified("17a", 33, 30, 33, b.get("17a"), 17)
    page.put("17b", 34, 33, b.get("17b"), 17)

    page.put("19", 36, 1, b.get("19"), 48)
    lab = _dict(b.get("20"))
    if "outside_lab" in lab:
        page.yes_no("20", lab.get("outside_lab"))
    page.money("20", 36, 68, 70, lab.get("charges_cents"))

    diagnoses = _dict(b.get("21"))
    page.put("21", 37, 42, diagnoses.get("indicator"), 1)
    codes = _dict(diagnoses.get("codes"))
    for i, letter in enumerate("ABCDEFGHIJKL"):
        code = str(codes.get(letter) or "").replace(".", "")
        page.put("21", 38 + i // 4, 3 + 13 * (i % 4), code, 7)

    resubmission = _dict(b.get("22"))
    page.put("22", 38, 50, resubmission.get("code"), 10)
    page.put("22", 38, 62, resubmission.get("original_ref"), 18)
    page.put("23", 40, 50, b.get("23"), 29)

    tax = _dict(b.get("25"))
    page.put("25", 56, 1, tax.get("value"), 15)
    if tax.get("kind") in ("SSN", "EIN"):
        page.check("25", tax["kind"])
    page.put("26", 56, 23, b.get("26"), 14)
    page.yes_no("27", b.get("27"))

    signer = b.get("31")
    if isinstance(signer, dict):
        page.put("31", 60, 1, signer.get("signature"), 21)
        page.date("31", 61, (6, 9, 12), signer.get("date"))
    else:
        page.put("31", 60, 1, signer, 21)
    facility = _dict(b.get("32"))
    page.put("32", 58, 23, facility.get("name"), 26)
    page.put("32", 59, 23, _street(facility.get("street")), 26)
    page.put("32", 60, 23, _city_line(facility), 26)
    page.put("32a", 61, 23, b.get("32a"), 12)
    page.qualified("32b", 61, 36, 38, b.get("32b"), 11)
    billing = _dict(b.get("33"))
    page.phone("33", 57, 66, 70, billing.get("phone"))
    page.put("33", 58, 50, billing.get("name"), 29)
    page.put("33", 59, 50, _street(billing.get("street")), 29)
    page.put("33", 60, 50, _city_line(billing), 29)
    page.put("33a", 61, 50, b.get("33a"), 12)
    page.qualified("33b", 61, 63, 65, b.get("33b"), 16)


def _service_line(page: _Page, slot: int, item: dict) -> None:
    """One line of box 24 in slot 0-5: supplemental (shaded) grid line, then the service."""
    shaded, line = grid.SERVICE_LINES[slot]
    span = _dict(item.get("24A"))
    page.date("24A", line, (1, 4, 7), span.get("from"), short=True)
    page.date("24A", line, (10, 13, 16), span.get("to"), short=True)
    page.put("24B", line, 19, item.get("24B"), 2)
    page.put("24C", line, 22, item.get("24C"), 2)
    procedure = _dict(item.get("24D"))
    page.put("24D", line, 25, procedure.get("cpt"), 6)
    for i, modifier in enumerate((procedure.get("modifiers") or [])[:4]):
        page.put("24D", line, 33 + 3 * i, modifier, 2)
    pointers = "".join(ch for ch in str(item.get("24E") or "") if ch.isalpha())
    page.put("24E", line, 45, pointers, 4)
    page.money("24F", line, 54, 56, item.get("24F"))
    units = item.get("24G")
    if units is not None and not isinstance(units, bool):
        page.put("24G", line, 59, units if not isinstance(units, float) else f"{units:g}", 3)
    page.put("24H", line, 63, item.get("24H"), 2)
    qualifier = item.get("24I")  # a non-NPI id: qualifier and id on the shaded line
    if isinstance(qualifier, dict):
        page.put("24I", shaded, 65, qualifier.get("qualifier"), 2)
        page.put("24J", shaded, 68, qualifier.get("value"), 11)
    else:
        page.put("24I", shaded, 65, qualifier, 2)
    page.put("24J", line, 68, item.get("24J"), 11)


def _forms(claim: dict) -> list[tuple[bool, list[dict]]]:
    """(last page?, its service lines) for every form page of the claim."""
    boxes = _dict(claim.get("boxes"))
    lines = [item for item in boxes.get("24") or [] if isinstance(item, dict)]
    forms = [f for f in claim.get("forms") or [] if isinstance(f, dict)]
    if not forms:  # not from the builder: six lines a page
        chunks = [lines[i : i + LINES_PER_FORM] for i in range(0, len(lines), LINES_PER_FORM)]
        chunks = chunks or [[]]
        return [(i == len(chunks) - 1, chunk) for i, chunk in enumerate(chunks)]
    pages = []
    for i, form in enumerate(forms):
        on_form = [item for item in lines if item.get("form") == form.get("form")]
        last = form.get("last") if isinstance(form.get("last"), bool) else i == len(forms) - 1
        pages.append((last, on_form[:LINES_PER_FORM]))
    return pages


def page_fields(claim: dict) -> Iterator[list[Field]]:
    """The fields of each form page of one claim, in print order."""
    boxes = _dict(claim.get("boxes"))
    for last, items in _forms(claim):
        page = _Page()
        _header(page, boxes)
        for slot, item in enumerate(items):
            _service_line(page, slot, item)
        if last:
            page.money("28", 56, 56, 58, boxes.get("28"))
            page.money("29", 56, 66, 68, boxes.get("29"))
        else:
            page.put("28", 56, 51, "CONTINUED", 9)
        yield page.fields


# --- drawing ------------------------------------------------------------------------------------


class _Sheet:
    """The PDF, with every position in grid points shifted by the printer offsets."""

    def __init__(self, offset_x_mm: float, offset_y_mm: float) -> None:
        self.dx = float(offset_x_mm or 0.0) * MM
        self.dy = float(offset_y_mm or 0.0) * MM
        pdf = FPDF(orientation="portrait", unit="pt", format="letter")
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.set_display_mode("fullpage")
        self.pdf = pdf

    def meta(self, title: str, author: str, subject: str) -> None:
        pdf = self.pdf
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_subject(subject)
        pdf.set_creator("medmassage")
        pdf.set_producer(f"fpdf2 {FPDF_VERSION}")
        pdf.set_lang(LANGUAGE)
        pdf.set_creation_date(datetime.now(UTC).replace(microsecond=0))

    def data(self, fields: list[Field]) -> None:
        pdf = self.pdf
        pdf.set_font("Courier", size=grid.FONT_SIZE)
        pdf.set_text_color(*INK)
        spacing = None
        for field in fields:
            if field.pitch - grid.GLYPH_W != spacing:
                spacing = field.pitch - grid.GLYPH_W
                pdf.set_char_spacing(spacing)
            pdf.text(grid.x(field.col) + self.dx, grid.baseline(field.line) + self.dy, field.text)
        pdf.set_char_spacing(0)

    def proof(self) -> None:
        """Box outlines, shading and labels of the form, in light red, under the data."""
        pdf, dx, dy = self.pdf, self.dx, self.dy
        pdf.set_fill_color(*PROOF_SHADE)
        for shaded, _line in grid.SERVICE_LINES:
            pdf.rect(
                grid.x(grid.L) + dx,
                grid.line_top(shaded) + dy,
                grid.x(grid.R) - grid.x(grid.L),
                grid.LINE_H,
                style="F",
            )
        pdf.set_draw_color(*PROOF_LINE)
        pdf.set_line_width(0.6)
        for box in grid.BOXES.values():
            r = box.rect
            pdf.rect(r.left + dx, r.top + dy, r.right - r.left, r.bottom - r.top)
        pdf.set_line_width(0.3)
        for shaded, line in grid.SERVICE_LINES:  # service line rules across box 24
            y = grid.line_bottom(line) + dy
            pdf.line(grid.x(grid.L) + dx, y, grid.x(grid.R) + dx, y)
            y = grid.line_bottom(shaded) + dy
            pdf.line(grid.x(grid.L) + dx, y, grid.x(grid.R) + dx, y)
        pdf.set_dash_pattern(dash=1, gap=1.5)
        for line, edges in _DOTTED:
            for edge in edges:
                pdf.line(
                    grid.x(edge) + dx,
                    grid.line_top(line) + dy,
                    grid.x(edge) + dx,
                    grid.line_bottom(line) + dy,
                )
        pdf.set_dash_pattern()
        pdf.set_text_color(*PROOF_TEXT)
        for box in grid.BOXES.values():
            self._label(box)
        pdf.set_font("Helvetica", size=PROOF_LABEL_PT)
        for key, (line, col) in grid.CHECKBOXES.items():
            c = grid.cell(line, col)
            pdf.rect(c.left - 0.4 + dx, c.top + 1.4 + dy, grid.COL_W + 0.8, grid.LINE_H - 2.2)
            text, side = grid.CHOICE_LABELS[key]
            width = pdf.get_string_width(text)
            if side == "above":
                at_x, at_y = c.left + 2.5, grid.baseline(line - 1) - 1.5
            elif side == "before":
                at_x, at_y = c.left - 1.5 - width, grid.baseline(line) - 1
            else:
                at_x, at_y = c.right + 1.5, grid.baseline(line) - 1
            pdf.text(at_x + dx, at_y + dy, text)
        for text, line, col in _CAPTIONS:
            pdf.text(grid.x(col) + dx, grid.baseline(line) - 1 + dy, text)
        pdf.set_font("Helvetica", "B", 9)
        pdf.text(grid.x(1) + dx, grid.baseline(5) + dy, "HEALTH INSURANCE CLAIM FORM")
        pdf.set_font("Helvetica", size=6)
        pdf.text(
            grid.x(1) + dx,
            grid.baseline(6) + dy,
            "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12   -   PROOF COPY: "
            "NOT FOR SUBMISSION (payers scan the red form)",
        )

    def _label(self, box: grid.Box) -> None:
        """The box's label in its top-left corner, shrunk to fit; tiny in a one-line box."""
        pdf, r = self.pdf, box.rect
        lines = box.label.split("\n")
        size = PROOF_LABEL_PT if box.first < box.last else 3.8
        pdf.set_font("Helvetica", size=size)
        room = r.right - r.left - 3
        widest = max(pdf.get_string_width(text) for text in lines)
        if widest > room:
            size = max(3.2, size * room / widest)
            pdf.set_font("Helvetica", size=size)
        for i, text in enumerate(lines):
            pdf.text(r.left + 1.5 + self.dx, r.top + size + 0.5 + i * size * 1.12 + self.dy, text)


# Dotted dividers inside boxes (proof only): (grid line, column edges).
_DOTTED: list[tuple[int, tuple[float, ...]]] = [
    (10, (33.5, 36.5)),  # 3: MM | DD | YYYY
    (20, (55.5, 58.5)),  # 11a: MM | DD | YYYY
    (22, (53.0,)),  # 11b: qualifier | id
    (32, (4.5, 7.5)),  # 14: MM | DD | YYYY
    (32, (36.5, 39.5, 42.5)),  # 15: QUAL | MM | DD | YYYY
    (32, (56.5, 59.5, 70.5, 73.5)),  # 16
    (34, (3.5,)),  # 17: qualifier | name
    (33, (32.5,)),  # 17a: qualifier | id
    (34, (56.5, 59.5, 70.5, 73.5)),  # 18
    (36, (69.5,)),  # 20: dollars | cents
    (37, (41.75, 43.25)),  # 21: ICD Ind.
    (37, (61.5,)),  # 22: code | original ref
    (38, (61.5,)),
    *(
        (line, (3.5, 6.5, 12.5, 15.5, 32.5, 35.5, 38.5, 41.5, 55.5))
        for _shaded, line in grid.SERVICE_LINES
    ),  # 24A dates, 24D modifiers, 24F cents
    (56, (57.5,)),  # 28 dollars | cents
    (56, (67.5,)),  # 29 dollars | cents
]

# Small captions printed on the form beside the data (proof only): (text, grid line, column).
_CAPTIONS: list[tuple[str, int, float]] = [
    *((f"{letter}.", 38 + i // 4, 1 + 13 * (i % 4)) for i, letter in enumerate("ABCDEFGHIJKL")),
    ("ICD Ind.", 37, 38),
    ("SIGNED", 29, 1.5),
    ("DATE", 29, 33.5),
    ("SIGNED", 29, 50.5),
    ("QUAL.", 32, 13.6),
    ("QUAL.", 32, 29.8),
    ("FROM", 32, 51),
    ("TO", 32, 65.5),
    ("FROM", 34, 51),
    ("TO", 34, 65.5),
    ("DATE", 61, 1.2),
    ("(", 16, 14.3),  # the area code's parentheses (5, 7, 33)
    (")", 16, 18.1),
    ("(", 16, 64.3),
    (")", 16, 68.1),
    ("(", 57, 65.3),
    (")", 57, 69.1),
    ("$", 56, 50),
    ("$", 56, 61),
    *(("NPI", line, 65) for _shaded, line in grid.SERVICE_LINES),
]


def _title(claims: list[dict]) -> str:
    ids = [str(c.get("claim_id")) for c in claims if c.get("claim_id") is not None]
    if len(ids) == 1:
        return f"CMS-1500 claim {ids[0]}"
    return f"CMS-1500 claims {', '.join(ids)}" if ids else "CMS-1500 claims"


def _author(claims: list[dict]) -> str:
    for claim in claims:
        name = _dict(_dict(claim.get("boxes")).get("33")).get("name")
        if name:
            return str(name)
    return "medmassage"


def claim_pdf(
    claims: list[dict],
    *,
    offset_x_mm: float = 0.0,
    offset_y_mm: float = 0.0,
    proof: bool = False,
) -> bytes:
    """The claims on CMS-1500 (02/12) pages, data only (or over the form's boxes: `proof`)."""
    sheet = _Sheet(offset_x_mm, offset_y_mm)
    kind = "proof copy (not for submission)" if proof else "data for the pre-printed red form"
    sheet.meta(
        _title(claims),
        _author(claims),
        f"Health insurance claim form CMS-1500 (02/12), {kind}, written by medmassage",
    )
    for claim in claims:
        for fields in page_fields(claim):
            sheet.pdf.add_page()
            if proof:
                sheet.proof()
            sheet.data(fields)
    if not claims:
        sheet.pdf.add_page()
    return bytes(sheet.pdf.output())


def alignment_fields(offset_x_mm: float = 0.0, offset_y_mm: float = 0.0) -> list[Field]:
    """The test pattern: X in box corners and check boxes, words in boxes 2 and 4."""
    fields = [
        Field("2", 10, 1, "ALIGNMENT TEST"),
        Field("4", 10, 50, "ALIGNMENT TEST"),
        Field("1a", 8, 50, "X"),
        Field("1a", 8, 79, "X"),
        Field("24A", grid.SERVICE_LINES[0][1], 1, "X"),
        Field("24J", grid.SERVICE_LINES[0][1], 77, "X"),
        Field("24A", grid.SERVICE_LINES[5][1], 1, "X"),
        Field("24J", grid.SERVICE_LINES[5][1], 77, "X"),
        Field("25", 56, 1, "X"),
        Field("33a", 61, 50, "X"),
        Field("33b", 61, 79, "X"),
        Field("19", 36, 1, "HOLD OVER A RED CMS-1500: EACH X IN ITS BOX?"),
        Field(
            "24A",
            grid.SERVICE_LINES[0][0],
            1,
            f"IF NOT: CLAIM PRINT --OFFSET-X MM --OFFSET-Y MM (+ RIGHT/DOWN; NOW"
            f" {offset_x_mm:+.1f} {offset_y_mm:+.1f})",
        ),
    ]
    for box, choice in (
        ("1", c) for c in ("medicare", "medicaid", "tricare", "champva", "group", "feca", "other")
    ):
        line, col = grid.CHECKBOXES[(box, choice)]
        fields.append(Field(box, line, col, "X"))
    for key in (("3", "M"), ("3", "F"), ("27", "yes"), ("27", "no")):
        line, col = grid.CHECKBOXES[key]
        fields.append(Field(key[0], line, col, "X"))
    return fields


def alignment_pdf(*, offset_x_mm: float = 0.0, offset_y_mm: float = 0.0) -> bytes:
    """One page to print on plain paper and hold against a red form (or print on one)."""
    sheet = _Sheet(offset_x_mm, offset_y_mm)
    sheet.meta(
        "CMS-1500 alignment test",
        "medmassage",
        "Printer alignment test pattern for the CMS-1500 (02/12) red form, written by medmassage",
    )
    sheet.pdf.add_page()
    sheet.data(alignment_fields(offset_x_mm, offset_y_mm))
    return bytes(sheet.pdf.output())
