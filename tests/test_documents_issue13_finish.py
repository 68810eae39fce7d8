"""Issue 13, the rest: the body diagram in the chart notes (treated shaded, ordered outlined),
one spelling of a region per document, the HTML pain chart (a pain-0 square above the axis, no
shading when every visit is in the period), thinned visit labels at 100 visits, the superbill's
warnings before its file, and fpdf2 imported lean with the fonts cached. Every document is read
back: pypdf text and positions, HTML parsed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

# --- helpers ----------------------------------------------------------------------------------


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


class Svg(HTMLParser):
    """Every element of an HTML page with its attributes, and each <title> text in order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.titles: list[tuple[int, str]] = []  # (index of the element it belongs to, text)
        self._in_title = False
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.titles.append((len(self.elements) - 2, data))
        self._text.append(data)

    @property
    def text(self) -> str:
        return " ".join(self._text)


def parse(html: str) -> Svg:
    parser = Svg()
    parser.feed(html)
    parser.close()
    return parser


def shown(html: str) -> str:
    """The words a reader sees (no tags, attributes, style or the page's <title>)."""
    html = re.sub(r"<(style|title)>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]*>", " ", html)


def profile(cli) -> None:
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--address", "412 Cedar St, Olympia WA 98501", "--fee", "97140=45", "--fee", "97124=38",
    )  # fmt: skip


# --- 1. the body diagram in the chart notes ---------------------------------------------------


@pytest.fixture
def renewed(cli):
    """Jane Doe, workers' comp: the first prescription (Nov 1-15) orders the neck and the upper
    back; the renewal (Nov 16 - Dec 31) the lower back. Visit 1 (Nov 3) treats the neck and the
    left shoulder, visit 2 (Nov 20) the lower back; a void session treats the right knee."""
    profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "workers-comp", "--payer-name", "WA L&I",
        "--claim", "BB12345", "--injury-date", "2026-10-20", "--dx", "M54.2",
        "--referrer", "Alan Brooks, DC", "--rx-date", "2026-11-01", "--rx-until", "2026-11-15",
        "--visits", "6", "--area", "neck", "--area", "upper-back",
    )  # fmt: skip
    cli(
        "case", "renew", "1", "--rx-date", "2026-11-14", "--from", "2026-11-16",
        "--rx-until", "2026-12-31", "--visits", "6", "--area", "lower-back",
    )  # fmt: skip
    for day, regions in (
        ("2026-11-03", ["neck", "shoulder-left"]),
        ("2026-11-20", ["lower-back"]),
        ("2026-11-21", ["knee-right"]),
    ):
        cli(
            "session", "log", "Jane", "--date", day, "--pre", "6", "--post", "3",
            "--technique", "swedish=30", *[x for r in regions for x in ("--region", r)],
            "--subjective", "Sore.", "--sign",
        )  # fmt: skip
    cli("session", "void", "3", "--reason", "entered in error")
    return cli


def test_notes_json_carries_the_areas_ordered_during_the_period(renewed):
    whole = json.loads(renewed("notes", "Jane", "-f", "json").stdout)
    # Both authorizations are in force during Nov 3-27, in the order named; the void session's
    # knee is not treated.
    assert whole["areas_ordered"] == ["neck", "upper-back", "lower-back"]
    assert [r["region"] for r in whole["regions_treated"]] == [
        "neck", "shoulder-left", "lower-back",
    ]  # fmt: skip
    # Boundary: a period that ends the day before the renewal begins has only the first's
    # areas; one that begins the day after the first ends has only the renewal's.
    before = json.loads(renewed("notes", "Jane", "--to", "2026-11-15", "-f", "json").stdout)
    assert before["areas_ordered"] == ["neck", "upper-back"]
    after = json.loads(renewed("notes", "Jane", "--from", "2026-11-16", "-f", "json").stdout)
    assert after["areas_ordered"] == ["lower-back"]
    assert [r["region"] for r in after["regions_treated"]] == ["lower-back"]


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ((), ["neck", "upper-back", "lower-back"]),
        # The first authorization's last day is Nov 15: a period ending then has only its areas.
        (("--to", "2026-11-15"), ["neck", "upper-back"]),
        # Ending on the renewal's first day (no visit under it yet): it speaks for the case.
        (("--to", "2026-11-16"), ["neck", "upper-back", "lower-back"]),
        # Beginning the day after the first ends: only the renewal's.
        (("--from", "2026-11-16"), ["lower-back"]),
        # Beginning on the first's last day: both were valid during the period.
        (("--from", "2026-11-15"), ["neck", "upper-back", "lower-back"]),
    ],
)
def test_summary_and_notes_name_the_same_areas_ordered(renewed, bounds, expected):
    """One rule (CaseCoverage.areas_ordered) for both documents: every authorization valid on a
    day of the period, the one that speaks for the case on its last day, and those its visits
    fall under."""
    notes = json.loads(renewed("notes", "Jane", *bounds, "-f", "json").stdout)
    summary = json.loads(renewed("summary", "Jane", *bounds, "-f", "json").stdout)
    assert notes["areas_ordered"] == expected
    assert summary["treatment"]["areas_ordered"] == expected
    ordered = {r["region"]: r["ordered"] for r in summary["treatment"]["regions"]}
    assert ordered == {r: r in expected for r in ordered}


