"""The filters `session list` and `session search` share, in a module of their own so that
search does not load the session rules to build a WHERE clause."""

from __future__ import annotations

from datetime import date


def session_filters(
    client_id: int | None, case_id: int | None, start: date | None, end: date | None
) -> tuple[list[str], list[object]]:
    """WHERE terms and their parameters for sessions `s` of cases `k`: by client, case and
    date (session list and session search alike)."""
    where: list[str] = []
    params: list[object] = []
    if client_id is not None:
        where.append("k.client_id = ?")
        params.append(client_id)
    if case_id is not None:
        where.append("s.case_id = ?")
        params.append(case_id)
    if start is not None:
        where.append("s.date >= ?")
        params.append(start.isoformat())
    if end is not None:
        where.append("s.date <= ?")
        params.append(end.isoformat())
    return where, params
