"""A throwaway PostgreSQL cluster in a temporary directory (initdb + pg_ctl, no systemd)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import free_port


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def available() -> bool:
    return _bindir() is not None


class PostgresCluster:
    def __init__(self, root: Path | None = None) -> None:
        # Not under pytest's tmp dirs: their 0700 parents keep the postgres user out.
        root = root or Path(tempfile.mkdtemp(prefix="novamesh-pg-"))
        bindir = _bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (run tools/install-test-deps.sh)")
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.sock = root / "sock"
        self.port = free_port()

    def _as_owner(self, args: list[str]) -> None:
        # PostgreSQL refuses to run as root: run its tools as the postgres user then.
        if os.geteuid() == 0:
            cmd = " ".join(f"'{a}'" for a in args)
            subprocess.run(
                ["su", "postgres", "-s", "/bin/sh", "-c", cmd], check=True, capture_output=True
            )
        else:
            subprocess.run(args, check=True, capture_output=True)

    def start(self) -> None:
        self.sock.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        self._as_owner(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        )
        opts = f"-k {self.sock} -h 127.0.0.1 -p {self.port} -c fsync=off -c max_connections=300"
        self._as_owner(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "pg.log"),
                "-w",
                "-o",
                opts,
                "start",
            ]
        )

    def create_database(self, name: str) -> str:
        """Create a database and return its SQLAlchemy URL."""
        subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-Atqc",
                f'CREATE DATABASE "{name}"',
            ],
            check=True,
            capture_output=True,
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-Atqc",
                statement,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def block(self, name: str) -> None:
        """Make one database unreachable, as if its server went away: new connections are
        refused and every open one is ended."""
        self.sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )

    def unblock(self, name: str) -> None:
        self.sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_owner(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
            )
        shutil.rmtree(self.root, ignore_errors=True)
