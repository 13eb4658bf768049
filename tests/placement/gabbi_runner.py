"""Run upstream placement's gabbi files against a fresh novamesh-placement behind real Envoy.

    python tests/placement/gabbi_runner.py [file.yaml ...]

The files are read from PLACEMENT_GABBITS (default: ../shared/reference/placement/gabbits beside
the repository); nothing is copied into the repo. Each file gets a fresh database. Files whose
upstream fixture seeds providers straight into the database, or installs a special policy, are
skipped with that reason until their topology is recreated through the API. Prints passed /
failed / skipped per file and a closing `N passed, N failed, N skipped` line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
from novamesh.common.edge import envoy, process

from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
GABBITS = Path(
    os.environ.get("PLACEMENT_GABBITS", REPO.parent / "shared/reference/placement/gabbits")
)
SUPPORTED_FIXTURES = {"APIFixture", "AllocationFixture"}
PLACEMENT_SERVICES = ["novamesh.placement.v1.PlacementRestService"]


def fixture_env() -> dict[str, str]:
    """The variables upstream's fixtures export, with fresh values."""
    env = {}
    names = [
        "RP_UUID",
        "CN1_UUID",
        "CN2_UUID",
        "CN3_UUID",
        "PARENT_PROVIDER_UUID",
        "ALT_PARENT_PROVIDER_UUID",
        "NUMA0_UUID",
        "NUMA1_UUID",
        "AGGA_UUID",
        "AGGB_UUID",
        "AGGC_UUID",
        "ALT_RP_UUID",
        "RP_UUID1",
        "RP_UUID2",
        "PF1_1_UUID",
        "PF1_2_UUID",
        "PF2_1_UUID",
        "PF2_2_UUID",
        "PF2_3_UUID",
        "PF2_4_UUID",
        "PF3_1_UUID",
        "INSTANCE_UUID",
        "SS_UUID",
        "SS1_UUID",
        "SS2_UUID",
        "CONSUMER_ID",
        "CONSUMER_UUID",
        "CONSUMER_0",
        "ALT_CONSUMER_ID",
        "MIGRATION_UUID",
        "FPGA0_UUID",
        "FPGA1_0_UUID",
        "FPGA1_1_UUID",
        "PGPU0_UUID",
        "NUMA1_1_UUID",
        "NUMA1_2_UUID",
        "NUMA2_1_UUID",
        "NUMA2_2_UUID",
        "ESN1_UUID",
        "ESN2_UUID",
        "SRIOV_AGENT_UUID",
        "NIC1_UUID",
        "AGGA",
        "AGGB",
        "AGGC",
        "CN_LEFT",
        "CN_MIDDLE",
        "CN_RIGHT",
        "SHR_DISK_1",
        "SHR_DISK_2",
        "SHR_NET",
    ]
    for name in names:
        env[name] = str(uuid.uuid4())
    for name in (
        "PROJECT_ID",
        "USER_ID",
        "ALT_USER_ID",
        "PROJECT_ID_ALT",
        "USER_ID_ALT",
        "SERVICE_PROJECT_ID",
        "ADMIN_PROJECT_ID",
    ):
        env[name] = uuid.uuid4().hex
    env["RP_NAME"] = "rp-" + uuid.uuid4().hex
    env["RP_NAME1"] = "rp1-" + uuid.uuid4().hex
    env["RP_NAME2"] = "rp2-" + uuid.uuid4().hex
    env["ALT_RP_NAME"] = "alt-" + uuid.uuid4().hex
    env["CUSTOM_RES_CLASS"] = "CUSTOM_IRON_NFV"
    return env


def fixtures_of(path: Path) -> list[str]:
    text = path.read_text()
    m = re.search(r"^fixtures:\s*\n((?:\s+-\s*\S+\s*\n)+)", text, re.M)
    return re.findall(r"-\s*(\S+)", m.group(1)) if m else []


def skip_reason(path: Path) -> str | None:
    unsupported = [f for f in fixtures_of(path) if f not in SUPPORTED_FIXTURES]
    if unsupported:
        return f"fixture {', '.join(unsupported)} not recreated through the API yet"
    if "AllocationFixture" in fixtures_of(path):
        return "fixture AllocationFixture not recreated through the API yet"
    return None


def wait_grpc(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                grpc.channel_ready_future(ch).result(timeout=0.5)
                return
        except grpc.FutureTimeoutError:
            time.sleep(0.1)
    raise RuntimeError("placement did not start")


def run_file(path: Path, grpc_port: int, http_port: int, work: Path) -> dict[str, object]:
    reason = skip_reason(path)
    if reason:
        return {"file": path.name, "skipped": True, "reason": reason}
    state = Path(tempfile.mkdtemp(dir=work))
    env = dict(os.environ)
    env.update(
        NOVAMESH__STATE_DIR=str(state),
        NOVAMESH__ENDPOINTS__PLACEMENT=f"127.0.0.1:{grpc_port}",
        NOVAMESH__TELEMETRY__ENABLED="false",
        NOVAMESH__LOG_LEVEL="WARNING",
    )
    log = open(state / "placement.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-c", "from novamesh.placement.main import main; main()"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_grpc(grpc_port)
        genv = dict(os.environ)
        genv.update(fixture_env())
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "gabbi-run"),
                f"http://127.0.0.1:{http_port}",
                "--",
                str(path),
            ],
            env=genv,
            capture_output=True,
            text=True,
            timeout=300,
        )
        text = out.stdout + out.stderr
        passed = len(re.findall(r"^\.\.\. ✓ ", text, re.M))
        failed = len(re.findall(r"^\.\.\. [✗E] ", text, re.M))
        skipped = len(re.findall(r"^\.\.\. - ", text, re.M))
        (work / f"{path.stem}.out").write_text(text)
        return {"file": path.name, "passed": passed, "failed": failed, "skipped_tests": skipped}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or sorted(GABBITS.glob("*.yaml"))
    work = Path(tempfile.mkdtemp(prefix="gabbi-"))
    grpc_port, http_port, admin_port = free_port(), free_port(), free_port()
    cfg = envoy.EdgeConfig(
        listeners=[
            envoy.Listener(
                "placement", http_port, f"127.0.0.1:{grpc_port}", PLACEMENT_SERVICES, "placement"
            )
        ],
        admin_port=admin_port,
    )
    conf = work / "envoy.yaml"
    conf.write_text(envoy.dump(envoy.render(cfg)))
    proxy = process.start(conf, admin_port, work / "envoy.log")
    results = []
    try:
        for f in files:
            r = run_file(f, grpc_port, http_port, work)
            results.append(r)
            if r.get("skipped"):
                print(f"{r['file']}: skipped ({r['reason']})", flush=True)
            else:
                print(f"{r['file']}: {r['passed']} passed, {r['failed']} failed", flush=True)
    finally:
        proxy.stop()
    ran = [r for r in results if not r.get("skipped")]
    total_p = sum(int(str(r["passed"])) for r in ran)
    total_f = sum(int(str(r["failed"])) for r in ran)
    skipped = len(results) - len(ran)
    (work / "summary.json").write_text(json.dumps(results, indent=1))
    print(f"outputs in {work}")
    print(f"gabbi: {total_p} passed, {total_f} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
