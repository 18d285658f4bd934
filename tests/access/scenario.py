"""The world the access-matrix test runs in: one person per role and two requesters.

Each area's registry (tests/access/registry_<area>.py) says, for each of its endpoints, how to
build the URL for an object owned by ``owner`` and who may open it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STAFF_ROLES = ("clerk", "supervisor", "auditor", "compliance", "admin")
PRINCIPALS = ("anonymous", *STAFF_ROLES, "licensed_clerk", "owner", "stranger")
WORKERS = frozenset({"clerk", "supervisor", "licensed_clerk"})
AUDITORS = frozenset({"auditor", "compliance"})
EVERYONE = frozenset(PRINCIPALS)


@dataclass
class Scenario:
    """Objects built once per test; ``extra`` is filled by area hooks (releases, grants...)."""

    staff: dict[str, Any]
    owner: Any
    stranger: Any
    request: Any
    stranger_request: Any
    patient: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """How to reach an endpoint and who may use it.

    ``allowed`` names principals from PRINCIPALS. ``kwargs`` builds the URL arguments for an
    object owned by the scenario's owner. ``methods`` limits which methods are checked (default:
    all the rule accepts). ``data`` is posted form data, if a POST needs some to get past
    validation (it does not need to: a refusal must come before validation).
    """

    allowed: frozenset[str]
    kwargs: Callable[[Scenario], dict] = lambda s: {}
    methods: tuple[str, ...] | None = None
    data: Callable[[Scenario], dict] | None = None
