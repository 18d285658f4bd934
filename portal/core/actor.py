"""Who is acting: staff, a requester, or the system. Operations take an Actor, never a request."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """The person or process behind an operation, with what they may do."""

    kind: str  # "staff" | "requester" | "system" | "anonymous"
    id: int | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    is_licensed_reviewer: bool = False
    client_ip: str | None = None

    def can(self, permission: str) -> bool:
        """Whether this actor holds a named permission (the system holds every permission)."""
        return self.kind == "system" or permission in self.permissions


SYSTEM = Actor(kind="system")
