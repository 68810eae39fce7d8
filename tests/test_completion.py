"""Shell completion (issue 14 item 5): the scripts, and the answers the shell gets back.

Each answer is asked the way the installed script asks it: a fresh `python -m medmassage` with
`_MEDMASSAGE_COMPLETE=<shell>_complete` and the words typed so far in COMP_WORDS/COMP_CWORD.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import query


def _ask(db: Path, line: str, shell: str = "bash", extra_env: dict | None = None):
    """Candidates for the last word of `line` (a trailing space: a new, empty word)."""
    words = line.split()
    current = len(words) if line.endswith(" ") else len(words) - 1
    env = {**os.environ, "MEDMASSAGE_DB": str(db), "COMP_WORDS": line}
    env["_MEDMASSAGE_COMPLETE"] = f"{shell}_complete"
    if shell == "fish":  # fish sends the partial word itself, not its index
        env["COMP_CWORD"] = "" if line.endswith(" ") else words[-1]
    else:
        env["COMP_CWORD"] = str(current)
    env.update(extra_env or {})
    done = subprocess.run(
        [sys.executable, "-m", "medmassage"], capture_output=True, text=True, env=env, timeout=60
    )
    return done


def _values(db: Path, line: str, shell: str = "bash") -> list[str]:
    done = _ask(db, line, shell)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = [x for x in done.stdout.split("\n") if x]
    if shell == "zsh":  # type, value, help: three lines per candidate
        return lines[1::3]
    return [x.split(",", 1)[1].split("\t")[0] for x in lines]


@pytest.fixture
def clinic(practice, db_path):
    practice("client", "add", "Maria Alvarez", "--dob", "1984-03-12")
    practice(
        "case", "open", "Maria", "--payer", "auto-pip", "--payer-name", "Evergreen",
        "--claim", "PIP-1", "--injury-date", "2026-10-18", "--dx", "S13.4XXD",
        "--referrer", "Alan Brooks, DC",
        "--referrer-npi", "1987654328", "--rx-date", "2026-11-01", "--rx-until",
        "2026-12-31", "--visits", "8", "--frequency", "2x/week", "--area", "neck",
    )  # fmt: skip
    for day, sign in (("2026-11-20", True), ("2026-11-24", False)):
        practice(
            "session", "log", "Jane", "--date", day, "--pre", "6", "--post", "3",
            "--technique", "swedish=30", "--region", "neck", *(["--sign"] if sign else []),
        )  # fmt: skip
    return db_path


def test_commands_and_subcommands(clinic):
    assert _values(clinic, "medmassage se") == ["session"]
    assert "completion" in _values(clinic, "medmassage ")
    assert set(_values(clinic, "medmassage session l")) == {"log", "list"}


def test_client_names_by_any_word_and_ids(clinic):
    # bash inserts what it gets: the space in a name comes escaped, so it stays one argument
    assert _values(clinic, "medmassage session log alv") == ["Maria\\ Alvarez"]
    assert _values(clinic, "medmassage session log alv", "zsh") == ["Maria Alvarez"]
    assert _values(clinic, "medmassage session log alv", "fish") == ["Maria Alvarez"]
    assert _values(clinic, "medmassage progress 2") == ["2"]
    done = _ask(clinic, "medmassage progress 2", "fish")
    assert done.stdout.strip() == "plain,2\tMaria Alvarez"


def test_case_ids_of_the_client_on_the_line(clinic):
    assert _values(clinic, "medmassage summary Maria --case ") == ["2"]
    assert _values(clinic, "medmassage summary 1 --case ") == ["1"]
    assert sorted(_values(clinic, "medmassage summary --case ")) == ["1", "2"]


def test_session_ids_drafts_first_for_sign(clinic):
    ids = [r["id"] for r in query(clinic, "SELECT id, status FROM session ORDER BY id")]
    draft = query(clinic, "SELECT id FROM session WHERE status = 'draft'")[0]["id"]
    assert _values(clinic, "medmassage session sign ")[0] == str(draft)
    assert _values(clinic, "medmassage session show ") == [str(i) for i in reversed(ids)]


def test_techniques_regions_payers_conditions(clinic):
    assert _values(clinic, "medmassage session log Jane --technique myo") == ["myofascial-release="]
    assert _values(clinic, "medmassage session log Jane --technique swedish=") == []
    assert _values(clinic, "medmassage session log Jane --region shoulder") == [
        "shoulder-left",
        "shoulder-right",
    ]
    assert _values(clinic, "medmassage case open Jane --area lower") == ["lower-back"]
    assert "workers-comp" in _values(clinic, "medmassage case open Jane --payer ")
    assert _values(clinic, "medmassage intake Jane --condition whip") == ["whiplash"]
    assert _values(clinic, "medmassage profile set --fee 9714") == ["97140="]


def test_a_techique_of_the_practice_is_offered(practice, db_path):
    practice("catalog", "add-technique", "cupping", "--cpt", "97140")
    assert _values(db_path, "medmassage session log Jane --technique cup") == ["cupping="]


def test_every_parameter_naming_records_completes():
    """A parameter renamed in one command would silently lose its completion: every `client`,
    `case`, `region`… parameter in the tree gets candidates, and every name in the table exists."""
    import typer.main
    from typer._click import Context

    from medmassage.cli import build_app
    from medmassage.cli.completion import KINDS, _attach

    cli = typer.main.get_command(build_app())
    ctx = Context(cli)
    _attach(cli, ctx)
    seen: set[str] = set()

    def walk(command):
        for param in command.params:
            if param.name in KINDS:
                seen.add(param.name)
                assert param._custom_shell_complete is not None, param.name
        for name in getattr(command, "list_commands", lambda c: [])(ctx):
            walk(command.get_command(ctx, name))

    walk(cli)
    assert seen == set(KINDS)


def test_no_database_or_a_foreign_file_offers_nothing_and_changes_nothing(tmp_path):
    missing = tmp_path / "none.db"
    assert _values(missing, "medmassage session log ") == []
    assert not missing.exists()
    foreign = tmp_path / "other.db"
    foreign.write_bytes(b"not a database at all" * 100)
    before = foreign.read_bytes()
    assert _values(foreign, "medmassage session log ") == []
    assert foreign.read_bytes() == before
    assert not Path(f"{foreign}-wal").exists()


def test_a_broken_line_never_prints_a_traceback(clinic):
    done = _ask(clinic, "medmassage session log 'unterminated")
    assert done.returncode == 0
    assert "Traceback" not in done.stdout + done.stderr
    done = _ask(clinic, "medmassage ", extra_env={"_MEDMASSAGE_COMPLETE": "tcsh_complete"})
    assert done.returncode == 1
    assert done.stdout == "" and "Traceback" not in done.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_script_for_each_shell(sh, shell):
    done = sh("completion", shell)
    assert done.returncode == 0
    assert "_MEDMASSAGE_COMPLETE" in done.stdout
    assert f"{shell}_complete" in done.stdout
    assert "install:" in done.stderr  # how to install goes to stderr, the script to stdout
    program = shutil.which(shell)
    if program and shell != "fish":
        check = subprocess.run([program, "-n"], input=done.stdout, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    elif program:
        check = subprocess.run(
            [program, "--no-execute"], input=done.stdout, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr


def test_unknown_shell_is_one_line_exit_2(sh):
    done = sh("completion", "tcsh")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: shell: 'tcsh' — one of bash, zsh, fish"]


def test_bash_script_fills_compreply_in_a_real_bash(clinic, sh, tmp_path):
    """The script itself, sourced into bash, asks medmassage and fills COMPREPLY."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    script = tmp_path / "medmassage.bash"
    script.write_text(sh("completion", "bash").stdout)
    launcher = tmp_path / "bin" / "medmassage"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m medmassage "$@"\n')
    launcher.chmod(0o755)
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(medmassage session log alv); COMP_CWORD=3\n"
        "_medmassage_completion medmassage 2>/dev/null\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "MEDMASSAGE_DB": str(clinic)}
    env["PATH"] = f"{launcher.parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run([bash, "--norc", "-c", probe], capture_output=True, text=True, env=env)
    assert done.stdout.splitlines() == ["Maria\\ Alvarez"], done.stderr


def test_claim_ids_drafts_first_to_send_submitted_first_to_replace(clinic):
    conn = sqlite3.connect(clinic)
    columns = "INSERT INTO claim (id, case_id, status, data, created, submitted, submitted_by)"
    conn.execute(
        f"{columns} VALUES (1, 1, 'submitted', '{{}}', '2026-11-21', '2026-11-21', 'print')"
    )
    conn.execute("INSERT INTO claim (id, case_id, data, created) VALUES (2, 1, '{}', '2026-11-25')")
    conn.execute(f"{columns} VALUES (3, 1, 'submitted', '{{}}', '2026-11-26', '2026-11-26', 'x12')")
    conn.commit()
    conn.close()
    assert _values(clinic, "medmassage claim show ") == ["3", "2", "1"]
    assert _values(clinic, "medmassage claim print ") == ["2", "3", "1"]
    assert _values(clinic, "medmassage claim export 2 ") == ["2", "3", "1"]
    assert _values(clinic, "medmassage claim create Maria --replaces ") == ["3", "1", "2"]
    done = _ask(clinic, "medmassage claim show 2", "fish")
    assert done.stdout.strip() == "plain,2\t2026-11-25 Jane Doe (draft)"
