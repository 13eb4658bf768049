"""Readiness probes the launcher waits on: gRPC health (grpc.health.v1) and Envoy's /ready."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def grpc_serving(target: str, timeout: float = 1.0) -> bool:
    """True when the server at `target` reports SERVING for the whole server ("")."""
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def wait_for(probe: Callable[[], bool], alive: Callable[[], bool], timeout: float) -> str | None:
    """Poll `probe` until it holds; None on success, else why not ("exited" or "timeout")."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        if probe():
            return None
        if not alive():
            return "exited"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def port_in_use(hostport: str) -> bool:
    """Whether something already listens on host:port (a clash the launcher reports early)."""
    host, _, port = hostport.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host.strip("[]") or "127.0.0.1", int(port))) == 0
