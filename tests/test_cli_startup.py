"""The console entry point builds only the command it is about to run (start-up speed, SPEC §9).
These tests prove the narrowed app is the same command as in the full tree."""

from __future__ import annotations

import pytest
import typer

from medmassage.cli import COMMANDS, _command_path, build_app
from tests.conftest import run_subprocess


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["session", "log", "Maria", "--pre", "3"], ("session", "log")),
        (["--db", "x.db", "session", "log", "Maria"], ("session", "log")),
        (["--db=x.db", "client", "list"], ("client", "list")),
        (["progress", "Maria", "--all"], ("progress", "Maria")),
        (["session", "--help"], ("session", None)),
        (["--help"], (None, None)),
        ([], (None, None)),
        (["sesion", "log"], (None, None)),  # a typo: the whole tree, for Click's suggestion
        (["--version"], (None, None)),
    ],
)
def test_command_path(argv, expected):
    assert _command_path(argv) == expected


def _params(app: typer.Typer, path: list[str]) -> list[str]:
    command = typer.main.get_command(app)
    ctx = typer.Context(command)
    for word in path:
        command = command.get_command(ctx, word)  # type: ignore[attr-defined]
        assert command is not None, path
    return sorted(p.name for p in command.params)


def _all_paths() -> list[list[str]]:
    full = typer.main.get_command(build_app())
    ctx = typer.Context(full)
    paths = []
    for name in COMMANDS:
        command = full.get_command(ctx, name)
        subs = getattr(command, "commands", None)
        paths += [[name, sub] for sub in subs] if subs else [[name]]
    return paths


@pytest.mark.parametrize("path", _all_paths(), ids=" ".join)
def test_narrowed_app_has_the_same_command(path):
    narrowed = build_app(path[0], path[1] if len(path) > 1 else None)
    assert _params(narrowed, path) == _params(build_app(), path)


def test_entry_point_runs_a_narrowed_command_and_reports_typos(db_path):
    env_db = ["--db", str(db_path)]
    ok = run_subprocess(*env_db, "client", "add", "Jane Doe")
    assert ok.returncode == 0 and ok.stdout.strip() == "1"
    typo = run_subprocess(*env_db, "client", "lst")
    assert typo.returncode == 2
    assert "lst" in typo.stderr and len(typo.stderr.strip().splitlines()) == 1
