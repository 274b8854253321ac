"""Which files of a repo hold definitions: ``*.py``, ``*.yaml``, ``*.yml``, minus ignores.

Hidden folders (``.git``, ``.venv``, ...), ``__pycache__`` and the patterns of
``.fsctlignore`` (gitignore syntax) are skipped. The order is sorted, so loading
is deterministic.
"""

from __future__ import annotations

import os
from pathlib import Path

from fsctl.definitions.config import CONFIG_FILE

IGNORE_FILE = ".fsctlignore"
_SKIP_DIRS = {"__pycache__", "node_modules", "venv", "site-packages"}
_SUFFIXES = (".py", ".yaml", ".yml")


def is_skipped_dir(name: str) -> bool:
    """Folders never searched for definitions: hidden ones, caches, virtualenvs, packages."""
    return name.startswith(".") or name in _SKIP_DIRS


def definition_files(root: Path) -> list[Path]:
    import pathspec

    patterns: list[str] = []
    ignore = root / IGNORE_FILE
    if ignore.is_file():
        patterns = ignore.read_text(encoding="utf-8").splitlines()
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)

    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not is_skipped_dir(d) and not spec.match_file(f"{(rel_folder / d).as_posix()}/")
        )
        for name in sorted(files):
            rel = (rel_folder / name).as_posix()
            if not name.endswith(_SUFFIXES) or name.startswith("."):
                continue
            if rel == CONFIG_FILE or spec.match_file(rel):
                continue
            found.append(root / rel)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())
