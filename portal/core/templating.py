"""Template helpers: Pacific-time display of UTC values, and endpoint availability."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from portal.rules.deadlines import PROGRAM_TIME_ZONE


def init_app(app: Flask) -> None:
    """Register filters and context processors."""
    zone = PROGRAM_TIME_ZONE
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.template_filter("pacific")
    def pacific(value: datetime | None, fmt: str = "%d %b %Y, %H:%M %Z") -> str:
        """UTC is stored; people read Pacific time (R-DL-1)."""
        return value.astimezone(zone).strftime(fmt) if value else ""

    @app.template_filter("longdate")
    def longdate(value: date | None) -> str:
        return f"{value.strftime('%A')}, {value.day} {value.strftime('%B %Y')}" if value else ""

    @app.context_processor
    def _endpoints():
        return {"url_map_endpoints": {rule.endpoint for rule in app.url_map.iter_rules()}}
