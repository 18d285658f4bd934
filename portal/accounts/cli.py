"""`flask --app portal staff create|reset|deactivate`: staff accounts from the command line.

Each command is one transaction (one ``commit()`` at the end) and writes the same audit events
as the staff administration pages, with the system as the actor. Setup links are built from
BASE_URL, so they are right even when the command runs on another host.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.accounts import operations
from portal.accounts.operations import StaffProblem
from portal.accounts.permissions import ROLES
from portal.core.actor import SYSTEM
from portal.core.dates import date_and_time
from portal.core.db import commit, get_session


def _fail(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"Error: {problem}", err=True)
    raise SystemExit(1)


def _print_link(link: operations.SetupLink) -> None:
    click.echo("Give this single-use link to them in person or by phone; it lets them choose a")
    click.echo("password and then set up two-step verification:")
    click.echo(f"  {link.url}")
    click.echo(f"It stops working at {date_and_time(link.expires_at)}.")


@click.group("staff", cls=AppGroup)
def staff_group() -> None:
    """Create, reset and deactivate staff accounts."""


@staff_group.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, metavar="ROLE",
              help=f"One of: {', '.join(ROLES)}. Repeat for several roles.")
@click.option("--name", default="", help="The person's name as shown to colleagues.")
@click.option("--licensed-reviewer", is_flag=True,
              help="A licensed health care professional who may decide and review clinical "
                   "denials (R-DEN-3).")
def create(email: str, roles: tuple[str, ...], name: str, licensed_reviewer: bool) -> None:
    """Create a staff account for EMAIL and print its one-time setup link."""
    try:
        staff, link = operations.create_staff(
            get_session(), email=email, display_name=name, roles=list(roles),
            licensed=licensed_reviewer, actor=SYSTEM)
    except StaffProblem as problem:
        _fail(problem.problems)
    commit()
    click.echo(f"Created staff account {staff.id} ({', '.join(sorted(staff.role_names))}).")
    _print_link(link)


@staff_group.command("reset")
@click.argument("email")
@click.option("--reset-mfa", is_flag=True,
              help="Also forget their authenticator app and recovery codes (a lost phone).")
def reset(email: str, reset_mfa: bool) -> None:
    """Replace the password of EMAIL with a new setup link and end their sessions."""
    db = get_session()
    staff = operations.find_staff(db, email)
    if staff is None:
        _fail(["There is no staff account with that email address."])
    try:
        link = operations.reset_staff_password(db, staff, actor=SYSTEM, reset_mfa=reset_mfa)
    except StaffProblem as problem:
        _fail(problem.problems)
    commit()
    click.echo(f"Reset staff account {staff.id}: the old password and all sessions have ended.")
    _print_link(link)


@staff_group.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Stop EMAIL from signing in and end their sessions at once."""
    db = get_session()
    staff = operations.find_staff(db, email)
    if staff is None:
        _fail(["There is no staff account with that email address."])
    if not staff.is_active:
        click.echo(f"Staff account {staff.id} was already deactivated.")
        return
    operations.deactivate_staff(db, staff, actor=SYSTEM)
    commit()
    click.echo(f"Deactivated staff account {staff.id}; their sessions have ended.")


def init_app(app: Flask) -> None:
    """Register the `staff` command group."""
    app.cli.add_command(staff_group)