def test_notes_pdf_has_the_diagram_with_the_regions_named(renewed, tmp_path):
    out = tmp_path / "notes.pdf"
    renewed("notes", "Jane", "-o", str(out))
    text = squash(pdf_text(out))
    for fact in (
        "Body diagram: regions treated and ordered",
        "Treated (shaded)", "Ordered (heavy dashed outline)",
        "Treated and ordered: neck, lower back",
        "Treated but not ordered: left shoulder",
        "Ordered but not treated: upper back",
        "Regions treated in the period",
    ):  # fmt: skip
        assert squash(fact) in text, fact
    # The regions table says whether each is on the prescription, in the same words.
    for row in ("neck 1 yes", "left shoulder 1 not ordered", "lower back 1 yes"):
        assert squash(row) in text, row
    # The figure is tagged, its alt text naming every region.
    alts = _figure_alts(PdfReader(out))
    assert any("Regions treated in the period (shaded): neck, left shoulder, lower back" in a
               for a in alts), alts  # fmt: skip
    assert any("Regions ordered (dashed outline): neck, upper back, lower back" in a
               for a in alts), alts  # fmt: skip


def test_one_visits_chart_note_has_the_diagram_too(renewed, tmp_path):
    """`session show ID -o` draws the visit's regions against the order in force on its day
    (visit 2, Nov 20: the renewal's lower back); no period table, the regions are in the note."""
    out = tmp_path / "visit.pdf"
    renewed("session", "show", "2", "-o", str(out))
    text = squash(pdf_text(out))
    for fact in (
        "Body diagram: regions treated and ordered",
        "Treated and ordered: lower back",
        "Treated but not ordered: none",
        "Ordered but not treated: none",
    ):  # fmt: skip
        assert squash(fact) in text, fact
    assert squash("Regions treated in the period") not in text
    data = json.loads(renewed("session", "show", "2", "--chart-note", "-f", "json").stdout)
    assert data["areas_ordered"] == ["lower-back"]


def _figure_alts(reader: PdfReader) -> list[str]:
    """The /Alt of every Figure in the structure tree."""
    found: list[str] = []

    def walk(node, depth=0):
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for kid in node:
                walk(kid, depth + 1)
            return
        if not hasattr(node, "get") or depth > 50:
            return
        if node.get("/S") == "/Figure" and "/Alt" in node:
            found.append(str(node["/Alt"]))
        if "/K" in node:
            walk(node["/K"], depth + 1)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


def test_notes_html_shades_treated_and_outlines_ordered(renewed, tmp_path):
    out = tmp_path / "notes.html"
    renewed("notes", "Jane", "-o", str(out))
    page = parse(out.read_text(encoding="utf-8"))
    regions = {
        (a["data-region"], a["data-view"]): a
        for tag, a in page.elements
        if tag == "polygon" and "data-region" in a
    }
    treated = {r for (r, _), a in regions.items() if a["data-treated"] == "yes"}
    ordered = {r for (r, _), a in regions.items() if a["data-ordered"] == "yes"}
    outlined = {a["data-outline"] for tag, a in page.elements if "data-outline" in a}
    assert treated == {"neck", "shoulder-left", "lower-back"}
    assert ordered == outlined == {"neck", "upper-back", "lower-back"}
    assert "knee-right" not in treated  # the void session's region
    assert (
        regions[("shoulder-left", "front")]["fill"] != regions[("shoulder-right", "front")]["fill"]
    )
    assert "Ordered but not treated: upper back" in " ".join(page.text.split())


