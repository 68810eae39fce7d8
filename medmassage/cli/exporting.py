"""`medmassage export all` and `medmassage export fhir`: your data, out of the tool.

Thin: the domain (medmassage.exchange.export, medmassage.exchange.fhir) reads and writes; this
module parses the options, picks stdout or a file, and reports on stderr.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import ClientArg, database, db_path, guard, say, warn

app = typer.Typer(no_args_is_help=True)


@app.command("all")
@guard
def all_(
    ctx: typer.Context,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="json (default; one file or stdout) or csv (one file per table, needs -o DIR).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="json: a file; csv: a folder (created 0700). Files are owner-only (0600). "
            "Without -o, json goes to stdout.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export everything — every table, audit log included — as JSON or CSV, for a backup or to
    take your data elsewhere."""
    import io

    from medmassage.exchange.export import (
        export_format,
        refuse_database_as_output,
        stream_to_file,
        write_csv_folder,
        write_json,
    )

    chosen = export_format(fmt, output)
    if output is not None:
        refuse_database_as_output(output, db_path(ctx))
    with database(ctx) as conn:
        if chosen == "csv":
            assert output is not None  # export_format requires it
            summary = write_csv_folder(conn, output)
        elif output is not None:
            summary = stream_to_file(output, lambda out: write_json(conn, out))
        else:
            sys.stdout.flush()
            stream = io.TextIOWrapper(
                sys.stdout.buffer, encoding="utf-8", newline="", write_through=False
            )
            try:
                summary = write_json(conn, stream)
                stream.flush()
            finally:
                stream.detach()  # leave sys.stdout open for whoever prints next
    where = f" to {output}" if output is not None else ""
    say(
        f"Exported {summary.total_rows} rows from {len(summary.rows)} tables "
        f"(schema {summary.schema_version}) as {chosen}{where}"
    )


@app.command("fhir")
@guard
def fhir(
    ctx: typer.Context,
    client: ClientArg,
    case: Annotated[
        str | None,
        typer.Option(
            "--case",
            metavar="ID",
            help="Only this case (default: all the client's cases, open and closed).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the bundle to this file (created owner-only) instead of stdout.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export a client as an HL7 FHIR R4 Bundle: Patient, Practitioner, a Condition per
    diagnosis, an Encounter per session (void ones left out) and its pre/post pain scores
    (LOINC 72514-3). Default: all the client's cases; --case ID for one."""
    from medmassage.exchange.export import refuse_database_as_output, stream_to_file
    from medmassage.exchange.fhir import build_bundle, bundle_bytes
    from medmassage.record.cases import case_for_client
    from medmassage.record.clients import find_client
    from medmassage.store.db import read_snapshot

    if output is not None:
        refuse_database_as_output(output, db_path(ctx))
    with database(ctx) as conn, read_snapshot(conn):
        row = find_client(conn, client)
        case_ids = [case_for_client(conn, row, case)["id"]] if case is not None else None
        result = build_bundle(conn, row, case_ids)
    data = bundle_bytes(result.bundle)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        stream_to_file(output, lambda out: out.write(data.decode("utf-8")))
    for message in result.warnings:
        warn(message)
    counts = ", ".join(f"{n} {kind}" for kind, n in result.counts.items())
    where = f"Wrote {output}: " if output is not None else ""
    say(f"{where}FHIR R4 bundle for client {row['id']} ({counts})")
