"""Data for the sources of a test repo: a local FileSource whose path matches no file is an
error at validate and plan (issue 11), so a test repo that is about something else gets one
small file per source with every column its views read (join keys, timestamps, features in
their dtypes). Definition files that fail to load are read as far as they go, so a test of
a broken definition still sees only the problem it is about."""

from __future__ import annotations

import glob
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ARROW_TYPES = {
    "int32": "int32",
    "int64": "int64",
    "float32": "float32",
    "float64": "float64",
    "string": "string",
    "bool": "bool_",
    "bytes": "binary",
}
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _objects(root: Path) -> list[Any]:
    from fsctl.errors import FsctlError
    from fsctl.loader.discover import definition_files
    from fsctl.loader.python_files import load_python_file, repo_import_context
    from fsctl.loader.yaml_files import load_yaml_file

    try:
        files = definition_files(root)
    except FsctlError:
        return []
    out: list[Any] = []
    with repo_import_context(root):
        for path in files:
            rel = path.relative_to(root).as_posix()
            try:
                objs, _ = load_python_file(path, rel, root) if path.suffix == ".py" else load_yaml_file(path, rel)
            except Exception:  # noqa: BLE001 - a file broken on purpose gives what it can
                continue
            out.extend(objs)
    return out


def _arrow_type(dtype: str) -> Any:
    import pyarrow as pa

    if dtype.startswith("list<"):
        return pa.list_(_arrow_type(dtype[5:-1]))
    if dtype == "timestamp":
        return pa.timestamp("us", tz="UTC")
    return getattr(pa, ARROW_TYPES[dtype])()


def _sample(dtype: str) -> Any:
    if dtype.startswith("list<"):
        return [_sample(dtype[5:-1])]
    return {"int32": 1, "int64": 1, "float32": 0.5, "float64": 0.5, "string": "a", "bool": True, "bytes": b"a",
            "timestamp": T0}[dtype]  # fmt: skip


def fill_sources(root: Path) -> list[Path]:
    """Write a one-row file for every local source of the repo at ``root`` whose path
    matches nothing yet; returns the files written."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    written: list[Path] = []
    if not (root / "fsctl.yaml").is_file():
        return written
    objects = _objects(root)
    keys: dict[str, list[str]] = {}  # every definition of an entity name: a test may define one twice
    for entity in (o for o in objects if o.KIND == "Entity"):
        keys.setdefault(entity.name, []).extend(entity.join_keys)
    for source in (o for o in objects if o.KIND == "FileSource"):
        if "://" in source.path:
            continue
        path = Path(source.path) if Path(source.path).is_absolute() else root / source.path
        pattern = str(path / "**" / f"*.{source.format}") if path.is_dir() else str(path)
        if glob.glob(pattern, recursive=True):
            continue
        columns: dict[str, Any] = {}
        columns[source.timestamp_field] = pa.array([T0], pa.timestamp("us", tz="UTC"))
        if source.created_timestamp_field:
            columns[source.created_timestamp_field] = pa.array([T0], pa.timestamp("us", tz="UTC"))
        for view in (o for o in objects if o.KIND == "FeatureView" and o.source == source.name):
            for entity in view.entities:
                for key in keys.get(entity, []):
                    columns.setdefault(source.column_for(key), pa.array([1], pa.int64()))
            for field in view.schema_:
                columns.setdefault(source.column_for(field.name), pa.array([_sample(field.dtype)], _arrow_type(field.dtype)))
        target = path
        if source.path.endswith("/") or path.is_dir():
            target = path / f"part-0.{source.format}"
        elif any(ch in source.path for ch in "*?["):
            target = Path(pattern.replace("**/", "").replace("*", "part-0").replace("?", "x"))
        target.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table(columns)
        if source.format == "csv":
            pcsv.write_csv(table, target)
        else:
            pq.write_table(table, target)
        written.append(target)
    return written
