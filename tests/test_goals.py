"""Functional goals: add, list, set status — and the status reaches the progress summary."""

from __future__ import annotations

import json

from tests.conftest import count_rows, query


def test_goal_add_prints_the_id_and_list_shows_it(practice):
    result = practice("goal", "add", "Jane", "Work at the desk 2 hours | 120 min | 2026-12-20")
    goal_id = int(result.stdout.strip())
    rows = json.loads(practice("goal", "list", "Jane", "-f", "json").stdout)
    assert rows == [
        {
            "id": goal_id,
            "text": "Work at the desk 2 hours",
            "target": "120 min",
            "target_date": "2026-12-20",
            "status": "progressing",
        }
    ]


def test_goal_set_changes_the_status_and_audits_it(practice, db_path):
    goal_id = practice("goal", "add", "Jane", "Sleep through the night").stdout.strip()
    result = practice("goal", "set", goal_id, "--status", "Met")
    assert "progressing → met" in result.stderr
    assert query(db_path, "SELECT status FROM goal WHERE id = ?", (goal_id,))[0][0] == "met"
    actions = [
        tuple(r) for r in query(db_path, "SELECT action, entity FROM audit WHERE entity = 'goal'")
    ]
    assert actions == [("add", "goal"), ("status", "goal")]
    practice("goal", "set", goal_id, "--status", "not-met")
    assert query(db_path, "SELECT status FROM goal WHERE id = ?", (goal_id,))[0][0] == "not-met"


def test_goal_status_is_printed_on_the_summary(practice):
    goal_id = practice("goal", "add", "Jane", "Turn head fully | full rotation").stdout.strip()
    practice(
        "session", "log", "Jane", "--date", "2026-11-20", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck", "--sign",
    )  # fmt: skip
    practice("goal", "set", goal_id, "--status", "met")
    data = json.loads(practice("summary", "Jane", "-f", "json").stdout)
    assert data["goals"] == [
        {"text": "Turn head fully", "target": "full rotation", "target_date": None, "status": "met"}
    ]
    md = practice("summary", "Jane", "-f", "md").stdout
    assert "| Turn head fully | full rotation | no date set | met |" in md  # missing, in words


def test_bad_goal_input_is_refused_and_writes_nothing(practice, db_path):
    goal_id = practice("goal", "add", "Jane", "Lift the toddler").stdout.strip()
    before = count_rows(db_path)
    for args, field in (
        (("goal", "set", goal_id, "--status", "done"), "status: 'done'"),
        (("goal", "set", "999", "--status", "met"), "goal: '999'"),
        (("goal", "set", "x1", "--status", "met"), "goal: 'x1'"),
        (("goal", "add", "Jane", " | 10 | 2026-12-01"), "goal:"),
        (("goal", "add", "Jane", "Walk | 1 km | someday"), "goal date: 'someday'"),
        (("goal", "add", "Nobody", "Walk"), "client: 'Nobody'"),
    ):
        result = practice(*args, ok=False)
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1 and field in result.stderr, result.stderr
    assert count_rows(db_path) == before