def test_notes_markdown_lists_the_diagrams_regions(renewed):
    md = renewed("notes", "Jane", "-f", "md").stdout
    assert "## Body diagram: regions treated and ordered" in md
    assert "- **Regions treated:** neck, left shoulder, lower back" in md
    assert "- **Ordered:** neck, upper back, lower back" in md
    assert "- **Treated but not ordered:** left shoulder" in md


def test_a_period_with_no_areas_ordered_says_so(cli):
    profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "auto-pip", "--claim", "C1", "--dx", "M54.2",
        "--injury-date", "2026-10-20",
        "--referrer", "Alan Brooks, DC", "--rx-date", "2026-11-01", "--rx-until", "2026-12-31",
        "--visits", "6",
    )  # fmt: skip
    cli(
        "session", "log", "Jane", "--date", "2026-11-03", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck", "--sign",
    )  # fmt: skip
    data = json.loads(cli("notes", "Jane", "-f", "json").stdout)
    assert data["areas_ordered"] == []
    md = cli("notes", "Jane", "-f", "md").stdout
    assert "| neck | 1 | no areas named |" in md
    assert "- **Ordered but not treated:** no areas named" in md


# --- 2. one spelling of a region ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["notes", "summary"])
def test_regions_are_spelled_as_the_therapist_says_them(renewed, tmp_path, command):
    extra = ["--preview"] if command == "summary" else []
    texts = {}
    for fmt in ("pdf", "html", "md"):
        out = tmp_path / f"doc.{fmt}"
        renewed(command, "Jane", "-o", str(out), *extra)
        texts[fmt] = pdf_text(out) if fmt == "pdf" else out.read_text(encoding="utf-8")
    texts["html"] = shown(texts["html"])
    for fmt, text in texts.items():
        flat = " ".join(text.split())
        assert "left shoulder" in flat, fmt
        for catalog in ("shoulder-left", "upper-back", "lower-back"):
            assert catalog not in flat, (fmt, catalog)
    # JSON keeps the catalog names.
    data = json.loads(renewed(command, "Jane", "-f", "json", *extra).stdout)
    assert "shoulder-left" in json.dumps(data)


# --- 3. the HTML pain chart -----------------------------------------------------------------------


def _chart(page: Svg) -> tuple[float, list[dict[str, str]], list[dict[str, str]]]:
    """The x axis's y, the after-visit squares (with their titles), the period shading."""
    axis = next(a for tag, a in page.elements if tag == "line" and a.get("data-axis") == "x")
    titles = dict(page.titles)
    squares = [
        {**a, "title": titles.get(i, "")}
        for i, (tag, a) in enumerate(page.elements)
        if tag == "rect" and "after the visit" in titles.get(i, "")
    ]
    shading = [a for tag, a in page.elements if tag == "rect" and a.get("data-period")]
    return float(axis["y1"]), squares, shading


@pytest.fixture
def zero_after(cli):
    """Three visits; the last one's pain after is 0."""
    profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr B",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "10",
    )  # fmt: skip
    for day, post in (("2026-11-03", "3"), ("2026-11-10", "2"), ("2026-11-17", "0")):
        cli(
            "session", "log", "Jane", "--date", day, "--pre", "6", "--post", post,
            "--technique", "swedish=30", "--region", "neck", "--sign",
        )  # fmt: skip
    return cli


def test_html_pain_0_square_sits_above_the_axis(zero_after):
    page = parse(zero_after("summary", "Jane", "-f", "html", "--from", "2026-11-01").stdout)
    axis_y, squares, _ = _chart(page)
    assert len(squares) == 3
    zero = next(s for s in squares if s["title"].endswith("after the visit 0"))
    bottom = float(zero["y"]) + float(zero["height"])
    assert bottom < axis_y, (bottom, axis_y)  # whole, above the axis line, not across it


