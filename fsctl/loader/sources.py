"""Check that a view's source can provide its join keys, timestamps and features.

Only the schema is read (a parquet footer, a CSV header, a Delta table's transaction log),
for local files; a SQL source's schema is what its query gives over those
(:mod:`fsctl.loader.sql_sources`). A local path that matches no file is an error (it would
fail only later, in materialize); a source on S3 is not read here (``plan`` checks that it
exists).
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsctl.definitions import Entity, FeatureView, FileSource, FsctlObject, SqlSource
from fsctl.definitions.graph import join_keys
from fsctl.errors import Problem
from fsctl.loader.validate import problem_at
from fsctl.offline.schema import dtype_accepts


def _first_file(root: Path, source: FileSource) -> Path | None:
    path = Path(source.path)
    if not path.is_absolute():
        path = root / path
    if path.is_file():
        return path
    pattern = str(path / "**" / f"*.{source.format}") if path.is_dir() else str(path)
    matches = sorted(glob.glob(pattern, recursive=True))
    return Path(matches[0]) if matches else None


def _no_file(root: Path, source: FileSource) -> str:
    """Why a local source matches no file, naming the first folder of its path that is missing."""
    if source.format == "delta":
        path = Path(source.path) if Path(source.path).is_absolute() else root / source.path
        if path.exists():
            return (f"format: delta, but {source.path} is not a Delta table (no _delta_log/ folder in it); "
                    "fix the format (parquet or csv) or point the path at the table's folder")
    where = f"no file matches {source.path} (relative to the repo"
    for folder in reversed(Path(source.path).parents[:-1]):
        if any(c in folder.name for c in "*?["):
            break  # a glob: no single folder to name
        if not (root / folder).is_dir():
            return f"{where}; there is no folder {folder.as_posix()}/)"
    return where + ")"


def source_schema(root: Path, source: FileSource) -> dict[str, Any] | None:
    """Column name -> column type (None for CSV, whose types are not declared) of a local
    source, or None when it cannot be read here. Parquet footers are read without pyarrow."""
    if "://" in source.path:
        return None
    if source.format == "delta":
        path = Path(source.path) if Path(source.path).is_absolute() else root / source.path
        if not (path / "_delta_log").is_dir():
            return None
        from fsctl.offline.delta import delta_schema
        from fsctl.offline.schema import from_arrow

        schema = delta_schema(source.name, str(path), source.version, source.timestamp)
        return {f.name: from_arrow(f.type) for f in schema}
    first = _first_file(root, source)
    if first is None:
        return None
    if source.format == "csv":
        import csv

        with first.open(newline="", encoding="utf-8") as handle:
            return dict.fromkeys(next(csv.reader(handle), []))
    from fsctl.offline.parquet_footer import read_schema

    return dict(read_schema(first))


def _where(source: FileSource | SqlSource) -> str:
    """How messages name where a source's columns come from."""
    return source.path if isinstance(source, FileSource) else f"the query of SQL source '{source.name}'"


def _columns_hint(cols: dict[str, Any]) -> str:
    names = list(cols)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"(columns: {shown})"


