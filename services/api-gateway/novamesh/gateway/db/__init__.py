"""The gateway's access to the API database."""
