"""The document renderers through the CLI: `summary` and `superbill` as HTML, Markdown, JSON, PDF.

User text must not become markup (HTML tags, Markdown table cells), JSON keeps its documented
keys, and the PDF keeps every row and every word of long content across pages.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

EVIL = "Ann <script>alert(1)</script> O'Neil & Co"
HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "section", "div",
    "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "ul", "li", "strong",
    "br", "footer", "svg", "rect", "line", "text", "polyline", "circle",
    "polygon",  # the body diagram's regions
}  # fmt: skip
FOOTER = re.compile(r"Page (\d+) of (\d+)\s*$")


def set_profile(cli) -> None:
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--tax-id", "91-1234567", "--fee", "97140=45", "--fee", "97124=38.50",
    )  # fmt: skip


def open_case(cli, client: str, *extra: str, rx_date: str = "2026-11-01", visits: str = "20"):
    cli(
        "case", "open", client, "--payer", "health", "--dx", "M54.2",
        "--referrer", "Alan Brooks, DC", "--rx-date", rx_date, "--rx-until", "2026-12-31",
        "--visits", visits, *extra,
    )  # fmt: skip


def log(cli, client: str, day: str, *extra: str, tech: str = "myofascial-release=30"):
    cli(
        "session", "log", client, "--date", day, "--pre", "7", "--post", "4",
        "--technique", tech, "--technique", "swedish=15", "--region", "neck", *extra,
    )  # fmt: skip


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def body_text(pages: list[str]) -> str:
    """All pages' text without the running footer lines (they sit between page breaks)."""
    return "\n".join(
        line for page in pages for line in page.splitlines() if not FOOTER.search(line)
    )


# --- 1. HTML escaping -------------------------------------------------------------------------


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def evil(cli):
    set_profile(cli)
    cli("client", "add", EVIL, "--dob", "1975-01-02")
    open_case(cli, "1", "--payer-name", "<i>Mutual</i> & Sons")
    log(
        cli, "1", "2026-11-04", "--assessment", "<b>x</b> <img src=x onerror=alert(2)>",
        "--plan", "Continue </p><script>bad()</script>",
    )  # fmt: skip
    return cli


@pytest.mark.parametrize("command", ["summary", "superbill"])
def test_html_escapes_everything_the_user_typed(evil, tmp_path, command):
    out = tmp_path / "doc.html"
    evil(command, "1", "-o", str(out), *(["--preview"] if command == "summary" else []))
    page = out.read_text(encoding="utf-8")
    assert page == evil(command, "1", "-f", "html").stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    parser = TagCollector()
    parser.feed(page)
    parser.close()
    assert parser.tags <= HTML_TAGS, parser.tags - HTML_TAGS
    assert not {"script", "b", "i", "img"} & parser.tags
    assert not [a for a in parser.attrs if a.startswith("on")]
    text = "".join(parser.text)
    assert EVIL in text  # shown as typed, once the entities are read
    assert "<i>Mutual</i> & Sons" in text
    if command == "summary":
        assert "<b>x</b> <img src=x onerror=alert(2)>" in text
        assert "Continue </p><script>bad()</script>" in text


# --- 2. Markdown tables -----------------------------------------------------------------------


def cells(line: str) -> int:
    """Unescaped `|` separators in a Markdown table line."""
    count, escaped = 0, False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            count += 1
    return count


def tables(markdown: str) -> dict[str, list[str]]:
    """Each table (consecutive lines starting with `|`) under its `## heading`."""
    found: dict[str, list[str]] = {}
    heading, current = "", None
    for line in markdown.splitlines():
        if line.startswith("## "):
            heading = line[3:]
        if line.startswith("|"):
            if current is None:
                current = found.setdefault(heading, [])
                assert not current, f"two tables under {heading!r}"
            current.append(line)
        else:
            current = None
    return found


