"""A gRPC user boots, shows and deletes a server with the typed stubs, through Envoy's port."""

from __future__ import annotations

import time

import grpc
import pytest
from novamesh.compute.v1 import servers_pb2, servers_pb2_grpc

from tests.e2e.helpers import ACTIVE_TIMEOUT, flavor_and_image, placement_allocations
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e
AUTH = (("x-auth-token", "admin:admin"),)


def test_boot_show_delete_over_native_grpc(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    with grpc.insecure_channel(mesh.grpc_target) as channel:
        stub = servers_pb2_grpc.ServersServiceStub(channel)
        created = stub.CreateServer(
            servers_pb2.CreateServerRequest(name="e2e-grpc", image_ref=image, flavor_ref=flavor),
            metadata=AUTH,
            timeout=30,
        )
        server_id = created.server.id
        assert created.admin_pass

        deadline = time.monotonic() + ACTIVE_TIMEOUT
        server = created.server
        while server.status not in ("ACTIVE", "ERROR") and time.monotonic() < deadline:
            time.sleep(0.1)
            server = stub.GetServer(
                servers_pb2.GetServerRequest(id=server_id), metadata=AUTH, timeout=30
            )
        assert server.status == "ACTIVE", server.fault.message
        assert server.host.startswith("fake-host-")

        page = stub.ListServers(servers_pb2.ListServersRequest(page_size=100), metadata=AUTH)
        assert server_id in {s.id for s in page.servers}

        stub.DeleteServer(servers_pb2.DeleteServerRequest(id=server_id), metadata=AUTH)
        deadline = time.monotonic() + ACTIVE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                stub.GetServer(servers_pb2.GetServerRequest(id=server_id), metadata=AUTH)
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND
                break
            time.sleep(0.1)
        else:
            raise AssertionError("server was not deleted")
    assert placement_allocations(mesh, server_id) == {}


def test_unknown_server_is_not_found_status(mesh: Mesh) -> None:
    with grpc.insecure_channel(mesh.grpc_target) as channel:
        stub = servers_pb2_grpc.ServersServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.GetServer(servers_pb2.GetServerRequest(id="no-such-server"), metadata=AUTH)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
