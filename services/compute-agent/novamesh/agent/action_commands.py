"""The server-action commands (moves, rescue, password, crash dump, console log), as plain types."""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.agent.virt.model import InstanceSpec


@dataclass(frozen=True)
class MigrateOut:
    uuid: str
    dest_host: str
    migration_uuid: str


@dataclass(frozen=True)
class FinishMigration:
    instance: InstanceSpec
    migration_uuid: str
    power_on: bool


@dataclass(frozen=True)
class ConfirmMigration:
    uuid: str
    migration_uuid: str


@dataclass(frozen=True)
class RevertMigration:
    instance: InstanceSpec
    migration_uuid: str
    # On the destination: only drop the new guest; on the source: restart the old one.
    destroy_only: bool
    power_on: bool


@dataclass(frozen=True)
class Rescue:
    uuid: str
    image_id: str
    admin_pass: str


@dataclass(frozen=True)
class Unrescue:
    uuid: str


@dataclass(frozen=True)
class SetAdminPassword:
    uuid: str
    password: str


@dataclass(frozen=True)
class TriggerCrashDump:
    uuid: str


@dataclass(frozen=True)
class Snapshot:
    uuid: str
    image_id: str
    # "snapshot" or "backup"
    image_type: str = "snapshot"


@dataclass(frozen=True)
class ShelveOffload:
    uuid: str


@dataclass(frozen=True)
class Unshelve:
    instance: InstanceSpec


@dataclass(frozen=True)
class Rebuild:
    instance: InstanceSpec
    preserve_ephemeral: bool = False
    power_on: bool = True
    # Evacuate: the guest is new to this host (claim its resources first).
    on_new_host: bool = False


@dataclass(frozen=True)
class LiveMigrate:
    instance: InstanceSpec
    dest_host: str
    migration_uuid: str


@dataclass(frozen=True)
class LiveMigrationForceComplete:
    uuid: str
    migration_uuid: str


@dataclass(frozen=True)
class LiveMigrationAbort:
    uuid: str
    migration_uuid: str


@dataclass(frozen=True)
class PostLiveMigrationAtDestination:
    instance: InstanceSpec
    migration_uuid: str


@dataclass(frozen=True)
class GetConsoleOutput:
    uuid: str
    length: int = 0


ActionCommand = (
    MigrateOut
    | FinishMigration
    | ConfirmMigration
    | RevertMigration
    | Rescue
    | Unrescue
    | SetAdminPassword
    | TriggerCrashDump
    | GetConsoleOutput
    | Snapshot
    | ShelveOffload
    | Unshelve
    | Rebuild
    | LiveMigrate
    | LiveMigrationForceComplete
    | LiveMigrationAbort
    | PostLiveMigrationAtDestination
)


def instance_uuid(command: ActionCommand) -> str:
    if isinstance(command, FinishMigration | RevertMigration | Unshelve | Rebuild | LiveMigrate):
        return command.instance.uuid
    if isinstance(command, PostLiveMigrationAtDestination):
        return command.instance.uuid
    return command.uuid
