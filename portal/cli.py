"""The application CLI: `init-instance`, `db` (Alembic migrations), `demo-data`, `housekeeping`,
`worker` (background jobs), `backup` and `restore`.

It lives at the application level (not in portal/core, which imports no area) because its
commands reach into the areas.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.core.keys import ensure_keys

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

DEV_CONFIG = '''\
# Development settings written by `flask --app portal init-instance`. Not for production.
ENV = "development"
BASE_URL = "http://127.0.0.1:{port}"
TRUSTED_HOSTS = ["127.0.0.1", "localhost"]
# Placeholder custodian details so letters render; production sets the real ones.
CUSTODIAN_ADDRESS = "PO Box 0000\\nLos Angeles, CA 90000"
CUSTODIAN_PHONE = "(555) 010-0000"
CUSTODIAN_EMAIL = "records@example.invalid"
'''


def alembic_config(app: Flask | None = None):
    """An Alembic configuration pointing at migrations/ and the app's database."""
    from alembic.config import Config

    app = app or current_app._get_current_object()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = app.extensions["db_engine"]
    return config


def setup_instance(app: Flask, *, development: bool, port: str, echo=click.echo) -> None:
    """Create missing keys (mode 0600) and, for development, instance/config.py if absent."""
    key_dir = Path(app.config["KEY_DIR"])
    for name in ensure_keys(key_dir):
        echo(f"Created key {key_dir / name} (mode 0600)")
    config_path = Path(app.instance_path) / "config.py"
    if development and not config_path.exists():
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(DEV_CONFIG.format(port=port))
        os.chmod(config_path, 0o600)
        echo(f"Wrote development settings to {config_path}")


@click.command("init-instance")
@with_appcontext
@click.option("--port", default=lambda: os.environ.get("PORT", "5000"), show_default="5000")
@click.option("--development", is_flag=True, help="Also write development settings.")
def init_instance(port: str, development: bool) -> None:
    """Create missing keys; with --development, a development instance/config.py too.

    On a machine with no secret key yet the app refuses to start, so use
    `python -m portal.init_instance` there; this command serves an existing instance.
    """
    setup_instance(current_app, development=development, port=port)


@click.group("db")
def db_group() -> None:
    """Database migrations (Alembic is the only way the schema changes)."""


@db_group.command("upgrade")
@with_appcontext
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    from alembic import command

    command.upgrade(alembic_config(), revision)


@db_group.command("downgrade")
@with_appcontext
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION."""
    from alembic import command

    command.downgrade(alembic_config(), revision)


@db_group.command("current")
@with_appcontext
def current() -> None:
    """Show the database's current revision."""
    from alembic import command

    command.current(alembic_config())


@db_group.command("revision")
@with_appcontext
@click.option("-m", "--message", required=True)
@click.option("--rev-id", default=None, help="Revision id, e.g. 0002 (default: random).")
def revision(message: str, rev_id: str | None) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    command.revision(alembic_config(), message=message, autogenerate=True, rev_id=rev_id)


@click.command("demo-data")
@with_appcontext
@click.option("--patients", default=40, show_default=True)
def demo_data(patients: int) -> None:
    """Fill the database with an obviously fake roster and requests (development only)."""
    from portal.core import db
    from portal.demo import DemoDataPresent, make_demo_data

    if current_app.config["ENV"] not in ("development", "testing"):
        raise click.ClickException(
            "demo-data runs only with ENV=development (never in production)."
        )
    try:
        counts = make_demo_data(db.get_session(), patients=patients)
    except DemoDataPresent:
        click.echo("The demo data is already there; nothing was added. "
                   "To start again, delete instance/portal.sqlite3 and run `make run` again.")
        return
    db.commit()
    click.echo(
        f"Created {counts['patients']} fake roster patients and {counts['requests']} requests."
    )


