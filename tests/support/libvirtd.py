"""A private libvirtd for tests: its own configuration, sockets, state and logs, no systemd.

The daemon runs as root in a mount namespace of its own in which libvirt's fixed directories
(/etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt) are bind
mounts of a temporary directory, so several test sessions (and a system libvirtd) never share
domains, sockets or save files. It also has a network namespace of its own: its bridges, taps
and firewall rules never touch the host's (VNC servers listen on that namespace's loopback; reach
them with `nsenter --net=/proc/<pid>/ns/net`). Guests log their stdio to files (no virtlogd).
In the same namespace the cgroup2 mount at /sys/fs/cgroup/unified is hidden: on hybrid cgroup hosts
libvirt's LXC driver fails to start containers while it is there.

Connect with `Libvirtd.uri("qemu")` or `Libvirtd.uri("lxc")`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}

_QEMU_CONF = """\
# Test sandbox: guests run as root without a security driver, stdio straight to files.
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
vnc_listen = "127.0.0.1"
"""

_LIBVIRTD_CONF = """\
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0700"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
"""

_SCRIPT = """\
set -e
{mounts}
umount /sys/fs/cgroup/unified 2>/dev/null || true
ip link set lo up
exec libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
"""


# A second daemon on the same machine (live migration between two): its QEMU cgroups would be
# named like the first daemon's (machine-qemu-<domain id>-<name>, ids counted per daemon), so
# the same guest on both at once can collide; the second one places no guest in a cgroup.
NO_CGROUPS = "cgroup_controllers = [ ]\n"


def available() -> bool:
    """Whether this machine can run the daemon (root, libvirtd and QEMU installed)."""
    return (
        os.geteuid() == 0
        and shutil.which("libvirtd") is not None
        and shutil.which("qemu-system-x86_64") is not None
        and shutil.which("unshare") is not None
    )


class Libvirtd:
    def __init__(self, root: Path, cache_dir: Path | None = None, qemu_conf: str = "") -> None:
        """`cache_dir` keeps QEMU's capability probe between sessions (8 s on a first start);
        `qemu_conf` adds lines to qemu.conf."""
        self.root = root
        self.cache_dir = cache_dir
        self.qemu_conf = qemu_conf
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("libvirtd is not running")
        return self.proc.pid

    @property
    def socket(self) -> Path:
        return self.root / "run" / "libvirt-sock"

    def uri(self, driver: str = "qemu") -> str:
        return f"{driver}:///system?socket={self.socket}"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "libvirtd.log"

    def start(self, timeout: float = 60.0) -> None:
        for name in _DIRS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        (self.root / "etc" / "qemu.conf").write_text(_QEMU_CONF + self.qemu_conf)
        (self.root / "etc" / "libvirtd.conf").write_text(_LIBVIRTD_CONF)
        (self.root / "log" / "qemu").mkdir(exist_ok=True)
        (self.root / "log" / "lxc").mkdir(exist_ok=True)
        sources = {name: self.root / name for name in _DIRS}
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            sources["cache"] = self.cache_dir
        mounts = "\n".join(
            f"mkdir -p {target} && mount --bind {sources[name]} {target}"
            for name, target in _DIRS.items()
        )
        argv = ["unshare", "--mount", "--net", "--propagation", "private"]
        with (self.root / "daemon.err").open("wb") as err:
            self.proc = subprocess.Popen(
                [*argv, "sh", "-c", _SCRIPT.format(mounts=mounts)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"libvirtd exited: {self._diagnostics()}")
            if self.socket.exists() and self._answers():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"libvirtd did not answer in {timeout} s: {self._diagnostics()}")

    def _answers(self) -> bool:
        out = subprocess.run(
            ["virsh", "-q", "-c", self.uri(), "version"], capture_output=True, timeout=30
        )
        return out.returncode == 0

    def _diagnostics(self) -> str:
        err = self.root / "daemon.err"
        text = err.read_text(errors="replace") if err.exists() else ""
        if self.log_file.exists():
            text += self.log_file.read_text(errors="replace")[-2000:]
        return text

    def stop(self) -> None:
        """Destroy what guests are left (QEMU processes outlive their daemon), then stop it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            for driver in ("qemu", "lxc"):
                names = subprocess.run(
                    ["virsh", "-q", "-c", self.uri(driver), "list", "--name"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                ).stdout.split()
                for name in names:
                    subprocess.run(
                        ["virsh", "-q", "-c", self.uri(driver), "destroy", name],
                        capture_output=True,
                        timeout=30,
                    )
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
