"""The one error tree of fsctl.

Every error a user can cause is an :class:`FsctlError`. Each carries *what*
happened, *where* (file, line, object, field) and *how to fix it*, so the CLI's
single error boundary can print one clear message and exit 1. Anything that is
not an ``FsctlError`` is a bug: the CLI exits 3 and suggests ``--debug``.

::

    FsctlError
    ├── ConfigError            fsctl.yaml missing, unreadable or invalid
    ├── DefinitionError        one problem in a definition file
    │   └── DefinitionErrors   several problems, all reported at once
    ├── UsageError             bad flags or input files
    ├── PlanBlockedError       a safety check blocks the plan
    ├── RegistryError          the registry cannot be read or written
    │   ├── CorruptRegistryError   the stored document does not parse
    │   ├── ConflictError          the registry moved during a write (compare-and-swap lost)
    │   └── StalePlanError         a saved plan no longer matches registry or definitions
    ├── StoreError             an offline or online store failed
    └── ModelError             a model artifact cannot be loaded, or its predict fails
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass


class FsctlError(Exception):
    """A problem the user can fix. ``str()`` is the one-line (or few-line) message."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(FsctlError):
    """fsctl.yaml is missing, unreadable or invalid."""


class UsageError(FsctlError):
    """A bad flag, argument or input file."""


@dataclass(frozen=True)
class Problem:
    """One problem found while loading definitions.

    ``file`` is relative to the repo root where possible; ``line`` is 1-based.
    """

    message: str
    file: str | None = None
    line: int | None = None
    kind: str | None = None
    name: str | None = None
    field: str | None = None
    fix: str | None = None
    detail: str | None = dataclasses.field(default=None, compare=False)

    def where(self) -> str:
        loc = self.file or "<unknown file>"
        if self.line:
            loc += f":{self.line}"
        return loc

    def render(self) -> str:
        subject = ""
        if self.kind or self.name:
            subject = f"{self.kind or 'object'} '{self.name or '?'}'"
            if self.field:
                subject += f" field '{self.field}'"
            subject += ": "
        elif self.field:
            subject = f"field '{self.field}': "
        text = f"{self.where()}: {subject}{self.message}"
        if self.fix:
            text += f" (fix: {self.fix})"
        return text

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.file or "", self.line or 0, self.kind or "", self.name or "", self.message)


class DefinitionError(FsctlError):
    """One problem in a definition file (raised from inside a user's Python file too)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.render())
        self.problem = problem


class DefinitionErrors(FsctlError):
    """Every problem found in a repo, reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the definitions:"
        super().__init__("\n".join([head] + [f"  {p.render()}" for p in self.problems]))


class PlanBlockedError(FsctlError):
    """The plan deletes or breaks objects that others still depend on."""


class RegistryError(FsctlError):
    """The registry cannot be read or written."""


class CorruptRegistryError(RegistryError):
    """The stored registry document does not parse; it is never overwritten."""


class ConflictError(RegistryError):
    """Another writer changed the registry between read and write."""


class StalePlanError(RegistryError):
    """A saved plan no longer matches the registry or the definitions."""


class StoreError(FsctlError):
    """An offline or online store failed."""


def did_you_mean(name: str, choices: Iterable[str], what: str, otherwise: str | None = None) -> str:
    """The hint for a name that is not among ``choices``: the closest one ("did you mean
    'x'?"), else ``otherwise`` if given, else the choices themselves (``what: a, b, c``, the
    first 8)."""
    import difflib

    options = sorted(choices)
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if otherwise is not None:
        return otherwise
    if not options:
        return f"{what}: none"
    return f"{what}: {', '.join(options[:8])}{', ...' if len(options) > 8 else ''}"


class ModelError(FsctlError):
    """A model artifact cannot be loaded (missing, not allowed, wrong kind, a missing extra),
    or its ``predict`` failed or answered in a shape fsctl cannot read."""


_USERINFO = re.compile(r"(//[^/\s:@]*):[^@\s/]*@")


def masked_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages (even when the rest of it,
    a port say, does not parse)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    userinfo, at, where = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{where}"))


def masked_text(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` in it masked."""
    return _USERINFO.sub(r"\1:***@", text)