@pytest.fixture
def pipes(cli):
    set_profile(cli)
    cli("client", "add", "Pat | *Star* Lee", "--dob", "1975-01-02")
    open_case(cli, "Pat", "--payer-name", "Mutual | *Co*")
    cli(
        "intake", "Pat", "--complaint", "neck | *pain*", "--pain", "7", "--region", "neck",
        "--date", "2026-11-02", "--goal", "Type *2 hours* \\ _daily_ | 2 h | 2026-12-20",
        "--psfs", "typing | mousing *fast*=3",
    )  # fmt: skip
    log(
        cli, "Pat", "2026-11-04",
        "--assessment", "| a | b |\n|---|---|\n* tight | traps *and* `scalenes`",
        "--plan", "# not a heading | - not a list",
    )  # fmt: skip
    log(cli, "Pat", "2026-11-06", "--sign")
    return cli


def test_markdown_summary_tables_survive_pipes_and_stars(pipes):
    md = pipes("summary", "Pat", "-f", "md").stdout
    found = tables(md)
    assert sorted(found) == sorted(
        [
            "Diagnoses (ICD-10-CM)",
            "Visits in the period (2)",
            "Techniques in the period",
            "Regions treated in the period",
            "Outcomes",
            "Functional goals",
            "Pain before and after each visit (NPRS 0–10)",
        ]
    )
    for title, rows in found.items():
        width = cells(rows[0])
        assert all(cells(r) == width for r in rows), (title, rows)
        assert re.fullmatch(r"\|(-+:?\|)+", rows[1]), (title, rows[1])
    visits = found["Visits in the period (2)"]
    assert cells(visits[0]) == 9 and len(visits) == 5  # header, rule, 2 visits, total
    assert [r.split("|")[2].strip() for r in visits[2:4]] == ["2026-11-04", "2026-11-06"]
    assert any("typing \\| mousing \\*fast\\*" in r for r in found["Outcomes"])
    assert any("Type \\*2 hours\\* \\\\ \\_daily\\_" in r for r in found["Functional goals"])
    # The assessment's own "table" and list stay text; the plan makes no heading.
    assert "\\| a \\| b \\|" in md
    assert not re.search(r"^#+ not a heading", md, re.M)


def test_markdown_superbill_services_table_keeps_its_columns(pipes):
    md = pipes("superbill", "Pat", "-f", "md").stdout
    found = tables(md)
    assert sorted(found) == ["Diagnoses (ICD-10-CM)", "Services"]
    services = found["Services"]
    assert len(services) == 2 + 4 + 1  # header, rule, two lines per visit, total
    assert {cells(r) for r in services} == {8}
    assert services[-1].startswith("| **Total** |") and "**257.00**" in services[-1]
    assert "Pat \\| \\*Star\\* Lee" in md and "Mutual \\| \\*Co\\*" in md


# --- 3. JSON contract -------------------------------------------------------------------------

