"""Configuration: safe defaults here, then instance/config.py, then PORTAL_* environment variables.

Every setting below can be overridden by an environment variable of the same name prefixed with
``PORTAL_`` (for example ``PORTAL_BASE_URL``). Values from the environment are parsed as JSON when
they look like JSON (numbers, booleans, lists), otherwise taken as strings.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

# The value a checked-out tree ships with; the app refuses to run in production with it.
DEFAULT_SECRET_KEY = "insecure-development-placeholder"

DEFAULTS: dict[str, object] = {
    # --- core ---
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    "DATABASE_URL": None,  # default: sqlite:///<instance>/portal.sqlite3
    "KEY_DIR": None,  # default: <instance>/keys
    "STORAGE_DIR": None,  # default: <instance>/files
    # "local": STORAGE_DIR; "s3": an S3-compatible bucket shared by several app servers.
    "STORAGE_BACKEND": "local",
    "STORAGE_S3_BUCKET": None,
    "STORAGE_S3_PREFIX": "files/",
    "STORAGE_S3_ENDPOINT_URL": None,  # e.g. https://s3.example.net (MinIO, Ceph, R2 …)
    "STORAGE_S3_REGION": "us-east-1",
    "STORAGE_S3_ACCESS_KEY_ID": None,  # default: boto3's own lookup (environment, role)
    "STORAGE_S3_SECRET_ACCESS_KEY": None,
    "OUTBOX_DIR": None,  # default: <instance>/outbox (development mail)
    "BASE_URL": "http://127.0.0.1:5000",
    "TRUSTED_HOSTS": None,  # list of host names; None derives it from BASE_URL
    "PROXY_COUNT": 0,  # X-Forwarded-* trusted only for this many proxies in front
    "RATELIMIT_STORAGE_URI": "memory://",  # redis://127.0.0.1:6379/0 in production
    # --- background jobs (portal/jobs) ---
    # "thread": one thread in the serving process runs them (the embedded default, no other
    # service); "huey": workers (`flask --app portal worker`) on Redis, for production.
    "JOBS_MODE": "thread",
    "JOBS_REDIS_URL": None,  # redis://127.0.0.1:6379/1 with JOBS_MODE "huey"
    "JOBS_ALERT_EMAIL": None,  # operators' address told when a job fails for good
    # How long a claimed job is its worker's before another may take it (None: per kind, 5
    # minutes). A worker killed mid-job delays that job by this much.
    "JOBS_LEASE_SECONDS": None,
    # --- mail (R-SEC-4: neutral sender) ---
    "MAIL_BACKEND": "outbox",  # "outbox" writes .eml files; "smtp" sends
    "MAIL_SENDER": "Records Custodian <records@example.invalid>",
    "MAIL_SMTP_HOST": "localhost",
    "MAIL_SMTP_PORT": 587,
    "MAIL_SMTP_USERNAME": None,
    "MAIL_SMTP_PASSWORD": None,
    "MAIL_SMTP_STARTTLS": True,
    "MAIL_SMTP_TIMEOUT_SECONDS": 10,  # a silent server holds a job worker, never a web worker
    # --- custodian and letterhead (no blank letters: generation stops if missing) ---
    "CUSTODIAN_NAME": "Records Custodian",
    "CUSTODIAN_ADDRESS": None,
    "CUSTODIAN_PHONE": None,
    "CUSTODIAN_EMAIL": None,
    "PROGRAM_NAME": "The Canyon at Peace Park",
    "COMPLAINT_CONTACT_TITLE": "Privacy Officer",
    # --- sessions and sign-in (R-SEC-1) ---
    "STAFF_IDLE_TIMEOUT_MINUTES": 15,
    "STAFF_SESSION_MAX_HOURS": 12,
    "STAFF_REAUTH_MINUTES": 5,
    "REQUESTER_IDLE_TIMEOUT_MINUTES": 30,
    "REQUESTER_SESSION_MAX_HOURS": 8,
    "LOGIN_LOCK_AFTER_FAILURES": 5,
    "LOGIN_LOCK_MINUTES": 15,
    # Failures older than this stop counting towards a lockout.
    "LOGIN_FAILURE_WINDOW_MINUTES": 60,
    # After the 2nd failure each attempt must wait this many seconds, doubling per failure.
    "LOGIN_SLOWDOWN_SECONDS": 2,
    # Per client address (Flask-Limiter syntax), on the sign-in, MFA and re-entry POSTs.
    "SIGN_IN_RATE_LIMIT": "20 per minute;200 per hour",
    # Admin-issued single-use link to set a password (staff create / reset).
    "STAFF_SETUP_LINK_HOURS": 72,
    "PASSWORD_HASH_TIME_COST": 3,
    "PASSWORD_HASH_MEMORY_KIB": 65536,
    "PASSWORD_HASH_PARALLELISM": 2,
    # --- deadlines (R-DL-1..4; day counts configurable where marked unverified) ---
    "CA_COPY_DAYS": 15,
    "CA_INSPECTION_WORKING_DAYS": 5,
    "HIPAA_DAYS": 30,
    "ACCOUNTING_DAYS": 60,
    "DUE_SOON_DAYS": 3,
    # Staff roles whose queue lists the patient's name with each request (as the requester
    # typed it, until the requester is verified). Every list page's view is audited with the
    # requests it showed (R-AUD-2).
    "QUEUE_NAMES_FOR_ROLES": ("clerk", "supervisor"),
    # --- requester journey ---
    "EMAIL_CONFIRM_HOURS": 24,
    "MAGIC_LINK_MINUTES": 15,
    # An update email's link: opens that one request, once, within this many hours.
    "UPDATE_LINK_HOURS": 24,
    "WIZARD_DRAFT_DAYS": 7,
    "DOWNLOAD_LINK_DAYS": 30,
    "DOWNLOAD_MAX_COUNT": 5,
    "ABANDON_AFTER_DAYS": 30,
    "ID_UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "RECORD_UPLOAD_MAX_BYTES": 200 * 1024 * 1024,
    # Every upload is rebuilt inert in a process of its own (portal.storage.rebuild), within
    # these limits; PDFs from outside become page images at UPLOAD_RASTER_DPI.
    "UPLOAD_MAX_PAGES": 300,
    "RECORD_MAX_PAGES": 2000,
    "UPLOAD_RASTER_DPI": 150,
    "UPLOAD_REBUILD_MEMORY_MB": 1536,
    "UPLOAD_REBUILD_CPU_SECONDS": 60,
    "UPLOAD_REBUILD_WALL_SECONDS": 120,
    "UPLOAD_REBUILD_STAFF_CPU_SECONDS": 600,
    "UPLOAD_REBUILD_STAFF_WALL_SECONDS": 900,
    "CONSENT_MAX_MONTHS": 12,
    # Wrong access codes a third-party download link tolerates before it locks (R-SEC-2).
    "DOWNLOAD_CODE_MAX_ATTEMPTS": 5,
    # How long the "request sent" page (reference, access code) stays open in that browser.
    "WIZARD_RECEIPT_HOURS": 2,
    # Attachments a requester may add to one reply to the clerk.
    "MESSAGE_MAX_ATTACHMENTS": 5,
    # Rate limits (Flask-Limiter syntax). Per address: keyed by a hash of the email (R-ID-5).
    "SIGN_IN_LIMIT_PER_ADDRESS": "3 per 15 minutes",
    "SIGN_IN_LIMIT_PER_CLIENT": "10 per 15 minutes",
    "TOKEN_LIMIT_PER_CLIENT": "30 per 15 minutes",  # confirm/sign-in/access-code pages
    "SUBMIT_LIMIT_PER_CLIENT": "10 per hour",  # wizard submissions and lost-email reports
    # --- roster match thresholds (R-ID-2(c)) ---
    "MATCH_LIKELY_THRESHOLD": None,  # None: the module's calibrated default
    "MATCH_POSSIBLE_THRESHOLD": None,
    "MATCH_CANDIDATE_LIMIT": 10,  # roster candidates stored and shown per request
    # --- staff workspace (queue) ---
    "QUEUE_PAGE_SIZE": 50,  # requests per queue page (keyset pagination)
    "PAPER_FORM_MAX_BYTES": 50 * 1024 * 1024,  # a scanned mail-in form (PDF or image)
    "ROSTER_UPLOAD_MAX_BYTES": 100 * 1024 * 1024,  # roster CSV uploaded in the browser
    "PREVIEW_MAX_PIXELS": 1600,  # longest side of a document preview image
    # --- fees (R-FEE-1..5): patient's own copy is free by default ---
    "FEE_PATIENT_ELECTRONIC_FLAT_CENTS": 0,
    "FEE_PATIENT_PAPER_PER_PAGE_CENTS": 0,
    "FEE_THIRD_PARTY_ELECTRONIC_FLAT_CENTS": 0,
    "FEE_THIRD_PARTY_PAPER_PER_PAGE_CENTS": 0,
    "FEE_POSTAGE_CENTS": 0,
    # --- auditor (issue 6) ---
    # Longest date range one filter or export may cover: seven years spans the six-year
    # retention (R-AUD-3) with room to spare, and keeps every export bounded.
    "AUDIT_MAX_RANGE_DAYS": 2557,
    # Where the hourly job appends the signed chain head (portal.audit.heads): a path outside
    # the database host's reach (README "Keeping the audit trail whole"). Default: in the
    # instance folder. "off" disables it (then only export manifests hold heads).
    "AUDIT_HEAD_FILE": "",
    "AUDIT_HEAD_EVERY_MINUTES": 60,
    # --- Flask ---
    # A form's token lives as long as the session it belongs to (sign-in and sign-out replace
    # it; sessions have their own idle and absolute limits), so a page kept open while working
    # never fails to save for a stale token alone.
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 210 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "portal_session",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "America/Los_Angeles",
    "LANGUAGES": ["en", "es"],
}

ENV_PREFIX = "PORTAL_"


def _parse_env_value(raw: str) -> object:
    """Parse a PORTAL_* value: JSON scalars and lists are decoded, anything else is a string."""
    stripped = raw.strip()
    if stripped[:1] in "[{" or stripped in ("true", "false", "null") or _is_number(stripped):
        try:
            return json.loads(stripped)
        except ValueError:
            return raw
    return raw


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def environment_overrides(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Return settings taken from PORTAL_* environment variables (known names only)."""
    environ = dict(os.environ if environ is None else environ)
    overrides: dict[str, object] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):]
        if key in DEFAULTS or key in ("ENV", "DEBUG"):
            overrides[key] = _parse_env_value(raw)
    return overrides
