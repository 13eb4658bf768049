"""Server actions on the agent: resize steps, rescue, password, crash dump, console log."""

from __future__ import annotations

from dataclasses import dataclass, field

from novamesh.agent import action_commands as ac
from novamesh.agent.commands import Build, StateUpdate
from novamesh.agent.ledger import CommandLedger, Outcome
from novamesh.agent.manager import ComputeManager
from novamesh.agent.resources import HostReport, Overcommit, ResourceTracker
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.agent.virt.model import InstanceSpec


@dataclass
class Recorder:
    updates: list[StateUpdate] = field(default_factory=list)
    reports: list[HostReport] = field(default_factory=list)
    results: list[Outcome] = field(default_factory=list)

    def instance_update(self, update: StateUpdate) -> None:
        self.updates.append(update)

    def host_resources(self, report: HostReport) -> None:
        self.reports.append(report)

    def command_result(self, outcome: Outcome) -> None:
        self.results.append(outcome)

    def states(self, uuid: str) -> list[tuple[str, str, str, int]]:
        return [
            (u.host, u.vm_state, u.task_state, u.power_state)
            for u in self.updates
            if u.uuid == uuid
        ]


def spec(vcpus: int = 1, memory_mb: int = 512, flavor: str = "small") -> InstanceSpec:
    return InstanceSpec(uuid="u1", vcpus=vcpus, memory_mb=memory_mb, root_gb=1, flavor_name=flavor)


async def started() -> tuple[ComputeManager, FakeDriver, ResourceTracker, Recorder]:
    driver = FakeDriver(FakeSettings(hosts=("h-1", "h-2"), vcpus=4, memory_mb=4096))
    tracker = ResourceTracker(driver, Overcommit(cpu_allocation_ratio=1.0), "nova")
    sink = Recorder()
    manager = ComputeManager(driver, tracker, CommandLedger(None), sink)
    await manager.start()
    await manager.handle("b", "h-1", Build(spec()))
    sink.updates.clear()
    sink.results.clear()
    return manager, driver, tracker, sink


def used(tracker: ResourceTracker, host: str) -> tuple[int, int]:
    r = tracker.report(host)
    return r.vcpus_used, r.running_vms


async def test_resize_then_confirm_moves_guest_and_resources() -> None:
    manager, driver, tracker, sink = await started()
    await manager.handle("m1", "h-1", ac.MigrateOut("u1", "h-2", "mig-1"))
    assert sink.states("u1") == [
        ("h-1", "active", "resize_migrating", 1),
        ("h-1", "active", "resize_migrated", 4),
    ]
    await manager.handle("m2", "h-2", ac.FinishMigration(spec(2, 1024, "big"), "mig-1", True))
    assert sink.states("u1")[-1] == ("h-2", "resized", "", 1)
    assert sink.updates[-1].event == "compute_finish_resize"
    state = driver.guest_state("u1")
    assert state is not None
    assert (state["host"], state["vcpus"], state["flavor_name"], state["held_on"]) == (
        "h-2",
        2,
        "big",
        "h-1",
    )
    # the source keeps its resources until the user confirms
    assert used(tracker, "h-1") == (1, 1) and used(tracker, "h-2") == (2, 1)

    await manager.handle("m3", "h-1", ac.ConfirmMigration("u1", "mig-1"))
    assert sink.results[-1].ok
    assert used(tracker, "h-1") == (0, 0) and used(tracker, "h-2") == (2, 1)
    assert "held_on" not in (driver.guest_state("u1") or {})


async def test_revert_brings_the_source_guest_back() -> None:
    manager, driver, tracker, sink = await started()
    await manager.handle("m1", "h-1", ac.MigrateOut("u1", "h-2", "mig-1"))
    await manager.handle("m2", "h-2", ac.FinishMigration(spec(2, 1024, "big"), "mig-1", True))
    await manager.handle("r1", "h-2", ac.RevertMigration(spec(), "mig-1", True, True))
    await manager.handle("r2", "h-1", ac.RevertMigration(spec(), "mig-1", False, True))
    assert [r.ok for r in sink.results] == [True, True, True, True]
    assert sink.states("u1")[-1] == ("h-1", "active", "", 1)
    state = driver.guest_state("u1")
    assert state is not None and (state["host"], state["vcpus"]) == ("h-1", 1)
    assert "held_on" not in state
    assert used(tracker, "h-1") == (1, 1) and used(tracker, "h-2") == (0, 0)


async def test_finish_on_a_full_host_fails_and_claims_nothing() -> None:
    manager, _, tracker, sink = await started()
    await manager.handle("m1", "h-1", ac.MigrateOut("u1", "h-2", "mig-1"))
    await manager.handle("m2", "h-2", ac.FinishMigration(spec(vcpus=64), "mig-1", True))
    assert not sink.results[-1].ok and "Insufficient" in sink.results[-1].error
    assert used(tracker, "h-2") == (0, 0)


