"""YAML definition files: several documents per file, each with a ``kind``.

Documents are composed to nodes first so that every problem can name the line
of the field at fault. Duplicate mapping keys, which PyYAML would silently
accept (last one wins), are reported as problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fsctl.errors import Problem
from fsctl.model.objects import KINDS, FsctlObject, Origin, problems_from_validation


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _field_line(node: Any, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node that ``loc`` (a pydantic error location) reaches."""
    import yaml

    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if match is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
                return _line(key) if key is not None else _line(node)
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return _line(node)


def _duplicate_keys(node: Any, rel: str, problems: list[Problem]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(getattr(key, "value", ""))
            if name in seen:
                problems.append(
                    Problem(
                        f"key '{name}' appears twice in one mapping (first on line {seen[name]})",
                        file=rel,
                        line=_line(key),
                        fix="keep one of them",
                    )
                )
            seen[name] = _line(key)
            _duplicate_keys(value, rel, problems)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicate_keys(item, rel, problems)


def load_yaml_file(path: Path, rel: str) -> tuple[list[FsctlObject], list[Problem]]:
    import yaml
    from pydantic import ValidationError

    objects: list[FsctlObject] = []
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(f"cannot read file: {exc}", file=rel)]

    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            before = len(problems)
            _duplicate_keys(node, rel, problems)
            data = loader.construct_document(node)
            if len(problems) > before or data is None:
                continue
            line = _line(node)
            if not isinstance(data, dict):
                problems.append(
                    Problem(
                        "a YAML document must be a mapping with a 'kind'",
                        file=rel,
                        line=line,
                        fix="start the document with 'kind: Entity' (or FileSource, FeatureView, "
                        "FeatureService, Model), or list the file in .fsctlignore",
                    )
                )
                continue
            kind = data.get("kind")
            name = data.get("name") if isinstance(data.get("name"), str) else None
            if kind not in KINDS:
                problems.append(
                    Problem(
                        f"unknown kind {kind!r}" if kind is not None else "document has no 'kind'",
                        file=rel,
                        line=_field_line(node, ("kind",)),
                        name=name,
                        field="kind",
                        fix=f"use one of {', '.join(KINDS)}, or list the file in .fsctlignore",
                    )
                )
                continue
            body = {k: v for k, v in data.items() if k != "kind"}
            try:
                obj = KINDS[kind].from_data(body)
            except ValidationError as exc:
                for problem, item in zip(
                    problems_from_validation(exc, kind, name, Origin(file=rel, line=line)),
                    exc.errors(),
                    strict=True,
                ):
                    problems.append(
                        Problem(
                            problem.message,
                            file=rel,
                            line=_field_line(node, tuple(item["loc"])),
                            kind=kind,
                            name=name,
                            field=problem.field,
                        )
                    )
                continue
            objects.append(obj.with_origin(Origin(file=rel, line=line)))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        problems.append(
            Problem(
                f"not valid YAML: {what}",
                file=rel,
                line=mark.line + 1 if mark is not None else None,
                fix="fix the YAML syntax (indentation, quotes, ':' after keys)",
            )
        )
    finally:
        loader.dispose()
    return objects, problems
