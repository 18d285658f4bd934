"""Auditor commands: chain checks, export checks, and exports for scheduled jobs.

    flask --app portal audit verify [--head ID:HASH]    walk the chain, check every recorded head
    flask --app portal audit head                       print the head to record outside the portal
    flask --app portal audit record-head                append the signed head to the head file
    flask --app portal audit public-key                 print the export-signing public key
    flask --app portal audit verify-export FILE MANIFEST [--public-key PEM]
    flask --app portal export requests|audit --from DATE --to DATE --format csv|jsonl --out FILE

An export writes FILE and FILE.manifest.json (signed) beside it, with a progress bar.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from werkzeug.datastructures import MultiDict

from portal.audit import exports, operations
from portal.audit.heads import record_head, recorded_heads
from portal.audit.verify import verify_export
from portal.core.actor import SYSTEM
from portal.core.db import commit, get_session
from portal.rules.deadlines import today_pacific
from portal.trail.chain import ChainHead, current_head, verify_chain
from portal.trail.signing import key_fingerprint, load_private_key, public_key_pem

audit_group = AppGroup("audit", help="Check the audit trail and exports.")
export_group = AppGroup("export", help="Export the request log or the audit trail with a "
                                       "signed manifest.")

_HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


def _parse_head(_ctx, _param, value: str | None) -> ChainHead | None:
    if value is None:
        return None
    match = _HEAD.match(value.strip())
    if not match:
        raise click.BadParameter("expected ID:HASH as printed by `flask --app portal audit head`")
    return ChainHead(int(match.group(1)), match.group(2))


@audit_group.command("verify")
@click.option("--head", "recorded", callback=_parse_head, metavar="ID:HASH",
              help="A head you recorded yourself, checked as well as those the portal "
                   "recorded.")
def verify_command(recorded: ChainHead | None) -> None:
    """Walk the hash chain and check it against every recorded head (exit status 1 if not).

    The heads: the head file the hourly job appends to (AUDIT_HEAD_FILE) and the chain head
    in every signed export manifest. A chain that ends before one of them was shortened.
    """
    session = get_session()
    reading = recorded_heads(session, current_app.config)
    result = verify_chain(session, recorded, recorded=reading.heads)
    for problem in reading.problems:
        click.echo(f"UNTRUSTED: {problem}.", err=True)
    if not result.ok:
        click.echo(f"BROKEN at event {result.broken_at}: {result.reason}. "
                   f"{result.checked} event(s) before it verified.", err=True)
        raise SystemExit(1)
    head = f"{result.head.id}:{result.head.hash}" if result.head else "(empty chain)"
    heads = len(reading.heads) + (1 if recorded else 0)
    click.echo(f"OK: {result.checked} event(s) verified, against {heads} recorded head(s). "
               f"Head {head}")
    if reading.problems:
        raise SystemExit(1)


@audit_group.command("record-head")
def record_head_command() -> None:
    """Append the current head, signed, to the head file now (the hourly job does the same)."""
    head = record_head(get_session(), current_app.config)
    if head is None:
        click.echo("Nothing recorded: the trail is empty or AUDIT_HEAD_FILE is off.", err=True)
        raise SystemExit(1)
    click.echo(f"Recorded head {head.id}:{head.hash} in {current_app.config['AUDIT_HEAD_FILE']}.")


@audit_group.command("head")
def head_command() -> None:
    """Print the chain head as ID:HASH; keep it outside the portal for `verify --head`."""
    head = current_head(get_session())
    if head is None:
        click.echo("The audit trail is empty.", err=True)
        raise SystemExit(1)
    click.echo(f"{head.id}:{head.hash}")


@audit_group.command("public-key")
def public_key_command() -> None:
    """Print the Ed25519 public key that signs export manifests, and its fingerprint."""
    key = load_private_key(current_app.config["KEY_DIR"])
    click.echo(public_key_pem(key), nl=False)
    click.echo(f"SHA-256 fingerprint: {key_fingerprint(key)}")


@audit_group.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", "public_key", type=click.Path(exists=True, dir_okay=False),
              help="PEM file of the public key (default: this portal's signing key).")
def verify_export_command(file: str, manifest: str, public_key: str | None) -> None:
    """Check an export FILE against its signed MANIFEST (exit status 1 with the reason)."""
    if public_key:
        key = Path(public_key).read_bytes()
    else:
        key = public_key_pem(load_private_key(current_app.config["KEY_DIR"]))
    result = verify_export(file, manifest, key)
    if not result.ok:
        click.echo(f"FAILED ({result.reason}): {result.message}", err=True)
        raise SystemExit(1)
    click.echo(f"OK: {result.message}")


def _validated(form_class, values: dict):
    """Check CLI options with the same form (and messages) as the web pages."""
    with current_app.test_request_context():
        form = form_class(formdata=MultiDict({k: v for k, v in values.items() if v}))
        if not form.validate():
            for name, messages in form.errors.items():
                for message in messages:
                    click.echo(f"--{name.replace('_', '-')}: {message}", err=True)
            raise SystemExit(2)
        return form.to_filter()


def _run_export(kind: str, file_format: str, filters, out: str) -> None:
    app = current_app._get_current_object()
    session = get_session()
    plan = operations.begin_export(session, SYSTEM, kind, file_format, filters,
                                   today=today_pacific(),
                                   soon_days=int(app.config["DUE_SOON_DAYS"]))
    plan = dataclasses.replace(plan, output_name=Path(out).name)
    # Committed before the file is written, so an export is on the trail even if it fails;
    # the manifest (and its event) is committed once the file is complete.
    commit()
    manifests: list[dict] = []
    total = exports.count_rows(app, plan) or 0
    done = [0]
    try:
        with open(out, "wb") as handle, click.progressbar(
                length=max(total, 1), label=f"Exporting {exports.FILE_STEMS[kind]}",
                file=sys.stderr) as bar:

            def progress(rows: int) -> None:
                bar.update(rows - done[0])
                done[0] = rows

            for chunk in exports.stream_export(app, plan, on_manifest=manifests.append,
                                               progress=progress):
                handle.write(chunk)
    except BaseException:
        Path(out).unlink(missing_ok=True)  # an incomplete file has no manifest: remove it
        raise
    manifest = manifests[0]
    operations.complete_export(session, SYSTEM, manifest)
    commit()
    manifest_path = Path(f"{out}.manifest.json")
    manifest_path.write_text(exports.manifest_text(manifest), encoding="utf-8")
    click.echo(f"Wrote {manifest['rows']} row(s) to {out} (SHA-256 {manifest['sha256']}) and "
               f"the signed manifest to {manifest_path}.")


_FORMAT = click.option("--format", "file_format", type=click.Choice(exports.FORMATS),
                       default="csv", show_default=True)
_OUT = click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True),
                    help="The file to write; FILE.manifest.json is written beside it.")
_FROM = click.option("--from", "date_from", metavar="YYYY-MM-DD")
_TO = click.option("--to", "date_to", metavar="YYYY-MM-DD")


@export_group.command("requests")
@_FROM
@_TO
@_FORMAT
@_OUT
@click.option("--kind")
@click.option("--status")
@click.option("--requester-type")
@click.option("--california", help="Clock state: on_time, late, overdue, due_soon, open.")
@click.option("--hipaa", help="Clock state: on_time, late, overdue, due_soon, open.")
@click.option("--assignee", help="A staff number, or 'none'.")
@click.option("--outcome")
def export_requests(date_from, date_to, file_format, out, **choices) -> None:
    """Export the request log (minimum-necessary columns) received in a date range."""
    from portal.audit.forms import RequestLogFilterForm

    filters = _validated(RequestLogFilterForm, {"date_from": date_from, "date_to": date_to,
                                                **choices})
    _run_export("requests", file_format, filters, out)


@export_group.command("audit")
@_FROM
@_TO
@_FORMAT
@_OUT
@click.option("--actor-type")
@click.option("--actor-id")
@click.option("--action", help="An action code, or a prefix such as request.*")
@click.option("--request", "request_id")
def export_audit(date_from, date_to, file_format, out, **choices) -> None:
    """Export the audit trail up to the current head (JSON Lines recomputes the chain)."""
    from portal.audit.forms import TrailFilterForm

    filters = _validated(TrailFilterForm, {"date_from": date_from, "date_to": date_to,
                                           **choices})
    _run_export("audit", file_format, filters, out)


def init_app(app: Flask) -> None:
    """Register the audit and export command groups."""
    app.cli.add_command(audit_group)
    app.cli.add_command(export_group)
