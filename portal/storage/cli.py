"""CLI of the file store: `flask --app portal fsck` (files against rows, both ways)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.core.db import commit, get_session
from portal.storage.operations import check_store


@click.command("fsck")
@with_appcontext
@click.option("--repair", is_flag=True,
              help="Sweep pending files, quarantine files no row points to, remove "
                   "half-written uploads.")
@click.option("--quick", is_flag=True, help="Skip reading every file through its check.")
@click.option("--grace-minutes", default=60, show_default=True,
              help="Files younger than this may belong to an upload in progress: left alone.")
def fsck(repair: bool, quick: bool, grace_minutes: int) -> None:
    """Find stored files no row points to, and rows whose file is missing or damaged.

    Exits 1 if anything needs a person: a missing or damaged file, or (without --repair) an
    orphan or a half-written upload.
    """
    report = check_store(get_session(), repair=repair, verify_content=not quick,
                         grace=timedelta(minutes=grace_minutes))
    commit()
    click.echo(f"Documents: {report.rows}. Files: {report.files}.")
    click.echo(f"Files no row points to: {len(report.orphans)}"
               + (f" (quarantined {report.quarantined})" if repair else "")
               + (f"; {report.recent} more written in the last {grace_minutes} minutes, "
                  "left alone"
                  if report.recent else "") + ".")
    click.echo(f"Files of a unit of work that has not committed (the sweep's): {report.pending}"
               + (f"; swept {report.swept}" if repair else "") + ".")
    click.echo(f"Half-written uploads: {report.incomplete}"
               + (" (removed)" if repair and report.incomplete else "") + ".")
    click.echo(f"Rows whose file is missing: {len(report.missing)}"
               + (f" (documents {', '.join(map(str, report.missing[:20]))})"
                  if report.missing else "") + ".")
    if not quick:
        click.echo(f"Files failing their integrity check: {len(report.damaged)}"
                   + (f" (documents {', '.join(map(str, report.damaged[:20]))})"
                      if report.damaged else "") + ".")
    if report.missing or report.damaged:
        click.echo("Restore the damaged or missing files from a backup (README, Backups).",
                   err=True)
        raise SystemExit(1)
    if (report.orphans or report.incomplete) and not repair:
        click.echo("Run again with --repair to quarantine the orphans.", err=True)
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Register the fsck command."""
    app.cli.add_command(fsck)
