"""Draw a Document as a PDF with fpdf2 (US Letter, DejaVu Sans Condensed for any name).

fpdf2 costs ~0.2 s to import, so only the document commands load this module, and it is
imported without the parts no document uses (fpdf_lean.py); the fonts and their metrics come
from the user cache folder after the first PDF (`_lean_font`, `_cached_metrics`). Tables are
drawn here, not by fpdf2's table(): rows stay whole, the headings repeat on the next page, and
the last rows keep with their note and with a closing statement and signature (fpdf2's tables
lay out every cell through multi_cell, most of the time of a 100-visit summary). A section
heading, the chart and the signature block move to the next page rather than split.

Every PDF is tagged PDF 1.7: title, author, subject, language (en-US) in the Info dictionary
and as XMP; a structure tree (Document > H1, H2, H3, P, Table > TR > TH/TD, Figure with alt
text), page footers and decorations marked as artifacts. fpdf2 only tags images and outline
headings itself, so the tree is built here (`_Tags`). The DejaVu fonts are parsed once per
process (`_font`), and each embedded subset gets its own subset tag (`_Output`): fpdf2 names
every subset MPDFAA+, which ISO 32000 §9.9.2 forbids for two different subsets in one file.
"""

from __future__ import annotations

import copy
import hashlib
import marshal
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from html import escape
from io import BytesIO
from pathlib import Path

from fontTools import ttLib

from medmassage.documents.fpdf_lean import lean_fpdf_import

with lean_fpdf_import():
    from fpdf import FPDF, FPDF_VERSION
    from fpdf.fonts import SubsetMap, TTFFont
    from fpdf.output import OutputProducer
    from fpdf.prefs import ViewerPreferences
    from fpdf.structure_tree import StructElem, StructTreeRoot, StructureTreeBuilder
    from fpdf.syntax import Name

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


LANGUAGE = "en-US"
_FONT_FILES = {"": "DejaVuSansCondensed.ttf", "B": "DejaVuSansCondensed-Bold.ttf"}
_PARSED: dict[str, tuple[TTFFont, bytes]] = {}  # style -> (parsed font, file bytes), per process


# --- tagging ------------------------------------------------------------------------------------


class _ContentRef:
    """A marked-content reference (ISO 32000 §14.7.4.3): MCID `mcid` on `page`. The page's
    object number is known only when the file is written, so it is read then."""

    def __init__(self, page, mcid: int) -> None:
        self.page = page
        self.mcid = mcid

    def serialize(self, _security_handler=None, _obj_id=None) -> str:
        return f"<</Type /MCR /Pg {self.page.id} 0 R /MCID {self.mcid}>>"


class _Elem(StructElem):
    __slots__ = ()

    def __init__(self, role: str, parent, alt: str | None = None) -> None:
        super().__init__(struct_type=f"/{role}", parent=parent, kids=[], alt=alt)


class _Tags(StructureTreeBuilder):
    """A nested structure tree in place of fpdf2's flat one. fpdf2's output code calls
    `empty()`, iterates the objects and sets /Pg on `doc_struct_elem.k`, which is left empty:
    each element's content names its page in a marked-content reference instead."""

    def __init__(self) -> None:
        self.struct_tree_root = StructTreeRoot()
        self.document = _Elem("Document", self.struct_tree_root)
        self.struct_tree_root.k.append(self.document)
        self.doc_struct_elem = StructElem("/Document", self.struct_tree_root, [])  # unused
        self.elements: list[_Elem] = [self.document]
        self.spid_per_page_number: dict[int, int] = {}
        self.mcids: dict[int, int] = {}

    def empty(self) -> bool:
        return len(self.elements) == 1

    def __iter__(self) -> Iterator:
        yield self.struct_tree_root
        yield self.struct_tree_root.parent_tree
        yield from self.elements

    def element(self, role: str, parent: _Elem | None = None, alt: str | None = None) -> _Elem:
        parent = parent or self.document
        elem = _Elem(role, parent, alt)
        parent.k.append(elem)
        self.elements.append(elem)
        return elem

    def content(self, pdf: _Pdf, elem: _Elem) -> int:
        """A new MCID on the current page, belonging to `elem`."""
        page = pdf.page
        spid = self.spid_per_page_number.setdefault(page, len(self.spid_per_page_number))
        pdf.pages[page].struct_parents = spid
        mcid = self.mcids.get(page, 0)
        self.mcids[page] = mcid + 1
        self.struct_tree_root.parent_tree.nums[spid].append(elem)
        elem.k.append(_ContentRef(pdf.pages[page], mcid))
        return mcid


