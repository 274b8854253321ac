"""``FeatureStore``: the Python entry point to a feature repo.

A thin facade over one :class:`~fsctl.workspace.Workspace` and the services, for notebooks
and pipelines::

    store = FeatureStore("example_repo")
    plan = store.plan()            # a fsctl.diff.Plan; plan.to_dict() is the JSON shape
    store.apply()                  # re-plans and applies (compare-and-swap, bounded retries)
    store.list("views")            # canonical dicts from the registry

The store keeps its online store and offline engine open between calls; ``close()`` (or
``with FeatureStore(...) as store``) releases them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsctl.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from fsctl.diff import Plan
    from fsctl.loader import RepoDefinitions
    from fsctl.offline import RetrievalResult
    from fsctl.registry import VersionInfo
    from fsctl.results.apply import ApplyResult
    from fsctl.results.checks import CheckReport
    from fsctl.results.materialize import MaterializeResult
    from fsctl.results.online import OnlineResponse
    from fsctl.results.push import PushResult
    from fsctl.services.online import OnlineReader
    from fsctl.services.push import OnlineWriter
    from fsctl.services.score import ScoreResult


class FeatureStore:
    def __init__(self, repo_path: str | Path | None = None, registry: Any = None, **ports: Any) -> None:
        """The repo at ``repo_path`` (default: the nearest folder upwards holding fsctl.yaml)
        against ``registry`` (a URI; default: ``FSCTL_REGISTRY``, then fsctl.yaml's). A
        registry object, and ``ports`` (``online=MemoryOnlineStore()``, ``state=``,
        ``offline=``), inject implementations, as tests do."""
        self.workspace: Workspace = open_workspace(repo_path, registry, **ports)
        self._online_reader: OnlineReader | None = None
        self._online_writer: OnlineWriter | None = None

    @property
    def root(self) -> Path:
        return self.workspace.root

    def definitions(self) -> RepoDefinitions:
        """Load and validate the repo's definitions (raises DefinitionErrors listing every problem)."""
        from fsctl.loader import load_repo

        return load_repo(self.root)

    def plan(self) -> Plan:
        from fsctl.services.plan import make_plan

        return make_plan(self.workspace.project, self.workspace.registry_reader())[0]

    def apply(self) -> ApplyResult:
        """Apply the definitions (no confirmation); raises PlanBlockedError if the plan is blocked."""
        from fsctl.services.apply import Publisher, apply_definitions

        ws = self.workspace
        return apply_definitions(ws.project, Publisher(ws.registry(), ws.online_store(), ws.state()))

    def get(self, kind: str, name: str) -> dict[str, Any]:
        from fsctl.services import browse

        return browse.describe(self.workspace.project, self.workspace.registry_reader(), kind, name).document

    def history(self) -> list[VersionInfo]:
        return list(self.workspace.registry_reader().read().history)

    def list(self, kind: str) -> list[dict[str, Any]]:
        from fsctl.services import browse

        return browse.list_objects(self.workspace.registry_reader(), kind).objects

    def get_historical_features(
        self,
        entity_df: Any,
        features: Sequence[str] | None = None,
        *,
        service: str | None = None,
        model: str | None = None,
        full_feature_names: bool = False,
        leakage_guard: bool = False,
    ) -> RetrievalResult:
        """A point-in-time correct training set for ``entity_df`` (a pyarrow Table, a pandas or
        polars DataFrame, or a parquet, CSV or JSON-lines path holding the join keys and
        ``event_timestamp``).

        Name the features as ``["view:feature", ...]``, by ``service=NAME``, or by the service
        bound to ``model="NAME@ALIAS"`` / ``"NAME/VERSION"``. ``leakage_guard=True`` also
        requires each row's created time to be at or before the entity row's time. The
        result converts with ``to_arrow()`` / ``to_pandas()`` / ``to_polars()``, streams with
        ``to_batches()``, and writes with ``write(path)`` (parquet or CSV by extension).
        """
        from fsctl.services.features import FeatureRequest
        from fsctl.services.retrieve import get_historical_features

        request = FeatureRequest.of(features, service, model, full_feature_names)
        ws = self.workspace
        return get_historical_features(
            ws.project,
            ws.registry_reader(),
            ws.offline_engine(),
            entity_df,
            request,
            leakage_guard=leakage_guard,
        )

    def get_online_features(
        self,
        features: Sequence[str] | None = None,
        *,
        service: str | None = None,
        model: str | None = None,
        entity_rows: Any,
        ignore_ttl: bool = False,
        full_feature_names: bool = False,
    ) -> OnlineResponse:
        """The latest values of the features for each entity row, from the online store.

        ``entity_rows`` is ``{"driver_id": [1001, 1002]}``, ``[{"driver_id": 1001}, ...]`` or
        a frame; name the features as ``["view:feature", ...]``, by ``service=NAME`` or by
        ``model="NAME@ALIAS"``. Each value has a status: ``present``, ``missing`` (no
        record) or ``expired`` (older than the view's TTL: null unless ``ignore_ttl``).
        As in Feast, ``to_dict()`` gives ``{name: [values]}`` (join keys first, in the order
        ``entity_rows`` names them) and ``to_df()`` a pandas DataFrame; ``to_json_dict()``
        gives fsctl's shape with each value's status and event time (the JSON of ``fsctl
        online``). The registry is cached for ``FSCTL_REGISTRY_CACHE_SECONDS`` (default 10)
        and the store stays open, so repeated calls cost microseconds.
        """
        from fsctl.services.features import FeatureRequest

        request = FeatureRequest.of(features, service, model, full_feature_names)
        return self._reader().get(request, entity_rows, ignore_ttl=ignore_ttl)

    def score_batch(
        self,
        model: str | None = None,
        entities: Any = None,
        *,
        online: bool = False,
        allow_failing_gates: bool = False,
        model_uri: str | None = None,
        df: Any = None,
    ) -> ScoreResult:
        """Predictions of the model version ``model`` (``"NAME@ALIAS"`` or ``"NAME/VERSION"``)
        for ``entities`` (a frame or a parquet, CSV or JSON-lines path), as ``fsctl score``
        makes them: the features of the version's bound service (point in time when the rows
        have ``event_timestamp``, else the latest; from the online store with ``online``),
        then the model's ``predict``. The result holds every entity row in input order with
        all its columns plus the prediction column(s): ``to_pandas()``, ``to_arrow()``,
        ``write(path)``; ``metadata()`` says which version, alias and registry version made it.

        ``model_uri="models:/NAME/VERSION"`` (or ``models:/NAME@ALIAS``) and ``df=`` are
        accepted as Databricks' ``score_batch`` spells them; the name is the fsctl binding's.
        """
        from fsctl.services.score import score_batch

        if (model is None) == (model_uri is None):
            from fsctl.errors import UsageError

            raise UsageError(
                "score_batch: give model='NAME@ALIAS' (or model_uri='models:/NAME/VERSION'), one of them"
            )
        ws = self.workspace
        return score_batch(
            ws.project,
            ws.registry_reader(),
            ws.offline_engine(),
            ws.load_model,
            entities if entities is not None else df,
            model or str(model_uri),
            online=self._reader() if online else None,
            allow_failing_gates=allow_failing_gates,
        )

    def push(
        self, push_source_name: str, df: Any, to: str = "online", allow_registry_cache: bool = True
    ) -> PushResult:
        """Feast's ``push``: write the rows of ``df`` (a pandas DataFrame, a pyarrow Table or a
        dict of columns) to every online view on the FileSource ``push_source_name`` (fsctl
        has no push sources), as ``fsctl serve``'s ``/push`` does: checked against the views'
        schemas first, never over newer stored values, recorded in the state document. Only
        ``to="online"``: fsctl does not write offline data."""
        from fsctl.errors import UsageError

        if to != "online":
            raise UsageError(
                f"push(to={to!r}): fsctl writes pushed rows to the online store only",
                hint="use to='online'; a view's offline data is its source's files",
            )
        return self._writer().push(
            push_source_name, _columns(df), client="python", refresh=not allow_registry_cache
        )

    def write_to_online_store(
        self, feature_view_name: str, df: Any, allow_registry_cache: bool = True
    ) -> PushResult:
        """Feast's ``write_to_online_store``: write the rows of ``df`` to one online view (see
        :meth:`push`)."""
        return self._writer().write(
            feature_view_name, _columns(df), client="python", refresh=not allow_registry_cache
        )

    def _reader(self) -> OnlineReader:
        if self._online_reader is None:
            from fsctl.services.online import OnlineReader

            ws = self.workspace
            self._online_reader = OnlineReader(ws.project, ws.registry_reader(), ws.online_reader())
        return self._online_reader

    def _writer(self) -> OnlineWriter:
        if self._online_writer is None:
            from fsctl.services.push import OnlineWriter

            self._online_writer = OnlineWriter(self._reader(), self.workspace.state(), store=self.workspace.online_store())
        return self._online_writer

    def materialize(
        self, start: datetime, end: datetime, views: Sequence[str] | None = None
    ) -> MaterializeResult:
        """Load the latest row per key with ``start <= event time < end`` of each online view
        (or of ``views``) into the online store; failed views are in the result (see
        ``result.failed``), not raised."""
        return self._materialize(end, start=start, views=views)

    def materialize_incremental(
        self, end: datetime, views: Sequence[str] | None = None, lookback: timedelta | None = None
    ) -> MaterializeResult:
        """Materialize each online view from its watermark (without one: ``end`` minus the
        TTL) up to ``end``; ``lookback`` re-reads that much before each watermark."""
        return self._materialize(end, incremental=True, views=views, lookback=lookback)

    def _materialize(self, end: datetime, **options: Any) -> MaterializeResult:
        from fsctl.services.materialize import materialize

        ws = self.workspace
        views = options.pop("views", None)
        return materialize(
            ws.project,
            ws.registry_reader(),
            ws.state(),
            ws.online_store(),
            ws.offline_engine(),
            end,
            views=list(views) if views is not None else None,
            store_opener=ws.online_store_opener(),
            **options,
        )

    def check(self, view: str, end: datetime, start: datetime | None = None) -> CheckReport:
        """Run ``view``'s data checks on the source rows with ``start <= event time < end``
        (``fsctl check``); ``report.failed`` says whether any failed, whatever the view's
        ``check_policy``. Nothing is written."""
        from fsctl.services.checks import check_view

        ws = self.workspace
        return check_view(ws.project, ws.registry_reader(), ws.offline_engine(), view, end, start)

    def close(self) -> None:
        self.workspace.close()
        self._online_reader = None
        self._online_writer = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _columns(df: Any) -> dict[str, list[Any]]:
    """Rows as ``{column: [Python values]}`` from a dict of columns (lists, numpy arrays,
    pandas or polars Series), a pandas or polars DataFrame or a pyarrow Table. Frames are read
    as entity frames are (:mod:`fsctl.offline.entity_input`), pandas through arrow so that
    NaN and None read as null."""
    from fsctl.errors import UsageError
    from fsctl.offline.entity_input import entity_input
    from fsctl.services.entity_rows import as_list

    if isinstance(df, Mapping):
        out = {}
        for name, column in df.items():
            values = as_list(column)
            if values is None:
                raise UsageError(
                    f"df column '{name}' is a single {type(column).__name__}, not a column of values",
                    hint="give every column a list (or array, or Series) of values, one per row",
                )
            out[str(name)] = values
        return out
    module = type(df).__module__.split(".")[0]
    if module not in ("pandas", "pyarrow", "polars"):
        raise UsageError(
            "df must be a pandas or polars DataFrame, a pyarrow Table or a dict of columns, "
            f"not {type(df).__name__}"
        )
    if module == "pandas":
        import pyarrow as pa

        df = pa.Table.from_pandas(df, preserve_index=False)
    source = entity_input(df)
    return source.columns([str(name) for name in source.frame.column_names])
