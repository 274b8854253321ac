"""Use case: ``fsctl init NAME``: render a new repo from ``templates/init/<template>/``.

Files ending in ``.j2`` are rendered with jinja2 (``project`` in the context)
and lose the suffix; other files are copied. A template that ships ``.github/CODEOWNERS``
gets the project's ``fsctl codeowners`` section written into it (paths from the new
folder, which its workflows expect to be the root of its git repository). A template whose ``.extends`` file
names another template starts from that one's files and overrides them. Sample
data as of now is then written to ``data/``, so that ``fsctl plan`` works at once and a
first ``materialize-incremental`` up to now gives present online values.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fsctl.errors import UsageError
from fsctl.template_paths import templates_dir

_PROJECT_RE = re.compile(r"^[a-z0-9_]+$")


def available_templates() -> list[str]:
    root = templates_dir() / "init"
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def _template_files(source: Path) -> dict[Path, Path]:
    """Relative path -> file of a template, starting from the template it extends."""
    files: dict[Path, Path] = {}
    base = source / ".extends"
    if base.is_file():
        files.update(_template_files(source.parent / base.read_text(encoding="utf-8").strip()))
    for file in source.rglob("*"):
        rel = file.relative_to(source)
        if file.is_file() and rel != Path(".extends") and "__pycache__" not in rel.parts:
            files[rel] = file
    return files


def init_repo(target: Path, template: str = "local") -> list[Path]:
    import jinja2

    from fsctl.services.sample_data import write_sample_data

    project = target.name
    if not _PROJECT_RE.match(project):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", project.lower()).strip("_") or "my_project"
        raise UsageError(
            f"'{project}' is not a valid project name: use lowercase letters, digits and '_'",
            hint=f"try `fsctl init {suggestion}`",
        )
    source = templates_dir() / "init" / template
    if not source.is_dir():
        raise UsageError(
            f"unknown template '{template}'", hint=f"use one of {', '.join(available_templates())}"
        )
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} already exists and is not empty", hint="choose a new folder name")

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    written: list[Path] = []
    for rel, file in sorted(_template_files(source).items()):
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if file.suffix == ".j2":
            dest = dest.with_suffix("")
            dest.write_text(
                env.from_string(file.read_text(encoding="utf-8")).render(project=project), encoding="utf-8"
            )
        else:
            shutil.copyfile(file, dest)
        written.append(dest)
    written.extend(write_sample_data(target / "data"))
    owners_file = target / ".github" / "CODEOWNERS"
    if owners_file.is_file():
        from fsctl.services.codeowners import codeowners

        codeowners(target, owners_file, base=target)
    return written