def test_html_shades_the_period_only_when_it_is_part_of_the_chart(zero_after):
    every = zero_after("summary", "Jane", "-f", "html", "--from", "2026-11-01").stdout
    _, _, shading = _chart(parse(every))
    assert shading == []  # every visit in the period: nothing to mark off
    assert "All visits in the period" in every and "Reporting period</text>" not in every
    # Boundary: the last visit alone in the period is shaded, and only its part of the chart.
    part = zero_after("summary", "Jane", "-f", "html", "--from", "2026-11-15").stdout
    axis = next(a for tag, a in parse(part).elements if tag == "line" and a.get("data-axis") == "x")
    _, _, shading = _chart(parse(part))
    assert len(shading) == 1
    plot = float(axis["x2"]) - float(axis["x1"])
    assert 0 < float(shading[0]["width"]) < plot / 2
    assert "Reporting period</text>" in part


# --- 4. visit labels at 100 visits -------------------------------------------------------------

DAYS_100 = [(date(2026, 8, 1) + timedelta(days=i)).isoformat() for i in range(100)]


@pytest.fixture
def hundred(cli):
    profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr B",
        "--rx-date", "2026-08-01", "--rx-until", "2026-12-31", "--visits", "120",
    )  # fmt: skip
    for i, day in enumerate(DAYS_100):
        cli(
            "session", "log", "Jane", "--date", day, "--pre", str(3 + i % 5), "--post",
            str(i % 3), "--technique", "swedish=30", "--region", "neck", "--sign",
        )  # fmt: skip
    return cli


def _axis_labels(path: Path) -> list[str]:
    """The numbers set in the row under the pain chart (the visit labels), left to right."""
    found: list[tuple[float, float, str]] = []
    for page in PdfReader(path).pages:
        if "Visit number" not in page.extract_text():
            continue

        def visit(text, cm, tm, font, size, found=found):
            if text.strip():
                found.append((round(tm[5] + cm[5], 1), tm[4] + cm[4], text.strip()))

        page.extract_text(visitor_text=visit)
        break
    dates_y = next(y for y, _, t in found if t == "Visit number")
    # The label row sits just above "Visit number": the nearest row of numbers above it.
    rows: dict[float, list[tuple[float, str]]] = {}
    for y, x, t in found:
        if t.isdigit() and y > dates_y:
            rows.setdefault(y, []).append((x, t))
    nearest = min(rows, key=lambda y: y - dates_y)
    return [t for _, t in sorted(rows[nearest])]


def test_pdf_chart_thins_its_visit_labels_at_100_visits(hundred, tmp_path):
    out = tmp_path / "summary.pdf"
    hundred("summary", "Jane", "--from", "2026-08-01", "--preview", "-o", str(out))
    labels = _axis_labels(out)
    assert labels[0] == "1" and labels[-1] == "100"
    assert labels == ["1", *[str(k) for k in range(10, 100, 10)], "100"]  # every 10th
    html = hundred("summary", "Jane", "--from", "2026-08-01", "-f", "html").stdout
    ticks = [a for tag, a in parse(html).elements if tag == "text" and a.get("data-tick")]
    assert len(ticks) == 11


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [1]),
        (16, list(range(1, 17))),  # up to 16: every visit
        (17, [1, 4, 6, 8, 10, 12, 14, 17]),  # "2" would crowd "1"
        (31, [1, 5, 10, 15, 20, 25, 31]),  # "30" would crowd "31"
        (100, [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
        (1000, [1, *range(100, 1000, 100), 1000]),
    ],
)
def test_axis_ticks_keep_first_and_last_and_never_crowd(n, expected):
    from medmassage.documents.layout import axis_ticks

    ticks = axis_ticks(n)
    assert [i + 1 for i in ticks] == expected
    assert len(ticks) <= 16


# --- 5. the superbill's warnings come before its file -------------------------------------------


def test_superbill_warns_before_the_file_is_in_place(cli, tmp_path, monkeypatch):
    cli(
        "profile",
        "set",
        "--name",
        "Dana Whitfield",
        "--credentials",
        "LMT",
        "--license-number",
        "MA60512345",
        "--npi",
        "1234567893",
        "--fee",
        "97124=38",
    )  # fmt: skip  (no practice name, address, phone: warned about)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "fsa-hsa", "--dx", "M54.2", "--referrer", "Dr B",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "10",
    )  # fmt: skip
    cli(
        "session", "log", "Jane", "--date", "2026-11-03", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck",
    )  # fmt: skip
    import medmassage.store.files as render

    out = tmp_path / "bill.pdf"
    said_before: list[str] = []
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == out:  # the moment the superbill is put in place
            sys.stderr.flush()  # the runner's stderr: a text layer over a BytesIO
            said_before.append(sys.stderr.buffer.getvalue().decode())
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(render.os, "replace", replace)
    result = cli("superbill", "Jane", "--from", "2026-11-01", "-o", str(out))
    assert out.exists() and len(said_before) == 1
    assert "the profile has no practice name" in said_before[0]
    assert "unsigned" in said_before[0]
    assert "Wrote" not in said_before[0] and "Wrote" in result.stderr


