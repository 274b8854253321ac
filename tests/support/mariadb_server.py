"""A real MariaDB server on 127.0.0.1 for tests (one per test worker): the MySQL online store
runs against it.

Debian's ``mariadb-server`` package (``make sysdeps``) provides ``mariadb-install-db`` and
``mariadbd`` (or ``mysqld``). The data folder is a temporary one, with the binary log off and
the redo log flushed lazily, and the server listens on a free loopback port (its socket in
that folder) until the session ends. The admin connects over the socket as root; tests log
in over TCP as users they create. Without the package the fixture fails, never turning
into skipped tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.s3 import free_port

DATABASE = "fsctl"


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for d in ("/usr/sbin", "/usr/bin") if (p := Path(d) / name).exists()), None
        )
        if found:
            return found
    raise RuntimeError(
        f"{names[0]} is not installed: the mysql online-store tests need it. "
        "Run `make test` (or `make sysdeps`), which installs the mariadb-server package."
    )


@dataclass
class MariaDBServer:
    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    database: str = DATABASE

    @property
    def socket(self) -> str:
        return str(self.folder / "mysqld.sock")

    def admin(self, database: str | None = None) -> Any:
        """A root connection over the server's socket."""
        import pymysql

        return pymysql.connect(unix_socket=self.socket, user="root", database=database, autocommit=True)

    def connect(self, user: str, password: str) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.host, port=self.port, user=user, password=password, database=self.database, autocommit=True
        )

    def execute(self, *statements: str) -> None:
        conn = self.admin()
        try:
            with conn.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _ready(server: MariaDBServer) -> bool:
    import pymysql

    try:
        server.admin().close()
        return True
    except pymysql.err.Error:
        return False


def start_server() -> MariaDBServer:
    install = _binary("mariadb-install-db", "mysql_install_db")
    mariadbd = _binary("mariadbd", "mysqld")
    folder = Path(tempfile.mkdtemp(prefix="fsctl-maria-"))
    data = folder / "data"
    user = ["--user=root"] if os.geteuid() == 0 else []
    init = subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *user,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"mariadb-install-db failed:\n{init.stdout}\n{init.stderr}")
    log = folder / "mariadb.log"
    for _ in range(3):  # a free port can be taken by someone else before the server binds it
        port = free_port()
        process = subprocess.Popen(
            [
                mariadbd,
                "--no-defaults",
                f"--datadir={data}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={folder / 'mysqld.sock'}",
                f"--pid-file={folder / 'mysqld.pid'}",
                f"--log-error={log}",
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-buffer-pool-size=128M",
                "--max-connections=300",
                *user,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = MariaDBServer(port=port, folder=folder, process=process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            if _ready(server):
                server.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
                return server
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait()
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"mariadbd did not start on 127.0.0.1; its log:\n{detail}")


WRITER, READER = ("fsctl_writer", "writer-secret"), ("fsctl_reader", "reader-secret")

# The statements of README ("Postgres and MySQL online stores"), run by the admin.
GRANTS = (
    f"CREATE USER '{WRITER[0]}'@'%' IDENTIFIED BY '{WRITER[1]}'",
    f"CREATE USER '{READER[0]}'@'%' IDENTIFIED BY '{READER[1]}'",
    f"GRANT SELECT, INSERT, UPDATE, CREATE, DROP ON {DATABASE}.* TO '{WRITER[0]}'@'%'",
    f"GRANT SELECT ON {DATABASE}.* TO '{READER[0]}'@'%'",
)


def start_with_users() -> MariaDBServer:
    """A server with the writer and reader users of README and their grants."""
    server = start_server()
    try:
        server.execute(*GRANTS)
    except BaseException:
        server.stop()
        raise
    return server


def online_section(server: MariaDBServer, reader: bool = True, **fields: str) -> str:
    """The ``online_store`` section of fsctl.yaml for ``server`` (flow style)."""
    items = {
        "type": "mysql",
        "host": server.host,
        "port": str(server.port),
        "database": server.database,
        "writer": f"{{user: {WRITER[0]}, password: {WRITER[1]}}}",
        **({"reader": f"{{user: {READER[0]}, password: {READER[1]}}}"} if reader else {}),
        **fields,
    }
    return "{" + ", ".join(f"{k}: {v}" for k, v in items.items()) + "}"
