"""Work that runs after the response's transaction commits, outside the visitor's request.

Used where the answer or its timing must not depend on the work (R-ID-5: the roster match).
Each job gets its own app context and its own transaction. With BACKGROUND_INLINE (tests,
CLI) the job runs right after the commit in the same thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app

from portal.core.db import after_commit

log = logging.getLogger("portal.background")
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="portal-bg")


def _run(app: Flask, job: Callable, args: tuple) -> None:
    from portal.core import db

    with app.app_context():
        try:
            job(*args)
            db.commit()
        except Exception:  # a failed background job must never take the app down
            db.rollback()
            log.exception("background job %s failed", getattr(job, "__name__", "job"))


def run_after_commit(job: Callable, *args) -> None:
    """Schedule ``job(*args)`` to run once the current transaction has committed."""
    app = current_app._get_current_object()
    if app.config.get("BACKGROUND_INLINE"):
        after_commit(lambda: _run(app, job, args))
    else:
        after_commit(lambda: _executor.submit(_run, app, job, args))