class _Output(OutputProducer):
    """fpdf2's writer, with a distinct subset tag for each embedded font (§9.9.2): six capital
    letters from a hash of the font's name and the glyphs of its subset, so the same document
    always gets the same tags."""

    def _add_fonts(self, *args, **kwargs):
        objs = super()._add_fonts(*args, **kwargs)
        used: set[str] = set()
        for font in sorted(self.fpdf.fonts.values(), key=lambda f: f.i):
            if not isinstance(font, TTFFont):
                continue
            codes = ",".join(str(code) for _, code in sorted(font.subset.items(), key=_second))
            digest = hashlib.sha256(f"{font.name}|{codes}".encode()).digest()
            for start in range(0, len(digest) - 6):
                tag = "".join(chr(65 + b % 26) for b in digest[start : start + 6])
                if tag not in used:
                    break
            used.add(tag)
            name = Name(f"{tag}+{font.name}")
            composite = objs[font.i]
            composite.base_font = name
            for descendant in composite.descendant_fonts or ():
                descendant.base_font = name
            font.desc.font_name = name
        return objs


def _second(item):
    return item[1]


class _Pdf(FPDF):
    footer_text = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tags = _Tags()
        self.struct_builder = self.tags
        self._open: tuple[_Elem, str] | None = None  # the element whose content is being drawn

    def begin(self, elem: _Elem) -> None:
        mcid = self.tags.content(self, elem)
        self._out(f"/{elem.s[1:]} <</MCID {mcid}>> BDC")
        self._open = (elem, elem.s[1:])

    def end(self) -> None:
        self._out("EMC")
        self._open = None

    @contextmanager
    def tagged(self, role: str, parent: _Elem | None = None, alt: str | None = None):
        elem = self.tags.element(role, parent, alt)
        self.begin(elem)
        try:
            yield elem
        finally:
            self.end()

    @contextmanager
    def artifact(self, kind: str = "Layout"):
        self._out(f"/Artifact <</Type /{kind}>> BDC")
        try:
            yield
        finally:
            self._out("EMC")

    def add_page(self, *args, **kwargs) -> None:
        """A page break inside tagged content (a paragraph running onto the next page) ends
        the marked content on this page and continues the same element on the next."""
        open_elem = self._open
        if open_elem and self.page:
            self.end()
        super().add_page(*args, **kwargs)
        if open_elem:
            self.begin(open_elem[0])

    def footer(self) -> None:
        with self.artifact("Pagination"):
            self._footer()

    def _footer(self) -> None:
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


def _font(pdf: FPDF, style: str) -> None:
    """Register DejaVu `style` with `pdf`, parsing the file only once per process. Each PDF gets
    its own copy: its own subset and a fresh, lazily read font for fpdf2 to cut the subset from
    (subsetting changes the font it is given)."""
    if style not in _PARSED:
        path, cached = _lean_font(FONTS / _FONT_FILES[style])
        key = f"{FAMILY.lower()}{style}"
        parsed = _cached_metrics(path, key, style) if cached else None
        if parsed is None:
            parsed = TTFFont(pdf, path, key, style)
            if cached:
                _save_metrics(parsed, path)
        _PARSED[style] = (parsed, path.read_bytes())
    parsed, data = _PARSED[style]
    font = copy.copy(parsed)
    font.i = len(pdf.fonts) + 1
    font.ttfont = ttLib.TTFont(BytesIO(data), recalcTimestamp=False, lazy=True)
    font.desc = copy.copy(parsed.desc)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.color_font = None
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font


