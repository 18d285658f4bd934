"""CLI of the requests area: `flask --app portal drafts purge`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.core.db import commit, get_session
from portal.requester.drafts import purge_expired

drafts_group = AppGroup("drafts", help="Unfinished request wizards kept for WIZARD_DRAFT_DAYS.")


@drafts_group.command("purge")
def purge() -> None:
    """Delete expired wizard drafts and the files uploaded to them."""
    session = get_session()
    drafts, files = purge_expired(session)
    commit()
    click.echo(f"Deleted {drafts} expired draft(s) and {files} file(s).")


def init_app(app: Flask) -> None:
    """Register the drafts command group."""
    app.cli.add_command(drafts_group)
