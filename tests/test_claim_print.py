"""CMS-1500 printing (medmassage/claims/cms1500.py): every value in its box on the form grid."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from medmassage.claims import cms1500_grid as grid
from medmassage.claims.cms1500 import alignment_pdf, claim_pdf

DATA = Path(__file__).parent / "data" / "claims"
SAMPLES = ["auto-pip", "workers-comp", "health-two-forms"]
MM = 72 / 25.4


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


_CACHE: dict[tuple, bytes] = {}


def pdf_of(name: str, **options) -> bytes:
    key = (name, tuple(sorted(options.items())))
    if key not in _CACHE:
        _CACHE[key] = claim_pdf([load(name)], **options)
    return _CACHE[key]


class Run:
    """One text-showing operation: its text, font, start x, baseline y (from the top), width."""

    def __init__(self, text: str, font: str, x: float, y: float, width: float) -> None:
        self.text, self.font, self.x, self.y, self.width = text, font, x, y, width

    def __repr__(self) -> str:
        return f"Run({self.text!r}, {self.font}, x={self.x:.1f}, y={self.y:.1f})"


def runs(data: bytes) -> list[list[Run]]:
    """The text runs of every page, with the character spacing (Tc) each was shown with."""
    reader = PdfReader(io.BytesIO(data))
    pages = []
    for page in reader.pages:
        found: list[Run] = []
        state = {"tc": 0.0}

        def before(op, args, cm, tm, state=state):
            if op == b"Tc":
                state["tc"] = float(args[0])

        def text(t, cm, tm, font, size, found=found, state=state):
            t = t.strip()
            if not t:
                return
            name = str(font.get("/BaseFont", "")) if font else ""
            glyph = 6.0 if name == "/Courier" else 0.0
            width = len(t) * (glyph + state["tc"]) - state["tc"]
            found.append(Run(t, name, tm[4] + cm[4], grid.PAGE_H - (tm[5] + cm[5]), width))

        page.extract_text(visitor_operand_before=before, visitor_text=text)
        pages.append(found)
    return pages


def data_runs(data: bytes) -> list[list[Run]]:
    return [[r for r in page if r.font == "/Courier"] for page in runs(data)]


def inside(rect: grid.Rect, x: float, y: float) -> bool:
    """In the rectangle, give or take the 0.01 pt PDF coordinates are rounded to."""
    return rect.left - 0.01 <= x <= rect.right + 0.01 and rect.top - 0.01 <= y <= rect.bottom + 0.01


def in_box(run: Run, key: str) -> bool:
    rect = grid.BOXES[key].rect
    return inside(rect, run.x, run.y) and run.x + run.width <= rect.right + 0.01


def assert_in_box(page: list[Run], key: str, text: str) -> None:
    text = text.upper()
    matches = [r for r in page if r.text == text]
    assert matches, f"{text!r} (box {key}) not printed; runs: {page}"
    assert any(in_box(r, key) for r in matches), (
        f"{text!r} not inside box {key} {grid.BOXES[key].rect}: {matches}"
    )


def in_cell(page: list[Run], key: tuple[str, str]) -> bool:
    line, col = grid.CHECKBOXES[key]
    cell = grid.cell(line, col)
    return any(
        r.text == "X" and abs(r.x - cell.left) < 0.5 and inside(cell, r.x, r.y) for r in page
    )


def expected(claim: dict) -> list[tuple[str, str]]:
    """(box, text) of every filled box of the sample, read from the JSON independently."""
    b = claim["boxes"]
    out: list[tuple[str, str]] = []

    def date(key: str, iso: str | None, short: bool = False) -> None:
        if iso:
            year, month, day = iso.split("-")
            out.extend([(key, month), (key, day), (key, year[2:] if short else year)])

    carrier = b["carrier"]
    out += [("carrier", carrier["name"]), ("carrier", carrier["address"]["street"])]
    a = carrier["address"]
    out.append(("carrier", f"{a['city']} {a['state']} {a['zip']}"))
    out += [("1a", b["1a"]), ("2", b["2"]["text"]), ("4", b["4"]["text"])]
    date("3", b["3"]["dob"])
    for key in ("5", "7"):
        where = b[key]
        out += [(key, where["street"]), (f"{key}_city", where["city"])]
        out += [(f"{key}_state", where["state"]), (f"{key}_zip", where["zip"])]
        if where["phone"]:
            out += [(f"{key}_phone", where["phone"][:3]), (f"{key}_phone", where["phone"][3:])]
    if b["11"]:
        out.append(("11", b["11"]))
    if b["11a"]:
        date("11a", b["11a"]["dob"])
    if b["11b"]:
        out += [("11b", b["11b"]["qualifier"]), ("11b", b["11b"]["value"])]
    if b["10b"]:
        out.append(("10b", b["10b_state"]))
    out += [("11c", b["11c"]), ("12", b["12"]["signature"]), ("13", b["13"])]
    date("14", b["14"]["date"])
    out.append(("14", b["14"]["qualifier"]))
    if b["16"]:
        date("16", b["16"]["from"])
        date("16", b["16"]["to"])
    out += [("17", b["17"]["qualifier"]), ("17", b["17"]["name"]["text"]), ("17b", b["17b"])]
    out.append(("21", b["21"]["indicator"]))
    out += [("21", code.replace(".", "")) for code in b["21"]["codes"].values()]
    if b["22"]:
        out += [("22", b["22"]["code"]), ("22", b["22"]["original_ref"])]
    if b["23"]:
        out.append(("23", b["23"]))
    out += [("25", b["25"]["value"]), ("26", b["26"]), ("31", b["31"]["signature"])]
    date("31", b["31"]["date"])
    if b["32"]:
        f = b["32"]
        out += [("32", f["street"]), ("32", f"{f['city']} {f['state']} {f['zip']}")]
        out.append(("32a", b["32a"]))
    p = b["33"]
    out += [("33", p["name"]), ("33", p["street"]), ("33", f"{p['city']} {p['state']} {p['zip']}")]
    out += [("33", p["phone"][:3]), ("33", p["phone"][3:]), ("33a", b["33a"])]
    out += [("33b", b["33b"]["qualifier"]), ("33b", b["33b"]["value"])]
    return out


# --- the grid ------------------------------------------------------------------------------------


def test_grid_boxes_are_where_the_form_has_them() -> None:
    mid_x, mid_y = grid.PAGE_W / 2, grid.PAGE_H / 2

    def centre(key: str) -> tuple[float, float]:
        r = grid.BOXES[key].rect
        return (r.left + r.right) / 2, (r.top + r.bottom) / 2

    quadrant = {
        "1a": (1, 0),
        "4": (1, 0),
        "carrier": (1, 0),
        "2": (0, 0),
        "5": (0, 0),
        "3": (0, 0),
        "25": (0, 1),
        "31": (0, 1),
        "33": (1, 1),
        "28": (1, 1),
        "24J": (1, 1),
        "24A": (0, 1),
    }
    for key, (right, bottom) in quadrant.items():
        cx, cy = centre(key)
        assert (cx > mid_x) == bool(right) and (cy > mid_y) == bool(bottom), key
    # Box 1 starts about 1.4 in from the top; 1a's data starts about 5.2 in from the left
    # edge (NUCC 10 cpi / 6 lpi grid, OpenEMR line 8 column 50).
    assert 1.25 * 72 < grid.BOXES["1"].rect.top < 1.45 * 72
    assert 5.1 * 72 < grid.x(50) < 5.3 * 72
    for box in grid.BOXES.values():
        r = box.rect
        assert 0.25 * 72 <= r.left < r.right <= grid.PAGE_W - 0.2 * 72, box.key
        assert 0.25 * 72 <= r.top < r.bottom <= grid.PAGE_H - 0.5 * 72, box.key
    boxes = list(grid.BOXES.values())
    for i, one in enumerate(boxes):
        for other in boxes[i + 1 :]:
            a, b = one.rect, other.rect
            overlap_x = min(a.right, b.right) - max(a.left, b.left)
            overlap_y = min(a.bottom, b.bottom) - max(a.top, b.top)
            assert overlap_x <= 0.01 or overlap_y <= 0.01, (one.key, other.key)
    for (key, _choice), (line, col) in grid.CHECKBOXES.items():
        assert inside(grid.BOXES[key].rect, grid.x(col) + 1, grid.baseline(line)), key


# --- the data on the grid -------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_every_filled_box_is_printed_inside_its_box(name: str) -> None:
    claim = load(name)
    pages = data_runs(pdf_of(name))
    assert len(pages) == len(claim["forms"])
    for page in pages:  # boxes 1-23 and 25-33 repeat on every page
        for key, text in expected(claim):
            assert_in_box(page, key, text)
    on_form = {f["form"]: f for f in claim["forms"]}
    for item in claim["boxes"]["24"]:
        page = pages[item["form"] - 1]
        slot = on_form[item["form"]]["lines"].index(item["line"])
        _shaded, line = grid.SERVICE_LINES[slot]
        row = [r for r in page if grid.line_top(line) <= r.y <= grid.line_bottom(line)]
        year, month, day = item["24A"]["from"].split("-")
        for text in (month, day, year[2:]):
            assert_in_box(row, "24A", text)
        assert_in_box(row, "24B", item["24B"])
        assert_in_box(row, "24D", item["24D"]["cpt"])
        for modifier in item["24D"]["modifiers"]:
            assert_in_box(row, "24D", modifier)
        assert_in_box(row, "24E", item["24E"])
        dollars, cents = divmod(item["24F"], 100)
        assert_in_box(row, "24F", str(dollars))
        assert_in_box(row, "24F", f"{cents:02d}")
        assert_in_box(row, "24G", str(item["24G"]))
        assert_in_box(row, "24J", item["24J"])
        # MM DD YY twice (from, to) in their cells, then POS: columns 1, 4, 7, 10, 13, 16, 19.
        starts = sorted(round((r.x - grid.LEFT) / grid.COL_W) + 1 for r in row if in_box(r, "24A"))
        assert starts == [1, 4, 7, 10, 13, 16]
    last = pages[-1]
    dollars, cents = divmod(claim["boxes"]["28"], 100)
    assert_in_box(last, "28", str(dollars))
    assert_in_box(last, "28", f"{cents:02d}")


def test_money_dollars_and_cents_in_their_split_cells() -> None:
    page = data_runs(pdf_of("auto-pip"))[0]
    _shaded, line = grid.SERVICE_LINES[0]
    row = [r for r in page if grid.line_top(line) <= r.y <= grid.line_bottom(line)]
    dollars = next(r for r in row if r.text == "90")
    cents = next(r for r in row if r.text == "00" and in_box(r, "24F"))
    assert dollars.x + dollars.width <= grid.x(55)  # dollars end in column 54 …
    assert cents.x == pytest.approx(grid.x(56))  # … the cents start in column 56
    assert not [r for r in page if "." in r.text and r.text[0].isdigit()]  # no "90.00"
    total = next(r for r in page if r.text == "218")
    assert in_box(total, "28") and total.x + total.width <= grid.x(57)


def test_diagnosis_codes_without_the_decimal_point_and_pointers_without_commas() -> None:
    text = " ".join(r.text for r in data_runs(pdf_of("auto-pip"))[0])
    assert "S134XXD" in text and "M62830" in text
    assert "S13.4XXD" not in text and "A,B" not in text


def test_eight_lines_print_on_two_forms_continued_then_total() -> None:
    pages = data_runs(pdf_of("health-two-forms"))
    assert len(pages) == 2
    first, second = pages

    def service_dates(page):
        return {r.text for r in page if in_box(r, "24A")}

    assert {"02", "05", "08", "11", "14", "17"} <= service_dates(first)
    assert {"20", "23"} <= service_dates(second)
    assert not {"20", "23"} & service_dates(first)
    assert not {"02", "05", "17"} & service_dates(second)
    # Lines 7 and 8 are on the first two service lines of page 2.
    for slot, day in ((0, "20"), (1, "23")):
        _shaded, line = grid.SERVICE_LINES[slot]
        assert any(
            r.text == day and grid.line_top(line) <= r.y <= grid.line_bottom(line) for r in second
        )
    assert_in_box(first, "28", "CONTINUED")
    assert not [r for r in first if in_box(r, "29")]  # amount paid on the last page only
    assert_in_box(second, "28", "720")
    assert not [r for r in second if r.text == "CONTINUED"]
    assert_in_box(second, "29", "0")


def test_check_boxes_get_an_x_in_the_right_cell() -> None:
    auto = data_runs(pdf_of("auto-pip"))[0]
    assert in_cell(auto, ("10b", "yes")) and not in_cell(auto, ("10b", "no"))
    assert_in_box(auto, "10b", "WA")
    assert in_cell(auto, ("10a", "no")) and not in_cell(auto, ("10a", "yes"))
    assert in_cell(auto, ("1", "other")) and in_cell(auto, ("6", "self"))
    assert in_cell(auto, ("3", "F")) and in_cell(auto, ("11a", "F"))

    comp = data_runs(pdf_of("workers-comp"))[0]
    assert in_cell(comp, ("10a", "yes")) and not in_cell(comp, ("10a", "no"))
    assert in_cell(comp, ("10b", "no")) and in_cell(comp, ("6", "other"))
    assert not in_cell(comp, ("11a", "M")) and not in_cell(comp, ("11a", "F"))

    health = data_runs(pdf_of("health-two-forms"))
    for page in health:
        assert in_cell(page, ("1", "group")) and in_cell(page, ("6", "spouse"))
        assert in_cell(page, ("3", "F")) and in_cell(page, ("11a", "M"))
        assert in_cell(page, ("25", "EIN")) and not in_cell(page, ("25", "SSN"))
        assert in_cell(page, ("27", "yes")) and not in_cell(page, ("27", "no"))
        assert in_cell(page, ("11d", "no")) and in_cell(page, ("20", "no"))
        xs = [r for r in page if r.text == "X"]
        assert len(xs) == 11  # 1, 3, 6, 10a, 10b, 10c, 11a, 11d, 20, 25, 27: one each


# --- offsets, proof, metadata, validity ------------------------------------------------------


@pytest.mark.parametrize("dx,dy", [(3.0, -2.0), (-1.5, 4.25)])
def test_offsets_move_every_text_run_by_the_millimetres(dx: float, dy: float) -> None:
    for plain, moved in (
        (
            runs(pdf_of("health-two-forms")),
            runs(pdf_of("health-two-forms", offset_x_mm=dx, offset_y_mm=dy)),
        ),
        (
            runs(pdf_of("auto-pip", proof=True)),
            runs(pdf_of("auto-pip", proof=True, offset_x_mm=dx, offset_y_mm=dy)),
        ),
        (runs(alignment_pdf()), runs(alignment_pdf(offset_x_mm=dx, offset_y_mm=dy))),
    ):
        assert len(plain) == len(moved)
        for before, after in zip(plain, moved, strict=True):
            before = [r for r in before if not r.text.startswith("IF NOT")]
            after = [r for r in after if not r.text.startswith("IF NOT")]
            assert len(before) == len(after) > 10
            for a, b in zip(before, after, strict=True):
                assert a.text == b.text
                assert b.x - a.x == pytest.approx(dx * MM, abs=0.01)
                assert b.y - a.y == pytest.approx(dy * MM, abs=0.01)  # positive = down


def pdftotext(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed")
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return done.stdout.decode()


def test_proof_draws_the_labels_and_the_data_only_copy_none() -> None:
    proof = pdftotext(pdf_of("auto-pip", proof=True))
    assert "1a INSURED'S I.D. NUMBER" in proof and "24A DATE(S) OF SERVICE" in proof
    assert "33 BILLING PROVIDER INFO & PH #" in proof and "PROOF COPY" in proof
    plain = pdftotext(pdf_of("auto-pip"))
    labels = [line for box in grid.BOXES.values() for line in box.label.split("\n")]
    for label in labels:
        if len(label) > 4:
            assert label not in plain, label
    assert "INSURED'S" not in plain and "PROOF" not in plain
    for data in (pdf_of("auto-pip"), alignment_pdf()):
        assert {r.font for page in runs(data) for r in page} == {"/Courier"}
        for page in PdfReader(io.BytesIO(data)).pages:  # no line, box or fill: text only
            ops = {op for _args, op in ContentStream(page.get_contents(), page.pdf).operations}
            allowed = {
                b"BT",
                b"ET",
                b"Tf",
                b"Tc",
                b"Td",
                b"Tj",
                b"rg",
                b"g",
                b"q",
                b"Q",
                b"w",
                b"J",
            }
            assert ops <= allowed, ops  # w, J: line width and cap state, nothing drawn
    proof_ops = PdfReader(io.BytesIO(pdf_of("auto-pip", proof=True))).pages[0].get_contents()
    assert b" re" in proof_ops.get_data()  # the proof draws the boxes
    # The data sits exactly where it does on the data-only copy.
    same = data_runs(pdf_of("auto-pip", proof=True))[0]
    assert [(r.text, r.x, r.y) for r in same] == [
        (r.text, r.x, r.y) for r in data_runs(pdf_of("auto-pip"))[0]
    ]
    assert "ALVAREZ, MARIA" in plain and "PGR-7731-02" in plain


def test_pdfs_pass_qpdf_check(tmp_path: Path) -> None:
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf not installed")
    files = {f"{n}-{p}": pdf_of(n, proof=p) for n in SAMPLES for p in (False, True)}
    files["alignment"] = alignment_pdf(offset_x_mm=1, offset_y_mm=-1)
    for name, data in files.items():
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, (name, done.stdout, done.stderr)


def test_metadata_title_author_subject_language() -> None:
    reader = PdfReader(io.BytesIO(pdf_of("health-two-forms")))
    meta = reader.metadata
    assert meta.title == "CMS-1500 claim 3"
    assert meta.author == "Dana Whitfield"
    assert "CMS-1500" in meta.subject
    assert reader.trailer["/Root"]["/Lang"] == "en-US"
    org = PdfReader(io.BytesIO(pdf_of("auto-pip"))).metadata
    assert org.title == "CMS-1500 claim 1" and org.author == "Cedar Street Medical Massage"
    both = PdfReader(io.BytesIO(claim_pdf([load("auto-pip"), load("workers-comp")])))
    assert len(both.pages) == 2 and both.metadata.title == "CMS-1500 claims 1, 2"
    align = PdfReader(io.BytesIO(alignment_pdf()))
    assert align.metadata.title == "CMS-1500 alignment test"
    assert align.trailer["/Root"]["/Lang"] == "en-US"


def test_alignment_pattern() -> None:
    (page,) = data_runs(alignment_pdf())
    assert_in_box(page, "2", "ALIGNMENT TEST")
    assert_in_box(page, "4", "ALIGNMENT TEST")
    for choice in ("medicare", "medicaid", "tricare", "champva", "group", "feca", "other"):
        assert in_cell(page, ("1", choice))
    assert in_cell(page, ("27", "yes")) and in_cell(page, ("27", "no"))
    corners = [r for r in page if r.text == "X" and in_box(r, "1a")]
    assert len(corners) == 2
    assert any("OFFSET-X" in r.text for r in page)


def test_none_boxes_and_missing_forms_leave_the_boxes_empty() -> None:
    claim = load("auto-pip")
    claim["boxes"] = {key: None for key in claim["boxes"]}
    claim["boxes"]["24"] = [
        {
            "line": 1,
            "form": 1,
            **{
                k: None
                for k in ("24A", "24B", "24C", "24D", "24E", "24F", "24G", "24H", "24I", "24J")
            },
        }
    ]
    (page,) = data_runs(claim_pdf([claim], proof=True))
    assert page == []
    bare = {"claim_id": 9, "boxes": {"1a": "ABC123", "24": [{"24D": {"cpt": "97140"}}] * 7}}
    pages = data_runs(claim_pdf([bare]))
    assert len(pages) == 2  # six lines a form when `forms` is missing
    assert_in_box(pages[0], "1a", "ABC123") and assert_in_box(pages[1], "1a", "ABC123")
    assert_in_box(pages[0], "28", "CONTINUED")


def test_long_name_prints_at_twelve_pitch_inside_its_box() -> None:
    page = data_runs(pdf_of("auto-pip"))[0]
    assert_in_box(page, "32", "CEDAR STREET MEDICAL MASSAGE")  # 28 characters in 27 columns
    assert_in_box(page, "33", "CEDAR STREET MEDICAL MASSAGE")


def test_addresses_print_without_punctuation_and_zip_plus_4_with_its_hyphen() -> None:
    """NUCC items 5, 7, 32, 33: no commas or periods in an address; a 9-digit ZIP is printed
    with its hyphen (the claim dict carries digits only, as the 837P does)."""
    claim = load("auto-pip")
    b = claim["boxes"]
    b["33"] = {**b["33"], "street": "412 Cedar St., Suite 3", "zip": "982254410"}
    b["5"] = {**b["5"], "street": "18 Harbor View Rd., Apt. 2", "zip": "982261234"}
    page = data_runs(claim_pdf([claim]))[0]
    assert_in_box(page, "33", "412 CEDAR ST SUITE 3")
    assert_in_box(page, "33", "BELLINGHAM WA 98225-4410")
    assert_in_box(page, "5", "18 HARBOR VIEW RD APT 2")
    assert_in_box(page, "5_zip", "98226-1234")
