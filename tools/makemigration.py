"""Autogenerate the next alembic migration of one of novamesh's databases.

    python tools/makemigration.py common/novamesh/common/apidb/alembic "add aggregates" 0002

It upgrades a scratch SQLite database to head, then diffs the models against it.
"""

from __future__ import annotations

import sys
import tempfile

from alembic import command
from alembic.config import Config


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    location, message, rev_id = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config()
        cfg.set_main_option("script_location", location)
        cfg.set_main_option("sqlalchemy.url", f"sqlite:///{tmp}/scratch.db")
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
