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

    app.add_template_filter(tel_href, "tel")

    @app.context_processor
    def _endpoints():
        return {"url_map_endpoints": {rule.endpoint for rule in app.url_map.iter_rules()}}


def tel_href(number: str | None) -> str:
    """A ``tel:`` link for a phone number as people write it: "(555) 010-0000" becomes
    "tel:+15550100000" (ten digits are a US number); short codes such as 988 stay as they are."""
    digits = "".join(c for c in (number or "") if c.isdigit())
    if len(digits) == 10:
        digits = "1" + digits
    return f"tel:+{digits}" if len(digits) == 11 else f"tel:{digits}"
