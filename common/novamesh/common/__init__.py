"""Code every novamesh service shares: configuration, logs, telemetry, gRPC and databases."""
