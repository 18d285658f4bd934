"""The benchmarks' own PostgreSQL database: found, or created on a fresh machine.

A benchmark measures PostgreSQL in a database of its own (never `test`, which the suite
empties, nor `postgres`). On a new machine that database does not exist yet; creating it here
keeps `make bench` from quietly skipping PostgreSQL there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SHARED = ("test", "postgres")


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def refuse_shared(url: str) -> None:
    """Stop the benchmark if ``url`` names a database that is not the benchmark's own."""
    if database_name(url) in SHARED:
        raise SystemExit(f"Refusing to benchmark in the shared `{database_name(url)}` database; "
                         "name a database of the benchmark's own.")


def ensure_pg_database(url: str) -> bool:
    """Create the benchmark's database if the server answers and it is missing.

    Returns False (the benchmark then skips PostgreSQL) when the server does not answer.
    """
    import psycopg

    refuse_shared(url)
    name = database_name(url)
    admin = url.replace("+psycopg", "").rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                        (name,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return False
    return True


def fresh_schema(engine) -> None:
    """The models' tables, empty. On PostgreSQL the whole schema is dropped first, so tables
    another revision of the portal left in the benchmark's database cannot block the drop."""
    from sqlalchemy import text

    import portal.models  # noqa: F401
    from portal.core.db import Base

    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
