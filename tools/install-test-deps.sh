#!/usr/bin/env bash
# The system packages the test suite uses, installed only when missing (idempotent, fast when
# everything is present): a PostgreSQL server and Redis for the integration tests, libvirt with
# QEMU (TCG) for the libvirt driver's tests, noVNC for the console proxy's page.
# `install-test-deps.sh headers` installs only what building libvirt-python needs (the venv).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
missing_pkg() { ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
# libvirt-python is an sdist built against the system's libvirt headers.
for p in libvirt-dev pkg-config gcc; do missing_pkg "$p" && need+=("$p"); done
if [ "${1:-}" != headers ]; then
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  # The minimal daemon set (libvirt-daemon-system would pull systemd, udev and polkit).
  for p in libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-driver-lxc libvirt-clients \
    qemu-system-x86 qemu-utils genisoimage iptables; do
    missing_pkg "$p" && need+=("$p")
  done
  # noVNC's page and scripts, which the console proxy serves (its websockets work without).
  missing_pkg novnc && need+=(novnc)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (install them, or run this script as root)" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
  echo "installed: ${need[*]}"
fi
if [ "${1:-}" != headers ] && [ "$(id -u)" -eq 0 ]; then
  # What libvirt-daemon-system's postinst would create: libvirtd's QEMU driver refuses to start
  # without this user and group, even when guests run as root.
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null ||
    useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
fi
