"""Check that a view's source can provide its join keys, timestamps and features.

Only the schema is read (a parquet footer or a CSV header), for local files.
A source on S3 is not read here, and a local path that does not exist yet is
a warning, not an error: CI checkouts often have no data.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path

from fsctl.errors import Problem
from fsctl.model.objects import Entity, FeatureView, FileSource, FsctlObject


def _first_file(root: Path, source: FileSource) -> Path | None:
    path = Path(source.path)
    if not path.is_absolute():
        path = root / path
    if path.is_file():
        return path
    pattern = str(path / "**" / f"*.{source.format}") if path.is_dir() else str(path)
    matches = sorted(glob.glob(pattern, recursive=True))
    return Path(matches[0]) if matches else None


def source_columns(root: Path, source: FileSource) -> list[str] | None:
    """The column names of a local source, or None when it cannot be read here."""
    if "://" in source.path:
        return None
    first = _first_file(root, source)
    if first is None:
        return None
    if source.format == "csv":
        import csv

        with first.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    import pyarrow.parquet as pq

    return list(pq.read_schema(first).names)


def check_sources(root: Path, objects: Mapping[str, Mapping[str, FsctlObject]]) -> tuple[list[Problem], list[Problem]]:
    """Return (problems, warnings)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    entities: Mapping[str, Entity] = objects.get("Entity", {})  # type: ignore[assignment]
    sources: Mapping[str, FileSource] = objects.get("FileSource", {})  # type: ignore[assignment]
    views: Mapping[str, FeatureView] = objects.get("FeatureView", {})  # type: ignore[assignment]

    columns: dict[str, list[str] | None] = {}
    for source in sources.values():
        origin = source.origin
        try:
            columns[source.name] = source_columns(root, source)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
            columns[source.name] = None
            problems.append(
                Problem(f"cannot read the schema of {source.path}: {exc}", file=origin and origin.file,
                        line=origin and origin.line, kind="FileSource", name=source.name, field="path",
                        fix="check that the file is a valid " + source.format + " file")
            )
            continue
        if columns[source.name] is None and "://" not in source.path:
            warnings.append(
                Problem(f"no data at {source.path} yet; its columns were not checked",
                        file=origin and origin.file, line=origin and origin.line,
                        kind="FileSource", name=source.name, field="path")
            )
        cols = columns[source.name]
        if cols is None:
            continue
        for field_name in ("timestamp_field", "created_timestamp_field"):
            column = getattr(source, field_name)
            if column and column not in cols:
                problems.append(
                    Problem(f"column '{column}' is not in {source.path} (columns: {', '.join(cols)})",
                            file=origin and origin.file, line=origin and origin.line,
                            kind="FileSource", name=source.name, field=field_name,
                            fix="name a column the data has")
                )

    for view in views.values():
        source = sources.get(view.source)
        cols = columns.get(view.source) if source else None
        if source is None or cols is None:
            continue
        origin = view.origin
        keys = [k for e in view.entities if e in entities for k in entities[e].join_keys]
        for key in keys:
            if source.column_for(key) not in cols:
                problems.append(
                    Problem(f"join key '{key}' cannot be provided by source '{source.name}': "
                            f"{source.path} has no column '{source.column_for(key)}'",
                            file=origin and origin.file, line=origin and origin.line,
                            kind="FeatureView", name=view.name, field="entities",
                            fix=f"add the column, or map a column to it with field_mapping in '{source.name}'")
                )
        for feature in view.feature_names:
            if source.column_for(feature) not in cols:
                problems.append(
                    Problem(f"feature '{feature}' is not a column of {source.path}",
                            file=origin and origin.file, line=origin and origin.line,
                            kind="FeatureView", name=view.name, field=f"schema.{feature}",
                            fix=f"rename it to a column the source has, or map one with field_mapping in "
                            f"'{source.name}'")
                )
    return problems, warnings
