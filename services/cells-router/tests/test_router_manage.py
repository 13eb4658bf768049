"""novamesh-manage on a throwaway state directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from novamesh.cells.db.models import ComputeNode
from novamesh.common import config as config_mod
from novamesh.common.db import create_sync_engine
from novamesh.manage import cells
from novamesh.manage.main import main
from sqlalchemy.orm import Session

from tests.support.ports import free_port


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NOVAMESH__STATE_DIR", str(tmp_path))
    monkeypatch.delenv("NOVAMESH_CONFIG", raising=False)
    return tmp_path


def _add_node(url: str, host: str) -> None:
    engine = create_sync_engine(url)
    with Session(engine) as s, s.begin():
        s.add(
            ComputeNode(
                uuid=f"00000000-0000-0000-0000-{len(host):012d}",
                host=host,
                hypervisor_hostname=host,
            )
        )
    engine.dispose()


def test_status_on_a_fresh_machine_says_what_to_run(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 2
    out = capsys.readouterr().out
    assert "Check: API database migrated: FAILURE" in out
    assert "novamesh-manage api_db sync" in out


def test_cell_setup_step_by_step(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["api_db", "sync"]) == 0
    assert main(["cell_v2", "map_cell0"]) == 0
    assert main(["cell_v2", "map_cell0"]) == 0
    assert "already mapped" in capsys.readouterr().out

    cell1_db = f"sqlite:///{state}/c1.db"
    args = ["cell_v2", "create_cell", "--name", "cell1", "--database_connection", cell1_db]
    assert main([*args, "--transport-url", "grpc://127.0.0.1:1", "--verbose"]) == 0
    cell1_uuid = capsys.readouterr().out.strip()
    # the same cell twice is refused with nova-manage's exit status
    assert main([*args, "--transport-url", "grpc://127.0.0.1:1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["cell_v2", "create_cell", "--name", "x"]) == 1

    assert main(["db", "sync"]) == 0
    assert main(["cell_v2", "list_cells"]) == 0
    out = capsys.readouterr().out
    assert "cell0" in out and cell1_uuid in out

    _add_node(cell1_db, "host-a")
    assert main(["cell_v2", "discover_hosts", "--verbose"]) == 0
    assert "Mapped host host-a to cell cell1" in capsys.readouterr().out
    assert main(["cell_v2", "discover_hosts"]) == 0
    assert "No new hosts found" in capsys.readouterr().out
    cfg = config_mod.load()
    assert cells.list_hosts(cfg) == [("cell1", cell1_uuid, "host-a")]

    code = main(["status"])
    out = capsys.readouterr().out
    assert "Check: Cell databases reachable and migrated: OK" in out
    assert "Check: Compute hosts mapped: OK" in out
    assert code in (0, 1)  # 1 only while placement's migrations are not installed


def test_simple_cell_setup_is_idempotent(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cell_v2", "simple_cell_setup"]) == 0
    assert main(["cell_v2", "simple_cell_setup"]) == 0
    cfg = config_mod.load()
    names = sorted(c.name for c in cells.list_cells(cfg))
    assert names == ["cell0", "cell1"]
    cell1 = cells.find_cell(cfg, "cell1")
    assert cell1 is not None
    assert cell1.transport_url == f"grpc://{cfg.endpoints.router}"
    assert (state / "cell1.db").exists() and (state / "cell0.db").exists()
    out = capsys.readouterr().out
    assert "Check" not in out
    assert main(["status"]) in (0, 1)
    out = capsys.readouterr().out
    assert "No compute host has registered yet" in out


def test_status_names_an_unreachable_cell(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cell_v2", "simple_cell_setup"]) == 0
    cfg = config_mod.load()
    dead = f"postgresql://nova:secret@127.0.0.1:{free_port()}/cell9"
    cells.create_cell(cfg, "cell9", dead, "grpc://127.0.0.1:1")
    capsys.readouterr()
    assert main(["status"]) == 2
    out = capsys.readouterr().out
    assert "Check: Cell databases reachable and migrated: FAILURE" in out
    assert "The database of cell cell9 cannot be reached" in out
    assert "secret" not in out
