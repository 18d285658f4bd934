"""`flask --app portal roster import FILE.csv [--skip-invalid]`: load the custodian's roster.

The columns are documented in portal/roster/parsing.py. Every row is checked first; the
problems are listed with their line numbers and nothing is imported unless --skip-invalid.
"""

from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from portal.core.actor import SYSTEM
from portal.core.db import commit, get_session
from portal.roster.bulk import write_roster
from portal.roster.parsing import RosterFileRefused, parse_roster

# AppGroup runs each command inside the app context (database session, configuration).
roster_group = AppGroup("roster", help="The patient roster of the closed program.")


@roster_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows and skip the invalid ones (they are still listed).")
def import_command(csv_file: str, skip_invalid: bool) -> None:
    """Import or update the roster from CSV_FILE (UTF-8; one row per admission)."""
    session = get_session()
    with open(csv_file, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        try:
            with click.progressbar(length=size, label="Checking rows", file=sys.stderr) as bar:
                parsed = parse_roster(stream, on_bytes=bar.update)
        except RosterFileRefused as exc:
            for problem in exc.problems:
                click.echo(problem, err=True)
            raise SystemExit(1) from None
    for line, problem in parsed.errors:
        click.echo(f"Line {line}: {problem}", err=True)
    if parsed.error_count > len(parsed.errors):
        click.echo(f"... and {parsed.error_count - len(parsed.errors)} more problems.", err=True)
    if parsed.error_count and not skip_invalid:
        click.echo(f"Nothing was imported: {parsed.error_count} problem(s) in "
                   f"{parsed.skipped_rows} row(s). Fix them, or run again with --skip-invalid.",
                   err=True)
        raise SystemExit(1)
    patients = parsed.valid_patients
    with click.progressbar(length=len(patients), label="Importing patients",
                           file=sys.stderr) as bar:
        result = write_roster(session, parsed, actor=SYSTEM, skip_invalid=skip_invalid,
                              on_patients=bar.update)
    commit()
    click.echo(f"Imported {result.created} new and updated {result.updated} existing patient(s) "
               f"with {result.admissions} admission(s); skipped {result.skipped_rows} invalid "
               "row(s).")


def init_app(app: Flask) -> None:
    """Register the roster commands."""
    app.cli.add_command(roster_group)
