"""Draw a Document as a PDF with fpdf2 (US Letter, DejaVu Sans Condensed for any name).

fpdf2 costs ~0.2 s to import, so only the `summary` and `superbill` commands load this module.
Tables break between rows (fpdf2 keeps a row whole and repeats the headings on the next page);
a section heading, the chart and the signature block move to the next page rather than split.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from medmassage.documents.layout import (
    Chart,
    Document,
    Fields,
    Flags,
    Signature,
    Table,
    Text,
    Title,
)
from medmassage.errors import InputError

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
INK = (20, 20, 20)
MUTED = (95, 95, 95)
RULE = (170, 170, 170)
HEADING_FILL = (228, 232, 238)
FLAG_FILL = (255, 241, 214)
PRE_COLOUR = (31, 78, 140)
POST_COLOUR = (196, 90, 0)
PERIOD_FILL = (236, 240, 246)


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        page = f"Page {self.page_no()} of {{nb}}"
        page_w = self.get_string_width("Page 999 of 999") + 2
        room = self.epw - page_w - 4
        text = self.footer_text
        if (
            self.get_string_width(text) > room
        ):  # a long name or claim number: shorten, never overlap
            while text and self.get_string_width(text + "…") > room:
                text = text[:-1]
            text += "…"
        self.cell(self.epw - page_w, 5, text, align="L")
        self.cell(page_w, 5, page, align="R")


def render_pdf(doc: Document, author: str) -> bytes:
    pdf = _Pdf(format="letter", unit="mm")
    pdf.footer_text = doc.footer
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FAMILY, "", FONTS / "DejaVuSansCondensed.ttf")
    pdf.add_font(FAMILY, "B", FONTS / "DejaVuSansCondensed-Bold.ttf")
    _refuse_unprintable(doc, set(pdf.fonts[FAMILY.lower()].cmap))
    pdf.set_title(doc.title)
    pdf.set_author(author)
    pdf.set_creator("medmassage")
    pdf.add_page()
    for block, following in zip(doc.blocks, [*doc.blocks[1:], None], strict=True):
        if isinstance(block, Text) and isinstance(following, Signature):
            # The last words stay on the page with the signature, never a signature alone.
            needed = _text_height(pdf, block) + _signature_height(following)
            if pdf.will_page_break(needed):
                pdf.add_page()
        _DRAW[type(block)](pdf, block)
    with warnings.catch_warnings():
        # A glyph missing from the font would be reported with the text it belongs to.
        warnings.simplefilter("ignore")
        return bytes(pdf.output())


def _texts(block) -> list[tuple[str, str]]:
    """(where, text) for every piece of text a block puts on the page."""
    if isinstance(block, Fields):
        return [(f"{label} ({group})", v) for group, pairs in block.groups for label, v in pairs]
    if isinstance(block, Table):
        return [(block.title, cell) for row in block.rows for cell in row]
    if isinstance(block, Flags):
        return [("Attention", item) for item in block.items]
    if isinstance(block, Text):
        return [(block.title, block.body)]
    if isinstance(block, Signature):
        return [("signature", line) for line in block.lines]
    if isinstance(block, Title):
        return [("title", block.text), ("title", block.subtitle)]
    return []


def _refuse_unprintable(doc: Document, printable: set[int]) -> None:
    """fpdf2 silently drops characters its font has no glyph for (a Chinese name would vanish
    from the page), so refuse instead and point to HTML, which uses the system's fonts. The
    message names where, never the text itself (it is client data)."""
    where = [
        w for block in doc.blocks for w, text in _texts(block) if _unprintable(text, printable)
    ]
    if where:
        places = ", ".join(dict.fromkeys(where))
        raise InputError(
            "format",
            "pdf",
            f"the PDF font (DejaVu Sans) has no letters for some characters in: {places}; "
            "write -f html instead, and print it from a browser",
        )


def _unprintable(text: str, printable: set[int]) -> bool:
    return any(ord(ch) not in printable and not ch.isspace() for ch in text)


def _heading(pdf: FPDF, text: str, keep_with: float = 20) -> None:
    """A section heading that never sits alone at the foot of a page."""
    if pdf.will_page_break(8 + keep_with):
        pdf.add_page()
    pdf.ln(2.5)
    pdf.set_font(FAMILY, "B", 10.5)
    pdf.set_text_color(*INK)
    pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(1.5)


def _title(pdf: FPDF, block: Title) -> None:
    pdf.set_font(FAMILY, "B", 15)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 7.5, block.text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9.5)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5.5, block.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _group(pdf: FPDF, x: float, y: float, w: float, title: str, pairs) -> float:
    """One labelled group at (x, y), `w` wide; returns the y where it ends."""
    label_w = 29
    pdf.set_xy(x, y)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.set_text_color(*INK)
    pdf.cell(w, 5.5, title, new_x="LEFT", new_y="NEXT")
    for label, value in pairs:
        top = pdf.get_y()
        pdf.set_x(x)
        pdf.set_font(FAMILY, size=8)
        pdf.set_text_color(*MUTED)
        pdf.cell(label_w, 4.4, label)
        pdf.set_font(FAMILY, size=8.8)
        pdf.set_text_color(*INK)
        pdf.set_xy(x + label_w, top)
        pdf.multi_cell(w - label_w, 4.4, value, align="L", new_x="LEFT", new_y="NEXT")
    return pdf.get_y()


def _fields(pdf: FPDF, block: Fields) -> None:
    gap = 8
    w = (pdf.epw - gap) / 2
    groups = block.groups
    for i in range(0, len(groups), 2):
        pair = groups[i : i + 2]
        rows = max(len(g[1]) for g in pair)
        if pdf.will_page_break(6 + rows * 4.6):
            pdf.add_page()
        y = pdf.get_y() + 1.5
        ends = [
            _group(pdf, pdf.l_margin + j * (w + gap), y, w, title, pairs)
            for j, (title, pairs) in enumerate(pair)
        ]
        pdf.set_xy(pdf.l_margin, max(ends) + 1)


def _flags(pdf: FPDF, block: Flags) -> None:
    """A filled, outlined box. Drawn as cells, so a box taller than what is left of the page
    continues on the next one instead of running over the footer."""
    pdf.ln(2)
    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.set_fill_color(*FLAG_FILL)
    pdf.set_draw_color(*POST_COLOUR)
    pdf.set_line_width(0.5)
    pdf.set_text_color(*INK)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.cell(0, 7, "  ATTENTION", border="LTR", fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    text = "\n".join(f"• {item}" for item in block.items)
    pdf.multi_cell(
        0, 4.8, text, border="LRB", fill=True, align="L", padding=(0, 3, 2, 3),
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.set_fill_color(255, 255, 255)  # fpdf2 tables fill cells with the current colour
    pdf.ln(1)


def _table(pdf: FPDF, block: Table) -> None:
    _heading(pdf, block.title)
    if not block.rows:
        pdf.set_font(FAMILY, size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 5, "None recorded.", new_x="LMARGIN", new_y="NEXT")
        return
    align = tuple("RIGHT" if i in block.right else "LEFT" for i in range(len(block.headers)))
    pdf.set_font(FAMILY, size=8.6)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.15)
    bold = FontFace(emphasis="BOLD", fill_color=HEADING_FILL)
    with pdf.table(
        col_widths=tuple(block.widths),
        text_align=align,
        headings_style=bold,
        line_height=4.6,
        padding=(0.8, 1.2),
        repeat_headings=1,
        width=pdf.epw,
        v_align="TOP",
    ) as table:
        table.row(block.headers)
        for row in block.rows:
            table.row(row)
        if block.footer:
            footer = table.row()
            for cell in block.footer:
                footer.cell(cell, style=FontFace(emphasis="BOLD"))
    if block.note:
        pdf.ln(1)
        pdf.set_font(FAMILY, size=7.5)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 3.8, block.note, align="L", new_x="LMARGIN", new_y="NEXT")


def _chart(pdf: FPDF, block: Chart) -> None:
    height = 56
    _heading(pdf, block.title, keep_with=height + 12)
    points = block.points
    left = pdf.l_margin + 9
    right = pdf.l_margin + pdf.epw - 2
    top = pdf.get_y() + 9
    bottom = top + height - 18
    width = right - left
    n = len(points)

    def x_of(i: int) -> float:
        return left + width / 2 if n == 1 else left + i * width / (n - 1)

    def y_of(pain: float) -> float:
        return bottom - pain * (bottom - top) / 10

    # Legend first (above the plot): shapes and line styles, not colour alone, tell the series.
    pdf.set_font(FAMILY, size=8)
    pdf.set_text_color(*INK)
    legend_y = top - 6.5
    _marker(pdf, "pre", left + 2, legend_y + 2)
    pdf.set_xy(left + 5, legend_y)
    pdf.cell(48, 4, "Before the visit (solid line, dots)")
    _marker(pdf, "post", left + 60, legend_y + 2)
    pdf.set_xy(left + 63, legend_y)
    pdf.cell(52, 4, "After the visit (dashed line, squares)")
    pdf.set_fill_color(*PERIOD_FILL)
    pdf.rect(left + 122, legend_y + 0.5, 5, 3, style="F")
    pdf.set_xy(left + 128, legend_y)
    pdf.cell(35, 4, "Reporting period")

    # The reporting period, shaded.
    inside = [i for i, p in enumerate(points) if p["in_period"]]
    if inside:
        step = width / (n - 1) if n > 1 else width
        x1 = max(left, x_of(inside[0]) - step / 2)
        x2 = min(right, x_of(inside[-1]) + step / 2)
        pdf.set_fill_color(*PERIOD_FILL)
        pdf.rect(x1, top, x2 - x1, bottom - top, style="F")

    # Grid and axes.
    pdf.set_font(FAMILY, size=7)
    pdf.set_text_color(*MUTED)
    pdf.set_line_width(0.1)
    for pain in range(0, 11, 2):
        y = y_of(pain)
        pdf.set_draw_color(*((120, 120, 120) if pain == 0 else (210, 210, 210)))
        pdf.line(left, y, right, y)
        pdf.set_xy(left - 7, y - 1.8)
        pdf.cell(5.5, 3.6, str(pain), align="R")
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, top, left, bottom)
    every = max(1, -(-n // 20))  # at most ~20 visit labels
    for i, p in enumerate(points):
        if i % every == 0 or i == n - 1:
            pdf.set_xy(x_of(i) - 4, bottom + 0.8)
            pdf.cell(8, 3.4, str(p["visit"]), align="C")
    pdf.set_xy(left, bottom + 4.5)
    pdf.cell(width / 3, 3.6, points[0]["date"] if points else "", align="L")
    pdf.cell(width / 3, 3.6, "Visit number", align="C")
    pdf.cell(width / 3, 3.6, points[-1]["date"] if n > 1 else "", align="R")

    # The two series.
    for key, colour, dashed in (("pain_pre", PRE_COLOUR, False), ("pain_post", POST_COLOUR, True)):
        pdf.set_draw_color(*colour)
        pdf.set_line_width(0.55)
        if dashed:
            pdf.set_dash_pattern(dash=1.6, gap=1.0)
        if n > 1:
            pdf.polyline([(x_of(i), y_of(p[key])) for i, p in enumerate(points)])
        pdf.set_dash_pattern()
        for i, p in enumerate(points):
            _marker(pdf, "pre" if key == "pain_pre" else "post", x_of(i), y_of(p[key]))
    pdf.set_draw_color(*INK)
    pdf.set_y(bottom + 10)


def _marker(pdf: FPDF, series: str, x: float, y: float) -> None:
    pdf.set_line_width(0.35)
    if series == "pre":
        pdf.set_fill_color(*PRE_COLOUR)
        pdf.set_draw_color(*PRE_COLOUR)
        pdf.circle(x, y, 0.95, style="F")
    else:
        pdf.set_fill_color(255, 255, 255)
        pdf.set_draw_color(*POST_COLOUR)
        pdf.rect(x - 0.95, y - 0.95, 1.9, 1.9, style="DF")


def _text_height(pdf: FPDF, block: Text) -> float:
    pdf.set_font(FAMILY, size=9.2)
    body = pdf.multi_cell(0, 4.7, block.body, align="L", dry_run=True, output="HEIGHT")
    return 12 + body + (4 if block.source else 0)


def _signature_height(block: Signature) -> float:
    return 16 + 4.5 * len(block.lines)


def _text(pdf: FPDF, block: Text) -> None:
    _heading(pdf, block.title, keep_with=10)
    pdf.set_font(FAMILY, size=9.2)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 4.7, block.body, align="L", new_x="LMARGIN", new_y="NEXT")
    if block.source:
        pdf.set_font(FAMILY, size=7.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 4, block.source, new_x="LMARGIN", new_y="NEXT")


def _signature(pdf: FPDF, block: Signature) -> None:
    if pdf.will_page_break(_signature_height(block)):
        pdf.add_page()
    pdf.ln(11)
    y = pdf.get_y()
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    pdf.line(pdf.l_margin, y, pdf.l_margin + 95, y)
    pdf.line(pdf.l_margin + 115, y, pdf.l_margin + 160, y)
    pdf.set_font(FAMILY, size=7.5)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(pdf.l_margin, y + 0.5)
    pdf.cell(95, 3.8, "Therapist signature")
    pdf.set_x(pdf.l_margin + 115)
    pdf.cell(45, 3.8, block.date_label, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(*INK)
    for line in block.lines:
        pdf.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")


_DRAW = {
    Title: _title,
    Fields: _fields,
    Flags: _flags,
    Table: _table,
    Chart: _chart,
    Text: _text,
    Signature: _signature,
}
