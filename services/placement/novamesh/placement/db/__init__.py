"""The placement database: providers, inventories, traits, aggregates, consumers, allocations."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "alembic"
