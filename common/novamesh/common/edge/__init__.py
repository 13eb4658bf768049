"""The edge: Envoy in front of the mesh (config, process control) and the local launcher."""
