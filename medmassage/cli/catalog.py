"""`medmassage catalog …`: the names session log and intake accept."""

from typing import Annotated

import typer

from medmassage.cli.common import FormatOpt, OutputOpt, database, guard, say

app = typer.Typer(no_args_is_help=True)


@app.command("techniques")
@guard
def techniques(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Techniques, the CPT code each bills under (yours included), and the abbreviations and
    other spellings session log, import and intake accept for each (any case)."""
    from medmassage.cli.render import Col, print_rows, resolve_format
    from medmassage.record.sessions import custom_techniques
    from medmassage.rules.catalog import CPT_CODES, TECHNIQUE_SPELLINGS, TECHNIQUES

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
            "abbreviation": TECHNIQUE_SPELLINGS[name][0] if source == "shipped" else None,
            "accepted": list(TECHNIQUE_SPELLINGS[name]) if source == "shipped" else [],
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
        Col("accepted", "Also accepted"),
    ]
    keys = ["technique", "cpt", "label", "timed", "source", "abbreviation", "accepted"]
    print_rows(columns, rows, chosen, output, keys=keys)


@app.command("regions")
@guard
def regions(fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Body regions, and the phrases accepted for each (any case; spaces or dashes): "R wrist",
    "wrist R", "low back", "TMJ left"; both sides at once as "both shoulders" or shoulder-both."""
    from medmassage.cli.render import Col, print_rows, resolve_format
    from medmassage.rules.catalog import (
        REGIONS,
        SIDE_WORDS,
        SIDED_PART_PLURALS,
        SIDED_PART_WORDS,
        both_sides_spellings,
        region_spellings,
    )

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    accepted = region_spellings()
    both = both_sides_spellings()
    rows = []
    for region in REGIONS:
        part, _, side = region.rpartition("-")
        sided = part in SIDED_PART_WORDS and side in ("left", "right")
        if sided:
            # In the table, the short side word stands for all of them (said once, after).
            short, *others = SIDE_WORDS[side][1:] + SIDE_WORDS[side][:1]
            words = [f"{short} {w}, {w} {short}" for w in SIDED_PART_WORDS[part]]
            shown = ", ".join(words) + f" ({short}: also {', '.join(others)})"
            plural = SIDED_PART_PLURALS[part][0]
            both_shown = f"both {plural}, {part}-both (both: also bilateral, bilat)"
        else:
            shown = ", ".join(accepted[region])
            both_shown = ""
        rows.append(
            {
                "region": region,
                "accepted": accepted[region],
                "both_sides": both[part] if sided else [],
                "also": shown,
                "both": both_shown,
            }
        )
    columns = [
        Col("region", "Region"),
        Col("also", "Also accepted"),
        Col("both", "Both sides"),
    ]
    print_rows(columns, rows, chosen, output, keys=["region", "accepted", "both_sides"])


@app.command("conditions")
@guard
def conditions(fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Conditions seen in practice and the ICD-10-CM codes usually used for them."""
    from medmassage.cli.render import Col, print_rows, resolve_format
    from medmassage.rules.catalog import CONDITIONS

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
    from medmassage.record.sessions import add_custom_technique

    with database(ctx, start=True) as conn:  # can begin a practice in an empty file
        add_custom_technique(conn, name, cpt)
    say(f"Added technique {name.strip().lower()} → {cpt}")
