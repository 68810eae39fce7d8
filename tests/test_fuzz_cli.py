"""Hypothesis drives `session log` with hostile input through the real CLI (notes §5.2):
every run either saves a session (exit 0) or refuses with one line (exit 2) and writes nothing;
never a traceback, and the database stays consistent."""

from __future__ import annotations

import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import count_rows

pain = st.one_of(
    st.integers(-3, 14).map(str),
    st.sampled_from(["five", "5.0", "+5", "٣", "", " 7 ", "0" * 40, "1e1"]),
    st.text(max_size=6),
)
minutes = st.one_of(st.integers(-5, 600).map(str), st.text(max_size=5))
technique = st.builds(
    lambda name, m: f"{name}={m}",
    st.sampled_from(["swedish", "myofascial-release", "hot-cold-pack", "myofascial", "", "SW"]),
    minutes,
) | st.text(max_size=20)
region = st.sampled_from(["neck", "shoulder-both", "shoulder", "nek", "lower-back", ""]) | st.text(
    max_size=12
)
note = st.text(max_size=200)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pre=pain,
    post=pain,
    techniques=st.lists(technique, min_size=1, max_size=3),
    regions=st.lists(region, min_size=1, max_size=2),
    subjective=note,
)
def test_session_log_saves_or_refuses_cleanly(
    practice, db_path, pre, post, techniques, regions, subjective
):
    before = count_rows(db_path)
    args = ["session", "log", "Jane", "--pre", pre, "--post", post, "--subjective", subjective]
    for t in techniques:
        args += ["--technique", t]
    for r in regions:
        args += ["--region", r]
    result = practice(*args, ok=False)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.exit_code in (0, 2), output
    after = count_rows(db_path)
    if result.exit_code == 2:
        assert after == before
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    else:
        assert after["session"] == before["session"] + 1
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
