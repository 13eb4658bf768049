"""The API database: global tables only (seed 004, "Database split").

Cell mappings, host and instance mappings, build requests and request specs, flavors,
keypairs, images of the built-in image service. Per-instance data lives in the cell databases.
"""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "alembic"
