"""Draw a Document as one self-contained HTML page (inline CSS, the chart as inline SVG).

Everything the user typed is escaped; the page loads nothing from the network and prints on
Letter paper with the footer on every page.
"""

from __future__ import annotations

import re
from html import escape

from medmassage.documents.layout import (
    BodyDiagram,
    Chart,
    Document,
    Fields,
    Flags,
    Signature,
    Table,
    Text,
    Title,
    axis_ticks,
)

# Dates and "8 (2026-08-05)"-style values read badly when a narrow column breaks them.
_NOWRAP = re.compile(r"^(\d{4}-\d{2}-\d{2}|[\d.]+ \(\d{4}-\d{2}-\d{2}\))$")

CSS = """
body { font-family: "DejaVu Sans Condensed", "Segoe UI", Helvetica, Arial, sans-serif;
       color: #141414; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; font-size: 14px; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; border-bottom: 1px solid #aaa; margin: 1.4rem 0 .5rem;
     padding-bottom: .15rem; }
h3 { font-size: .95rem; margin: 1rem 0 .3rem; }
.subtitle, .note, .source { color: #5f5f5f; }
.note, .source { font-size: .8rem; margin: .3rem 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem 2rem; margin-top: 1rem; }
.fields h2 { font-size: .95rem; margin: 0 0 .2rem; border-bottom: none; padding-bottom: 0; }
.fields dl { display: grid; grid-template-columns: 9rem 1fr; margin: 0; gap: .1rem .5rem; }
.fields dt { color: #5f5f5f; font-size: .85rem; }
.fields dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { border: 1px solid #bbb; padding: .2rem .4rem; vertical-align: top; text-align: left; }
th { background: #e4e8ee; }
td.num { text-align: right; }
td.nowrap { white-space: nowrap; }
tfoot td { font-weight: bold; }
tr { break-inside: avoid; }
h2, h3 { break-after: avoid; }
.note, .source { break-before: avoid; }
.closing { break-inside: avoid; }
.flags { background: #fff1d6; border: 2px solid #c45a00; padding: .4rem .8rem; margin: 1rem 0; }
.flags strong { display: block; }
.signature { margin-top: 3rem; display: grid; grid-template-columns: 3fr 1fr; gap: 2rem; }
.signature div { border-top: 1px solid #141414; font-size: .8rem; color: #5f5f5f;
                 padding-top: .1rem; }
.signer { margin-top: .5rem; }
.signer p { margin: .1rem 0; }
footer { color: #5f5f5f; font-size: .8rem; margin-top: 2rem; }
svg text { font-size: 11px; fill: #5f5f5f; }
@page { size: letter; margin: 14mm 16mm 18mm; }
@media print { body { margin: 0; max-width: none; } footer { position: fixed; bottom: 0; } }
"""


