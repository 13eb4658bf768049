"""A cell's database: instances and everything local to them, the cell's services and nodes.

cell0 uses the same schema; it only ever holds instances that never got a host.
"""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "alembic"
