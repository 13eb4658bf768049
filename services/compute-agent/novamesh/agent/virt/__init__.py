"""Virt drivers: a small required interface, optional capability interfaces, a registry by name."""
