"""Load a feature repo: fsctl.yaml plus every Python and YAML definition file.

Problems from every file and every cross-object check are collected first and
raised together as one :class:`~fsctl.errors.DefinitionErrors`, so a user sees
all of them in one run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsctl.definitions.values import KIND_ORDER
from fsctl.errors import DefinitionErrors, Problem
from fsctl.loader.config import find_repo, load_config, resolve_repo

if TYPE_CHECKING:
    from fsctl.definitions import FsctlObject
    from fsctl.definitions.graph import DefinitionGraph

__all__ = ["RepoDefinitions", "find_repo", "load_config", "load_repo", "resolve_repo"]


@dataclass
class RepoDefinitions:
    """A loaded, validated repo: its root, config and objects by kind and name."""

    root: Path
    config: Any  # RepoConfig
    objects: dict[str, dict[str, FsctlObject]]
    graph: DefinitionGraph
    warnings: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # The column types of each source read while checking (local sources; none when the
    # repo was loaded without checking data).
    source_columns: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def key_dtypes(self) -> dict[str, dict[str, str]]:
        """``{view: {join key: dtype}}`` read from the sources (see :mod:`fsctl.loader.key_types`);
        a view whose source was not read here is absent."""
        cached = self.__dict__.get("_key_dtypes")
        if cached is None:
            from fsctl.loader.sources import key_dtypes

            cached = self.__dict__["_key_dtypes"] = key_dtypes(self.root, self.objects, self.source_columns)
        return cached

    @property
    def documents(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Kind -> name -> canonical dict (``to_dict()``): what the registry stores and the
        plan diffs; computed on first use (``validate`` never needs it)."""
        cached = self.__dict__.get("_documents")
        if cached is None:
            cached = {
                kind: {name: self.objects[kind][name].to_dict() for name in sorted(self.objects.get(kind, {}))}
                for kind in KIND_ORDER
            }
            self.__dict__["_documents"] = cached
        return cached

    def all(self) -> list[FsctlObject]:
        return [self.objects[k][n] for k in KIND_ORDER for n in sorted(self.objects.get(k, {}))]

    def count(self) -> int:
        return sum(len(v) for v in self.objects.values())


def _where(obj: FsctlObject) -> str:
    origin = obj.origin
    if origin is None:
        return "<unknown>"
    return f"{origin.file}:{origin.line}" if origin.line else origin.file


def _declared(path: Path) -> set[tuple[str, str]]:
    from fsctl.loader.python_files import declared_in_python
    from fsctl.loader.yaml_files import declared_in_yaml

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return declared_in_python(text) if path.suffix == ".py" else declared_in_yaml(text)


def load_repo(
    repo: Path | str | None = None, *, check_data: bool = True, check_remote: bool = False
) -> RepoDefinitions:
    """Load and check the repo; ``check_remote`` also checks S3 sources exist (plan does)."""
    from fsctl.loader.discover import definition_files
    from fsctl.loader.python_files import load_python_file, repo_import_context
    from fsctl.loader.validate import check_models, check_references
    from fsctl.loader.yaml_files import load_yaml_file

    root = resolve_repo(repo)
    config = load_config(root)
    problems: list[Problem] = []
    loaded: list[FsctlObject] = []
    unloaded: set[tuple[str, str]] = set()  # declared in files that failed: not "undefined" elsewhere
    files = definition_files(root)
    with repo_import_context(root):
        for path in files:
            rel = path.relative_to(root).as_posix()
            if path.suffix == ".py":
                objs, probs = load_python_file(path, rel, root)
            else:
                objs, probs = load_yaml_file(path, rel)
            loaded.extend(objs)
            problems.extend(probs)
            if probs:
                unloaded |= _declared(path)

    objects: dict[str, dict[str, FsctlObject]] = {kind: {} for kind in KIND_ORDER}
    seen_sites: set[tuple[str, str, str]] = set()
    for obj in loaded:
        site = (obj.KIND, obj.name, _where(obj))
        if site in seen_sites:
            continue  # the same object, imported into another definition file
        seen_sites.add(site)
        existing = objects[obj.KIND].get(obj.name)
        if existing is not None:
            origin = obj.origin
            problems.append(
                Problem(
                    f"defined twice: in {_where(existing)} and in {_where(obj)}",
                    file=origin.file if origin else None,
                    line=origin.line if origin else None,
                    kind=obj.KIND,
                    name=obj.name,
                    fix="names are unique per kind in a project: rename or remove one of them",
                )
            )
            continue
        objects[obj.KIND][obj.name] = obj

    from fsctl.definitions.graph import build_graph

    graph = build_graph(objects)
    broken = unloaded | {(p.kind, p.name) for p in problems if p.kind and p.name}
    problems.extend(check_references(objects, graph, broken))
    problems.extend(check_models(objects, broken))
    warnings: list[Problem] = []
    columns: dict[str, dict[str, Any]] = {}
    if check_data:
        from fsctl.loader.sources import check_sources

        source_problems, warnings, columns = check_sources(root, objects, check_remote)
        problems.extend(source_problems)
    if problems:
        raise DefinitionErrors(list(dict.fromkeys(problems)))  # a module imported twice reports once
    return RepoDefinitions(
        root=root,
        config=config,
        objects=objects,
        graph=graph,
        warnings=warnings,
        files=[p.relative_to(root).as_posix() for p in files],
        source_columns=columns,
    )
