"""The package's layers (README "How the code is laid out"): an import never points up a layer,
and only the command line draws with Rich or parses with Typer. Read from the source with ast, so
lazy imports inside functions count too."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "medmassage"

# layer → the layers (and shared modules) it may import from
ALLOWED = {
    "rules": {"rules", "errors", "paths"},
    "store": {"store", "rules", "errors", "paths"},
    "record": {"record", "store", "rules", "errors", "paths"},
    "documents": {"documents", "record", "store", "rules", "errors", "paths"},
    "exchange": {"exchange", "record", "store", "rules", "errors", "paths"},
    "claims": {"claims", "documents", "record", "store", "rules", "errors", "paths"},
}
DRAWING = {"typer", "rich", "click"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) > 1:
            yield parts[0], path


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = (
                [node.module]
                if node.module != "medmassage"
                else [f"medmassage.{a.name}" for a in node.names]
            )
            yield from ((n, node.lineno) for n in names)
        elif isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names)


def test_every_module_lives_in_a_layer():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "errors.py", "paths.py"]
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert set(folders) <= set(ALLOWED) | {"cli"}, folders


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_import_points_up_a_layer(layer):
    wrong = []
    for found_layer, path in _modules():
        if found_layer != layer:
            continue
        for name, line in _imports(path):
            parts = name.split(".")
            if parts[0] in DRAWING or (
                parts[0] == "medmassage" and len(parts) > 1 and parts[1] not in ALLOWED[layer]
            ):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_shared_modules_import_nothing_of_the_layers():
    for name in ("errors.py", "paths.py"):
        imported = [n for n, _ in _imports(PACKAGE / name) if n.startswith("medmassage.")]
        assert imported == [], (name, imported)
