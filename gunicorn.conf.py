"""gunicorn's settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app` (README).

Access log lines pass through portal.core.logredact, as the app's own logs do: a path token
(sign-in, confirmation, setup and shared-download links) becomes ``[token]`` and every query
value ``[…]`` (a clerk's search is PHI). The error log gets the same filter. Other settings
(workers, bind) stay on the command line or in GUNICORN_CMD_ARGS.
"""

from gunicorn.glogging import Logger

from portal.core.logredact import RedactingFilter, redact, redact_query_string

#: Request headers never written to a log whatever the format asks for.
_SECRET_HEADERS = ("{cookie}i", "{authorization}i", "{x-csrftoken}i")


class RedactingLogger(Logger):
    """gunicorn's logger with every URL-bearing atom redacted."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in ("q", "{query_string}e"):
                atoms[key] = redact_query_string(value or "")
            elif key in _SECRET_HEADERS:
                atoms[key] = "-"
            elif isinstance(value, str):
                atoms[key] = redact(value)
        return atoms


logger_class = RedactingLogger
accesslog = "-"
