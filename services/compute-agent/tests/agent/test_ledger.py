"""The command ledger: a command id runs once, even across an agent restart."""

from __future__ import annotations

from pathlib import Path

from novamesh.agent.ledger import CommandLedger, Outcome


def test_a_running_or_finished_command_is_not_begun_again() -> None:
    ledger = CommandLedger(None)
    assert ledger.begin("c1")
    assert not ledger.begin("c1")
    ledger.finish(Outcome("c1", "u1", ok=True))
    assert not ledger.begin("c1")
    assert ledger.get("c1") == Outcome("c1", "u1", ok=True)


def test_the_record_is_bounded_oldest_first() -> None:
    ledger = CommandLedger(None, capacity=3)
    for n in range(5):
        ledger.begin(f"c{n}")
        ledger.finish(Outcome(f"c{n}", "", ok=True))
    assert len(ledger) == 3
    assert ledger.get("c1") is None
    assert ledger.get("c4") is not None


def test_results_survive_a_restart_and_the_file_is_compacted(tmp_path: Path) -> None:
    path = tmp_path / "commands.jsonl"
    ledger = CommandLedger(path, capacity=4)
    for n in range(20):
        ledger.begin(f"c{n}")
        ledger.finish(Outcome(f"c{n}", f"u{n}", ok=n % 2 == 0, error="boom", retryable=True))
    assert len(path.read_text().splitlines()) <= 8

    reborn = CommandLedger(path, capacity=4)
    assert reborn.get("c19") == Outcome("c19", "u19", ok=False, error="boom", retryable=True)
    assert reborn.get("c10") is None
    assert not reborn.begin("c18")


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "commands.jsonl"
    ledger = CommandLedger(path)
    ledger.begin("c1")
    ledger.finish(Outcome("c1", "u1", ok=True))
    with open(path, "a") as fh:
        fh.write('{"command_id": "c2", "ins')
    reborn = CommandLedger(path)
    assert reborn.get("c1") is not None
    assert reborn.begin("c2")
