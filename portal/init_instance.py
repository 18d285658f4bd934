"""Prepare an instance before the portal can start: `python -m portal.init_instance`.

Generates the secret key, the file-encryption key, the field key, the export-signing key and
the head-signing key (each mode 0600) in KEY_DIR; run again after an upgrade, it adds any key
a new version needs. With ``--development`` it also writes instance/config.py with
development settings (ENV=development, placeholder custodian details). Existing keys and an
existing config.py are never overwritten.
"""

from __future__ import annotations

import argparse
import os

from portal import create_app
from portal.cli import setup_instance


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and create what is missing."""
    parser = argparse.ArgumentParser(prog="python -m portal.init_instance")
    parser.add_argument("--development", action="store_true",
                        help="also write development settings to instance/config.py")
    parser.add_argument("--port", default=os.environ.get("PORT", "5000"))
    args = parser.parse_args(argv)
    app = create_app({"CREATING_INSTANCE": True})
    with app.app_context():
        setup_instance(app, development=args.development, port=args.port, echo=print)


if __name__ == "__main__":
    main()
