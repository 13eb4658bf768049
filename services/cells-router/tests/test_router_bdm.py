"""An instance's block device mappings become rows of the cell's block_device_mapping table."""

from __future__ import annotations

from novamesh.cells import convert
from novamesh.cells.v1 import block_devices_pb2, router_pb2


def test_new_row_keeps_the_mappings_in_order() -> None:
    inst = router_pb2.Instance(
        uuid="5f5e0a63-5a43-4c77-9d2f-7b4e3f1f0c11",
        project_id="p1",
        user_id="u1",
        block_device_mappings=[
            block_devices_pb2.BlockDeviceMapping(
                source_type="image",
                destination_type="local",
                boot_index=0,
                image_id="img",
                delete_on_termination=True,
            ),
            block_devices_pb2.BlockDeviceMapping(
                source_type="blank",
                destination_type="local",
                boot_index=-1,
                guest_format="swap",
                volume_size=512,
            ),
        ],
    )
    row = convert.new_row(inst, vm_state="building", task_state=None, host=None, node=None)
    root, swap = row.block_device_mappings
    assert (root.boot_index, root.image_id, root.delete_on_termination) == (0, "img", True)
    assert (swap.boot_index, swap.guest_format, swap.volume_size) == (None, "swap", 512)
    assert root.uuid and swap.uuid and root.uuid != swap.uuid