@click.command("housekeeping")
@with_appcontext
def housekeeping() -> None:
    """Daily jobs: close requests abandoned by their requester (ABANDON_AFTER_DAYS)."""
    from portal.core import db
    from portal.requests.operations import abandon_stale_requests

    closed = abandon_stale_requests(
        db.get_session(), older_than_days=int(current_app.config["ABANDON_AFTER_DAYS"])
    )
    db.commit()
    click.echo(f"Closed {closed} request(s) with no reply after "
               f"{current_app.config['ABANDON_AFTER_DAYS']} days.")


@click.command("worker")
@with_appcontext
@click.option("--threads", default=2, show_default=True, help="Jobs run at once.")
def worker(threads: int) -> None:
    """Run background jobs until stopped (production: JOBS_MODE "huey"; several may run).

    In the embedded default (JOBS_MODE "thread") the serving process runs jobs itself; this
    command then runs the same loop in the foreground, for a machine with no server running.
    """
    from portal.jobs.dispatch import HueyDispatcher, ThreadDispatcher

    app = current_app._get_current_object()
    dispatcher = app.extensions["jobs_dispatcher"]
    if isinstance(dispatcher, HueyDispatcher):
        click.echo(f"Job worker on {app.config['JOBS_REDIS_URL'].split('@')[-1]} with "
                   f"{threads} thread(s); Ctrl-C to stop.")
        dispatcher.consumer(threads).run()
        return
    click.echo("Job worker polling the outbox; Ctrl-C to stop.")
    ThreadDispatcher(app).loop()


@click.command("backup")
@with_appcontext
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup(directory: Path) -> None:
    """Back up the database (encrypted) and the stored files into DIRECTORY (new or empty),
    with a signed manifest. The keys are not included: back KEY_DIR up apart."""
    from portal.backup import BackupError, take_backup
    from portal.core import db
    from portal.core.actor import SYSTEM
    from portal.trail.chain import append_event

    try:
        manifest = take_backup(current_app._get_current_object(), directory, echo=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    append_event(db.get_session(), "backup.taken", actor=SYSTEM, object_type="instance",
                 summary={"files": len(manifest["files"]), "created_at": manifest["created_at"]})
    db.commit()


@click.command("restore")
@with_appcontext
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--public-key", "public_key_file", type=click.Path(exists=True, dir_okay=False),
              help="PEM of the signing key's public half (default: from KEY_DIR).")
def restore(directory: Path, public_key_file: str | None) -> None:
    """Check a backup's signed manifest and restore it into this empty instance, then verify
    the audit trail against the head the backup recorded and check every file (fsck)."""
    from portal.backup import BackupError, restore_backup
    from portal.core import db
    from portal.core.actor import SYSTEM
    from portal.storage.operations import check_store
    from portal.trail.chain import ChainHead, append_event, verify_chain
    from portal.trail.signing import load_private_key, load_public_key

    app = current_app._get_current_object()
    try:
        if public_key_file:
            public_key = load_public_key(Path(public_key_file).read_bytes())
        else:
            public_key = load_private_key(app.config["KEY_DIR"]).public_key()
        manifest = restore_backup(app, directory, public_key, echo=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    head = manifest["audit_head"]
    session = db.get_session()
    result = verify_chain(session, ChainHead(head["id"], head["hash"]) if head else None)
    if not result.ok:
        raise click.ClickException(f"The restored audit trail does not verify: {result.reason}.")
    click.echo(f"Audit trail: {result.checked} event(s) verified, up to the backup's head.")
    append_event(session, "backup.restored", actor=SYSTEM, object_type="instance",
                 summary={"files": len(manifest["files"]), "created_at": manifest["created_at"]})
    report = check_store(session, repair=False)
    db.commit()
    problems = len(report.missing) + len(report.damaged)
    click.echo(f"Files checked: {report.files}; missing or damaged: {problems}.")
    if problems:
        raise click.ClickException("Some restored rows have no intact file (fsck lists them).")


def init_app(app: Flask) -> None:
    """Register the core commands."""
    app.cli.add_command(init_instance)
    app.cli.add_command(db_group)
    app.cli.add_command(demo_data)
    app.cli.add_command(housekeeping)
    app.cli.add_command(worker)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
