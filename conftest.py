"""Suite-wide settings: every test run, and every mesh process a test starts, treats a session
opened inside a transaction from the same factory as an error (novamesh.common.db)."""

import os

os.environ["NOVAMESH_STRICT_SESSIONS"] = "1"
