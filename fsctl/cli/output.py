"""Where CLI output goes: human text to stdout (rich on a terminal), logs and progress to stderr."""

from __future__ import annotations

import sys
from typing import Any


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def out(text: str, markup_text: str | None = None) -> None:
    """Print ``text``; on a terminal print ``markup_text`` (rich markup) instead when given."""
    if markup_text is not None and stdout_is_terminal():
        from rich.console import Console

        Console(highlight=False, soft_wrap=True).print(markup_text, end="")
        return
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def show(result: Any, fmt: str = "text") -> None:
    """Print ``result`` as ``fmt`` (text: with rich markup on a terminal) through the one
    renderer table (:func:`fsctl.render.render`)."""
    from fsctl.render import has_view, render

    fmt = getattr(fmt, "value", fmt)
    if fmt == "text" and stdout_is_terminal() and has_view(result, "rich"):
        out(render(result, "text"), render(result, "rich"))
    else:
        out(render(result, fmt))


def err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def confirm(question: str) -> bool:
    """Ask on the terminal; only called when stdin is a terminal."""
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


class Progress:
    """Stage messages on stderr: a spinner with elapsed time on a terminal, plain lines otherwise.

    Use as a context manager; call the object with a message to start a new stage."""

    def __init__(self) -> None:
        self._status: object | None = None
        self._start = 0.0

    def __enter__(self) -> Progress:
        import time

        self._start = time.perf_counter()
        if sys.stderr.isatty():
            from rich.console import Console

            status = Console(stderr=True).status("starting")
            status.__enter__()
            self._status = status
        return self

    def __call__(self, message: str) -> None:
        import time

        elapsed = time.perf_counter() - self._start
        if self._status is not None:
            self._status.update(f"{message} ({elapsed:.1f}s)")  # type: ignore[attr-defined]
        else:
            err(f"fsctl: {message} [{elapsed:.1f}s]")

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)  # type: ignore[attr-defined]
