"""The libvirt driver: real guests on QEMU (TCG or KVM) or LXC through libvirtd."""
