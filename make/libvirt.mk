# The libvirt driver: its system packages, the tiny guest image, its integration tests through the
# whole mesh on a private libvirtd (QEMU/TCG), and their timings.
.PHONY: deps-libvirt guest-image test-libvirt bench-libvirt support-matrix
GUEST_IMAGE_DIR ?= .novamesh/guest-image
BENCH_LIBVIRT_ROUNDS ?= 3

# libvirt-python (a dev dependency) builds against the libvirt headers: install them first.
$(STAMP): | libvirt-headers
.PHONY: libvirt-headers
libvirt-headers:
	@bash tools/install-test-deps.sh headers

deps-libvirt:
	@bash tools/install-test-deps.sh

guest-image:
	@bash tools/build-guest-image.sh $(GUEST_IMAGE_DIR)

test-libvirt: $(STAMP) deps-libvirt guest-image
	$(PY) -m pytest -q tests/libvirt

bench-libvirt: $(STAMP) deps-libvirt guest-image
	$(PY) -m tests.libvirt.bench --rounds $(BENCH_LIBVIRT_ROUNDS) --out .novamesh/bench/libvirt.json

support-matrix: $(STAMP)
	$(VENV)/bin/novamesh-manage support-matrix --output .novamesh/support-matrix.ini
	$(VENV)/bin/novamesh-manage support-matrix --format markdown --output .novamesh/support-matrix.md
