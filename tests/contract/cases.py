"""The cases: every template of the reference, grouped by API directory and microversion."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".json.tpl"


def templates_root() -> Path:
    """The upstream templates (api_sample_templates); NOVAMESH_API_SAMPLES overrides."""
    env = os.environ.get("NOVAMESH_API_SAMPLES")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "reference" / "nova" / "api_sample_templates"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("api_sample_templates not found: set NOVAMESH_API_SAMPLES")


@dataclass(frozen=True)
class Case:
    directory: str
    version: str  # "2.1" for the directory itself, else the v2.N subdirectory
    name: str
    response: Path | None
    request: Path | None

    @property
    def key(self) -> str:
        return f"{self.directory}/v{self.version}/{self.name}"


# Response templates whose names do not end in -resp (GETs named after their query).
_RESPONSE_PREFIXES = (
    "migrations-", "simple-tenant-usage", "servers-list", "servers-details",
    "instance-actions-list",
)  # fmt: skip


def _version_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _is_request(name: str) -> bool:
    return name.endswith("-req") or "-req-" in name


def _pair(name: str, names: set[str]) -> str | None:
    """The request template answered by the response template `name`, if any."""
    for candidate in (name.replace("-resp", "-req"), name.removesuffix("-resp")):
        if candidate != name and candidate in names:
            return candidate
    return None


def folder_cases(root: Path, directory: str, version: str, folder: Path) -> list[Case]:
    names = {p.name.removesuffix(SUFFIX) for p in folder.glob("*" + SUFFIX)}
    cases: list[Case] = []
    paired: set[str] = set()
    for name in sorted(n for n in names if not _is_request(n) and n.endswith("-resp")):
        req = _pair(name, names)
        if req:
            paired.add(req)
        cases.append(
            Case(directory, version, name, folder / (name + SUFFIX),
                 folder / (req + SUFFIX) if req else None)
        )  # fmt: skip
    for name in sorted(names - paired):
        if name.endswith("-resp"):
            continue
        if _is_request(name):
            cases.append(Case(directory, version, name, None, folder / (name + SUFFIX)))
        else:
            # Templates named after a GET (`image-meta-key-get`) or a variant of a response
            # (`server-get-resp-rescue`) are responses; actions
            # (`server-action-reboot`, `pause-server`) are requests answered without a body.
            is_response = (
                name.endswith(("-get", "-list"))
                or "-get-" in name
                or "-resp-" in name
                or name.startswith(_RESPONSE_PREFIXES)
            )
            path = folder / (name + SUFFIX)
            cases.append(
                Case(directory, version, name, path if is_response else None,
                     None if is_response else path)
            )  # fmt: skip
    return cases


def discover(root: Path | None = None) -> list[Case]:
    root = root or templates_root()
    cases: list[Case] = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        cases += folder_cases(root, directory.name, "2.1", directory)
        versions = [p for p in directory.iterdir() if p.is_dir() and p.name.startswith("v2.")]
        for sub in sorted(versions, key=lambda p: _version_key(p.name[1:])):
            cases += folder_cases(root, directory.name, sub.name[1:], sub)
    return cases


def find_template(root: Path, directory: str, version: str, name: str) -> Path | None:
    """A template by name in the version's folder, else the directory's own."""
    for folder in (root / directory / f"v{version}", root / directory):
        path = folder / (name + SUFFIX)
        if path.is_file():
            return path
    return None


def nearest_template(root: Path, directory: str, version: str, name: str) -> Path | None:
    """The template of the highest microversion folder at or below `version` that has it."""
    best: tuple[tuple[int, int], Path] | None = None
    wanted = _version_key(version)
    for folder in (root / directory).glob("v2.*"):
        key = _version_key(folder.name[1:])
        path = folder / (name + SUFFIX)
        if key <= wanted and path.is_file() and (best is None or key > best[0]):
            best = (key, path)
    if best is not None:
        return best[1]
    path = root / directory / (name + SUFFIX)
    return path if path.is_file() else None