# Tables fpdf2's writer drops from every subset anyway (output.py, `drop_tables`), and kern
# (fpdf2 positions every glyph itself; the PDF's widths array is what a viewer uses). Without
# them, and with only the Windows character maps, subsetting reads a fraction of the file.
_UNUSED_TABLES = ("FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "kern")


def _lean_font(path: Path) -> tuple[Path, bool]:
    """The font at `path` without the tables subsetting never needs, from the user's cache
    folder (written on first use, keyed by a hash of the font file and the fontTools version,
    so a changed font or library makes a new one), and True; `path` itself and False if the
    cache cannot be written. Saves stripping the tables anew in every process (~35 ms a font).
    The cache holds no client data: fonts shipped with medmassage, and their metrics."""
    from fontTools import version as fonttools_version

    from medmassage.paths import cache_dir

    data = path.read_bytes()
    key = hashlib.sha256(data + f"|{fonttools_version}|{_UNUSED_TABLES}".encode()).hexdigest()
    folder = cache_dir() / "fonts"
    cached = folder / f"{path.stem}-{key[:16]}.ttf"
    if cached.is_file():
        return cached, True
    try:
        _write_whole(cached, _without_layout(path))
    except OSError:
        return path, False  # a read-only cache folder: the full font works, only slower
    return cached, True


def _write_whole(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, target)  # whole or not at all, if two processes race


# What fpdf2's TTFFont reads from the font file (~30 ms a font: glyph widths, the character
# map, glyph ids, the descriptor), kept beside the cached font as plain values (marshal: no
# code is run to read them back) and keyed by the fpdf2 version that computed them.
_METRICS = (
    "type", "name", "glyph_ids", "sp", "ss", "up", "ut", "fontkey", "scale", "cmap",
    "palette_index", "is_compressed", "is_cff", "is_cid_keyed", "is_symbol", "cff_ros",
    "collection_font_number",
)  # fmt: skip
_DESCRIPTOR = (
    "ascent", "descent", "cap_height", "font_b_box", "italic_angle", "stem_v", "missing_width",
)  # fmt: skip
_METRICS_FORMAT = 1


def _metrics_file(path: Path) -> Path:
    return path.with_name(f"{path.stem}-fpdf{FPDF_VERSION}-m{_METRICS_FORMAT}.metrics")


def _save_metrics(font: TTFFont, path: Path) -> None:
    state = {k: getattr(font, k) for k in _METRICS}
    state["cw"] = dict(font.cw)
    state["desc"] = {k: getattr(font.desc, k) for k in _DESCRIPTOR}
    state["flags"] = font.desc.flags.value
    with suppress(OSError, ValueError):  # not saved: read from the font again next time
        _write_whole(_metrics_file(path), marshal.dumps(state))


def _cached_metrics(path: Path, key: str, style: str) -> TTFFont | None:
    """A TTFFont for `path` from its saved metrics, or None (none saved, or unreadable)."""
    from collections import defaultdict

    from fpdf.enums import FontDescriptorFlags, TextEmphasis
    from fpdf.fonts import PDFFontDescriptor

    try:
        state = marshal.loads(_metrics_file(path).read_bytes())
        font = TTFFont.__new__(TTFFont)
        for k in _METRICS:
            setattr(font, k, state[k])
        desc = state["desc"]
        font.desc = PDFFontDescriptor(**desc, flags=FontDescriptorFlags(state["flags"]))
        missing = desc["missing_width"]
        font.cw = defaultdict(lambda: missing, state["cw"])
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        return None
    if font.fontkey != key or not isinstance(font.cmap, dict) or not font.cmap:
        return None
    font.ttffile = path
    font.emphasis = TextEmphasis.coerce(style)
    return font


def _without_layout(path: Path) -> bytes:
    font = ttLib.TTFont(path, recalcTimestamp=False, lazy=True)
    for tag in _UNUSED_TABLES:
        if tag in font:
            del font[tag]
    cmap = font["cmap"]
    cmap.tables = [t for t in cmap.tables if t.platformID == 3] or cmap.tables
    out = BytesIO()
    font.save(out)
    return out.getvalue()


def _xmp(title: str, author: str, subject: str, creator: str, producer: str, when: str) -> str:
    def alt(text: str) -> str:
        return f'<rdf:Alt><rdf:li xml:lang="x-default">{escape(text)}</rdf:li></rdf:Alt>'

    return "\n".join(
        [
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
            ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
            '  <rdf:Description rdf:about=""',
            '    xmlns:dc="http://purl.org/dc/elements/1.1/"',
            '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
            '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">',
            "   <dc:format>application/pdf</dc:format>",
            f"   <dc:title>{alt(title)}</dc:title>",
            f"   <dc:creator><rdf:Seq><rdf:li>{escape(author)}</rdf:li></rdf:Seq></dc:creator>",
            f"   <dc:description>{alt(subject)}</dc:description>",
            f"   <dc:language><rdf:Bag><rdf:li>{LANGUAGE}</rdf:li></rdf:Bag></dc:language>",
            f"   <xmp:CreatorTool>{escape(creator)}</xmp:CreatorTool>",
            f"   <xmp:CreateDate>{when}</xmp:CreateDate>",
            f"   <xmp:ModifyDate>{when}</xmp:ModifyDate>",
            f"   <xmp:MetadataDate>{when}</xmp:MetadataDate>",
            f"   <pdf:Producer>{escape(producer)}</pdf:Producer>",
            "  </rdf:Description>",
            " </rdf:RDF>",
            "</x:xmpmeta>",
        ]
    )


def render_pdf(doc: Document, author: str, subject: str = "") -> bytes:
    pdf = _Pdf(format="letter", unit="mm")
    pdf.footer_text = doc.footer
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(True, margin=18)
    _font(pdf, "")
    _font(pdf, "B")
    _refuse_unprintable(doc, set(pdf.fonts[FAMILY.lower()].cmap))
    subject = subject or _subject(doc.title)
    now = datetime.now(UTC).replace(microsecond=0)
    pdf.set_title(doc.title)
    pdf.set_author(author)
    pdf.set_subject(subject)
    pdf.set_creator("medmassage")
    pdf.set_producer(f"fpdf2 {FPDF_VERSION}")
    pdf.set_lang(LANGUAGE)
    pdf.set_creation_date(now)
    pdf.set_xmp_metadata(
        _xmp(doc.title, author, subject, "medmassage", pdf.producer, now.isoformat())
    )
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)  # the title, not a file
    pdf.add_page()
    blocks = doc.blocks
    for i, block in enumerate(blocks):
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if isinstance(block, Text) and isinstance(following, Signature):
            # The last words stay on the page with the signature, never a signature alone.
            needed = _text_height(pdf, block) + _signature_height(following)
            if pdf.will_page_break(needed):
                pdf.add_page()
        if isinstance(block, Table):
            closing = blocks[i + 1 : i + 3]
            keep = 0.0
            if [type(b) for b in closing] == [Text, Signature]:
                # A statement and signature after a table keep with its last lines.
                keep = _text_height(pdf, closing[0]) + _signature_height(closing[1])
            _table(pdf, block, keep_with=keep)
        else:
            _DRAW[type(block)](pdf, block)
    pdf.pdf_version = max(pdf.pdf_version, "1.7")
    with warnings.catch_warnings():
        # A glyph missing from the font would be reported with the text it belongs to.
        warnings.simplefilter("ignore")
        return bytes(pdf.output(output_producer_class=_Output))


