"""The HTML documents' heading outline: one h1, and no level skipped (h1 → h2 → h3), SPEC §10.

A screen reader lists a page by its headings; a skipped level (h1 → h3) reads as a missing
section. The summary and the superbill are rendered through the CLI, for a long case and for
every active client of the demo practice, and read back with the standard library's parser.
"""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from medmassage.documents import html
from tests.conftest import Cli, query
from tests.test_document_formats import VISIT_DAYS, log, open_case, set_profile


class Outline(HTMLParser):
    """The page's headings in order, as (level, text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self._open: int | None = None

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self._open = int(tag[1])
            self.headings.append((self._open, ""))

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag):
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def outline(page: str) -> list[tuple[int, str]]:
    parser = Outline()
    parser.feed(page)
    parser.close()
    return parser.headings


def skipped_levels(headings: list[tuple[int, str]]) -> list[str]:
    """Each heading more than one level below the one before it (the first must be h1)."""
    problems, previous = [], 0
    for level, text in headings:
        if level > previous + 1:
            problems.append(f"h{previous} → h{level} ({text!r})")
        previous = level
    return problems


def check_outline(page: str) -> list[tuple[int, str]]:
    headings = outline(page)
    assert headings, "no headings"
    assert [lvl for lvl, _ in headings].count(1) == 1, headings
    assert headings[0][0] == 1, headings
    assert skipped_levels(headings) == [], headings
    return headings


def render(cli: Cli, tmp_path: Path, command: str, client: str) -> str:
    out = tmp_path / f"{command}-{client}.html"
    extra = ["--preview"] if command == "summary" else []
    cli(command, client, *extra, "-o", str(out))
    page = out.read_text(encoding="utf-8")
    assert page == cli(command, client, *extra, "-f", "html").stdout
    return page


@pytest.fixture
def long_case(cli):
    set_profile(cli)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    open_case(cli, "Jane", "--frequency", "3x/week", rx_date="2026-08-01", visits="60")
    for day in VISIT_DAYS[-12:]:
        log(cli, "Jane", day, "--sign", tech="myofascial-release=15")
    return cli


def test_summary_outline_has_one_h1_and_skips_no_level(long_case, tmp_path):
    headings = check_outline(render(long_case, tmp_path, "summary", "Jane"))
    assert headings[0][1].startswith("Progress Summary")
    # The provider and client groups were the h3s under an h1: now sections like the rest.
    assert {(2, "Provider"), (2, "Client"), (2, "Assessment")} <= set(headings)


def test_superbill_outline_has_one_h1_and_skips_no_level(long_case, tmp_path):
    headings = check_outline(render(long_case, tmp_path, "superbill", "Jane"))
    assert headings[0][1].startswith("Superbill")
    assert {(2, "Provider"), (2, "Client"), (2, "Services"), (2, "Statement")} <= set(headings)


@pytest.mark.parametrize("command", ["summary", "superbill"])
def test_every_demo_document_has_a_correct_outline(tmp_path, command):
    """The demo practice: several payers, flags, goals, authorizations, drafts and addenda."""
    path = tmp_path / "demo.db"
    cli = Cli(path)
    built = cli.runner.invoke(cli.app, ["demo", "--db", str(path)], catch_exceptions=False)
    assert built.exit_code == 0, built.stderr
    clients = [r["id"] for r in query(path, "SELECT id FROM client WHERE status = 'active'")]
    assert len(clients) >= 4
    for client in clients:
        check_outline(render(cli, tmp_path, command, str(client)))


def test_the_outline_check_catches_a_skipped_level():
    """The checker itself: the page as it was (h1 then h3) fails it."""
    assert skipped_levels([(1, "Superbill"), (3, "Provider"), (2, "Services")]) == [
        "h1 → h3 ('Provider')"
    ]
    assert skipped_levels([(1, "T"), (2, "Visit 1"), (3, "Subjective"), (2, "Visit 2")]) == []


def test_html_headings_are_drawn_by_one_function():
    """A new block renderer must use `heading` (and so the outline rule), not its own <hN>."""
    source = inspect.getsource(html)
    own = [m.group(0) for m in re.finditer(r"<h[1-6]\b[^>]*>", source)]
    assert own == [], own
    assert html.heading("Services") == "<h2>Services</h2>"
    assert html.heading("A & B", html.PART) == "<h3>A &amp; B</h3>"
    with pytest.raises(ValueError):
        html.heading("Too deep", 4)
