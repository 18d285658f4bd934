"""Access rules of the public site and static files."""

from tests.access.scenario import EVERYONE, Route

ROUTES = {
    "public.home": Route(EVERYONE),
    "static": Route(EVERYONE, kwargs=lambda s: {"filename": "css/portal.css"}),
}
