"""Patterns shared by the request schemas (upstream placement's)."""

UUID_PATTERN = "^[0-9a-fA-F-]{36}$"
RC_PATTERN = "^[A-Z0-9_]+$"
CUSTOM_PATTERN = "^CUSTOM_[A-Z0-9_]+$"
CONSUMER_TYPE_PATTERN = "^[A-Z0-9_]+$"
GROUP_PAT = r"[1-9][0-9]*"
GROUP_PAT_1_33 = r"[a-zA-Z0-9_-]{1,64}"
MAX_INT = 2147483647
SQL_SP_FLOAT_MAX = 3.40282e38