def render_html(doc: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    blocks = doc.blocks
    for i, block in enumerate(blocks):
        if isinstance(block, Signature) and i and isinstance(blocks[i - 1], Text):
            continue  # drawn with the closing words before it
        html = _DRAW[type(block)](block)
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if isinstance(block, Text) and isinstance(following, Signature):
            # The last words and the signature print on one page, never a signature alone.
            html = f'<section class="closing">{html}\n{_signature(following)}</section>'
        parts.append(html)
    parts.append(f"<footer>{escape(doc.footer)}</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# The heading outline (WCAG 1.3.1: no level skipped, one h1). Every heading is drawn by
# `heading`; a block renderer passes the level of what it titles:
#   TITLE   the document's title, the one h1 (the Title block only);
#   SECTION a block's title, or a titled part of a block that has no title of its own (the
#           Fields groups "Provider", "Client"): h2;
#   PART    a part under the block's own SECTION heading, drawn after it: h3.
TITLE, SECTION, PART = 1, 2, 3


def heading(text: str, level: int = SECTION) -> str:
    if level not in (TITLE, SECTION, PART):
        raise ValueError(f"heading level {level}: use TITLE, SECTION or PART")
    return f"<h{level}>{escape(text)}</h{level}>"


def _title(block: Title) -> str:
    return f'{heading(block.text, TITLE)}\n<p class="subtitle">{escape(block.subtitle)}</p>'


def _fields(block: Fields) -> str:
    out = ['<section class="fields">']
    for title, pairs in block.groups:
        out.append(f"<div>{heading(title)}<dl>")
        out.extend(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in pairs)
        out.append("</dl></div>")
    out.append("</section>")
    return "\n".join(out)


def _flags(block: Flags) -> str:
    items = "".join(f"<li>{escape(item)}</li>" for item in block.items)
    return (
        f'<section class="flags" role="alert"><strong>Attention</strong><ul>{items}</ul></section>'
    )


def _cells(row: list[str], right: frozenset[int], tag: str = "td") -> str:
    def attrs(i: int, cell: str) -> str:
        classes = ["num"] * (i in right) + ["nowrap"] * bool(_NOWRAP.match(cell))
        return f' class="{" ".join(classes)}"' if classes else ""

    return "".join(f"<{tag}{attrs(i, cell)}>{escape(cell)}</{tag}>" for i, cell in enumerate(row))


def _table(block: Table) -> str:
    out = [heading(block.title)]
    if not block.rows:
        out.append('<p class="note">None recorded.</p>')
        return "\n".join(out)
    out.append("<table><thead><tr>")
    out.append("".join(f"<th>{escape(h)}</th>" for h in block.headers))
    out.append("</tr></thead><tbody>")
    out.extend(f"<tr>{_cells(row, block.right)}</tr>" for row in block.rows)
    out.append("</tbody>")
    if block.footer:
        out.append(f"<tfoot><tr>{_cells(block.footer, block.right)}</tr></tfoot>")
    out.append("</table>")
    if block.note:
        out.append(f'<p class="note">{escape(block.note)}</p>')
    return "\n".join(out)


def _chart(block: Chart) -> str:
    """Pain before (solid, dots) and after (dashed, squares) each visit, as SVG."""
    points = block.points
    n = len(points)
    w, h, left, right, top, bottom = 720, 260, 36, 710, 30, 215

    inset_x = 8  # the first and last markers clear of the axes, as in the PDF

    def x_of(i: int) -> float:
        span = right - left - 2 * inset_x
        return (left + right) / 2 if n == 1 else left + inset_x + i * span / (n - 1)

    inset = 6  # a marker at pain 0 sits above the axis, whole (as in the PDF)

    def y_of(pain: float) -> float:
        return bottom - inset - pain * (bottom - top - inset) / 10

    svg = [
        f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" '
        f'aria-label="{escape(block.title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    inside = [i for i, p in enumerate(points) if p["in_period"]]
    shade = bool(inside) and len(inside) < n  # every visit in the period: nothing to mark off
    if shade:
        step = (right - left - 2 * inset_x) / (n - 1) if n > 1 else right - left
        x1 = max(left, x_of(inside[0]) - step / 2)
        x2 = min(right, x_of(inside[-1]) + step / 2)
        svg.append(
            f'<rect data-period="shade" x="{x1:.1f}" y="{top}" width="{x2 - x1:.1f}" '
            f'height="{bottom - top}" '
            'fill="#ecf0f6"><title>Reporting period</title></rect>'
        )
    for pain in range(0, 11, 2):
        y = y_of(pain)
        svg.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
            'stroke="#d2d2d2" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{pain}</text>'
        )
    svg.append(  # the axes, below and left of the inset markers
        f'<line data-axis="y" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" '
        'stroke="#787878" stroke-width="1"/>'
        f'<line data-axis="x" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" '
        'stroke="#787878" stroke-width="1"/>'
    )
    for i in axis_ticks(n):  # every k-th visit, the first and last always: none crowd
        svg.append(
            f'<text data-tick="x" x="{x_of(i):.1f}" y="{bottom + 15}" text-anchor="middle">'
            f"{points[i]['visit']}</text>"
        )
    span = f" ({points[0]['date']} to {points[-1]['date']})" if points else ""
    svg.append(
        f'<text x="{(left + right) / 2}" y="{bottom + 32}" text-anchor="middle">'
        f"Visit number{escape(span)}</text>"
    )
    for key, colour, dash, label in (
        ("pain_pre", "#1f4e8c", "", "before the visit"),
        ("pain_post", "#c45a00", ' stroke-dasharray="6 4"', "after the visit"),
    ):
        coords = " ".join(f"{x_of(i):.1f},{y_of(p[key]):.1f}" for i, p in enumerate(points))
        if n > 1:
            svg.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash}/>'
            )
        for i, p in enumerate(points):
            tip = f"<title>Visit {p['visit']} {escape(p['date'])}: pain {label} {p[key]}</title>"
            x, y = x_of(i), y_of(p[key])
            if key == "pain_pre":
                svg.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">{tip}</circle>'
                )
            else:
                svg.append(
                    f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="#fff" '
                    f'stroke="{colour}" stroke-width="1.6">{tip}</rect>'
                )
    svg.append(
        f'<circle cx="{left + 6}" cy="12" r="3.5" fill="#1f4e8c"/>'
        f'<text x="{left + 14}" y="16">Before the visit (solid line, dots)</text>'
        f'<rect x="{left + 236}" y="8.5" width="7" height="7" fill="#fff" stroke="#c45a00" '
        'stroke-width="1.6"/>'
        f'<text x="{left + 248}" y="16">After the visit (dashed line, squares)</text>'
    )
    if shade:
        svg.append(
            f'<rect x="{left + 480}" y="7" width="14" height="9" fill="#ecf0f6"/>'
            f'<text x="{left + 500}" y="16">Reporting period</text>'
        )
    elif inside:
        svg.append(f'<text x="{left + 480}" y="16">All visits in the period</text>')
    svg.append("</svg>")
    return heading(block.title) + "\n" + "\n".join(svg)


