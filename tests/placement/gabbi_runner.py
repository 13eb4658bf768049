"""Run upstream placement's gabbi files against a fresh novamesh-placement behind real Envoy.

    python -m tests.placement.gabbi_runner [--out DIR] [--check-baseline] [file.yaml ...]

The files are read from PLACEMENT_GABBITS (default: ../shared/reference/placement/gabbits beside
the repository); nothing is copied into the repo. Each file gets a fresh placement and database,
started with the policy its fixture asks for; fixtures that seed providers in upstream's
database are recreated through the API first (tests/placement/fixtures.py). Writes a per-file
table (report.md) and summary.json to --out (default .novamesh/gabbi); with --check-baseline,
fails when a file passes fewer tests than gabbi_baseline.json records.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.placement import fixtures, harness

REPO = Path(__file__).resolve().parents[2]
GABBITS = Path(
    os.environ.get("PLACEMENT_GABBITS", REPO.parent / "shared/reference/placement/gabbits")
)
BASELINE = Path(__file__).with_name("gabbi_baseline.json")


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


# Why the tests that still fail do, per file (none known now).
KNOWN_FAILURES: dict[str, str] = {}

# Tests no HTTP client can send, per file: run as skipped with the reason. (Sent from a raw
# socket instead, Envoy's HTTP/1 codec answers 400 before any filter: tests/placement.)
UNSENDABLE = {
    "basic-http.yaml": {
        "bad content length not int": "the client library refuses to send "
        "'Content-Length: hi mom' (test_bad_input sends it over a raw socket)",
    },
}


def sendable(path: Path, work: Path) -> Path:
    """The file itself, or a copy in `work` (same name, so test names stay) with the tests no
    client can send marked `skip`."""
    skips = UNSENDABLE.get(path.name)
    if not skips:
        return path
    doc = yaml.safe_load(path.read_text())
    for test in doc.get("tests") or []:
        if test.get("name") in skips:
            test["skip"] = skips[test["name"]]
    copy = work / "sendable" / path.name
    copy.parent.mkdir(exist_ok=True)
    copy.write_text(yaml.safe_dump(doc, sort_keys=False))
    return copy


def fixtures_of(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text()) or {}
    return [str(f) for f in doc.get("fixtures") or []]


def plan(path: Path) -> tuple[list[fixtures.Fixture], str, str | None]:
    """The fixtures of a file, the policy mode placement needs, and why not, if it can't run."""
    names = fixtures_of(path)
    unknown = [n for n in names if n not in fixtures.FIXTURES]
    if unknown:
        return [], "legacy", f"fixture {', '.join(unknown)} has no equivalent here"
    chosen = [fixtures.FIXTURES[n] for n in names]
    skips = [f.skip for f in chosen if f.skip]
    modes = [f.policy for f in chosen if f.policy != "legacy"]
    return chosen, modes[-1] if modes else "legacy", skips[0] if skips else None


def count(text: str) -> tuple[int, int, int]:
    passed = len(re.findall(r"^\.\.\. ✓ ", text, re.M))
    failed = len(re.findall(r"^\.\.\. [✗E] ", text, re.M))
    skipped = len(re.findall(r"^\.\.\. - ", text, re.M))
    return passed, failed, skipped


def run_file(
    path: Path, ports: harness.Ports, work: Path, db_url: str | None = None
) -> dict[str, object]:
    chosen, mode, reason = plan(path)
    if reason:
        return {"file": path.name, "skipped": True, "reason": reason}
    state = Path(tempfile.mkdtemp(dir=work))
    with harness.placement(ports.grpc, state, mode, db_url, ports.url):
        genv = dict(os.environ)
        genv.update(fixture_env())
        api = fixtures.Api(ports.url)
        try:
            for f in chosen:
                f.build(api, genv)
        finally:
            api.close()
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "gabbi-run"),
                ports.url,
                "--",
                str(sendable(path, work)),
            ],
            env=genv,
            capture_output=True,
            text=True,
            timeout=300,
        )
    text = out.stdout + out.stderr
    passed, failed, skipped = count(text)
    (work / f"{path.stem}.out").write_text(text)
    return {
        "file": path.name,
        "passed": passed,
        "failed": failed,
        "skipped_tests": skipped,
        "policy": mode,
    }


