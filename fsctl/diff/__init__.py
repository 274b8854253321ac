"""Pure planning: (desired objects, registry snapshot) -> Plan. No I/O, no printing."""

from fsctl.diff.builder import build_plan
from fsctl.diff.plan import SCHEMA_VERSION, Blocked, Change, FieldChange, Plan, fingerprint

__all__ = ["SCHEMA_VERSION", "Blocked", "Change", "FieldChange", "Plan", "build_plan", "fingerprint"]
