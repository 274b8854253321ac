"""The real ``fsctl ui`` for tests: a process on a free port over a repo, stopped by signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cli.conftest import fsctl_env
from tests.support.s3 import free_port

# Objects whose description and tags hold script and HTML payloads (the escaping tests).
PAYLOAD_SCRIPT = "<script>alert(1)</script>"
PAYLOAD_ATTR = '"><img src=x onerror=alert(1)>'
PAYLOADS_YAML = f"""\
kind: Entity
name: evil_entity
join_keys: [evil_id]
description: '{PAYLOAD_SCRIPT}'
owner: 'mallory{PAYLOAD_ATTR}'
tags: {{xss: '{PAYLOAD_ATTR}', script: '{PAYLOAD_SCRIPT}'}}
"""


@dataclass
class UIServer:
    process: subprocess.Popen[str]
    url: str
    port: int

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, stderr = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return self.process.returncode, stderr


def start_ui(repo: Path, *args: str, **env: str) -> UIServer:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fsctl", "ui", "--repo", str(repo), "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=fsctl_env(**env),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"fsctl ui exited {process.returncode}: {stderr}")
        try:
            if httpx.get(f"{url}/api/", timeout=1).status_code == 200:
                return UIServer(process, url, port)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("fsctl ui did not answer within 60s")