def check_sources(
    root: Path, objects: Mapping[str, Mapping[str, FsctlObject]], check_remote: bool = False
) -> tuple[list[Problem], list[Problem], dict[str, dict[str, Any]]]:
    """Return (problems, warnings, the column types of each source read here). A local
    source must match a file; with ``check_remote`` (plan), an S3 source must match an
    object when S3 can be reached, and is reported as unchecked when it cannot."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    entities: Mapping[str, Entity] = objects.get("Entity", {})  # type: ignore[assignment]
    sources: Mapping[str, FileSource] = objects.get("FileSource", {})  # type: ignore[assignment]
    views: Mapping[str, FeatureView] = objects.get("FeatureView", {})  # type: ignore[assignment]
    all_sources: dict[str, FileSource | SqlSource] = {**sources, **objects.get("SqlSource", {})}  # type: ignore[dict-item]

    columns: dict[str, dict[str, Any]] = {}
    for source in sources.values():
        try:
            cols = source_schema(root, source)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
            problems.append(
                problem_at(
                    source,
                    f"cannot read the schema of {source.path}: {exc}",
                    "path",
                    f"check that the file is a valid {source.format} file",
                )
            )
            continue
        if cols is None:
            if "://" not in source.path:
                # A path that matches no file fails at 3 a.m. in materialize: say so now.
                problems.append(
                    problem_at(
                        source,
                        _no_file(root, source),
                        "path",
                        "generate or copy the data there first, or fix the path"
                        + ("; README.md may say how to get the data" if (root / "README.md").is_file() else ""),
                    )
                )
            elif not check_remote or not source.path.startswith("s3://"):
                warnings.append(
                    problem_at(source, f"{source.path} is not checked here (not a local path)", "path")
                )
            else:
                found, why = s3_matches(source.path)
                if found is False:
                    problems.append(
                        problem_at(
                            source,
                            f"no object matches {source.path}",
                            "path",
                            "fix the path, or put the data there before planning",
                        )
                    )
                elif found is None:
                    warnings.append(problem_at(source, f"{source.path} was not checked: {why}", "path"))
            continue
        columns[source.name] = cols
        for field_name in ("timestamp_field", "created_timestamp_field"):
            column = getattr(source, field_name)
            if column and column not in cols:
                problems.append(
                    problem_at(
                        source,
                        f"column '{column}' is not in {source.path} {_columns_hint(cols)}",
                        field_name,
                        "name a column the data has",
                    )
                )

    from fsctl.loader.sql_sources import check_sql_sources

    sql_problems, sql_warnings = check_sql_sources(root, objects, columns)
    problems += sql_problems
    warnings += sql_warnings
    for view in views.values():
        view_source = all_sources.get(view.source)
        if view_source is None or view.source not in columns:
            continue
        cols = columns[view.source]
        keys = join_keys(view, entities)
        for key in keys:
            column = view_source.column_for(key)
            if column not in cols:
                problems.append(
                    problem_at(
                        view,
                        f"join key '{key}' cannot be provided by source '{view_source.name}': "
                        f"{_where(view_source)} has no column '{column}' {_columns_hint(cols)}",
                        "entities",
                        f"add the column, or map a column to it with field_mapping in '{view_source.name}'",
                    )
                )
        # What an aggregation view reads from its source: its inputs (issue 17).
        where, what = ("inputs", "input column") if view.aggregations else ("schema", "feature")
        for read in view.read_columns:
            feature = read.name
            column = view_source.column_for(feature)
            mapped = f" (mapped to '{feature}' by field_mapping)" if column != feature else ""
            if column not in cols:
                problems.append(
                    problem_at(
                        view,
                        f"{what} '{feature}' needs column '{column}'{mapped}, which {_where(view_source)} "
                        f"does not have {_columns_hint(cols)}",
                        f"{where}.{feature}",
                        f"rename it to a column the source has, or map one with field_mapping in '{view_source.name}'",
                    )
                )
                continue
            declared = read.dtype
            actual = cols[column]
            if actual is not None and not dtype_accepts(declared, actual):
                problems.append(
                    problem_at(
                        view,
                        f"{what} '{feature}' is declared {declared} but column '{column}' of "
                        f"{_where(view_source)} is {actual}",
                        f"{where}.{feature}.dtype",
                        "declare the dtype the data has, or cast the column in the source",
                    )
                )
    return problems, warnings, columns


def key_dtypes(
    root: Path, objects: Mapping[str, Mapping[str, FsctlObject]], columns: dict[str, dict[str, Any]]
) -> dict[str, dict[str, str]]:
    """``{view: {join key: dtype}}`` for every view whose source was read (see
    :mod:`fsctl.loader.key_types`)."""
    from fsctl.loader.key_types import csv_key_dtypes, view_key_dtypes

    entities: Mapping[str, Entity] = objects.get("Entity", {})  # type: ignore[assignment]
    sources: Mapping[str, FileSource | SqlSource] = {**objects.get("FileSource", {}), **objects.get("SqlSource", {})}  # type: ignore[dict-item]
    readable: list[tuple[FeatureView, FileSource | SqlSource, tuple[str, ...]]] = []
    csv_keys: dict[str, set[str]] = {}  # CSV source -> the key columns of all its views
    for view in objects.get("FeatureView", {}).values():
        assert isinstance(view, FeatureView)
        source = sources.get(view.source)
        if source is None or source.name not in columns:
            continue
        keys = join_keys(view, entities)
        readable.append((view, source, keys))
        if isinstance(source, FileSource) and source.format == "csv":
            csv_keys.setdefault(source.name, set()).update(source.column_for(k) for k in keys)
    sampled: dict[str, dict[str, str]] = {}  # each CSV source's first file is found and sampled once
    for name, wanted in csv_keys.items():
        csv_source = sources[name]
        assert isinstance(csv_source, FileSource)
        first = _first_file(root, csv_source)
        found = [c for c in wanted if c in columns[name]]
        sampled[name] = {} if first is None else csv_key_dtypes(first, sorted(found))
    out: dict[str, dict[str, str]] = {}
    for view, source, keys in readable:
        dtypes = view_key_dtypes(keys, source, columns[source.name], sampled.get(source.name))
        if dtypes:
            out[view.name] = dtypes
    return out


def s3_matches(uri: str) -> tuple[bool | None, str]:
    """(whether an object matches ``uri``, a file or prefix or glob; None when S3 cannot be
    asked, with the reason)."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        return None, "boto3 is not installed (pip install 'fsctl[aws]')"
    from fsctl.errors import FsctlError
    from fsctl.storage.s3 import any_object

    try:
        return any_object(uri), ""
    except FsctlError as exc:
        return None, exc.message
