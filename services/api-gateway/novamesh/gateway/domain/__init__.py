"""What the compute API does, independent of how it is called (REST or typed gRPC)."""
