"""One private libvirtd and one tiny guest image for the whole session (see tests/support).

Skipped where the machine cannot run them (not root, libvirt or QEMU missing) or when
NOVAMESH_SKIP_LIBVIRT is set: run `make test-libvirt`, which installs the packages and builds
the guest first.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.support import libvirtd

ROOT = Path(__file__).resolve().parents[2]
GUEST_DIR = ROOT / ".novamesh" / "guest-image"

pytestmark = pytest.mark.libvirt


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/libvirt" in str(item.path):
            item.add_marker(pytest.mark.libvirt)


@pytest.fixture(scope="session")
def guest_image() -> Path:
    if os.environ.get("NOVAMESH_SKIP_LIBVIRT"):
        pytest.skip("NOVAMESH_SKIP_LIBVIRT is set")
    if not libvirtd.available():
        pytest.skip("needs root, libvirtd and QEMU (make test-libvirt installs them)")
    subprocess.run(
        ["bash", str(ROOT / "tools" / "build-guest-image.sh"), str(GUEST_DIR)], check=True
    )
    return GUEST_DIR


@pytest.fixture(scope="session")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, guest_image: Path
) -> Iterator[libvirtd.Libvirtd]:
    d = libvirtd.Libvirtd(tmp_path_factory.mktemp("libvirtd"), ROOT / ".novamesh" / "libvirt-cache")
    d.start()
    try:
        yield d
    finally:
        d.stop()


class FileImages:
    """An image source serving local files by id (the driver tests need no image service)."""

    def __init__(self, files: dict[str, Path], props: dict[str, dict[str, str]]) -> None:
        self.files = files
        self.props = props

    @asynccontextmanager
    async def chunks(self, image_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        path = self.files[image_id]

        async def gen() -> AsyncIterator[bytes]:
            with path.open("rb") as f:
                while data := f.read(1 << 20):
                    yield data

        yield gen()

    async def properties(self, image_id: str) -> dict[str, str]:
        return dict(self.props.get(image_id, {}))