def _subject(title: str) -> str:
    kind = title.split(" — ")[0]
    return f"{kind} for an insurer, written by medmassage"


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


def _heading(pdf: _Pdf, text: str, keep_with: float = 20) -> None:
    """A section heading that never sits alone at the foot of a page."""
    if pdf.will_page_break(8 + keep_with):
        pdf.add_page()
    pdf.ln(2.5)
    pdf.set_font(FAMILY, "B", 10.5)
    pdf.set_text_color(*INK)
    with pdf.tagged("H2"):
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    with pdf.artifact():
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(1.5)


def _title(pdf: _Pdf, block: Title) -> None:
    pdf.set_font(FAMILY, "B", 15)
    pdf.set_text_color(*INK)
    with pdf.tagged("H1"):
        pdf.multi_cell(0, 7.5, block.text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9.5)
    pdf.set_text_color(*MUTED)
    with pdf.tagged("P"):
        pdf.cell(0, 5.5, block.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _group(pdf: _Pdf, x: float, y: float, w: float, title: str, pairs) -> float:
    """One labelled group at (x, y), `w` wide; returns the y where it ends."""
    label_w = 29
    pdf.set_xy(x, y)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.set_text_color(*INK)
    with pdf.tagged("H3"):
        pdf.cell(w, 5.5, title, new_x="LEFT", new_y="NEXT")
    for label, value in pairs:
        top = pdf.get_y()
        pdf.set_x(x)
        with pdf.tagged("P"):  # "Label value", read as one line
            pdf.set_font(FAMILY, size=8)
            pdf.set_text_color(*MUTED)
            pdf.cell(label_w, 4.4, label)
            pdf.set_font(FAMILY, size=8.8)
            pdf.set_text_color(*INK)
            pdf.set_xy(x + label_w, top)
            pdf.multi_cell(w - label_w, 4.4, value, align="L", new_x="LEFT", new_y="NEXT")
    return pdf.get_y()


def _fields(pdf: _Pdf, block: Fields) -> None:
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


def _flags(pdf: _Pdf, block: Flags) -> None:
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
    with pdf.tagged("H2"):
        pdf.cell(0, 7, "  ATTENTION", border="LTR", fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    text = "\n".join(f"• {item}" for item in block.items)
    with pdf.tagged("P"):
        pdf.multi_cell(
            0, 4.8, text, border="LRB", fill=True, align="L", padding=(0, 3, 2, 3),
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip
    pdf.set_fill_color(255, 255, 255)
    pdf.ln(1)


# --- tables -------------------------------------------------------------------------------------

TABLE_SIZE = 8.6  # pt
LINE_H = 4.6  # mm per line of a cell
PAD_X, PAD_Y = 1.2, 0.8


def _width(font: TTFFont, size_pt: float, k: float):
    """A fast string width (mm) for `font` at `size_pt`: the sum of the glyph advances, as
    fpdf2 measures unshaped text."""
    cw = font.cw
    scale = size_pt * 0.001 / k

    def width(text: str) -> float:
        return sum(cw[c] for c in map(ord, text)) * scale

    return width


def _wrap(text: str, room: float, width) -> list[str]:
    """`text` broken into lines no wider than `room`: at spaces, and inside a word too long
    for a line (a URL, a long code) where it must."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if width(candidate) <= room:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            while width(word) > room and len(word) > 1:  # break inside the word
                cut = len(word) - 1
                while cut > 1 and width(word[:cut]) > room:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


class _Grid:
    """Column geometry and the font measure of one table."""

    def __init__(self, pdf: _Pdf, block: Table) -> None:
        total = sum(block.widths)
        self.widths = [pdf.epw * w / total for w in block.widths]
        self.xs = [pdf.l_margin + sum(self.widths[:i]) for i in range(len(self.widths))]
        self.right = block.right
        self.regular = _width(pdf.fonts[FAMILY.lower()], TABLE_SIZE, pdf.k)
        self.bold = _width(pdf.fonts[FAMILY.lower() + "B"], TABLE_SIZE, pdf.k)

    def layout(self, cells: list[str], bold: bool) -> tuple[list[list[str]], float]:
        width = self.bold if bold else self.regular
        wrapped = [
            _wrap(text, w - 2 * PAD_X, width) for text, w in zip(cells, self.widths, strict=False)
        ]
        return wrapped, max(len(lines) for lines in wrapped) * LINE_H + 2 * PAD_Y


def _row(pdf: _Pdf, grid: _Grid, laid, height: float, role: str, row_elem, bold: bool) -> None:
    """One table row at the current y: fill and rules as artifacts, each cell tagged."""
    wrapped, top = laid, pdf.get_y()
    with pdf.artifact():
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.15)
        if role == "TH":
            pdf.set_fill_color(*HEADING_FILL)
        for x, w in zip(grid.xs, grid.widths, strict=True):
            pdf.rect(x, top, w, height, style="DF" if role == "TH" else "D")
    pdf.set_font(FAMILY, "B" if bold else "", TABLE_SIZE)
    pdf.set_text_color(*INK)
    pdf.set_fill_color(255, 255, 255)
    width = grid.bold if bold else grid.regular
    baseline = 0.5 * LINE_H + 0.3 * pdf.font_size
    for col, (x, w, lines) in enumerate(zip(grid.xs, grid.widths, wrapped, strict=True)):
        draw = (lambda: pdf.tagged(role, row_elem)) if row_elem is not None else pdf.artifact
        with draw():
            for n, line in enumerate(lines):
                if not line:
                    continue
                left = x + w - PAD_X - width(line) if col in grid.right else x + PAD_X
                pdf.text(left, top + PAD_Y + n * LINE_H + baseline, line)
    pdf.set_y(top + height)


def _note_height(pdf: _Pdf, block: Table) -> float:
    if not block.note:
        return 0.0
    pdf.set_font(FAMILY, size=7.5)
    return 1 + pdf.multi_cell(0, 3.8, block.note, dry_run=True, output="HEIGHT")


def _table(pdf: _Pdf, block: Table, keep_with: float = 0.0) -> None:
    """A table that breaks between rows, repeats its headings on each new page and keeps its
    last row with the totals, the note and `keep_with` mm of what follows (the closing
    statement and signature), so neither a note nor a signature starts a page alone."""
    grid = _Grid(pdf, block)
    head = grid.layout(block.headers, bold=True)
    rows = [grid.layout(row, bold=False) for row in block.rows]
    footer = grid.layout(block.footer, bold=True) if block.footer else None
    first = rows[0][1] if rows else 0
    _heading(pdf, block.title, keep_with=head[1] + first + 2)
    if not block.rows:
        pdf.set_font(FAMILY, size=9)
        pdf.set_text_color(*MUTED)
        with pdf.tagged("P"):
            pdf.cell(0, 5, "None recorded.", new_x="LMARGIN", new_y="NEXT")
        return
    table = pdf.tags.element("Table")
    _row(pdf, grid, *head, "TH", pdf.tags.element("TR", table), bold=True)
    tail = (footer[1] if footer else 0) + _note_height(pdf, block)
    room = pdf.h - pdf.b_margin - (pdf.t_margin + head[1])  # a fresh page, below the headings
    for i, (laid, height) in enumerate(rows):
        needed = height
        if i == len(rows) - 1:
            needed += tail + (keep_with if height + tail + keep_with <= room else 0)
        if pdf.will_page_break(needed):
            pdf.add_page()
            _row(pdf, grid, *head, "TH", None, bold=True)  # repeated: an artifact
        _row(pdf, grid, laid, height, "TD", pdf.tags.element("TR", table), bold=False)
    if footer:
        _row(pdf, grid, *footer, "TD", pdf.tags.element("TR", table), bold=True)
    if block.note:
        pdf.ln(1)
        pdf.set_font(FAMILY, size=7.5)
        pdf.set_text_color(*MUTED)
        with pdf.tagged("P"):
            pdf.multi_cell(0, 3.8, block.note, align="L", new_x="LMARGIN", new_y="NEXT")


# --- the pain chart -----------------------------------------------------------------------------


def _chart_alt(points: list[dict]) -> str:
    if not points:
        return "Pain chart: no visits."
    first, last = points[0], points[-1]
    inside = [p for p in points if p["in_period"]]
    period = (
        "all in the reporting period"
        if len(inside) == len(points)
        else f"{len(inside)} in the reporting period"
    )
    return (
        f"Line chart of pain (NPRS 0-10) before and after each of {len(points)} visits "
        f"({period}), {first['date']} to {last['date']}. Before the visit: {first['pain_pre']} "
        f"at visit {first['visit']}, {last['pain_pre']} at visit {last['visit']}. After the "
        f"visit: {first['pain_post']} at visit {first['visit']}, {last['pain_post']} at visit "
        f"{last['visit']}. Every value is in the table of visits."
    )


def _chart(pdf: _Pdf, block: Chart) -> None:
    height = 56
    _heading(pdf, block.title, keep_with=height + 2)
    points = block.points
    with pdf.tagged("Figure", alt=_chart_alt(points)):
        _plot(pdf, points, height)


def _plot(pdf: _Pdf, points: list[dict], height: float) -> None:
    left = pdf.l_margin + 9  # the frame of the plot
    right = pdf.l_margin + pdf.epw - 2
    top = pdf.get_y() + 9
    bottom = top + height - 18
    inset_x, inset_y = 2.5, 2.0  # markers stay inside the frame, off the axes
    width = right - left - 2 * inset_x
    n = len(points)

    def x_of(i: int) -> float:
        return left + inset_x + (width / 2 if n == 1 else i * width / (n - 1))

    def y_of(pain: float) -> float:
        return bottom - inset_y - pain * (bottom - top - inset_y) / 10

    inside = [i for i, p in enumerate(points) if p["in_period"]]
    shade = bool(inside) and len(inside) < n  # every visit in the period: nothing to mark off

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
    if shade:
        pdf.set_fill_color(*PERIOD_FILL)
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.1)
        pdf.rect(left + 122, legend_y + 0.5, 5, 3, style="DF")
        pdf.set_xy(left + 128, legend_y)
        pdf.cell(35, 4, "Reporting period")
    elif inside:
        pdf.set_xy(left + 122, legend_y)
        pdf.set_text_color(*MUTED)
        pdf.cell(40, 4, "All visits in the period")
        pdf.set_text_color(*INK)

    if shade:  # the visits of the period, half a step either side of their markers
        step = width / (n - 1)
        x1 = max(left, x_of(inside[0]) - step / 2)
        x2 = min(right, x_of(inside[-1]) + step / 2)
        pdf.set_fill_color(*PERIOD_FILL)
        pdf.rect(x1, top, x2 - x1, bottom - top, style="F")

    # Grid and axes.
    pdf.set_font(FAMILY, size=7)
    pdf.set_text_color(*MUTED)
    pdf.set_line_width(0.1)
    pdf.set_draw_color(210, 210, 210)
    for pain in range(0, 11, 2):
        y = y_of(pain)
        pdf.line(left, y, right, y)
        pdf.set_xy(left - 7, y - 1.8)
        pdf.cell(5.5, 3.6, str(pain), align="R")
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, top, left, bottom)
    pdf.line(left, bottom, right, bottom)
    for i in axis_ticks(n):  # every k-th visit, the first and last always: none crowd
        pdf.set_xy(x_of(i) - 4, bottom + 0.8)
        pdf.cell(8, 3.4, str(points[i]["visit"]), align="C")
    pdf.set_xy(left, bottom + 4.5)
    third = (right - left) / 3
    pdf.cell(third, 3.6, points[0]["date"] if points else "", align="L")
    pdf.cell(third, 3.6, "Visit number", align="C")
    pdf.cell(third, 3.6, points[-1]["date"] if n > 1 else "", align="R")

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


# --- the body diagram ---------------------------------------------------------------------------

BODY_SCALE = 0.235  # mm per bodymap unit: the figure 47 mm tall
BODY_TREATED = (150, 150, 150)  # a gray that prints: shading, not colour, marks a region treated
BODY_LINE = (110, 110, 110)
BODY_LEGEND_X = 72  # mm from the left margin: the legend and the lists
BODY_DASH = (1.0, 0.7)  # mm: the outline of a region ordered


def _body_diagram(pdf: _Pdf, block: BodyDiagram) -> None:
    """Front and back views (shapes from bodymap.py) tagged as one Figure with the regions in
    its alt text, a legend, and the regions listed beside them in words."""
    from medmassage.documents.bodymap import VIEW_H, alt_text
    from medmassage.documents.bodymap import lists as body_lists

    lists = body_lists(block.treated, block.ordered)
    room = pdf.epw - BODY_LEGEND_X
    pdf.set_font(FAMILY, size=8.4)
    listed = sum(
        pdf.multi_cell(room, 4.1, f"{k}: {v}", dry_run=True, output="HEIGHT") + 0.8
        for k, v in lists
    )
    height = max(VIEW_H * BODY_SCALE + 7, 20 + listed)
    _heading(pdf, block.title, keep_with=height + 2)
    top = pdf.get_y() + 1
    left = pdf.l_margin
    x, y = left + BODY_LEGEND_X, top
    with pdf.tagged("Figure", alt=alt_text(block.treated, block.ordered)):
        pdf.set_text_color(*INK)
        for view, cx, sides in (("front", left + 17, "RL"), ("back", left + 51, "LR")):
            pdf.set_font(FAMILY, "B", 8)
            pdf.set_xy(cx - 10, top)
            pdf.cell(20, 3.5, view.capitalize(), align="C")
            _body_view(pdf, view, cx, top + 5, set(block.treated), set(block.ordered))
            for side, dx in zip(sides, (-12.5, 9.5), strict=True):
                pdf.set_xy(cx + dx, top + 5 + 36 * BODY_SCALE)
                pdf.cell(3, 3.5, side, align="C")
        # The legend: a fill and an outline, so black-and-white print tells them apart.
        pdf.set_font(FAMILY, size=8)
        for label, fill, dashed in (
            ("Treated (shaded)", BODY_TREATED, False),
            ("Ordered (heavy dashed outline)", (255, 255, 255), True),
            ("Neither", (255, 255, 255), False),
        ):
            with pdf.local_context(stroke_cap_style="BUTT"):
                pdf.set_fill_color(*fill)
                pdf.set_line_width(0.5 if dashed else 0.18)
                pdf.set_draw_color(*(INK if dashed else BODY_LINE))
                if dashed:
                    pdf.set_dash_pattern(dash=BODY_DASH[0], gap=BODY_DASH[1])
                pdf.rect(x, y + 0.4, 6, 3.2, style="DF")
            pdf.set_xy(x + 8, y)
            pdf.cell(room - 8, 4, label)
            y += 4.8
    pdf.set_text_color(*INK)
    pdf.set_xy(x, y + 1.5)
    for label, value in lists:
        pdf.set_x(x)
        with pdf.tagged("P"):
            pdf.set_font(FAMILY, "B", 8.4)
            pdf.write(4.1, f"{label}: ")
            pdf.set_font(FAMILY, size=8.4)
            pdf.multi_cell(room - (pdf.get_x() - x), 4.1, value, align="L", new_x="LEFT",
                           new_y="NEXT")  # fmt: skip
        pdf.set_y(pdf.get_y() + 0.8)
    pdf.set_font(FAMILY, size=7.5)
    pdf.set_text_color(*MUTED)
    pdf.set_x(x)
    with pdf.tagged("P"):
        pdf.multi_cell(
            room, 3.8, "Left and right are the client's own: R and L mark them on each view.",
            align="L", new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip
    pdf.set_y(max(pdf.get_y(), top + height))


def _body_view(pdf: _Pdf, view: str, cx: float, y0: float, treated: set, ordered: set) -> None:
    """One view with its top centre at (cx, y0): every region's shape, gray when treated, then
    the heavy dashed outlines of those ordered on top (butt caps, or the dashes close up)."""
    from medmassage.documents.bodymap import shapes

    figure = [
        (s.region, [(cx + x * BODY_SCALE, y0 + y * BODY_SCALE) for x, y in s.points])
        for s in shapes(view)
    ]
    with pdf.local_context(stroke_cap_style="BUTT", stroke_join_style="ROUND"):
        pdf.set_line_width(0.18)
        pdf.set_draw_color(*BODY_LINE)
        for region, points in figure:
            pdf.set_fill_color(*(BODY_TREATED if region in treated else (255, 255, 255)))
            pdf.polygon(points, style="DF")
        pdf.set_line_width(0.5)
        pdf.set_draw_color(*INK)
        pdf.set_dash_pattern(dash=BODY_DASH[0], gap=BODY_DASH[1])
        for region, points in figure:
            if region in ordered:
                pdf.polygon(points, style="D")
        pdf.set_dash_pattern()


# --- text and signature ---------------------------------------------------------------------------


def _text_height(pdf: FPDF, block: Text) -> float:
    pdf.set_font(FAMILY, size=9.2)
    body = pdf.multi_cell(0, 4.7, block.body, align="L", dry_run=True, output="HEIGHT")
    return 12 + body + (4 if block.source else 0)


def _signature_height(block: Signature) -> float:
    return 16 + 4.5 * len(block.lines)


def _text(pdf: _Pdf, block: Text) -> None:
    _heading(pdf, block.title, keep_with=10)
    pdf.set_font(FAMILY, size=9.2)
    pdf.set_text_color(*INK)
    with pdf.tagged("P"):
        pdf.multi_cell(0, 4.7, block.body, align="L", new_x="LMARGIN", new_y="NEXT")
    if block.source:
        pdf.set_font(FAMILY, size=7.5)
        pdf.set_text_color(*MUTED)
        with pdf.tagged("P"):
            pdf.cell(0, 4, block.source, new_x="LMARGIN", new_y="NEXT")


def _signature(pdf: _Pdf, block: Signature) -> None:
    if pdf.will_page_break(_signature_height(block)):
        pdf.add_page()
    pdf.ln(11)
    y = pdf.get_y()
    with pdf.artifact():
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.3)
        pdf.line(pdf.l_margin, y, pdf.l_margin + 95, y)
        pdf.line(pdf.l_margin + 115, y, pdf.l_margin + 160, y)
    pdf.set_font(FAMILY, size=7.5)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(pdf.l_margin, y + 0.5)
    with pdf.tagged("P"):
        pdf.cell(95, 3.8, "Therapist signature")
    pdf.set_x(pdf.l_margin + 115)
    with pdf.tagged("P"):
        pdf.cell(45, 3.8, block.date_label, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(*INK)
    for line in block.lines:
        with pdf.tagged("P"):
            pdf.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")


_DRAW = {
    Title: _title,
    Fields: _fields,
    Flags: _flags,
    Chart: _chart,
    Text: _text,
    Signature: _signature,
    BodyDiagram: _body_diagram,
}
