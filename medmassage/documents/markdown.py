"""Draw a Document as Markdown (GitHub tables). The chart becomes a small table of pain before
and after each visit, since Markdown has no pictures of its own."""

from __future__ import annotations

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
)
from medmassage.rules.textsafety import visible


def _esc(text: str) -> str:
    """Cell text that cannot break the table or start Markdown markup, nor carry a bidi
    override or an invisible character raw (`summary CLIENT` prints this to the terminal)."""
    text = " ".join(visible(text).split())
    for ch in "\\|*_`[]<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _para(text: str) -> str:
    lines = [_esc(line) for line in text.splitlines()]
    # A note line starting with # or - would become a heading or a list item.
    lines = ["\\" + line if line[:1] in "#-+>=" and line else line for line in lines]
    return "  \n".join(lines) or "—"


def render_markdown(doc: Document) -> str:
    parts = [_DRAW[type(block)](block) for block in doc.blocks]
    parts.append(f"---\n\n{_esc(doc.footer)}")
    return "\n\n".join(parts) + "\n"


def _title(block: Title) -> str:
    return f"# {_esc(block.text)}\n\n{_esc(block.subtitle)}"


def _fields(block: Fields) -> str:
    out = []
    for title, pairs in block.groups:
        out.append(f"## {_esc(title)}\n")
        out.extend(f"- **{_esc(k)}:** {_esc(v)}" for k, v in pairs)
        out.append("")
    return "\n".join(out).rstrip()


def _flags(block: Flags) -> str:
    return "> **Attention**\n>\n" + "\n".join(f"> - {_esc(item)}" for item in block.items)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(_esc(c) for c in cells) + " |"


def _table(block: Table) -> str:
    out = [f"## {_esc(block.title)}", ""]
    if not block.rows:
        out.append("None recorded.")
        return "\n".join(out)
    out.append(_row(block.headers))
    out.append(
        "|"
        + "|".join("---:" if i in block.right else "---" for i in range(len(block.headers)))
        + "|"
    )
    out.extend(_row(r) for r in block.rows)
    if block.footer:
        out.append("| " + " | ".join(f"**{_esc(c)}**" if c else "" for c in block.footer) + " |")
    if block.note:
        out += ["", f"_{_esc(block.note)}_"]
    return "\n".join(out)


def _chart(block: Chart) -> str:
    rows = [
        [
            str(p["visit"]),
            p["date"],
            str(p["pain_pre"]),
            str(p["pain_post"]),
            "yes" if p["in_period"] else "",
        ]
        for p in block.points
    ]
    return _table(
        Table(
            block.title,
            ["Visit", "Date", "Pain before", "Pain after", "In period"],
            rows,
            [1, 1, 1, 1, 1],
            right=frozenset({0, 2, 3}),
        )
    )


def _body_diagram(block: BodyDiagram) -> str:
    """Markdown has no pictures of its own: the diagram's regions as a list, in words."""
    from medmassage.documents.bodymap import lists, names

    items = [
        ("Regions treated", names(block.treated)),
        ("Ordered", names(block.ordered, "no areas named")),
        *lists(block.treated, block.ordered),
    ]
    return f"## {_esc(block.title)}\n\n" + "\n".join(
        f"- **{_esc(k)}:** {_esc(v)}" for k, v in items
    )


def _text(block: Text) -> str:
    out = f"## {_esc(block.title)}\n\n{_para(block.body)}"
    if block.source:
        out += f"\n\n_{_esc(block.source)}_"
    return out


def _signature(block: Signature) -> str:
    lines = "  \n".join(_esc(line) for line in block.lines)
    line = "_" * 30
    return f"Signature: {line}  {_esc(block.date_label)}: {line[:12]}\n\n{lines}"


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
