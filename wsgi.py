"""WSGI entry point for production: `gunicorn wsgi:app`."""

from portal import create_app

app = create_app()
