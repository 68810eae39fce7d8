"""The README and --help stay true: every command documented, every example format real."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from medmassage.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: typer.Typer, prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for info in group.registered_commands:
        name = info.name or info.callback.__name__
        found.append((f"{prefix}{name}".strip(), info))
    for sub in group.registered_groups:
        found.extend(_commands(sub.typer_instance, f"{prefix}{sub.name} "))
    return found


COMMANDS = _commands(app)


def test_the_command_tree_is_what_the_readme_documents():
    names = {name for name, _ in COMMANDS}
    expected = {
        "profile set", "profile show",
        "client add", "client list", "client show", "client edit", "client discharge",
        "case open", "case list", "case show", "case renew", "case edit", "case close",
        "intake record", "intake edit", "measure add",
        "session log", "session edit", "session list", "session show", "session sign",
        "session amend", "session void", "session search",
        "template add", "template list", "template show", "template remove",
        "phrase add", "phrase list", "phrase remove",
        "progress", "summary", "superbill", "notes", "goal add", "goal list", "goal set",
        "report monthly", "report period", "report due", "export all", "export fhir",
        "import sessions",
        "catalog techniques", "catalog regions", "catalog conditions",
        "catalog add-technique", "db path", "db check", "db reindex", "db backup", "db restore",
        "db encrypt", "db decrypt", "db rekey", "demo", "completion",
        "claim create", "claim show", "claim list", "claim void", "claim print", "claim export",
    }  # fmt: skip
    assert names == expected


def test_every_command_has_help_text(cli):
    root = typer.main.get_command(app)
    for name, _ in COMMANDS:
        result = cli(*name.split(), "--help")
        assert re.search(r"Usage: medmassage " + re.escape(name), result.stdout), name
        command, ctx = root, typer.Context(root)
        for word in name.split():
            command = command.get_command(ctx, word)
        assert (command.help or "").strip(), f"`{name}` has no help text"
        assert command.help.split("\n")[0].strip() in " ".join(result.stdout.split()), name


# A group's default subcommand is documented, and typed, without its name.
TYPED = {"intake record": "intake"}


def test_every_command_appears_in_the_readme_command_table_with_an_example():
    for command, _ in COMMANDS:
        name = TYPED.get(command, command)
        assert f"| `{name}" in README, f"README's command table lacks `{name}`"
        assert re.search(rf"^medmassage {re.escape(name)}( |$)", README, re.M), (
            f"README has no example of `{name}`"
        )


def _readme_json_block() -> dict:
    block = README.split("`progress CLIENT -f json`:", 1)[1]
    block = block.split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block)


def _shape(value: object) -> object:
    """Keys all the way down (first element of lists), to compare structure, not values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_readme_progress_json_example_has_the_real_keys(tmp_path):
    db = tmp_path / "demo.db"
    from tests.conftest import Cli

    cli = Cli(db)
    cli("demo", "--db", str(db))
    real = json.loads(cli("progress", "Maria", "-f", "json").stdout)
    documented = _readme_json_block()
    assert set(documented) == set(real)
    for key in ("client", "case", "pain", "authorization", "progress_report"):
        assert set(_shape(documented[key])) == set(_shape(real[key])), key
    assert set(documented["visits"][0]) == set(real["visits"][0])
    assert set(documented["measures"][0]) == set(real["measures"][0])
    assert set(documented["goals"][0]) == set(real["goals"][0])


def _readme_json_after(marker: str) -> dict:
    block = README.split(marker, 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block)


def test_readme_summary_and_superbill_json_examples_have_the_real_keys(tmp_path):
    from tests.conftest import Cli

    db = tmp_path / "demo.db"
    cli = Cli(db)
    cli("demo", "--db", str(db))
    for command, marker in (
        (("summary", "James", "-f", "json"), "`summary CLIENT -f json`"),
        (
            ("superbill", "Maria", "--from", "2026-10-01", "-f", "json"),
            "`superbill CLIENT -f json`",
        ),
    ):
        real = json.loads(cli(*command).stdout)
        documented = _readme_json_after(marker)
        assert list(documented) == list(real), command[0]
        for key, value in real.items():
            if isinstance(value, dict):
                assert set(_shape(documented[key])) == set(_shape(value)), (command[0], key)
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                assert set(documented[key][0]) == set(value[0]), (command[0], key)


def test_readme_report_keys_are_real(tmp_path):
    from tests.conftest import Cli

    db = tmp_path / "demo.db"
    cli = Cli(db)
    cli("demo", "--db", str(db))
    header = cli("report", "monthly", "-f", "csv").stdout.splitlines()[0]
    assert f"`{header}`" in README
    monthly = json.loads(cli("report", "monthly", "-f", "json").stdout)
    assert list(_readme_json_after("`report monthly -f json`")) == list(monthly)
    due = json.loads(cli("report", "due", "-f", "json").stdout)
    documented = _readme_json_after("`report due -f json`")
    assert due and list(documented[0]) == list(due[0])
    assert f"`{','.join(due[0])}`" in README


