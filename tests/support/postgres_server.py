"""A real Postgres server on 127.0.0.1 for tests (one per test worker).

Debian's ``postgresql`` package (``make sysdeps``) provides the binaries, found under
``/usr/lib/postgresql/*/bin`` (the newest) or ``pg_config --bindir``. The cluster is made by
``initdb`` in a temporary folder, with fsync off, and the server listens on a free loopback
port (its socket in that folder) until the session ends. Postgres refuses to run as root,
so under root (CI, this machine) it runs as the ``postgres`` user the package creates.
Without the package the fixture fails, never turning into skipped tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.s3 import free_port

SUPERUSER, SUPERPASSWORD = "postgres", "postgres-test"
DATABASE = "fsctl"


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "postgres").exists():
            return Path(out)
    raise RuntimeError(
        "the Postgres server is not installed: the postgres online-store tests need it. "
        "Run `make test` (or `make sysdeps`), which installs the postgresql package."
    )


def run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the ``postgres`` user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@dataclass
class PostgresServer:
    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    database: str = DATABASE

    def connect(self, user: str = SUPERUSER, password: str = SUPERPASSWORD, database: str | None = None) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=database or self.database,
            user=user,
            password=password,
            autocommit=True,
            connect_timeout=3,
        )

    def execute(self, *statements: str) -> None:
        """Run statements as the superuser."""
        with self.connect() as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: a "smart" shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _ready(server: PostgresServer) -> bool:
    import psycopg

    try:
        with server.connect(database="postgres"):
            return True
    except psycopg.Error:
        return False


def start_server() -> PostgresServer:
    bins = bindir()
    folder = Path(tempfile.mkdtemp(prefix="fsctl-pg-"))
    data = folder / "data"
    pwfile = folder / "pw"
    pwfile.write_text(SUPERPASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    init = subprocess.run(
        [
            str(bins / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        capture_output=True,
        text=True,
        check=False,
        **run_as(),
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    log = folder / "postgres.log"
    for _ in range(3):  # a free port can be taken by someone else before the server binds it
        port = free_port()
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [
                    str(bins / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-k",
                    str(folder),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                **run_as(),
            )
        server = PostgresServer(port=port, folder=folder, process=process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            if _ready(server):
                with server.connect(database="postgres") as conn:
                    conn.execute(f"CREATE DATABASE {DATABASE}")  # type: ignore[arg-type]
                return server
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait()
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"postgres did not start on 127.0.0.1; its log:\n{detail}")


SCHEMA = "fsctl_online"
WRITER, READER = ("fsctl_writer", "writer-secret"), ("fsctl_reader", "reader-secret")

# The statements of README ("Postgres and MySQL online stores"), run by the admin.
GRANTS = (
    f"CREATE ROLE {WRITER[0]} LOGIN PASSWORD '{WRITER[1]}'",
    f"CREATE ROLE {READER[0]} LOGIN PASSWORD '{READER[1]}'",
    f"CREATE SCHEMA {SCHEMA}",
    f"GRANT CONNECT ON DATABASE {DATABASE} TO {WRITER[0]}, {READER[0]}",
    f"GRANT USAGE, CREATE ON SCHEMA {SCHEMA} TO {WRITER[0]}",
    f"GRANT USAGE ON SCHEMA {SCHEMA} TO {READER[0]}",
    f"ALTER DEFAULT PRIVILEGES FOR ROLE {WRITER[0]} IN SCHEMA {SCHEMA} GRANT SELECT ON TABLES TO {READER[0]}",
)


def start_with_users() -> PostgresServer:
    """A server with the writer and reader users of README and their grants."""
    server = start_server()
    try:
        server.execute(*GRANTS)
    except BaseException:
        server.stop()
        raise
    return server


def online_section(server: PostgresServer, reader: bool = True, **fields: str) -> str:
    """The ``online_store`` section of fsctl.yaml for ``server`` (flow style)."""
    items = {
        "type": "postgres",
        "host": server.host,
        "port": str(server.port),
        "database": server.database,
        "schema": SCHEMA,
        "writer": f"{{user: {WRITER[0]}, password: {WRITER[1]}}}",
        **({"reader": f"{{user: {READER[0]}, password: {READER[1]}}}"} if reader else {}),
        **fields,
    }
    return "{" + ", ".join(f"{k}: {v}" for k, v in items.items()) + "}"
