"""The API contract suite in CI: the pass count never drops below the recorded baseline.

Engineers are still adding APIs, so failures of cases not yet passing don't fail CI; a case
that passed and stops passing does (the count drops). `make contract` prints the full report;
`make contract-baseline` records a new baseline after an improvement.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.contract import runner

pytestmark = pytest.mark.e2e

BASELINE = Path(__file__).with_name("baseline.json")


def test_contract_pass_count_never_drops() -> None:
    baseline = json.loads(BASELINE.read_text())
    state = Path(tempfile.mkdtemp(prefix="novamesh-contract-"))
    mesh = runner.start(state / "state")
    try:
        report = runner.run(mesh)
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)
    passed = {c["key"] for c in report["cases"] if c["outcome"] == "passed"}
    lost = sorted(set(baseline["passed_cases"]) - passed)
    reasons = {c["key"]: c["reason"] for c in report["cases"]}
    assert len(passed) >= baseline["passed"], (
        f"{len(passed)} cases pass, the baseline is {baseline['passed']}; no longer passing:\n"
        + "\n".join(f"{key}: {reasons.get(key, 'missing')}" for key in lost)
    )
