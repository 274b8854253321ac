"""Where CLI output goes: human text to stdout (rich on a terminal), logs and progress to stderr."""

from __future__ import annotations

import sys


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


def err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def confirm(question: str) -> bool:
    """Ask on the terminal; only called when stdin is a terminal."""
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")
