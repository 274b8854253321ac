"""Who applied a registry version, from which commit: actor, time and git commit."""

from __future__ import annotations

import getpass
import os
from datetime import datetime, timezone
from pathlib import Path

_CI_ACTORS = (
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "CIRCLE_USERNAME",
    "BUILD_REQUESTEDFOR",
)


def actor() -> str:
    """``FSCTL_ACTOR``, else the CI system's user (tagged ``ci:``), else ``user@host``."""
    explicit = os.environ.get("FSCTL_ACTOR")
    if explicit:
        return explicit
    for var in _CI_ACTORS:
        if os.environ.get(var):
            return f"ci:{os.environ[var]}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{_hostname()}"


def _hostname() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename  # what socket.gethostname() returns, without importing socket
    import socket

    return socket.gethostname()


def git_commit(root: Path) -> str | None:
    """The checked-out commit of the repo (``-dirty`` if it has uncommitted changes), or None."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
        if head.returncode != 0:
            return os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA")
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
