"""The body diagram of the progress summary (issue 13, item 3): front and back views with the
regions treated in the period shaded and the regions ordered outlined, in every format.

Jane's prescription orders the neck and upper back; her visits treat the neck and the left
shoulder. So: neck treated and ordered, left shoulder treated but not ordered, upper back
ordered but not treated.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from medmassage.rules.catalog import REGIONS

TREATED = {"neck", "shoulder-left"}
ORDERED = {"neck", "upper-back"}


def squash(text: str) -> str:
    return "".join(text.split())


def log_visits(cli) -> None:
    for day in ("2026-11-03", "2026-11-06"):
        cli(
            "session", "log", "Jane", "--date", day, "--pre", "6", "--post", "3",
            "--technique", "swedish=30", "--region", "neck", "--region", "L shoulder", "--sign",
        )  # fmt: skip


@pytest.fixture
def jane(practice):
    log_visits(practice)
    return practice


def summary(cli, tmp_path, suffix: str) -> str | bytes:
    out = tmp_path / f"summary{suffix}"
    cli("summary", "Jane", "-o", str(out), "--preview")
    return out.read_bytes() if suffix == ".pdf" else out.read_text()


def figures(reader: PdfReader) -> list[str]:
    """The alt text of every Figure in the structure tree."""
    found: list[str] = []

    def walk(node):
        node = node.get_object()
        if node.get("/S") == "/Figure":
            found.append(str(node.get("/Alt", "")))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, dict) and kid.get("/Type") != "/MCR":
                walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


# --- the geometry ---------------------------------------------------------------------------------


def test_every_region_has_a_shape_on_the_views_it_is_seen_from():
    from medmassage.documents.bodymap import VIEW_H, VIEW_W, shapes, views_of

    front_only = {"chest", "abdomen", "jaw-left", "jaw-right"}
    back_only = {"upper-back", "mid-back", "lower-back", "gluteal-left", "gluteal-right"}
    for region in REGIONS:
        expected = ["front"] if region in front_only else ["back"] if region in back_only else VIEWS
        assert views_of(region) == expected, region
    for view in VIEWS:
        for shape in shapes(view):
            assert shape.region in REGIONS
            assert len(shape.points) >= 3
            for x, y in shape.points:
                assert -VIEW_W / 2 <= x <= VIEW_W / 2 and 0 <= y <= VIEW_H


VIEWS = ["front", "back"]


def test_left_and_right_are_the_client_s_own():
    """Front view: the client's left on the viewer's right (x > 0); back view: on the left."""
    from medmassage.documents.bodymap import shapes

    def centre_x(view: str, region: str) -> float:
        (shape,) = [s for s in shapes(view) if s.region == region]
        return sum(x for x, _ in shape.points) / len(shape.points)

    for part in ("shoulder", "hip", "arm", "wrist-hand", "knee", "foot"):
        assert centre_x("front", f"{part}-left") > 0 > centre_x("front", f"{part}-right")
        assert centre_x("back", f"{part}-left") < 0 < centre_x("back", f"{part}-right")
    assert centre_x("front", "jaw-left") > 0 and centre_x("back", "gluteal-left") < 0


def test_no_diagram_when_nothing_is_treated_or_ordered():
    from medmassage.documents.layout import body_diagram

    assert body_diagram([], []) is None
    from medmassage.documents.bodymap import in_order

    everything = in_order([*reversed(REGIONS), "a-region-of-its-own"])
    assert sorted(everything) == sorted([*REGIONS, "a-region-of-its-own"])
    assert everything[:4] == ["head", "jaw-right", "jaw-left", "neck"]
    assert everything[-3:] == ["foot-right", "foot-left", "a-region-of-its-own"]
    diagram = body_diagram(["shoulder-left", "neck", "neck"], [])
    assert diagram is not None
    assert diagram.treated == ["neck", "shoulder-left"] and diagram.ordered == []


# --- the formats, through the CLI -----------------------------------------------------------------


def test_summary_pdf_draws_the_diagram_with_legend_names_and_alt_text(jane, tmp_path):
    reader = PdfReader(io.BytesIO(summary(jane, tmp_path, ".pdf")))
    pages = [squash(p.extract_text()) for p in reader.pages]
    (page,) = [p for p in pages if "Bodydiagram:regionstreatedandordered" in p]
    for text in (
        "Treated(shaded)",
        "Ordered(heavydashedoutline)",
        "Treatedandordered:neck",
        "Treatedbutnotordered:leftshoulder",
        "Orderedbutnottreated:upperback",
        "Front",
        "Back",
    ):
        assert text in page, text
    alts = [a for a in figures(reader) if a.startswith("Body diagram")]
    assert alts == [
        "Body diagram, front and back views. Regions treated in the period (shaded): neck, "
        "left shoulder. Regions ordered (dashed outline): neck, upper back. Treated but not "
        "ordered: left shoulder. Ordered but not treated: upper back."
    ]


def test_summary_pdf_diagram_is_drawn_in_grays(jane, tmp_path):
    """Readable in black and white: every colour set inside the figure is a gray."""
    reader = PdfReader(io.BytesIO(summary(jane, tmp_path, ".pdf")))
    streams = [p.get_contents().get_data().decode("latin-1") for p in reader.pages]
    figure = re.compile(r"/Figure <<[^>]*>> BDC(.*?)EMC", re.S)
    inside = [m.group(1) for s in streams for m in figure.finditer(s)]
    body = [f for f in inside if f.count(" l\n") > 300]
    assert len(body) == 1  # the diagram: hundreds of polygon vertices (the chart has a few)
    colours = re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) (?:rg|RG)\b", body[0])
    assert colours and all(r == g == b for r, g, b in colours)
    assert "[2.835 1.984] 0.000 d" in body[0]  # the dashed outline of the regions ordered


def test_summary_html_shades_exactly_the_regions_treated(jane, tmp_path):
    class Shapes(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.regions: list[dict] = []
            self.outlines: list[str] = []
            self.labels: list[str] = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "svg" and "Body diagram" in a.get("aria-label", ""):
                self.labels.append(a["aria-label"])
            if tag == "polygon" and "data-region" in a:
                self.regions.append(a)
            if tag == "polygon" and "data-outline" in a:
                self.outlines.append(a["data-outline"])

    parser = Shapes()
    page = summary(jane, tmp_path, ".html")
    parser.feed(page)
    assert len(parser.labels) == 1 and "Treated but not ordered: left shoulder" in parser.labels[0]
    assert {a["data-region"] for a in parser.regions} == set(REGIONS)  # the whole figure
    shaded = {a["data-region"] for a in parser.regions if a["fill"] != "#ffffff"}
    assert shaded == TREATED
    assert {a["data-region"] for a in parser.regions if a["data-treated"] == "yes"} == TREATED
    assert {a["data-region"] for a in parser.regions if a["data-ordered"] == "yes"} == ORDERED
    assert set(parser.outlines) == ORDERED
    # upper-back is seen from behind only, the neck from both sides
    assert sorted(a["data-view"] for a in parser.regions if a["data-region"] == "neck") == [
        "back",
        "front",
    ]
    text = re.sub(r"<[^>]+>", "", page)
    assert "Treated but not ordered: left shoulder" in text
    assert "Ordered but not treated: upper back" in text


def test_summary_markdown_lists_the_regions(jane, tmp_path):
    md = summary(jane, tmp_path, ".md")
    section = md.split("## Body diagram: regions treated and ordered\n\n", 1)[1].split("\n\n")[0]
    assert section.splitlines() == [
        "- **Regions treated:** neck, left shoulder",
        "- **Ordered:** neck, upper back",
        "- **Treated and ordered:** neck",
        "- **Treated but not ordered:** left shoulder",
        "- **Ordered but not treated:** upper back",
    ]


def test_summary_without_areas_ordered_says_so(cli, tmp_path):
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--npi", "1234567893",
    )  # fmt: skip
    cli("client", "add", "Jane Doe")
    cli(
        "case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr Ames",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
    )  # fmt: skip
    cli(
        "session", "log", "Jane", "--date", "2026-11-03", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "lower-back", "--sign",
    )  # fmt: skip
    md = summary(cli, tmp_path, ".md")
    assert "- **Ordered:** no areas named" in md
    assert "- **Treated but not ordered:** lower back" in md
    assert "- **Ordered but not treated:** no areas named" in md


@pytest.mark.parametrize("lines", range(20, 62, 3))
def test_diagram_keeps_with_its_heading_across_a_page_break(lines):
    """Wherever the page ends, the heading, the figure and the lists are on one page."""
    from medmassage.documents.layout import Document, Text, Title, body_diagram
    from medmassage.documents.pdf import render_pdf

    filler = Text("Filler", "\n".join(f"line {i}" for i in range(lines)))
    diagram = body_diagram(["neck", "shoulder-left"], ["neck", "upper-back"])
    doc = Document("T", "footer", [Title("T", "sub"), filler, diagram])
    pages = [squash(p.extract_text()) for p in PdfReader(io.BytesIO(render_pdf(doc, "D"))).pages]
    (page,) = [p for p in pages if "Bodydiagram" in p]
    assert "Treated(shaded)" in page and "Orderedbutnottreated:upperback" in page
    assert "LeftandrightaretheclientsownRandLmarkthemoneachview" in re.sub(r"[':.,]", "", page)
