"""YAML definition files: several documents per file, each with a ``kind``.

Documents are composed to nodes first so that every problem can name the line
of the field at fault. Duplicate mapping keys, which PyYAML would silently
accept (last one wins), are reported as problems.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fsctl.definitions import KINDS, FsctlObject, Origin
from fsctl.definitions.base import problems_from_validation
from fsctl.errors import Problem

_DOC_SPLIT = re.compile(r"^---.*$", re.MULTILINE)
_KIND_RE = re.compile(r"^kind:\s*[\"']?([A-Za-z]+)", re.MULTILINE)
_NAME_RE = re.compile(r"^name:\s*[\"']?([A-Za-z0-9_-]+)", re.MULTILINE)


def declared_in_yaml(text: str) -> set[tuple[str, str]]:
    """(kind, name) pairs a YAML file seems to declare, read by pattern: used when it does not parse."""
    found = set()
    for chunk in _DOC_SPLIT.split(text):
        kind, name = _KIND_RE.search(chunk), _NAME_RE.search(chunk)
        if kind and name:
            found.add((kind.group(1), name.group(1)))
    return found


def document_identity(text: str, line: int | None) -> tuple[str | None, str | None]:
    """The kind and name of the YAML document holding ``line`` (1-based), read by pattern."""
    if line is None:
        return None, None
    start = 0
    for match in _DOC_SPLIT.finditer(text):
        if text.count("\n", 0, match.start()) + 1 > line:
            break
        start = match.end()
    end_match = _DOC_SPLIT.search(text, start)
    chunk = text[start : end_match.start() if end_match else len(text)]
    kind, name = _KIND_RE.search(chunk), _NAME_RE.search(chunk)
    return (kind.group(1) if kind else None), (name.group(1) if name else None)


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


_STR_TAG = "tag:yaml.org,2002:str"


def _build(loader: Any, node: Any, duplicates: list[tuple[Any, int]]) -> Any:
    """Turn a composed node into Python values in one pass, noting duplicate mapping keys
    (PyYAML would silently keep the last). Plain strings are taken as they are; other scalars,
    and mappings with merge keys, go through PyYAML's constructor."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR_TAG else loader.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, duplicates) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        if any(getattr(k, "tag", "") == "tag:yaml.org,2002:merge" for k, _ in node.value):
            return loader.construct_object(node, deep=True)
        out: dict[Any, Any] = {}
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = _build(loader, key_node, duplicates)
            if isinstance(key, (list, dict)):
                key = str(key)
            if key in out:
                duplicates.append((key_node, first[key]))
            first.setdefault(key, _line(key_node))
            out[key] = _build(loader, value_node, duplicates)
        return out
    return loader.construct_object(node, deep=True)


def load_yaml_file(path: Path, rel: str) -> tuple[list[FsctlObject], list[Problem]]:
    import yaml
    from pydantic import ValidationError

    objects: list[FsctlObject] = []
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(f"cannot read file: {exc}", file=rel)]

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml: ~3x faster, same marks
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            duplicates: list[tuple[Any, int]] = []
            data = _build(loader, node, duplicates)
            doc_kind = (
                data.get("kind") if isinstance(data, dict) and isinstance(data.get("kind"), str) else None
            )
            doc_name = str(data["name"]) if isinstance(data, dict) and data.get("name") is not None else None
            for key_node, first_line in duplicates:
                problems.append(
                    Problem(
                        f"key '{key_node.value}' appears twice in one mapping (first on line {first_line})",
                        file=rel,
                        line=_line(key_node),
                        kind=doc_kind,
                        name=doc_name,
                        fix="keep one of them",
                    )
                )
            if duplicates or data is None:
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
            kind, name = data.get("kind"), doc_name
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
        error_line = mark.line + 1 if mark is not None else None
        kind, name = document_identity(text, error_line)
        problems.append(
            Problem(
                f"not valid YAML: {what}",
                file=rel,
                line=error_line,
                kind=kind,
                name=name,
                fix="fix the YAML syntax (indentation, quotes, ':' after keys)",
            )
        )
    finally:
        loader.dispose()
    return objects, problems
