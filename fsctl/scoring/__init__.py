"""Model artifacts: loaders chosen by URI scheme, the model's input and output contract, and
the prediction log.

* :mod:`.base`: :class:`~.base.LoadedModel`, the input frame and the output columns;
* :mod:`.python_loader`: ``python://module:function``, a plain callable;
* :mod:`.pickle_loader`: ``file://`` and ``s3://`` pickle or joblib files, only from
  ``scoring.artifact_locations``;
* :mod:`.mlflow_loader`: ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/...``
  through ``mlflow.pyfunc`` (the ``mlflow`` extra);
* :mod:`.log`: the prediction log, parquet files partitioned by date, written in batches.

The composition root (:mod:`fsctl.workspace`, ``MODEL_LOADERS``) is the only place that
names a loader; services get a ``load(uri)`` function.
"""

from __future__ import annotations

from fsctl.scoring.base import (
    DEFAULT_OUTPUT,
    LoadContext,
    LoadedModel,
    feature_frame,
    frame_of,
    predict_failed,
    prediction_columns,
)

__all__ = ["DEFAULT_OUTPUT", "LoadContext", "LoadedModel", "feature_frame", "frame_of", "predict_failed", "prediction_columns"]
