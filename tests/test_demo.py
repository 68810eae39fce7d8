"""`medmassage demo` (SPEC §2): a throwaway practice and a progress table, never the real file."""

from __future__ import annotations

import os
import re
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import count_rows, query


def demo(*args: str):
    from medmassage.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_demo_builds_a_practice_and_shows_maria(tmp_path):
    target = tmp_path / "new" / "demo.db"
    result = demo("demo", "--db", str(target))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[0].startswith("Maria Alvarez — case 1 · auto-pip")
    visit_rows = re.findall(r"^\s*(\d+)\s+#(\d) (\d)/8\s+(\d{4}-\d{2}-\d{2})\s", out, re.M)
    assert [int(n) for n, *_ in visit_rows] == list(range(1, 11))
    assert [(int(a), int(p)) for _, a, p, _ in visit_rows] == [
        *((1, p) for p in range(1, 9)),
        (2, 1),
        (2, 2),
    ]
    assert re.search(r"^Baseline pain\s+7/10 \(intake\)$", out, re.M)
    assert re.search(r"^Current pain\s+3/10", out, re.M)
    # A re-authorization after the first 8 visits: the claim runs on under it.
    assert re.search(
        r"^Visits\s+10 on the claim; 2 of 8 authorized under renewal 2 of .* \(6 remaining\)$",
        out,
        re.M,
    )
    assert re.search(r"^Authorization 2 .* \(auth # EMA-PA-20871\) — in force$", out, re.M)
    assert f"Demo practice written to {target}" in result.stderr

    counts = count_rows(target)
    assert counts["client"] >= 5
    assert counts["session"] >= 20
    assert counts["intake"] >= 2
    assert counts["addendum"] >= 1
    payers = {r["payer_type"] for r in query(target, "SELECT DISTINCT payer_type FROM care_case")}
    assert len(payers) >= 3
    assert {"workers-comp", "health"} <= payers
    statuses = {
        r["status"]: r["n"]
        for r in query(target, "SELECT status, count(*) AS n FROM session GROUP BY status")
    }
    assert statuses.get("signed", 0) >= 1
    assert sum(n for s, n in statuses.items() if s != "signed") >= 1  # drafts or voids too
    assert query(target, "SELECT count(*) AS n FROM client WHERE status = 'discharged'")[0]["n"]


def test_demo_with_the_global_db_option(tmp_path):
    target = tmp_path / "global.db"
    result = demo("--db", str(target), "demo")
    assert result.exit_code == 0, result.stderr
    assert "Maria Alvarez" in result.stdout
    assert count_rows(target)["client"] >= 5


def test_demo_refuses_a_database_that_holds_clients(cli, db_path):
    cli("client", "add", "Real Client", "--dob", "1970-01-01")
    before = count_rows(db_path)
    result = demo("demo", "--db", str(db_path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "already holds a practice" in result.stderr
    assert "Traceback" not in result.stderr
    assert count_rows(db_path) == before
    assert [r["name"] for r in query(db_path, "SELECT name FROM client")] == ["Real Client"]


def test_demo_refusal_names_the_file(cli, db_path):
    """The message should say which file holds clients, not call the database '(missing)'."""
    cli("client", "add", "Real Client")
    result = demo("demo", "--db", str(db_path))
    assert result.exit_code == 2
    assert str(db_path) in result.stderr
    assert "(missing)" not in result.stderr


def test_demo_does_not_overwrite_a_real_profile(cli, db_path):
    """A therapist who has set up the profile (and no clients yet) must not lose it to the demo."""
    cli("profile", "set", "--name", "Robin Real", "--credentials", "LMT", "--npi", "1234567893")
    result = demo("demo", "--db", str(db_path))
    assert result.exit_code == 2
    assert query(db_path, "SELECT name FROM profile")[0]["name"] == "Robin Real"
    assert query(db_path, "SELECT count(*) AS n FROM client")[0]["n"] == 0


def test_demo_never_writes_to_medmassage_db(sh, tmp_path):
    real = tmp_path / "real" / "practice.db"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, MEDMASSAGE_DB=str(real), TMPDIR=str(scratch))
    done = sh("demo", env=env)
    assert done.returncode == 0, done.stderr
    assert not real.exists()
    assert not real.parent.exists()
    match = re.search(r"Demo practice written to (\S+)", done.stderr)
    assert match, done.stderr
    written = Path(match.group(1))
    assert written.is_relative_to(scratch)
    assert written.exists()
    assert count_rows(written)["client"] >= 5
    assert "Maria Alvarez" in done.stdout