_BODY_TREATED = "#969696"  # gray, as in the PDF: shading, not colour, marks a region treated


_BODY_LEGEND = (  # a fill and an outline, so black-and-white print tells them apart
    ("Treated (shaded)", _BODY_TREATED, ' stroke="#6e6e6e" stroke-width="1"'),
    (
        "Ordered (heavy dashed outline)",
        "#ffffff",
        ' stroke="#141414" stroke-width="2.2" stroke-dasharray="4 2.6"',
    ),
    ("Neither", "#ffffff", ' stroke="#6e6e6e" stroke-width="1"'),
)


def _body_diagram(block: BodyDiagram) -> str:
    """Front and back views as one inline SVG, a shape per region (data-region, data-treated,
    data-ordered), each ordered region's heavy dashed outline drawn over them; then the legend
    and the regions in words."""
    from medmassage.documents.bodymap import VIEW_H, alt_text, region_label, shapes
    from medmassage.documents.bodymap import lists as body_lists

    treated, ordered = set(block.treated), set(block.ordered)
    width, top = 230, 18
    legend_y = top + VIEW_H + 10
    height = legend_y + 16 * len(_BODY_LEGEND)
    svg = [
        f'<svg viewBox="0 0 {width} {height:g}" width="230" height="{height:g}" role="img" '
        f'aria-label="{escape(alt_text(block.treated, block.ordered))}" '
        'xmlns="http://www.w3.org/2000/svg" style="flex: none">'
    ]
    for view, cx, sides in (("front", 55, "RL"), ("back", 175, "LR")):
        svg.append(
            f'<text x="{cx}" y="11" font-size="11" text-anchor="middle" font-weight="bold" '
            'fill="#141414">'
            f"{view.capitalize()}</text>"
        )
        for side, x in zip(sides, (cx - 46, cx + 46), strict=True):
            svg.append(
                f'<text x="{x}" y="{top + 40}" font-size="11" text-anchor="middle" '
                f'font-weight="bold" fill="#141414">{side}</text>'
            )
        figure = shapes(view)

        def points(shape, cx=cx) -> str:
            return " ".join(f"{cx + x:.1f},{top + y:.1f}" for x, y in shape.points)

        for shape in figure:
            r = shape.region
            state = ("treated" if r in treated else "not treated") + (
                ", ordered" if r in ordered else ", not ordered"
            )
            svg.append(
                f'<polygon data-region="{escape(r)}" data-view="{view}" '
                f'data-treated="{"yes" if r in treated else "no"}" '
                f'data-ordered="{"yes" if r in ordered else "no"}" points="{points(shape)}" '
                f'fill="{_BODY_TREATED if r in treated else "#ffffff"}" stroke="#6e6e6e" '
                f'stroke-width="0.8" stroke-linejoin="round">'
                f"<title>{escape(region_label(r))}: {state}</title></polygon>"
            )
        for shape in figure:
            if shape.region in ordered:
                svg.append(
                    f'<polygon data-outline="{escape(shape.region)}" points="{points(shape)}" '
                    'fill="none" stroke="#141414" stroke-width="2.2" stroke-dasharray="4 2.6" '
                    'stroke-linejoin="round"/>'
                )
    for i, (label, fill, stroke) in enumerate(_BODY_LEGEND):
        y = legend_y + 16 * i
        svg.append(
            f'<rect x="10" y="{y:g}" width="22" height="11" fill="{fill}"{stroke}/>'
            f'<text x="40" y="{y + 9.5:g}" font-size="11" fill="#141414">{label}</text>'
        )
    svg.append("</svg>")
    lists = body_lists(block.treated, block.ordered)
    text = "".join(f"<p><strong>{k}:</strong> {escape(v)}</p>" for k, v in lists)
    return (
        f"{heading(block.title)}\n"
        '<section class="bodymap" style="display: flex; gap: 1.5rem; margin: .5rem 0">'
        + "\n".join(svg)
        + f"<div>{text}"
        + '<p class="note">Left and right are the client\'s own: R and L mark them on each view.'
        + "</p></div></section>"
    )


def _text(block: Text) -> str:
    body = "<br>".join(escape(line) for line in block.body.splitlines()) or "—"
    out = f"{heading(block.title)}\n<p>{body}</p>"
    if block.source:
        out += f'\n<p class="source">{escape(block.source)}</p>'
    return out


def _signature(block: Signature) -> str:
    lines = "".join(f"<p>{escape(line)}</p>" for line in block.lines)
    return (
        '<section class="signature"><div>Therapist signature</div>'
        f"<div>{escape(block.date_label)}</div></section>"
        f'<section class="signer">{lines}</section>'
    )


_DRAW = {
    Title: _title,
    Fields: _fields,
    Flags: _flags,
    Table: _table,
    Chart: _chart,
    Text: _text,
    Signature: _signature,
    BodyDiagram: _body_diagram,
}
