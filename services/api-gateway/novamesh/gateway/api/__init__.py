"""Nova API plumbing without gRPC: errors, microversions, identity, query, validation,
policy."""
