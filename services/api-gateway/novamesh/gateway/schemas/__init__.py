"""Request body schemas, per action and microversion (Nova's jsonschema rules)."""
