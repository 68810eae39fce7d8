"""`medmassage catalog …`: the names session log and intake accept."""

from typing import Annotated

import typer

from medmassage.cli.common import FormatOpt, OutputOpt, database, guard, say

app = typer.Typer(no_args_is_help=True)


@app.command("techniques")
@guard
def techniques(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Techniques and the CPT code each bills under (yours included)."""
    from medmassage.catalog import CPT_CODES, TECHNIQUES
    from medmassage.render import Col, print_rows, resolve_format
    from medmassage.sessions import custom_techniques

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        custom = custom_techniques(conn)
    rows = [
        {
            "technique": name,
            "cpt": cpt,
            "label": CPT_CODES[cpt].label if cpt in CPT_CODES else "",
            "timed": CPT_CODES[cpt].timed if cpt in CPT_CODES else True,
            "source": source,
        }
        for source, items in (("shipped", TECHNIQUES), ("yours", custom))
        for name, cpt in items.items()
    ]
    columns = [
        Col("technique", "Technique"),
        Col("cpt", "CPT"),
        Col("label", "Billed as"),
        Col("timed", "Timed"),
        Col("source", "Source"),
    ]
    print_rows(columns, rows, chosen, output)


@app.command("regions")
@guard
def regions(fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Body regions (sided parts also accept -both, e.g. shoulder-both)."""
    from medmassage.catalog import REGIONS
    from medmassage.render import Col, print_rows, resolve_format

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    print_rows([Col("region", "Region")], [{"region": r} for r in REGIONS], chosen, output)


@app.command("conditions")
@guard
def conditions(fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Conditions seen in practice and the ICD-10-CM codes usually used for them."""
    from medmassage.catalog import CONDITIONS
    from medmassage.render import Col, print_rows, resolve_format

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    rows = [
        {"condition": c.key, "label": c.label, "codes": list(c.codes)} for c in CONDITIONS.values()
    ]
    columns = [
        Col("condition", "Condition"),
        Col("label", "Description"),
        Col("codes", "ICD-10-CM"),
    ]
    print_rows(columns, rows, chosen, output)


@app.command("add-technique")
@guard
def add_technique(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lower-case name, e.g. cupping.")],
    cpt: Annotated[str, typer.Option(metavar="CODE", help="CPT code it bills under, e.g. 97140.")],
) -> None:
    """Add a technique of your own, mapped to one of the CPT codes medmassage knows."""
    from medmassage.sessions import add_custom_technique

    with database(ctx, start=True) as conn:  # can begin a practice in an empty file
        add_custom_technique(conn, name, cpt)
    say(f"Added technique {name.strip().lower()} → {cpt}")
