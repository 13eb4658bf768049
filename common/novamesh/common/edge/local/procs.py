"""Background processes with pid files and log files, stopped by exactly the pid they recorded.

A pid file holds the pid and the kernel's start time of that process, so `stop` never signals
an unrelated process that reused the pid after ours died.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from novamesh.common.edge.process import pid_alive, stop_pid


def start_time(pid: int) -> int | None:
    """Clock ticks since boot at which `pid` started (field 22 of /proc/pid/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


@dataclass(frozen=True)
class Record:
    name: str
    pid: int
    started: int | None
    argv: Sequence[str]


@dataclass(frozen=True)
class Layout:
    """Where the launcher keeps its pid files and logs."""

    state_dir: Path

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def read(self, name: str) -> Record | None:
        try:
            data = json.loads(self.pid_file(name).read_text())
            return Record(name, int(data["pid"]), data.get("started"), data.get("argv", []))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def running(self, name: str) -> Record | None:
        """The recorded process if it is still the one we started; stale pid files go away."""
        record = self.read(name)
        if record is None:
            return None
        if pid_alive(record.pid) and start_time(record.pid) == record.started:
            return record
        self.pid_file(name).unlink(missing_ok=True)
        return None

    def names(self) -> list[str]:
        if not self.run_dir.is_dir():
            return []
        return sorted(p.stem for p in self.run_dir.glob("*.pid"))

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Record:
        """Start `argv` in its own session (it outlives the launcher), output to its log file."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file(name), "ab") as log:
            child = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(env) if env is not None else None,
            )
        record = Record(name, child.pid, start_time(child.pid), list(argv))
        payload = {"pid": record.pid, "started": record.started, "argv": record.argv}
        self.pid_file(name).write_text(json.dumps(payload) + "\n")
        # The launcher exits long before its children: nobody will wait() for this handle.
        child.returncode = 0
        return record

    def stop(self, name: str, timeout: float = 15.0) -> str:
        """Stop one recorded process: SIGTERM, then SIGKILL after `timeout`. Says what happened."""
        record = self.running(name)
        self.pid_file(name).unlink(missing_ok=True)
        if record is None:
            return "not running"
        killed = stop_pid(record.pid, timeout)
        return f"killed (pid {record.pid}, no exit after {timeout:.0f}s)" if killed else "stopped"

    def tail(self, name: str, lines: int = 15) -> str:
        try:
            with open(self.log_file(name), "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 64 * 1024))
                text = fh.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
