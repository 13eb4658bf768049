"""A build no host could take: its owner reads Nova's short NoValidHost message, admins also
the scheduler's explanation (the fault's details, hidden from non-admins on a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.conductor import fault_text
from novamesh.cells.testing import Mesh, start_mesh

EXPLAINED = (
    "No valid host was found. 4 candidates from placement; ServerGroupAntiAffinityFilter removed 4"
)


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def test_fault_text() -> None:
    assert fault_text(EXPLAINED) == (
        "No valid host was found. There are not enough hosts available.",
        EXPLAINED,
    )
    assert fault_text("Cannot record the instance in its cell: boom") == (
        "Cannot record the instance in its cell: boom",
        "",
    )


async def test_explanation_goes_to_the_details(mesh: Mesh) -> None:
    mesh.scheduler.no_valid_host = EXPLAINED
    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "error")
    assert found.fault.message == "No valid host was found. There are not enough hosts available."
    assert found.fault.details == EXPLAINED
