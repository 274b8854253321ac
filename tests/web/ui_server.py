"""The real ``fsctl ui`` for tests: a process on a free port over a repo, stopped by signal."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.s3 import free_port
from tests.support.server import Server, start_command

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


UIServer = Server  # a server process: .url, .port, .stop(signal) -> (exit code, stderr)


def start_ui(repo: Path, *args: str, **env: str) -> Server:
    """``fsctl ui`` on the repo, on a free port, once ``/api/`` answers."""
    port = free_port()
    command = [sys.executable, "-m", "fsctl", "ui", "--repo", str(repo), "--port", str(port), *args]
    return start_command(command, port, "/api/", **env)