SUMMARY_KEYS = {
    "document", "written", "period", "therapist", "client", "case", "diagnoses", "authorization",
    "authorizations", "visits", "totals", "outcomes", "goals", "pain_chart", "assessment",
    "assessment_from", "plan", "plan_from", "recommendation", "flags",
    "intake", "treatment", "objective", "objective_from", "home_program", "home_program_from",
    "note_sources",
}  # fmt: skip
SUPERBILL_KEYS = {
    "document", "written", "period", "provider", "client", "cases", "diagnoses", "lines", "total",
    "currency",
}  # fmt: skip
LINE_KEYS = {
    "date", "session_id", "case_id", "cpt", "description", "minutes", "units", "diagnosis_codes",
    "fee_cents", "amount_cents", "fee", "amount", "signed", "place_of_service", "modifiers",
}  # fmt: skip
VISIT_KEYS = {
    "visit", "session_id", "date", "minutes", "cpt", "units", "pain_pre", "pain_post", "relief",
    "signed", "flags", "authorization_id", "authorization_visit",
}  # fmt: skip
AUTHORIZATION_KEYS = {
    "id", "number", "prescriber", "prescriber_credentials", "prescriber_npi", "written",
    "valid_from", "valid_until", "visits_allowed", "frequency", "areas_ordered", "auth_number",
    "note", "visits_used",
}  # fmt: skip


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def test_json_documents_keep_their_keys_and_number_types(practice, tmp_path):
    set_profile(practice)
    log(practice, "Jane", "2026-11-03", "--sign")
    log(practice, "Jane", "2026-11-06", "--assessment", "Better", "--plan", "Same")
    summary = practice("summary", "Jane", "-f", "json").stdout
    assert summary == practice("summary", "Jane", "-f", "json").stdout  # stable
    s = json.loads(summary)
    assert set(s) == SUMMARY_KEYS
    assert s["document"] == "progress-summary"
    assert set(s["authorization"]) == {
        "visits_authorized", "visits_used", "visits_remaining", "id", "number", "state",
        "valid_from", "valid_until", "auth_number", "visits_on_claim",
    }  # fmt: skip
    assert set(s["totals"]) == {
        "visits", "minutes", "units", "units_by_cpt", "average_pain_pre", "average_pain_post",
        "average_relief",
    }  # fmt: skip
    counts = ("visits_authorized", "visits_used", "visits_remaining", "id", "number")
    assert all(is_int(s["authorization"][k]) for k in (*counts, "visits_on_claim"))
    assert [s["authorization"][k] for k in ("state", "valid_from", "valid_until")] == [
        "in force", "2026-11-01", "2026-12-31",
    ]  # fmt: skip
    assert s["authorization"]["auth_number"] is None
    assert [set(a) for a in s["authorizations"]] == [AUTHORIZATION_KEYS]
    assert all(is_int(s["authorizations"][0][k]) for k in ("id", "number", "visits_allowed"))
    assert is_int(s["authorizations"][0]["visits_used"])
    assert [is_int(s["totals"][k]) for k in ("visits", "minutes", "units")] == [True] * 3
    assert s["totals"]["units_by_cpt"] == {"97124": 2, "97140": 4}
    assert isinstance(s["totals"]["average_pain_pre"], float)
    for v in s["visits"]:
        assert set(v) == VISIT_KEYS
        assert all(is_int(v[k]) for k in ("visit", "session_id", "minutes", "units", "pain_pre"))
        assert is_int(v["authorization_id"]) and is_int(v["authorization_visit"])
        assert isinstance(v["signed"], bool)
        assert all(is_int(c["units"]) and is_int(c["minutes"]) for c in v["cpt"])
    assert [v["signed"] for v in s["visits"]] == [True, False]
    assert all(is_int(p["pain_pre"]) for p in s["pain_chart"])

    bill = practice("superbill", "Jane", "-f", "json").stdout
    out = tmp_path / "bill.json"
    practice("superbill", "Jane", "-o", str(out))
    assert out.read_text(encoding="utf-8") == bill
    b = json.loads(bill)
    assert set(b) == SUPERBILL_KEYS
    assert set(b["total"]) == {"visits", "units", "amount_cents", "amount"}
    assert set(b["period"]) == {"from", "to"}
    for line in b["lines"]:
        assert set(line) == LINE_KEYS
        assert all(is_int(line[k]) for k in ("session_id", "case_id", "minutes", "units"))
        assert is_int(line["fee_cents"]) and is_int(line["amount_cents"])
        assert isinstance(line["fee"], str) and isinstance(line["amount"], str)
    assert is_int(b["total"]["amount_cents"]) and b["total"]["amount_cents"] == 25700


# --- 4. a long history as PDF -----------------------------------------------------------------

VISIT_DAYS = [(date(2026, 8, 1) + timedelta(days=3 * i)).isoformat() for i in range(40)]


@pytest.fixture
def long_case(cli):
    set_profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    open_case(cli, "Jane", "--frequency", "3x/week", rx_date="2026-08-01", visits="60")
    for day in VISIT_DAYS:
        log(cli, "Jane", day, "--sign", tech="myofascial-release=15")
    return cli


def check_pages(pages: list[str]) -> None:
    n = len(pages)
    for k, page in enumerate(pages, start=1):
        assert f"Page {k} of {n}" in page, f"page {k}:\n{page}"


