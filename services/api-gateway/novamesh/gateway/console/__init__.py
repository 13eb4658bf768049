"""The remote console proxy (Nova's novncproxy and serialproxy roles): websockets from the
compute endpoint to the console a guest's host serves, behind a console auth token."""
