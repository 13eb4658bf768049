"""Render the edge's Envoy bootstrap from the configuration (for containers, CI, inspection).

    python -m novamesh.common.edge [--config FILE] [--out envoy.yaml] [--format yaml|json]
        [--admin-port 9901] [--listen 0.0.0.0] [--descriptor-mount /etc/envoy/novamesh.pb]
        [--cors-origin URL ...] [--validate]

Upstreams are the configured service endpoints (`NOVAMESH__ENDPOINTS__GATEWAY=api:50051` ...);
listener ports come from the public URLs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from novamesh.common import config as config_mod
from novamesh.common.edge import descriptors as desc
from novamesh.common.edge import envoy, process


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m novamesh.common.edge")
    parser.add_argument("--config", help="TOML configuration file (else NOVAMESH_CONFIG)")
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")
    parser.add_argument("--admin-port", type=int, default=9901)
    parser.add_argument("--admin-address", default="127.0.0.1")
    parser.add_argument("--listen", default="127.0.0.1", help="listener address")
    parser.add_argument("--descriptor", type=Path, help="descriptor set to read")
    parser.add_argument("--descriptor-mount", help="descriptor set path as Envoy will see it")
    parser.add_argument("--cors-origin", action="append", default=[])
    parser.add_argument("--validate", action="store_true", help="run envoy --mode validate")
    args = parser.parse_args(argv)

    cfg = config_mod.load(args.config)
    pb = args.descriptor or desc.default_descriptor_path()
    descriptors = desc.Descriptors.load(pb)
    faces = envoy.default_listeners(cfg, descriptors, args.cors_origin, address=args.listen)
    edge = envoy.EdgeConfig(
        faces,
        args.admin_port,
        descriptor_path=pb,
        admin_address=args.admin_address,
        descriptor_mount=args.descriptor_mount,
    )
    text = envoy.dump(envoy.render(edge, descriptors), args.format)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.write_text(text)
    if args.validate:
        process.validate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
