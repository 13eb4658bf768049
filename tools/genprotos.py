"""Generate Python code, type stubs and Envoy's descriptor set from protos/; lint with buf.

    genprotos.py --out gen      regenerate gen/
    genprotos.py --check gen    fail when gen/ differs from what protos/ generates
    genprotos.py --lint         buf lint over protos/

Generated code lives in gen/, committed, so a fresh checkout imports without a build step;
the check keeps it from going stale.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
DESCRIPTOR = Path("envoy") / "novamesh.pb"
BUF_CONFIG = """version: v2
modules:
  - path: novamesh-protos
lint:
  use: [STANDARD]
  except: [RPC_REQUEST_RESPONSE_UNIQUE, RPC_REQUEST_STANDARD_NAME, RPC_RESPONSE_STANDARD_NAME]
breaking:
  use: [FILE]
"""


def _google_include() -> Path:
    import google.api

    # site-packages/google/api -> site-packages (the .proto files ship beside the modules)
    return Path(next(iter(google.api.__path__))).parent.parent


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))


def generate(out: Path) -> None:
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    for sub in out.glob("novamesh"):
        shutil.rmtree(sub)
    (out / DESCRIPTOR).parent.mkdir(parents=True, exist_ok=True)
    grpc_include = Path(protoc.__file__).parent / "_proto"
    files = proto_files()
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{_google_include()}",
        f"-I{grpc_include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy={Path(sys.executable).parent / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={Path(sys.executable).parent / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={out / DESCRIPTOR}",
        *files,
        "google/api/httpbody.proto",
        "google/rpc/status.proto",
    ]
    # protoc's plugins print a line per file; keep the output for failures only.
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from grpc_tools import protoc; sys.exit(protoc.main(sys.argv[1:]))",
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"protoc failed:\n{proc.stdout}{proc.stderr}")
    # grpc_python_out leaves no stubs for google/*; keep only our namespace.
    for stray in out.glob("google"):
        shutil.rmtree(stray)


def check(gen: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        diff = filecmp.dircmp(fresh, gen)
        problems: list[str] = []

        def walk(d: filecmp.dircmp[str], prefix: str) -> None:
            problems.extend(f"{prefix}{n} (missing)" for n in d.left_only)
            problems.extend(f"{prefix}{n} (no longer generated)" for n in d.right_only)
            problems.extend(f"{prefix}{n} (stale)" for n in d.diff_files)
            for name, sub in d.subdirs.items():
                walk(sub, f"{prefix}{name}/")

        walk(diff, "gen/")
        problems = [p for p in problems if "__pycache__" not in p]
        if problems:
            print("generated code is stale; run `make protos`:", *problems, sep="\n  ")
            return 1
    print("generated code is up to date")
    return 0


def lint() -> int:
    buf = Path(sys.executable).parent / "buf"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(PROTOS, work / "novamesh-protos")
        google = work / "deps"
        (google / "google" / "api").mkdir(parents=True)
        for name in ("annotations.proto", "http.proto", "httpbody.proto"):
            shutil.copy(_google_include() / "google" / "api" / name, google / "google" / "api")
        (work / "buf.yaml").write_text(
            BUF_CONFIG.replace(
                "modules:\n", "modules:\n  - path: deps\n    lint:\n      ignore: [deps/google]\n"
            )
        )
        return subprocess.call([str(buf), "lint"], cwd=work)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument("--check", type=Path)
    parser.add_argument("--lint", action="store_true")
    args = parser.parse_args()
    if args.out:
        generate(args.out)
        return 0
    if args.check:
        return check(args.check)
    if args.lint:
        return lint()
    parser.error("nothing to do")
    return 2


if __name__ == "__main__":
    sys.exit(main())