def test_summary_warns_before_the_file_is_in_place(cli, tmp_path, monkeypatch):
    """The summary's warnings (an unsigned visit here) are said before its file is put in
    place, as the superbill's are; "Wrote" comes after."""
    profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "auto-pip", "--claim", "C-1",
        "--injury-date", "2026-10-20", "--dx", "M54.2", "--referrer", "Dr B",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "10", "--area", "neck",
    )  # fmt: skip
    cli(
        "session", "log", "Jane", "--date", "2026-11-03", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck",
    )  # fmt: skip
    import medmassage.store.files as render

    out = tmp_path / "summary.pdf"
    said_before: list[str] = []
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == out:
            sys.stderr.flush()
            said_before.append(sys.stderr.buffer.getvalue().decode())
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(render.os, "replace", replace)
    result = cli("summary", "Jane", "-o", str(out))
    assert out.exists() and len(said_before) == 1
    assert "unsigned" in said_before[0]
    assert "Wrote" not in said_before[0] and "Wrote" in result.stderr


# --- 6. fpdf2 imported lean, fonts cached --------------------------------------------------------

LEAN = """
import sys
import medmassage.documents.pdf as pdf
left = [m for m in ("fontTools.varLib", "fpdf.sign", "PIL", "cryptography") if m in sys.modules]
print("left:" + ",".join(left))
import PIL.Image, fontTools.varLib, fpdf.sign  # the real modules, after the import
print("real:" + str(hasattr(fontTools.varLib, "build")) + str(hasattr(fpdf.sign, "sign_content")))
"""


def test_fpdf_is_imported_without_its_unused_parts_and_leaves_the_process_clean(tmp_path):
    env = {**os.environ, "MEDMASSAGE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", LEAN], env=env, capture_output=True, text=True, check=True
    )
    assert "left:\n" in done.stdout  # none of the four loaded by importing the PDF renderer
    assert "real:TrueTrue" in done.stdout
    assert done.stderr == ""  # not even fpdf2's "Pillow could not be imported" warning


def test_fonts_are_cached_once_and_a_read_only_cache_still_works(cli, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    env = {**os.environ, "MEDMASSAGE_CACHE_DIR": str(cache)}
    code = (
        "import medmassage.documents.pdf as p\n"
        "from medmassage.documents.layout import Document, Title\n"
        "data = p.render_pdf(Document('T', 'f', [Title('Hello', 'sub')]), 'me')\n"
        "print(data[:5])"
    )
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and "%PDF-" in first.stdout, first.stderr
    fonts = sorted(p.name for p in (cache / "fonts").iterdir())
    # Each font without its layout tables, and the metrics fpdf2 read from it.
    assert len(fonts) == 4, fonts
    assert sum(f.endswith(".ttf") for f in fonts) == sum(f.endswith(".metrics") for f in fonts) == 2
    stamp = [(cache / "fonts" / f).stat().st_mtime_ns for f in fonts]
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert again.returncode == 0
    assert [(cache / "fonts" / f).stat().st_mtime_ns for f in fonts] == stamp  # read, not redone
    # Damaged metrics are read from the font again (and saved anew), never trusted.
    for f in fonts:
        if f.endswith(".metrics"):
            (cache / "fonts" / f).write_bytes(b"\x00garbage")
    fixed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert fixed.returncode == 0 and "%PDF-" in fixed.stdout, fixed.stderr
    assert all(
        (cache / "fonts" / f).read_bytes() != b"\x00garbage" for f in fonts if f.endswith("metrics")
    )
    # A cache folder that cannot be made: the full fonts are used, the PDF is still written.
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    env["MEDMASSAGE_CACHE_DIR"] = str(blocked)
    third = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert third.returncode == 0 and "%PDF-" in third.stdout, third.stderr