def region(text: str, start: str, end: str) -> str:
    first = text.index(start)
    return text[first : text.index(end, first)]


def test_summary_of_40_visits_pages_cleanly(long_case, tmp_path):
    out = tmp_path / "summary.pdf"
    long_case("summary", "Jane", "-o", str(out), "--preview")
    pages = pdf_pages(out)
    assert 2 <= len(pages) <= 4
    check_pages(pages)
    visits = region(body_text(pages), "Visits in the period (40)", "\nOutcomes")
    for day in VISIT_DAYS:
        assert visits.count(day) == 1, day
    assert "Total 40 visits 1200" in " ".join(visits.split())
    for k, page in enumerate(pages, start=1):  # the headings repeat on every page of rows
        if re.search(r"^\d+ 2026-\d\d-\d\d 30 ", page, re.M):
            assert "Visit Date Minutes CPT × units" in page, f"page {k} rows without headings"
    for i in range(1, 41):  # each visit number heads exactly one row
        assert len(re.findall(rf"^{i} 2026-", visits, re.M)) == 1, i


def test_superbill_of_40_visits_pages_cleanly(long_case, tmp_path):
    out = tmp_path / "bill.pdf"
    long_case("superbill", "Jane", "--from", "2026-08-01", "-o", str(out))
    pages = pdf_pages(out)
    assert 2 <= len(pages) <= 4
    check_pages(pages)
    services = region(body_text(pages), "\nServices", "Amounts in USD")
    for day in VISIT_DAYS:
        assert services.count(day) == 2, day  # 97140 and 97124 lines
    # 40 × (45.00 + 38.50) = 3,340.00; 80 units
    assert "Total 40 visits 80 3,340.00" in " ".join(services.split())


# --- 5. long text wraps -----------------------------------------------------------------------

LONG = (
    "Zoë reports the left upper trapezius and levator scapulae are less guarded after "
    "sustained pressure; cervical rotation improved from 50° to 65° — see "
    "https://example.org/very/long/unbroken/path/segment/that/cannot/wrap/at/a/space/0123456789 "
)


def long_assessment() -> str:
    text = ""
    i = 0
    while len(text) < 1500:
        text += f"({i}) " + LONG
        i += 1
    return text[:1500].rstrip() + " END."


@pytest.mark.parametrize("where", ["note", "option"])
def test_long_assessment_wraps_and_is_printed_whole(practice, tmp_path, where):
    set_profile(practice)
    text = long_assessment()
    assert len(text) >= 1500
    extra = ("--assessment", text) if where == "note" else ()
    log(practice, "Jane", "2026-11-03", *extra)
    out = tmp_path / "summary.pdf"
    given = ("--assessment", text) if where == "option" else ()
    practice("summary", "Jane", "-o", str(out), "--preview", *given)
    pages = pdf_pages(out)
    check_pages(pages)
    body = body_text(pages)
    shown = region(body, "\nAssessment\n", "\nPlan\n")
    # The words all come back, in order, with nothing cut; only the line breaks moved.
    assert squash(text) in squash(shown)
    assert max(len(line) for line in shown.splitlines()) < 160  # it wrapped


# --- product bugs found while writing these tests ----------------------------------------------


def wc_client(cli, name: str, claim: str, rx_until: str = "2026-12-10") -> None:
    cli("client", "add", name, "--dob", "1980-04-02")
    cli(
        "case", "open", "1", "--payer", "workers-comp", "--injury-date", "2026-10-01",
        "--claim", claim, "--dx", "M54.2", "--referrer", "Alan Brooks, DC",
        "--rx-date", "2026-10-01", "--rx-until", rx_until, "--visits", "60",
    )  # fmt: skip


