"""Where the packaged templates are: inside the installed wheel, or the source checkout."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("fsctl templates are missing from this installation")
