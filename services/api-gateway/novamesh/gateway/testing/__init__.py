"""Test support: an in-memory cells router and an in-process gateway with an Envoy-like client.

Shipped with the package so tests of other components (and benchmarks) can stand up a gateway
without the rest of the mesh.
"""
