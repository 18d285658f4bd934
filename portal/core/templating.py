"""Template helpers: Pacific-time display of UTC values, and endpoint availability."""

from __future__ import annotations

from flask import Flask

from portal.core.dates import date_and_time, due_text, long_date


def init_app(app: Flask) -> None:
    """Register filters and context processors."""
    app.jinja_env.add_extension("jinja2.ext.do")

    # UTC is stored; people read the program's clock (R-DL-1), in one style (portal.core.dates).
    app.add_template_filter(date_and_time, "pacific")
    app.add_template_filter(long_date, "longdate")
    app.jinja_env.globals.update(format_date=long_date, format_due=due_text)

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
