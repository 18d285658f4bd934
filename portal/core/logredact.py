"""Logs carry no tokens and no search terms (R-SEC-4, R-SEC-5).

A sign-in link, an email confirmation, a staff setup link or a shared download carries a
bearer token in its path; whoever reads an access log line with one could use it. Query
strings carry what a clerk searched for (a name is PHI). So every request line that reaches a
log goes through :func:`redact`, which the development server's log filter
(:func:`install`), the app's log handlers and gunicorn's access log (gunicorn.conf.py) share:

- a path segment that a URL rule names as a token is replaced by ``[token]``; which rules
  those are is read from the app's URL map (:func:`learn_routes`), so a new tokened route is
  redacted without anyone listing it here;
- every query-string value is replaced by ``[…]`` (the names stay, for debugging).
"""

from __future__ import annotations

import logging
import re

from werkzeug.routing import Map

TOKEN = "[token]"
VALUE = "[…]"

#: Path prefixes (up to the token) of the URL rules whose last argument is a token.
_token_prefixes: set[str] = set()
_token_pattern: re.Pattern[str] | None = None
_QUERY = re.compile(r"\?([^\s\"#]*)")


def is_token_argument(name: str) -> bool:
    """URL rules name their bearer-token arguments ``token`` or ``…_token``."""
    return name == "token" or name.endswith("_token")


def learn_routes(url_map: Map) -> None:
    """Remember every rule with a token argument (called by create_app, for each app)."""
    global _token_pattern
    for rule in url_map.iter_rules():
        if not any(is_token_argument(name) for name in rule.arguments):
            continue
        # Flask keeps the rule's text; the part before the token's placeholder is fixed.
        head, _, _tail = rule.rule.partition("<")
        if head:
            _token_prefixes.add(head)
    if _token_prefixes:
        alternatives = "|".join(re.escape(p) for p in sorted(_token_prefixes, key=len,
                                                             reverse=True))
        _token_pattern = re.compile(f"({alternatives})[^/?#\\s\"]+")


def _redact_query(match: re.Match[str]) -> str:
    pairs = []
    for pair in match.group(1).split("&"):
        name, sep, _value = pair.partition("=")
        pairs.append(f"{name}={VALUE}" if sep else name)
    return "?" + "&".join(pairs)


def redact(text: str) -> str:
    """A log line (or path, or request line) with tokens and query values taken out."""
    if not text:
        return text
    if _token_pattern is not None:
        text = _token_pattern.sub(lambda m: m.group(1) + TOKEN, text)
    return _QUERY.sub(_redact_query, text)


def redact_query_string(query: str) -> str:
    """A bare query string (no '?'), as gunicorn's ``%(q)s`` atom holds it."""
    return redact("?" + query)[1:] if query else query


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through :func:`redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install(logger_names: tuple[str, ...] = ("werkzeug",)) -> None:
    """Filter the development server's request log and every handler of the root logger."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