def report(results: list[dict[str, object]]) -> str:
    lines = [
        "| file | passed | failed | skipped | note |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        if r.get("skipped"):
            lines.append(f"| {r['file']} | - | - | file | {r['reason']} |")
        else:
            note = str(r.get("error", ""))
            if int(str(r["failed"])) and r["file"] in KNOWN_FAILURES:
                note = f"{note} {KNOWN_FAILURES[str(r['file'])]}".strip()
            if int(str(r["skipped_tests"])) and r["file"] in UNSENDABLE:
                reasons = "; ".join(f"{k}: {v}" for k, v in UNSENDABLE[str(r["file"])].items())
                note = f"{note} skipped {reasons}".strip()
            if r.get("policy", "legacy") != "legacy":
                note = f"policy {r['policy']} {note}".strip()
            lines.append(
                f"| {r['file']} | {r['passed']} | {r['failed']} | {r['skipped_tests']} | {note} |"
            )
    ran = [r for r in results if not r.get("skipped")]
    total_p = sum(int(str(r["passed"])) for r in ran)
    total_f = sum(int(str(r["failed"])) for r in ran)
    lines.append(
        f"| **{len(results)} files** | **{total_p}** | **{total_f}** | "
        f"**{len(results) - len(ran)} files** | |"
    )
    return "\n".join(lines) + "\n"


def regressions(results: list[dict[str, object]], baseline: dict[str, int]) -> list[str]:
    """Files that pass fewer tests than the committed baseline records."""
    got = {str(r["file"]): int(str(r.get("passed", 0))) for r in results}
    return [
        f"{name}: {got.get(name, 0)} passed, baseline {want}"
        for name, want in sorted(baseline.items())
        if name in got and got[name] < want
    ]


def run(
    files: list[Path], work: Path, db_url_for: Callable[[Path], str | None] = lambda _: None
) -> list[dict[str, object]]:
    """Every file against a fresh placement; `db_url_for` names each one's database (None:
    SQLite in the file's state directory)."""
    results: list[dict[str, object]] = []
    with harness.edge(work) as ports:
        for f in files:
            try:
                origins = tuple(o for fx in plan(f)[0] for o in fx.cors_origins)
                if origins:
                    # Its own edge: CORS is the edge's business.
                    with harness.edge(work, origins) as cors_ports:
                        r = run_file(f, cors_ports, work, db_url_for(f))
                else:
                    r = run_file(f, ports, work, db_url_for(f))
            except (RuntimeError, OSError) as exc:
                r = {
                    "file": f.name,
                    "passed": 0,
                    "failed": 1,
                    "skipped_tests": 0,
                    "error": str(exc),
                }
            results.append(r)
            if r.get("skipped"):
                print(f"{r['file']}: skipped ({r['reason']})", flush=True)
            else:
                print(f"{r['file']}: {r['passed']} passed, {r['failed']} failed", flush=True)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / ".novamesh" / "gabbi")
    parser.add_argument("--check-baseline", action="store_true")
    parser.add_argument("--write-baseline", action="store_true")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    files = args.files or sorted(GABBITS.glob("*.yaml"))
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gabbi-", dir=args.out))
    results = run(files, work)
    table = report(results)
    (args.out / "report.md").write_text(table)
    (args.out / "summary.json").write_text(json.dumps(results, indent=1))
    print(table)
    print(f"outputs in {work}")
    baseline_now = {str(r["file"]): int(str(r["passed"])) for r in results if "passed" in r}
    if args.write_baseline:
        BASELINE.write_text(json.dumps(baseline_now, indent=1, sort_keys=True) + "\n")
    if args.check_baseline:
        bad = regressions(results, json.loads(BASELINE.read_text()))
        for line in bad:
            print("REGRESSION", line)
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