async def test_rescue_unrescue_password_crash_dump_console() -> None:
    manager, driver, _, sink = await started()
    await manager.handle("r", "h-1", ac.Rescue("u1", "img", "pw"))
    assert sink.states("u1")[-2:] == [
        ("h-1", "active", "rescuing", 1),
        ("h-1", "rescued", "", 1),
    ]
    assert (driver.guest_state("u1") or {})["rescued"] is True
    # rescuing twice is a driver error, reported as such
    await manager.handle("r2", "h-1", ac.Rescue("u1", "img", "pw"))
    assert not sink.results[-1].ok
    await manager.handle("u", "h-1", ac.Unrescue("u1"))
    assert sink.states("u1")[-1] == ("h-1", "active", "", 1)
    assert (driver.guest_state("u1") or {})["rescued"] is False

    await manager.handle("p", "h-1", ac.SetAdminPassword("u1", "s3cret"))
    assert sink.updates[-1].event == "compute_set_admin_password"
    assert (driver.guest_state("u1") or {})["admin_password_sha256"]
    await manager.handle("d", "h-1", ac.TriggerCrashDump("u1"))
    assert (driver.guest_state("u1") or {})["crash_dumps"] == 1

    await manager.handle("c", "h-1", ac.GetConsoleOutput("u1", 2))
    out = sink.results[-1].data["output"]
    assert out.count("\n") == 2 and "NMI" in out


async def test_snapshot_uploads_to_the_image_service() -> None:
    import http.server
    import threading

    received: list[tuple[str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        manager, driver, _, sink = await started()
        await manager.handle("s0", "h-1", ac.Snapshot("u1", "img-0"))
        assert not sink.results[-1].ok and "no image service" in sink.results[-1].error
        driver.set_image_service(f"http://127.0.0.1:{server.server_port}", "t")
        await manager.handle("s1", "h-1", ac.Snapshot("u1", "img-1", "backup"))
        assert sink.results[-1].ok
        assert [p for p, _ in received] == ["/v2/images/img-1/file"]
        assert received[0][1].startswith(b"QFI\xfb")
        assert sink.states("u1")[-3:] == [
            ("h-1", "active", "image_pending_upload", 1),
            ("h-1", "active", "image_uploading", 1),
            ("h-1", "active", "", 1),
        ]
        assert sink.updates[-1].event == "compute_backup_instance"
    finally:
        server.shutdown()
        server.server_close()


async def test_shelve_offload_then_unshelve_elsewhere() -> None:
    manager, driver, tracker, sink = await started()
    await manager.handle("o", "h-1", ac.ShelveOffload("u1"))
    assert sink.states("u1")[-1] == ("", "shelved", "shelving_offloading", 0)
    assert driver.guest_state("u1") is None and used(tracker, "h-1") == (0, 0)
    await manager.handle("u", "h-2", ac.Unshelve(spec()))
    assert sink.states("u1")[-2:] == [
        ("h-2", "shelved_offloaded", "spawning", 0),
        ("h-2", "active", "", 1),
    ]
    assert (driver.guest_state("u1") or {})["host"] == "h-2"
    assert used(tracker, "h-2") == (1, 1)


async def test_rebuild_respawns_from_the_new_image_on_the_same_host() -> None:
    manager, driver, tracker, sink = await started()
    rebuilt = InstanceSpec(uuid="u1", vcpus=1, memory_mb=512, root_gb=1, image_id="img-new")
    await manager.handle("r", "h-1", ac.Rebuild(rebuilt, power_on=False))
    assert sink.results[-1].ok
    assert [s[2] for s in sink.states("u1")] == [
        "rebuilding",
        "rebuild_block_device_mapping",
        "rebuild_spawning",
        "",
    ]
    assert sink.states("u1")[-1] == ("h-1", "stopped", "", 4)
    assert sink.updates[-1].event == "compute_rebuild_instance"
    assert (driver.guest_state("u1") or {})["host"] == "h-1"
    assert used(tracker, "h-1") == (1, 1)


async def test_live_migration_moves_the_running_guest_and_its_claim() -> None:
    manager, driver, tracker, sink = await started()
    await manager.handle("l", "h-1", ac.LiveMigrate(spec(), "h-2", "mig-l"))
    assert sink.results[-1].ok
    assert sink.states("u1")[-1] == ("h-2", "active", "", 1)
    assert (driver.guest_state("u1") or {})["host"] == "h-2"
    assert used(tracker, "h-1") == (0, 0) and used(tracker, "h-2") == (1, 1)
    await manager.handle("l2", "h-2", ac.LiveMigrate(spec(), "elsewhere", "mig-2"))
    assert not sink.results[-1].ok
    assert used(tracker, "h-2") == (1, 1)


async def test_evacuate_rebuild_claims_on_the_new_host() -> None:
    manager, driver, tracker, sink = await started()
    await manager.handle("e", "h-2", ac.Rebuild(spec(), power_on=True, on_new_host=True))
    assert sink.results[-1].ok
    assert (driver.guest_state("u1") or {})["host"] == "h-2"
    assert used(tracker, "h-2") == (1, 1)
