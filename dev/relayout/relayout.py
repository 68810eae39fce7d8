"""One-off for issue 15 (run by dev/relayout/run.sh): lay medmassage/ out by layer.

python relayout.py ROOT          (idempotent only on a fresh tree; run once)
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve()
PKG = ROOT / "medmassage"

# old top-level module → new dotted module (under medmassage.)
MOVES = {
    # store: the file, its schema, the audit chain, digests, backup, encryption
    "db": "store.db",
    "migrations": "store.migrations",
    "audit": "store.audit",
    "records": "store.digests",
    "check_worker": "store.check_worker",
    "backup": "store.backup",
    "crypto": "store.crypto",
    "manifest": "store.manifest",
    "facts": "store.fingerprint",
    "recovery": "store.recovery",
    # record: operations on the record
    "clients": "record.clients",
    "cases": "record.cases",
    "authorizations": "record.authorizations",
    "intake": "record.intake",
    "sessions": "record.sessions",
    "goals": "record.goals",
    "profile": "record.profile",
    "demo": "record.demo",
    "completions": "record.completions",
    "notetemplates": "record.notetemplates",
    "phrases": "record.phrases",
    "search": "record.search",
    # rules: pure rules and catalogs
    "billing": "rules.units",
    "progress": "rules.progress",
    "catalog": "rules.catalog",
    "icd": "rules.icd",
    "validate": "rules.validate",
    "dates": "rules.dates",
    "coverage": "rules.coverage",
    "textsafety": "rules.textsafety",
    # documents: the data of each document (drawing is in documents/ already)
    "summary": "documents.summary",
    "superbill": "documents.superbill",
    "chartnotes": "documents.chart_notes",
    "chart": "documents.progress_report",
    "reports": "documents.reports",
    # exchange: data in and out
    "export": "exchange.export",
    "importing": "exchange.import_sessions",
    "fhir": "exchange.fhir",
    # cli: terminal rendering
    "views": "cli.progress_view",
    "render": "cli.render",
}

# Top-level definitions that leave their module: (old module, first symbol, last symbol or None for
# "to the end of the file", or a list of symbols) → new module.
SPLITS = [
    ("audit", ("range", "verify_record", None), "store.checkup"),
    ("crypto", ("range", "Converted", None), "store.encryption"),
    (
        "render",
        (
            "list",
            [
                "USER_PATH_ERRORS",
                "SQLITE_MAGIC",
                "WAL_MAGICS",
                "JOURNAL_MAGIC",
                "SHM_VERSION",
                "SIDE_SUFFIXES",
                "ALLOWED",
                "BINARY_PAGES",
                "DATABASE_KINDS",
                "_content_kind",
                "_head",
                "_database_beside",
                "output_target",
                "_stage",
                "_place",
                "write_file",
                "staged_write",
                "path_error",
                "fsync_folder",
                "write_output",
            ],
        ),
        "store.files",
    ),
    ("db", ("list", ["special_kind", "OPENED", "is_open_database"]), "store.files"),
    ("views", ("list", ["RX_FLAG_WORDS", "visit_flag_words"]), "chart"),
]

DOCSTRINGS = {
    "store.checkup": '''"""`db check`: every check it runs over the database and the files beside it — the audit
chain (store/audit.py), every record's content against its chained digest (store/digests.py, in
a second process at scale: store/check_worker.py), the protective triggers by their SQL text,
the anchor, SQLite's own integrity and foreign-key checks, and file modes. Also one record on its
own (`session show ID --verify`).
"""
''',
    "store.encryption": '''"""Encrypting, decrypting and re-keying a database file (`db encrypt/decrypt/rekey`): a
verified copy under the new key swapped in for the old file, with the plaintext scrubbed. The key
handling and opening of encrypted files is store/crypto.py; this module builds on it, on db.py
and backup.py.
"""
''',
    "store.files": '''"""Files the tool writes for the user, safely: `-o` targets (never a database, its WAL/SHM
or journal, a device, FIFO or socket; staged beside the target and moved in place, removed when
the command fails), fsync of folders, and the databases this process has open (checked by stat()
only, never opened, so no POSIX lock is dropped). Imports nothing else of medmassage but errors,
so every layer can use it.
"""
''',
}


PACKAGE_DOCS = {
    "store": '''"""The database file and what keeps it safe: the connection and its settings, migrations,
transactions, the keyed audit chain and record digests, `db check`, backup and restore,
encryption, and the files written for the user. Knows tables, not clinical meaning; imports
nothing from record/, documents/, exchange/ or cli/.
"""
''',
    "record": '''"""Operations on the record: clients, cases and authorizations, intake and measures,
sessions, goals, the therapist's profile, note templates and phrases, search, and the demo
practice. Uses store/ to write and rules/ to decide; never imports documents/, exchange/ or cli/.
"""
''',
    "rules": '''"""The rules, as pure functions and data: units (the 8-minute rule), progress and MCID, which
