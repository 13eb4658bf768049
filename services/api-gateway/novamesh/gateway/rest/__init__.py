"""The REST face: servicers that turn Envoy-transcoded calls into domain calls and JSON bodies."""
