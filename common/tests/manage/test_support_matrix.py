"""The generated support matrix: its rows and columns, and that every `complete` cell names a
test that exists."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from novamesh.agent.virt.capabilities import MATRIX_ROWS
from novamesh.manage import main as manage
from novamesh.manage import support_matrix

ROOT = Path(__file__).resolve().parents[3]


def _test_exists(node: str) -> bool:
    path, _, name = node.partition("::")
    source = (ROOT / path).read_text()
    return re.search(rf"^(async )?def {re.escape(name)}\(", source, re.M) is not None


def test_every_complete_cell_names_an_existing_test() -> None:
    complete = 0
    for row, cells in support_matrix.matrix().items():
        for driver, cell in cells.items():
            if cell.level == "complete":
                complete += 1
                assert cell.test, f"{row}/{driver} is complete without a test"
                assert _test_exists(cell.test), f"{row}/{driver}: no test {cell.test}"
            else:
                assert not cell.test
    assert complete > 20


def test_every_proof_is_for_a_declared_capability() -> None:
    for column in support_matrix.columns():
        assert set(column.proofs) <= column.capabilities, column.key


def test_the_ini_has_every_row_and_driver(tmp_path: Path) -> None:
    out = tmp_path / "matrix.ini"
    assert manage.main(["support-matrix", "--output", str(out)]) == 0
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(out.read_text())
    rows = [s for s in parser.sections() if not s.startswith("driver.")]
    assert rows == list(MATRIX_ROWS)
    drivers = {s.removeprefix("driver.") for s in parser.sections() if s.startswith("driver.")}
    assert {"fake", "libvirt-qemu-x86", "libvirt-lxc", "vmware", "ironic", "zvm"} <= drivers
    assert parser["operation.launch"]["driver.libvirt-qemu-x86"] == "complete"
    assert parser["operation.launch"]["driver.vmware"] == "missing"
    proof = parser["operation.launch"]["driver-test.libvirt-qemu-x86"]
    assert proof.endswith("test_mesh.py::test_boot_runs_a_real_guest")


def test_markdown_is_a_table_with_the_proofs() -> None:
    text = support_matrix.render_markdown()
    assert text.startswith("| feature | fake | libvirt-qemu-x86 |")
    assert "`tests/libvirt/test_mesh.py::test_boot_runs_a_real_guest`" in text
