"""The suite's report: one result per case, summed per API directory, and its markdown table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    key: str
    directory: str
    version: str
    case: str
    outcome: str  # passed | failed | not_applicable | unmapped
    reason: str = ""


def summarize(results: list[Result]) -> dict[str, Any]:
    per_dir: dict[str, dict[str, Any]] = {}
    for r in results:
        entry = per_dir.setdefault(
            r.directory,
            {"passed": 0, "failed": 0, "not_applicable": 0, "unmapped": 0, "reasons": []},
        )
        entry[r.outcome] += 1
        if r.outcome == "not_applicable" and r.reason not in entry["reasons"]:
            entry["reasons"].append(r.reason)
    totals = {k: sum(1 for r in results if r.outcome == k) for k in
              ("passed", "failed", "not_applicable", "unmapped")}  # fmt: skip
    return {
        "totals": totals,
        "directories": per_dir,
        "cases": [r.__dict__ for r in results],
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| API directory | passed | failed | not applicable | unmapped | why not applicable |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, d in sorted(report["directories"].items()):
        lines.append(
            f"| {name} | {d['passed']} | {d['failed']} | {d['not_applicable']} | "
            f"{d['unmapped']} | {'; '.join(d['reasons'])} |"
        )
    t = report["totals"]
    lines.append(
        f"| **total** | {t['passed']} | {t['failed']} | {t['not_applicable']} | {t['unmapped']} | |"
    )
    return "\n".join(lines) + "\n"
