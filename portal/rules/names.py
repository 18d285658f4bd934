"""Names as people type them: pure helpers shared by the roster import, the match and letters."""

from __future__ import annotations


def split_other_names(text: str | None) -> tuple[str, ...]:
    """Other names as typed by a requester: one per line, or separated by ';'."""
    parts = (text or "").replace(";", "\n").splitlines()
    return tuple(p.strip() for p in parts if p.strip())
