"""The NUMA cells, pinned CPUs and PCI devices each guest holds, kept on disk so that guests
found running when the agent starts hold them again (Nova reads them back from the instance's
numa_topology and pci_devices records; the agent has no database, so it keeps its own).

Only guests with a NUMA topology or PCI devices appear here, and the file is rewritten only
when one of them changes, so ordinary boots cost nothing.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from novamesh.agent.host_topology import CellUse
from novamesh.agent.numa_claims import NumaClaims
from novamesh.agent.pci_claims import PciClaims, PoolKey

LOG = logging.getLogger(__name__)


@dataclass
class SavedClaim:
    host: str
    cells: tuple[CellUse, ...] = ()
    devices: dict[PoolKey, int] = field(default_factory=dict)


def _snapshot(numa: NumaClaims, pci: PciClaims) -> dict[str, SavedClaim]:
    out: dict[str, SavedClaim] = {}
    for uuid, (host, uses) in numa.held().items():
        out[uuid] = SavedClaim(host, uses)
    for uuid, (host, taken) in pci.held().items():
        out.setdefault(uuid, SavedClaim(host)).devices = taken
    return out


def _encode(saved: dict[str, SavedClaim]) -> dict[str, Any]:
    return {
        uuid: {
            "host": c.host,
            "cells": [[u.cell, u.cpus, u.memory_mb, list(u.pinned)] for u in c.cells],
            "devices": [[v, p, n, count] for (v, p, n), count in c.devices.items()],
        }
        for uuid, c in saved.items()
    }


def _decode(raw: dict[str, Any]) -> dict[str, SavedClaim]:
    out: dict[str, SavedClaim] = {}
    for uuid, c in raw.items():
        out[uuid] = SavedClaim(
            host=str(c["host"]),
            cells=tuple(CellUse(int(a), int(b), int(m), tuple(p)) for a, b, m, p in c["cells"]),
            devices={(str(v), str(p), n): int(count) for v, p, n, count in c["devices"]},
        )
    return out


class ClaimsJournal:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._written: dict[str, Any] = {}
        # What the file held at start: each host's recovery reads it, though the first one
        # already rewrote the file with its own guests only.
        self._loaded: dict[str, SavedClaim] | None = None

    def load(self) -> dict[str, SavedClaim]:
        if self._loaded is None:
            self._loaded = self._read()
        return self._loaded

    def _read(self) -> dict[str, SavedClaim]:
        if self._path is None or not self._path.exists():
            return {}
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
            saved = _decode(raw)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            LOG.warning("ignoring unreadable claims record %s: %s", self._path, exc)
            return {}
        self._written = raw
        return saved

    def save(self, numa: NumaClaims, pci: PciClaims) -> None:
        if self._path is None:
            return
        encoded = _encode(_snapshot(numa, pci))
        if encoded == self._written:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(encoded), encoding="utf-8")
        os.replace(tmp, self._path)
        self._written = encoded
