#!/usr/bin/env bash
# Builds the tiny guest the libvirt tests boot: a Debian kernel and a busybox initramfs, made
# offline from two Debian packages (nothing is installed on the host). Idempotent: the result is
# cached and rebuilt only when missing.
#   build-guest-image.sh [OUT_DIR]   (default .novamesh/guest-image)
# Output: OUT_DIR/vmlinuz, OUT_DIR/initrd.gz, OUT_DIR/disk.qcow2 (a small empty root disk image),
# OUT_DIR/rootfs.tar.gz (the same busybox userland as a container root, /init-lxc its init).
#
# The guest's /init prints markers on the serial console that tests look for:
#   NOVAMESH-BOOT cmdline=...       once per boot
#   NOVAMESH-HB uptime=... disks=vda:<sectors>,... nics=... cpus=... memkB=...   every second
#   NOVAMESH-ACPI poweroff          when the ACPI power button is pressed (soft stop/reboot)
set -euo pipefail
OUT=${1:-.novamesh/guest-image}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ] && [ -s "$OUT/disk.qcow2" ] &&
  [ -s "$OUT/rootfs.tar.gz" ]; then
  exit 0
fi
WORK="$OUT/work"
mkdir -p "$WORK/debs"
cd "$WORK/debs"

# The kernel ABI package behind the linux-image-amd64 metapackage changes with point releases.
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
ls "${KPKG}"_*.deb >/dev/null 2>&1 || apt-get download -q "$KPKG" >/dev/null
ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download -q busybox-static >/dev/null
KDEB=$(ls "${KPKG}"_*.deb | head -1)
KVER=${KPKG#linux-image-}

MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
failover net_failover virtio_net virtio_balloon button evdev"
X="$WORK/x"
rm -rf "$X" && mkdir -p "$X"
pats=("./boot/vmlinuz-$KVER")
for m in $MODS; do pats+=(--wildcards "*/$m.ko"); done
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$X" "${pats[@]}"
dpkg-deb --fsys-tarfile busybox-static_*.deb | tar -x -C "$X" ./bin/busybox

R="$WORK/root"
rm -rf "$R" && mkdir -p "$R"/{bin,dev,proc,sys,tmp,etc,lib/modules}
cp "$X/bin/busybox" "$R/bin/busybox"
for m in $MODS; do cp "$(find "$X/lib/modules" -name "$m.ko" | head -1)" "$R/lib/modules/"; done
cat >"$R/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
echo "NOVAMESH-BOOT cmdline=\$(cat /proc/cmdline)"
for m in $(echo $MODS); do insmod /lib/modules/\$m.ko 2>/dev/null; done
# An ACPI-aware guest: the power button powers it off, so soft stop and soft reboot work.
for e in /sys/class/input/event*; do
  if grep -q "Power Button" \$e/device/name 2>/dev/null; then
    ev=/dev/input/\${e##*/}
    ( while [ ! -c \$ev ]; do sleep 0.2; done
      dd if=\$ev bs=24 count=1 >/dev/null 2>&1 && { echo "NOVAMESH-ACPI poweroff"; sync; poweroff -f; } ) &
  fi
done
while true; do
  D=""; for b in /sys/block/*; do n=\${b##*/}; case \$n in loop*|ram*) ;; *) D="\$D\$n:\$(cat \$b/size),";; esac; done
  N=\$(ls /sys/class/net | grep -v '^lo\$' | tr '\n' ,)
  echo "NOVAMESH-HB uptime=\$(cut -d' ' -f1 /proc/uptime) disks=\$D nics=\$N cpus=\$(grep -c ^processor /proc/cpuinfo) memkB=\$(awk '/MemTotal/{print \$2}' /proc/meminfo)"
  sleep 1
done
INIT
chmod +x "$R/init"
# A container's init: no kernel to boot, no modules; SIGTERM (libvirt's LXC shutdown) ends it.
# It also appends what it prints to /var/log/console.log, which the host can read in the rootfs.
cat >"$R/init-lxc" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /var/log
mount -t proc proc /proc 2>/dev/null
say() { echo "$*"; echo "$*" >>/var/log/console.log; }
trap 'say "NOVAMESH-ACPI poweroff"; exit 0' TERM
say "NOVAMESH-BOOT lxc"
while true; do
  N=$(ls /sys/class/net 2>/dev/null | grep -v '^lo$' | tr '\n' ,)
  say "NOVAMESH-HB uptime=$(cut -d' ' -f1 /proc/uptime) disks= nics=$N cpus=$(grep -c ^processor /proc/cpuinfo) memkB=$(awk '/MemTotal/{print $2}' /proc/meminfo)"
  sleep 1 &
  wait $!
done
INIT
chmod +x "$R/init-lxc"
tar -czf "$OUT/rootfs.tar.gz.tmp" -C "$R" .
(cd "$R" && find . | "$X/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -9) >"$OUT/initrd.gz.tmp"
cp "$X/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"
qemu-img create -q -f qcow2 "$OUT/disk.qcow2.tmp" 64M
mv "$OUT/initrd.gz.tmp" "$OUT/initrd.gz"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv "$OUT/disk.qcow2.tmp" "$OUT/disk.qcow2"
mv "$OUT/rootfs.tar.gz.tmp" "$OUT/rootfs.tar.gz"
rm -rf "$WORK"  # the 70 MB kernel package is not needed once the guest is built
echo "guest image in $OUT"
