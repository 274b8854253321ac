"""A real Spark Connect server on 127.0.0.1 for tests, started from the installed pyspark
(``sbin/start-connect-server.sh --wait``: in the foreground, so the test owns its process)
with its logs and pid files in a temp folder, on a free port, stopped afterwards. It needs
Java, which ``make sysdeps`` installs; it starts its own JVM (about 10-30 s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.s3 import free_port


@dataclass
class ConnectServer:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the script and the JVM it started
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_connect_server(workdir: Path, timeout: float = 240) -> ConnectServer:
    import pyspark

    home = Path(pyspark.__file__).parent
    script = home / "sbin" / "start-connect-server.sh"
    port = free_port()
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(workdir / "logs"),
        "SPARK_PID_DIR": str(workdir),
        "SPARK_CONF_DIR": str(workdir),
        "PYSPARK_PYTHON": sys.executable,
    }
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                "bash", str(script), "--wait",
                "--master", "local[2]",
                "--conf", f"spark.connect.grpc.binding.port={port}",
                "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.sql.shuffle.partitions=2",
                "--conf", f"spark.local.dir={workdir}",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=workdir,
        )
    server = ConnectServer(port, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Spark Connect server exited: {log.read_text()[-2000:]}")
        if _listening(port):
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"the Spark Connect server did not listen within {timeout:.0f} s: {log.read_text()[-2000:]}")
