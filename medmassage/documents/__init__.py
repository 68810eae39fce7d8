"""Insurer documents (progress summary, superbill, chart notes) as PDF, HTML, Markdown or JSON.

`render(kind, data, fmt)` takes the JSON dict of a Summary, Superbill or ChartNotes (kind
"summary", "superbill", "notes") and returns the bytes to write. JSON is the dict itself; the
other formats go through layout.py (notes_layout.py for the chart notes), so they all carry the
same facts. fpdf2 is imported only when a PDF is asked for.
"""

from __future__ import annotations

import json

from medmassage.documents.layout import Document, summary_document, superbill_document

DOCUMENT_FORMATS = ("pdf", "md", "html", "json")
SUFFIXES = {"pdf": ".pdf", "md": ".md", "html": ".html", "json": ".json"}


def layout(kind: str, data: dict) -> Document:
    if kind == "notes":
        from medmassage.documents.notes_layout import notes_document

        return notes_document(data)
    return summary_document(data) if kind == "summary" else superbill_document(data)


def render(kind: str, data: dict, fmt: str) -> bytes:
    if fmt == "json":
        from medmassage.rules.textsafety import (
            json_visible,  # the same data, nothing raw on a screen
        )

        return (json_visible(json.dumps(data, indent=2, ensure_ascii=False)) + "\n").encode()
    doc = layout(kind, data)
    if fmt == "pdf":
        from medmassage.documents.pdf import render_pdf

        who = data.get("therapist") or data.get("provider") or {}
        return render_pdf(doc, who.get("name") or "")
    if fmt == "html":
        from medmassage.documents.html import render_html

        return render_html(doc).encode()
    from medmassage.documents.markdown import render_markdown

    return render_markdown(doc).encode()