def test_readme_progress_csv_columns_are_real(practice):
    practice(
        "session", "log", "Jane", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck", "--date", "2026-11-20",
    )  # fmt: skip
    header = practice("progress", "Jane", "-f", "csv").stdout.splitlines()[0]
    assert f"`{header}`" in README


def test_readme_listing_keys_are_real(practice):
    practice(
        "session", "log", "Jane", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck", "--date", "2026-11-20",
    )  # fmt: skip
    for command, label in (("client", "clients"), ("case", "cases"), ("session", "sessions")):
        rows = json.loads(practice(command, "list", "-f", "json").stdout)
        documented = re.search(rf"- {label}: `([^`]+)`", README).group(1)
        assert list(rows[0]) == [k.strip() for k in documented.split(",")], command


def test_readme_examples_run_in_order_on_a_new_database(tmp_path, monkeypatch):
    """Every `medmassage …` line of the README's example block, run as written."""
    import shlex

    from tests.conftest import Cli, count_rows

    block = README.split("One example of each", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [ln for ln in block.splitlines() if ln.startswith("medmassage ")]
    assert len(lines) >= len(COMMANDS)
    monkeypatch.chdir(tmp_path)
    import sys

    writes = tmp_path / "editor.py"  # types a note under the template's first heading
    writes.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('# Subjective\\n', '# Subjective\\nBack 6/10.\\n'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {writes}")
    (tmp_path / "notes.md").write_text("# Subjective\nBack 5/10.\n# Plan\nWeekly.\n")
    csv_example = README.split("```csv", 1)[1].split("```", 1)[0].lstrip("\n")
    (tmp_path / "old-system.csv").write_text(csv_example, encoding="utf-8")
    cli = Cli(tmp_path / "practice.db")
    for line in lines:
        args = shlex.split(line)[1:]
        if args[0] == "demo":
            args = ["demo", "--db", str(tmp_path / "demo.db")]
        cli(*args)
    counts = count_rows(tmp_path / "practice.db")
    assert counts["session"] == 3 and counts["addendum"] == 1  # 2 logged, 1 imported
    assert (tmp_path / "carter-progress.json").exists()
    assert (tmp_path / "carter-summary.pdf").read_bytes().startswith(b"%PDF")
    assert "97140" in (tmp_path / "carter-superbill.md").read_text()
    assert counts["progress_report"] == 1
    exported = json.loads((tmp_path / "practice-export.json").read_text(encoding="utf-8"))
    assert len(exported["tables"]["session"]) == 3
    assert json.loads((tmp_path / "carter-fhir.json").read_text())["resourceType"] == "Bundle"
    assert oct((tmp_path / "carter-progress.json").stat().st_mode & 0o777) == "0o600"


def test_readme_day_walkthrough_runs(tmp_path, monkeypatch):
    """The "A day with medmassage" block, continuation lines joined, comments dropped."""
    import shlex

    from tests.conftest import Cli

    block = README.split("## A day with medmassage", 1)[1].split("```sh", 1)[1]
    block = block.split("```", 1)[0].replace("\\\n", " ")
    lines = [re.sub(r"\s+#.*$", "", ln) for ln in block.splitlines() if ln.startswith("medmassage")]
    assert len(lines) >= 6
    monkeypatch.chdir(tmp_path)
    cli = Cli(tmp_path / "practice.db")
    outputs = {line.split()[1]: cli(*shlex.split(line)[1:]) for line in lines}
    assert outputs["client"].stdout.strip() == "1"  # client add prints the new id
    assert "visit 1 of 12" in outputs["session"].stdout
    assert "MCID" in outputs["progress"].stdout
    assert (tmp_path / "maria-progress.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "maria-superbill.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "claim-1.pdf").read_bytes().startswith(b"%PDF")
    assert "Marked submitted today: claim(s) 1" in outputs["claim"].stderr


def test_readme_export_example_shows_what_an_export_writes(practice, tmp_path):
    """The `export all` example's format, version and schema_version are those of a real export
    (schema_version is the database's schema version: it moves with every migration)."""
    out = tmp_path / "practice.json"
    done = practice("export", "all", "-f", "json", "-o", str(out))
    real = json.loads(out.read_text(encoding="utf-8"))
    section = README.split("## Export: your data", 1)[1].split("\n## ", 1)[0]
    example = re.search(r'`(\{"format": "medmassage-export".*?)`', section, re.S).group(1)
    documented = {
        key: json.loads(value)
        for key, value in re.findall(r'"(format|version|schema_version)": ("[^"]*"|\d+)', example)
    }
    assert documented == {k: real[k] for k in ("format", "version", "schema_version")}
    assert [k for k in real if f'"{k}":' not in example] == []  # every top-level key shown
    assert f"(schema {real['schema_version']})" in done.stderr
    # No other README example shows another schema version.
    shown = {int(n) for n in re.findall(r'"schema_version": (\d+)', README)}
    assert shown == {real["schema_version"]}
