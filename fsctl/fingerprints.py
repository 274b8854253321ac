"""Fingerprints: the SHA-256 of a value's canonical JSON (sorted keys, no spaces). Plans,
saved plan files and materialization watermarks use them to tell "the same" from "changed"."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