def text_runs(page) -> list[tuple[str, float]]:
    """(text, x in pt) of each piece of text a page draws, in drawing order."""
    runs: list[tuple[str, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((text, tm[4]))

    page.extract_text(visitor_text=visit)
    return runs


def test_pdf_footer_never_runs_over_the_page_number(cli, tmp_path):
    from fpdf import FPDF

    from medmassage.documents.pdf import FONTS

    set_profile(cli)
    wc_client(
        cli, "Maria Guadalupe Fernández-Castillo de la Torre", "WC-2026-0018833-0042-REOPENED-2"
    )
    log(cli, "1", "2026-11-20")
    out = tmp_path / "summary.pdf"
    cli("summary", "1", "-o", str(out), "--preview")
    measure = FPDF()
    measure.add_font("F", "", FONTS / "DejaVuSansCondensed.ttf")
    measure.set_font("F", size=7.5)
    for page in PdfReader(out).pages:
        runs = text_runs(page)
        (footer, x), (number, number_x) = runs[-2], runs[-1]
        assert "Fernández-Castillo" in footer and number.strip().startswith("Page")
        right = x + measure.get_string_width(footer) * 72 / 25.4  # mm → pt
        assert right <= number_x, f"footer ends at {right:.0f} pt, page number at {number_x:.0f}"


def rect_bottoms(page) -> list[float]:
    """Lower edges (pt from the page bottom) of the rectangles a page draws (`x y w h re`)."""
    data = page.get_contents().get_data().decode("latin-1")
    found = re.findall(r"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re\b", data)
    return [min(float(y), float(y) + float(h)) for _, y, _, h in found]


def test_pdf_attention_box_stays_inside_the_page(cli, tmp_path):
    set_profile(cli)
    wc_client(cli, "Jane Doe", "C1", rx_until="2026-10-31")
    for i in range(12):  # 12 visits past the Rx, each with its own long --allow-expired reason
        reason = f"R{i} " + "adjuster approved by phone, paperwork pending; " * 12
        log(cli, "1", f"2026-11-{i + 2:02d}", "--allow-expired", reason)
    out = tmp_path / "summary.pdf"
    cli("summary", "1", "--from", "2026-11-01", "-o", str(out), "--preview")
    pages = PdfReader(out).pages
    assert all(f"R{i} adjuster" in body_text(pdf_pages(out)) for i in range(12))
    bottom_margin = 18 * 72 / 25.4 - 1  # 18 mm, as pdf.py sets it
    for k, page in enumerate(pages, start=1):
        low = min(rect_bottoms(page), default=bottom_margin)
        assert low >= bottom_margin, f"page {k}: a box reaches {low:.0f} pt from the bottom"


# --- 6. PDF metadata, tagging, fonts, and other people's validators ----------------------------


def test_pdf_carries_metadata_language_and_xmp(practice, tmp_path):
    set_profile(practice)
    log(practice, "Jane", "2026-11-03", "--sign")
    out = tmp_path / "summary.pdf"
    practice("summary", "Jane", "-o", str(out), "--preview")
    reader = PdfReader(out)
    assert reader.pdf_header == "%PDF-1.7"
    meta = reader.metadata
    assert meta.title.startswith("Progress summary — Jane Doe")
    assert meta.author == "Dana Whitfield"
    assert meta.subject and "Progress summary" in meta.subject
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-US"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    xmp = reader.xmp_metadata
    assert xmp is not None
    assert xmp.dc_title["x-default"] == meta.title
    assert xmp.dc_creator == ["Dana Whitfield"]
    assert xmp.dc_language == ["en-US"]
    assert xmp.dc_description["x-default"] == meta.subject


def struct_roles(reader: PdfReader) -> list[str]:
    roles: list[str] = []

    def walk(node):
        node = node.get_object()
        if "/S" in node:
            roles.append(node["/S"])
        kids = node.get("/K")
        if kids is None:
            return
        for kid in kids if isinstance(kids, list) else [kids]:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, dict) and kid.get("/Type") != "/MCR":
                walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return roles


def test_pdf_is_tagged_for_screen_readers(practice, tmp_path):
    set_profile(practice)
    log(practice, "Jane", "2026-11-03", "--sign")
    out = tmp_path / "summary.pdf"
    practice("summary", "Jane", "-o", str(out), "--preview")
    reader = PdfReader(out)
    roles = struct_roles(reader)
    assert roles[0] == "/Document" and roles.count("/H1") == 1
    for role in ("/H2", "/H3", "/P", "/Table", "/TR", "/TH", "/TD", "/Figure"):
        assert role in roles, role
    figure = [
        e for e in reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"][1]
        if e.get_object()["/S"] == "/Figure"
    ]  # fmt: skip
    assert not figure or "/Alt" in figure[0].get_object()
    for page in reader.pages:  # every page has its marked content, the footer as an artifact
        data = page.get_contents().get_data().decode("latin-1")
        assert "/StructParents" in page and "/Artifact <</Type /Pagination>> BDC" in data
        assert data.count(" BDC") == data.count("EMC")


def test_pdf_font_subsets_have_distinct_tags(practice, tmp_path):
    set_profile(practice)
    log(practice, "Jane", "2026-11-03", "--sign")
    out = tmp_path / "summary.pdf"
    practice("summary", "Jane", "-o", str(out), "--preview")
    names = set()
    for page in PdfReader(out).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            names.add(font["/BaseFont"])
            for descendant in font.get("/DescendantFonts", []):
                descendant = descendant.get_object()
                assert descendant["/BaseFont"] == font["/BaseFont"]
                assert descendant["/FontDescriptor"]["/FontName"] == font["/BaseFont"]
    assert len(names) == 2  # regular and bold
    tags = {name.split("+")[0] for name in names}
    assert len(tags) == 2, names
    assert all(re.fullmatch(r"/?[A-Z]{6}", tag) for tag in tags), tags


def test_pdfs_pass_qpdf_check(long_case, tmp_path):
    import shutil
    import subprocess

    if not shutil.which("qpdf"):
        pytest.skip("qpdf is not installed")
    summary, bill = tmp_path / "summary.pdf", tmp_path / "bill.pdf"
    long_case("summary", "Jane", "-o", str(summary), "--preview")
    long_case("superbill", "Jane", "--from", "2026-08-01", "-o", str(bill))
    for path in (summary, bill):
        done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "No syntax or stream encoding errors" in done.stdout


def rendered_pages(doc) -> list[str]:
    import io

    from medmassage.documents.pdf import render_pdf

    return [p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(doc, "Dana"))).pages]


