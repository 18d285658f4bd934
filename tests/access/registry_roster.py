"""Access rules of the roster pages: staff who work requests search and read it; only a
supervisor (manage roster) imports it."""

from __future__ import annotations

from tests.access.scenario import WORKERS, Route

ROUTES = {
    "roster.index": Route(WORKERS),
    "roster.patient": Route(WORKERS, kwargs=lambda s: {"patient_id": s.patient.id}),
    "roster.import_csv": Route(frozenset({"supervisor"})),
}
