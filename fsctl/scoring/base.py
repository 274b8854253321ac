"""What a model artifact is to fsctl once loaded, and how features go in and predictions
come out. Loaders (one module per URI scheme, chosen by the composition root's
``MODEL_LOADERS`` table in :mod:`fsctl.workspace`) return a :class:`LoadedModel`; batch
scoring and the prediction endpoint (:mod:`fsctl.services.score`) call it.

The contract every model sees, whatever loaded it:

* **Input**: one frame, one row per entity row, one column per feature of the version's
  bound feature service, *in the service's order*, named as the training set names them
  (``feature``, or ``view__feature`` when the service asks for full names). A pandas
  DataFrame when pandas is installed, else a pyarrow Table (:func:`feature_frame`). Join
  keys and other entity columns are not passed.
* **Output**: whatever ``predict`` returns, read by :func:`prediction_columns`: a 1-D array,
  list or Series is one column; a 2-D array is one column per output (one output: a
  column); a DataFrame or a dict of columns keeps its names. A single column is named after
  the version's ``signature.output`` or ``prediction``; several are ``NAME_0``, ``NAME_1``...
  unless the output had names. One value per input row, or a :class:`~fsctl.errors.ModelError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fsctl.errors import ModelError

DEFAULT_OUTPUT = "prediction"


class LoadedModel(Protocol):
    """A model ready to predict: ``uri`` says where it came from (for messages and logs)."""

    uri: str

    def predict(self, features: Any) -> Any:
        """Predictions for ``features`` (a frame, see the module docstring), one per row."""
        ...


@dataclass(frozen=True)
class LoadContext:
    """What a loader may need besides the URI: the repo root (relative ``file://`` paths and
    artifact locations are relative to it) and the locations pickle and joblib files may be
    loaded from (``scoring.artifact_locations`` in fsctl.yaml)."""

    root: Path
    artifact_locations: tuple[str, ...] = ()


def feature_frame(table: Any, names: Sequence[str]) -> Any:
    """The columns ``names`` of the arrow ``table``, in that order, as the model's input: a
    pandas DataFrame when pandas is installed, else the arrow Table."""
    selected = table.select(list(names))
    try:
        import pandas  # noqa: F401
    except ImportError:
        return selected
    return selected.to_pandas()


def frame_of(names: Sequence[str], columns: Sequence[Sequence[Any]]) -> Any:
    """The model's input from Python columns (one per name, in order), as
    :func:`feature_frame` gives it: pandas when installed, else arrow."""
    try:
        import pandas as pd
    except ImportError:
        import pyarrow as pa

        return pa.table(dict(zip(names, columns, strict=True)))
    return pd.DataFrame(dict(zip(names, columns, strict=True)), columns=list(names))


def prediction_columns(
    raw: Any, rows: int, output: str | None = None, uri: str = "", *, arrays: bool = False
) -> dict[str, Any]:
    """``predict``'s answer ``raw`` as named columns of Python values (see the module
    docstring); ``output`` is the signature's output name (default ``prediction``).
    ``arrays``: numpy columns stay numpy arrays (batch scoring hands them to arrow as they
    are, without a round trip through a million Python objects)."""
    name = output or DEFAULT_OUTPUT
    where = f"model {uri}: " if uri else "the model: "
    columns: dict[str, Any]
    _values = _arrays if arrays else _lists
    kind = type(raw).__module__.split(".")[0]
    if kind == "pandas" and hasattr(raw, "columns"):
        columns = {str(c): _values(raw[c]) for c in raw.columns}
        if len(columns) == 1:
            columns = {name: next(iter(columns.values()))}
    elif isinstance(raw, Mapping):
        columns = {str(k): _values(v) for k, v in raw.items()}
    elif kind == "pyarrow" and hasattr(raw, "column_names"):
        columns = {str(c): raw.column(c).to_pylist() for c in raw.column_names}
        if len(columns) == 1:
            columns = {name: next(iter(columns.values()))}
    elif hasattr(raw, "shape") and len(getattr(raw, "shape", ())) == 2:
        width = raw.shape[1]
        if width == 1:
            columns = {name: _values(raw[:, 0])}
        else:
            columns = {f"{name}_{i}": _values(raw[:, i]) for i in range(width)}
    else:
        try:
            columns = {name: _values(raw)}
        except TypeError:
            raise ModelError(
                f"{where}predict returned {type(raw).__name__}, not a column of predictions",
                hint="return a list, a 1-D or 2-D array, a Series, a DataFrame or a dict of columns",
            ) from None
    if not columns:
        raise ModelError(f"{where}predict returned no columns")
    for column, values in columns.items():
        if len(values) != rows:
            raise ModelError(
                f"{where}predict returned {len(values)} values in '{column}' for {rows} rows",
                hint="return one prediction per input row, in the input's order",
            )
    return columns


def predict_failed(label: str, uri: str, exc: Exception) -> ModelError:
    """A model's own exception as one ModelError: its type and first line (models' messages
    run to paragraphs of advice), naming the version and the artifact."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 300:
        text = text[:297] + "..."
    return ModelError(
        f"model {label} ({uri}) failed to predict: {type(exc).__name__}" + (f": {text}" if text else ""),
        hint="the model gets one column per feature of its bound service, in the service's order; "
        "missing values arrive as nulls (NaN in pandas)",
    )


def _arrays(column: Any) -> Any:
    """A numpy column (or a pandas Series, as numpy) as it is; anything else as a list."""
    if type(column).__module__.split(".")[0] == "pandas" and hasattr(column, "to_numpy"):
        column = column.to_numpy()
    if type(column).__module__ == "numpy" and getattr(column, "ndim", 0) == 1:
        return column
    return _lists(column)


def _lists(column: Any) -> list[Any]:
    """A column as a list of plain Python values (numpy scalars unwrapped)."""
    if hasattr(column, "tolist"):
        values = column.tolist()
    elif hasattr(column, "to_pylist"):
        values = column.to_pylist()
    elif isinstance(column, (str, bytes)) or not hasattr(column, "__iter__"):
        raise TypeError(type(column).__name__)
    else:
        values = [v.item() if hasattr(v, "item") else v for v in column]
    if not isinstance(values, list):  # a 0-d array's tolist() is a scalar
        raise TypeError(type(column).__name__)
    return values
