"""Why a request found no host, in one sentence an operator can act on.

The message starts with Nova's "No valid host was found." (what an instance owner sees); the
rest says how many candidates placement offered and how many hosts each step removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SHORT = "No valid host was found."


class NoValidHost(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class Explanation:
    candidates: int = 0
    resources: Mapping[str, int] = field(default_factory=dict)
    # Candidates placement offered that the host-state feed does not know (yet).
    unknown: int = 0
    # (step, hosts removed) in pipeline order; a step may appear once.
    removed: dict[str, int] = field(default_factory=dict)
    lost_claims: int = 0
    instance_index: int = 0
    num_instances: int = 1

    def remove(self, step: str, count: int) -> None:
        if count:
            self.removed[step] = self.removed.get(step, 0) + count

    def message(self) -> str:
        if self.candidates == 0:
            wanted = ", ".join(f"{rc}={n}" for rc, n in sorted(self.resources.items()))
            detail = f"0 candidates from placement (no host has {wanted or 'that'} free"
            return f"{SHORT} {detail} with the required traits and aggregates)"
        parts = [f"{self.candidates} candidates from placement"]
        steps = []
        if self.unknown:
            steps.append(f"{self.unknown} unknown to the scheduler")
        steps += [f"{name} removed {n}" for name, n in self.removed.items()]
        if self.lost_claims:
            steps.append(
                f"placement refused {self.lost_claims} claims (capacity taken since it listed"
                " the candidates)"
            )
        text = f"{SHORT} {parts[0]}"
        if steps:
            text += "; " + ", ".join(steps)
        if self.num_instances > 1:
            text += f" (for instance {self.instance_index + 1} of {self.num_instances})"
        return text