authorization covers a visit, the catalogs (techniques, regions, conditions), ICD-10-CM, input
validation, dates and periods, text safety. Imports nothing from the other layers (only
medmassage.errors and medmassage.paths).
"""
''',
    "exchange": '''"""Data in and out of the practice: `export all` (JSON/CSV), `import sessions` (CSV from
another system) and the FHIR R4 / US Core bundle. Reads through record/ and store/.
"""
''',
}


def run(*args, cwd=ROOT, check=True):
    return subprocess.run(args, cwd=cwd, check=check, text=True, capture_output=True)


def node_span(lines: list[str], node) -> tuple[int, int]:
    """0-based [start, end) line span of a top-level node with decorators and the comment
    lines right above it."""
    start = node.lineno
    if getattr(node, "decorator_list", None):
        start = min(start, *(d.lineno for d in node.decorator_list))
    start -= 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start, node.end_lineno


def names_of(node) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def split(old: str, how, new: str) -> list[str]:
    src_path = PKG / f"{old}.py"
    text = src_path.read_text()
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    body = tree.body
    spans = []
    if how[0] == "range":
        first = next(i for i, n in enumerate(body) if how[1] in names_of(n))
        s, _ = node_span(lines, body[first])
        spans.append((s, len(lines)))
        moved_names = {nm for n in body[first:] for nm in names_of(n)}
    else:
        moved_names = set(how[1])
        for n in body:
            if set(names_of(n)) & moved_names:
                spans.append(node_span(lines, n))
        found = {nm for n in body for nm in names_of(n)} & moved_names
        missing = moved_names - found
        assert not missing, (old, missing)
    spans.sort()
    moved = "".join("".join(lines[s:e]) + "\n\n" for s, e in spans)
    keep = []
    pos = 0
    for s, e in spans:
        keep.append("".join(lines[pos:s]))
        pos = e
    keep.append("".join(lines[pos:]))
    remaining = re.sub(r"\n{4,}", "\n\n\n", "".join(keep)).rstrip() + "\n"
    # imports the moved code may need: the source's top-level imports (ruff drops the unused),
    # plus the source's own remaining names it uses.
    imports = [
        "".join(lines[n.lineno - 1 : n.end_lineno]) for n in body if isinstance(n, (ast.Import, ast.ImportFrom))
    ]
    rem_tree = ast.parse(remaining)
    rem_names = {nm for n in rem_tree.body for nm in names_of(n)}
    used = {n.id for n in ast.walk(ast.parse(moved)) if isinstance(n, ast.Name)}
    need = sorted(rem_names & used)
    back = {n.id for n in ast.walk(rem_tree) if isinstance(n, ast.Name)} & moved_names
    if back:
        where = new if "." in new else new
        rl = remaining.splitlines(keepends=True)
        rt = ast.parse(remaining)
        last_imp = max(n.end_lineno for n in rt.body if isinstance(n, (ast.Import, ast.ImportFrom)))
        rl.insert(last_imp, f"from medmassage.{where} import {', '.join(sorted(back))}\n")
        remaining = "".join(rl)
    src_path.write_text(remaining)
    dest_old = new if "." not in new else None  # a split into an existing old module
    dest_path = PKG / f"{new}.py" if dest_old else PKG / (new.replace(".", "/") + ".py")
    header = ""
    if dest_path.exists():
        existing = dest_path.read_text()
    else:
        dest_path.parent.mkdir(exist_ok=True)
        existing = DOCSTRINGS.get(new, '"""TODO"""\n') + "\n"
    # put imports after the docstring / existing imports: simplest is right after the docstring
    et = ast.parse(existing)
    ds_end = et.body[0].end_lineno if et.body and isinstance(et.body[0], ast.Expr) else 0
    el = existing.splitlines(keepends=True)
    own = f"from medmassage.{old} import {', '.join(need)}\n" if need else ""
    new_text = (
        "".join(el[:ds_end])
        + "\n"
        + "".join(imports)
        + own
        + "".join(el[ds_end:])
        + "\n\n"
        + moved
    )
    dest_path.write_text(re.sub(r"\n{4,}", "\n\n\n", new_text).rstrip() + "\n")
    report = [f"split {old} → {new}: {sorted(moved_names)}; needs {need}"]
    if back:
        report.append(f"  !! {old} still uses moved {sorted(back)}")
    return report, moved_names


def main() -> None:
    out = []
    sym_map: dict[tuple[str, str], str] = {}
    for old, how, new in SPLITS:
        rep, moved_names = split(old, how, new)
        out += rep
        target = MOVES.get(new, new)
        for nm in moved_names:
            sym_map[(old, nm)] = target
    # packages
    for pkg in ("store", "record", "rules", "exchange"):
        d = PKG / pkg
        d.mkdir(exist_ok=True)
        init = d / "__init__.py"
        if not init.exists():
            init.write_text(PACKAGE_DOCS[pkg])
    run("git", "add", "-A", "medmassage")
    for old, new in MOVES.items():
        src = PKG / f"{old}.py"
        if not src.exists():
            out.append(f"(no {old}.py)")
            continue
        dst = PKG / (new.replace(".", "/") + ".py")
        run("git", "mv", str(src), str(dst))
    for (old, nm), target in list(sym_map.items()):
        pass
    files = [p for base in ("medmassage", "tests", "bench") for p in (ROOT / base).rglob("*.py")]
    for path in files:
        rewrite(path, sym_map, out)
    # paths in prose
    prose = [ROOT / "README.md", ROOT / "pyproject.toml", *files]
    for path in prose:
        t = path.read_text()
        t2 = re.sub(
            r"medmassage/(\w+)\.py\b",
            lambda m: f"medmassage/{MOVES[m.group(1)].replace('.', '/')}.py"
            if m.group(1) in MOVES
            else m.group(0),
            t,
        )
        if t2 != t:
            path.write_text(t2)
    print("\n".join(out))


def dest_of(old: str, sym: str | None, sym_map) -> str:
    if sym is not None and (old, sym) in sym_map:
        return sym_map[(old, sym)]
    return MOVES[old]


def fmt_from(indent: str, module: str, names: list[str]) -> str:
    one = f"{indent}from medmassage.{module} import {', '.join(names)}"
    if len(one) <= 100:
        return one
    inner = "".join(f"{indent}    {n},\n" for n in names)
    return f"{indent}from medmassage.{module} import (\n{inner}{indent})"


def rewrite(path: Path, sym_map, out) -> None:
    text = path.read_text()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        out.append(f"!! cannot parse {path}")
        return
    lines = text.splitlines(keepends=True)
    edits = []  # (start0, end0, replacement lines)
    attr_renames = []  # (alias, sym, newalias)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mod = node.module
            indent = lines[node.lineno - 1][: node.col_offset]
            groups: dict[str, list[str]] = {}
            changed = False
            if mod.startswith("medmassage.") and mod.split(".")[1] in MOVES and mod.count(".") == 1:
                old = mod.split(".")[1]
                for a in node.names:
                    target = dest_of(old, a.name, sym_map)
                    groups.setdefault(target, []).append(
                        a.name if a.asname is None else f"{a.name} as {a.asname}"
                    )
                changed = True
            elif mod == "medmassage":
                for a in node.names:
                    if a.name in MOVES:
                        target = MOVES[a.name]
                        pkg, last = target.rsplit(".", 1)
                        alias = a.asname or a.name
                        nm = last if last == alias else f"{last} as {alias}"
                        groups.setdefault(pkg, []).append(nm)
                        changed = True
                        # attribute uses of symbols that moved elsewhere
                        for (o, sym), t in sym_map.items():
                            if o == a.name and t != target:
                                tpkg, tlast = t.rsplit(".", 1)
                                if re.search(rf"\b{alias}\.{sym}\b", text) or re.search(
                                    rf"setattr\(\s*{alias},\s*[\"']{sym}[\"']", text
                                ):
                                    attr_renames.append((alias, sym, tlast))
                                    groups.setdefault(tpkg, []).append(tlast)
                    else:
                        groups.setdefault("", []).append(
                            a.name if a.asname is None else f"{a.name} as {a.asname}"
                        )
            if changed:
                stmts = []
                for module, names in groups.items():
                    names = list(dict.fromkeys(names))
                    if module == "":
                        stmts.append(f"{indent}from medmassage import {', '.join(names)}")
                    else:
                        stmts.append(fmt_from(indent, module, names))
                first = stmts[0][len(indent) :]
                rest = [indent + s[len(indent) :] for s in stmts[1:]]
                repl = lines[node.lineno - 1][: node.col_offset] + "\n".join([first, *rest])
                # keep anything after the statement on its last line (comments)
                tail = lines[node.end_lineno - 1][node.end_col_offset :]
                edits.append((node.lineno - 1, node.end_lineno, repl + tail))
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "medmassage" and len(parts) == 2 and parts[1] in MOVES:
                    out.append(f"!! plain import {a.name} in {path}:{node.lineno}")
    for s, e, repl in sorted(edits, reverse=True):
        lines[s:e] = [repl if repl.endswith("\n") else repl + "\n"]
    text = "".join(lines)
    for alias, sym, newalias in attr_renames:
        text = re.sub(rf"\b{alias}\.{sym}\b", f"{newalias}.{sym}", text)
        text = re.sub(
            rf"setattr\((\s*){alias},(\s*)([\"']){sym}\3", rf"setattr(\1{newalias},\2\3{sym}\3", text
        )
    # dotted references in strings and comments: medmassage.old[.sym]

    def dotted(m):
        old, sym = m.group(1), m.group(3)
        target = dest_of(old, sym, sym_map)
        return f"medmassage.{target}" + (f".{sym}" if sym else "")

    keys = "|".join(sorted(MOVES, key=len, reverse=True))
    text = re.sub(rf"\bmedmassage\.({keys})\b(\.(\w+))?", dotted, text)
    path.write_text(text)


main()
