"""Helpers for tests that start real processes: free ports, PostgreSQL, Redis, the whole mesh."""
