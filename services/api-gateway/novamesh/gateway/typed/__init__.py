"""The typed gRPC face (compute.v1.ServersService)."""
