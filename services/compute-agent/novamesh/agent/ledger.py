"""The record of commands already run, so a command id is run at most once.

The router re-sends a command it has no result for (after a reconnect, for instance); the agent
answers a finished one with its earlier result and ignores one still running. The record is
bounded (the oldest entries go first) and kept in an append-only file, compacted when it grows
to twice the bound, so a restarted agent still knows what it finished.
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    command_id: str
    instance_uuid: str
    ok: bool
    error: str = ""
    retryable: bool = False
    # What the command answers besides success (e.g. a console log).
    data: dict[str, str] = field(default_factory=dict)


class CommandLedger:
    def __init__(self, path: Path | None, capacity: int = 10_000) -> None:
        self._path = path
        self._capacity = capacity
        self._done: OrderedDict[str, Outcome] = OrderedDict()
        self._running: set[str] = set()
        self._lines = 0
        self._load()

    def get(self, command_id: str) -> Outcome | None:
        return self._done.get(command_id)

    def begin(self, command_id: str) -> bool:
        """Mark a command as running; False when it already ran or is running now."""
        if command_id in self._done or command_id in self._running:
            return False
        self._running.add(command_id)
        return True

    def finish(self, outcome: Outcome) -> None:
        self._running.discard(outcome.command_id)
        self._remember(outcome)
        if self._path is None:
            return
        with open(self._path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(outcome)) + "\n")
        self._lines += 1
        if self._lines > 2 * self._capacity:
            self._compact()

    def __len__(self) -> int:
        return len(self._done)

    def _remember(self, outcome: Outcome) -> None:
        self._done[outcome.command_id] = outcome
        self._done.move_to_end(outcome.command_id)
        while len(self._done) > self._capacity:
            self._done.popitem(last=False)

    def _load(self) -> None:
        if self._path is None or not self._path.exists():
            return
        with open(self._path, encoding="utf-8") as fh:
            for line in fh:
                self._lines += 1
                try:
                    self._remember(Outcome(**json.loads(line)))
                except (ValueError, TypeError):
                    # A line torn by a crash mid-write: the command will simply run again.
                    LOG.warning("skipping a damaged command record in %s", self._path)

    def _compact(self) -> None:
        assert self._path is not None
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for outcome in self._done.values():
                fh.write(json.dumps(asdict(outcome)) + "\n")
        os.replace(tmp, self._path)
        self._lines = len(self._done)
