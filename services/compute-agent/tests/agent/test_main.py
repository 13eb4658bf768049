"""The agent process: its GetInfo server, and one trace per command from router to driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from novamesh.agent import main
from novamesh.agent.agent import Agent
from novamesh.agent.commands import Build
from novamesh.agent.v1 import agent_pb2, agent_pb2_grpc
from novamesh.agent.virt.model import InstanceSpec
from novamesh.common import grpcutil, telemetry
from novamesh.common.config import AgentConfig, Config, Endpoints
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def config(tmp_path: Path) -> Config:
    return Config(
        state_dir=str(tmp_path),
        endpoints=Endpoints(agent="127.0.0.1:0"),
        agent=AgentConfig(host_prefix="gi", host_count=3),
    )


async def test_get_info_names_driver_hosts_and_capabilities(tmp_path: Path) -> None:
    spec = await main.build(config(tmp_path))
    server, port, _ = grpcutil.create_server(spec.listen, spec.registrars, spec.service_names)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = await agent_pb2_grpc.ComputeAgentServiceStub(channel).GetInfo(
                agent_pb2.GetInfoRequest()
            )
    finally:
        await server.stop(None)
    assert info.driver == "fake"
    assert list(info.hosts) == ["gi-1", "gi-2", "gi-3"]
    assert "operation.launch" in info.capabilities
    assert "operation.suspend" in info.capabilities
    assert info.agent_id and info.version
    assert spec.service_names == ["novamesh.agent.v1.ComputeAgentService"]


def span_exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider: Any = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_a_build_is_one_trace_under_the_routers_span(tmp_path: Path) -> None:
    exporter = span_exporter()
    agent = Agent(config(tmp_path))
    await agent.manager.start()
    router_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = telemetry.extract({"traceparent": f"00-{router_trace}-00f067aa0ba902b7-01"})
    await agent.manager.handle("c1", "gi-1", Build(InstanceSpec(uuid="u1")), parent)
    await agent.driver.cleanup()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    build, spawn = spans["agent.build_and_run"], spans["driver.spawn"]
    assert build.context is not None and spawn.context is not None
    assert f"{build.context.trace_id:032x}" == router_trace
    assert build.parent is not None and f"{build.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert spawn.parent is not None and spawn.parent.span_id == build.context.span_id
    assert build.attributes is not None and build.attributes["instance_uuid"] == "u1"