@pytest.mark.parametrize("rows", range(34, 52))
def test_table_note_and_closing_signature_keep_with_the_last_rows(rows):
    """Whatever the number of rows, the note under a table is on a page with some of its rows,
    and a closing statement and signature are on the page of the table's last lines."""
    from medmassage.documents.layout import Document, Signature, Table, Text, Title

    table = Table(
        "Services", ["Row", "Text"], [[f"row{i}", "text"] for i in range(rows)], [1, 4],
        footer=["Total", f"{rows} rows"], note="NOTE under the table.",
    )  # fmt: skip
    closing = [Text("Statement", "I certify STATEMENT."), Signature(["Dana"], "Date")]
    for blocks in ([table], [table, *closing]):
        pages = rendered_pages(Document("T", "footer", [Title("T", "sub"), *blocks]))
        note = next(p for p in pages if "NOTE under" in p)
        assert f"row{rows - 1}" in note and "Total" in note
        if len(blocks) > 1:
            assert "STATEMENT" in note and "Therapist signature" in note


def test_chart_shades_the_period_only_when_it_is_part_of_the_chart():
    from medmassage.documents.layout import Chart, Document

    def chart(flags):
        points = [
            {"visit": i + 1, "date": f"2026-11-{i + 1:02d}", "pain_pre": 6, "pain_post": 0,
             "in_period": flag}
            for i, flag in enumerate(flags)
        ]  # fmt: skip
        return rendered_pages(Document("T", "f", [Chart("Pain", points)]))[0]

    every = chart([True] * 5)
    assert "All visits in the period" in every and "Reporting period" not in every
    assert "Reporting period" in chart([False, False, True, True, True])
