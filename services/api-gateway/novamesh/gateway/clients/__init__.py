"""Adapters for the services the gateway calls."""
