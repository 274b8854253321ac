"""The feature server's Prometheus metrics, at ``GET /metrics`` (text format 0.0.4). One
:class:`ServerMetrics` per app, on its own ``CollectorRegistry`` (never the process-wide
default: tests build many apps, and two servers in one process must not share counts).
:func:`add_metrics` times every request; the prediction endpoint reports what it predicted
and the features it read; the prediction log's counters are read when scraped.

============================================  =========  ======================================
Metric                                        Type       Labels
============================================  =========  ======================================
``fsctl_requests_total``                      counter    endpoint, method, status
``fsctl_request_duration_seconds``            histogram  endpoint
``fsctl_predictions_total``                   counter    model, alias, version (rows predicted)
``fsctl_prediction_duration_seconds``         histogram  model, version, stage (lookup | model)
``fsctl_feature_values_total``                counter    feature, status (missing | expired)
``fsctl_prediction_log_rows_total``           counter    outcome (written | dropped)
``fsctl_prediction_log_failed_writes_total``  counter    (none): log files not written
``fsctl_prediction_log_pending_rows``         gauge      (none): log rows not yet written
============================================  =========  ======================================

``endpoint`` is the route's template (``/models/{name}/predict``), not the raw path, so
label values stay few; a path no route matches is ``other``. ``alias`` is empty for a
request that named a version. Counters also have the ``_created`` series prometheus_client
adds. Histogram buckets run from 0.5 ms to 5 s. ``/metrics`` itself is counted.

The prediction log's series are read from the log when scraped: the server calls
``metrics.watch_log(lambda: log.stats)`` once; ``failed_writes`` and ``pending_rows`` appear
only then; with no log watched, the rows counter stays at zero.

prometheus_client and FastAPI (the ``serve`` extra) are imported when a
:class:`ServerMetrics` is made or :func:`add_metrics` is called. Like
:mod:`fsctl.serving.routes`, this module has no ``from __future__ import annotations``:
FastAPI reads the ``/metrics`` route's annotations at run time.
"""

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DURATION_BUCKETS", "LogCounters", "ServerMetrics", "add_metrics", "route_label"]

DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNMATCHED = "other"
COUNTED_STATUSES = ("missing", "expired")
METRICS_PATH = "/metrics"


class LogCounters(Protocol):
    """What :meth:`ServerMetrics.watch_log` reads at each scrape (a
    :class:`~fsctl.scoring.log.LogStats` has it)."""

    @property
    def written_rows(self) -> int: ...
    @property
    def dropped_rows(self) -> int: ...
    @property
    def failed_writes(self) -> int: ...
    @property
    def pending_rows(self) -> int: ...


class ServerMetrics:
    """The server's metrics on a private registry; every ``observe_*`` is thread-safe."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self._requests = Counter(
            "fsctl_requests",
            "HTTP requests answered, by route template, method and status.",
            ("endpoint", "method", "status"),
            registry=self.registry,
        )
        self._request_seconds = Histogram(
            "fsctl_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ("endpoint",),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._predictions = Counter(
            "fsctl_predictions",
            "Rows predicted, by model, alias (empty: a version was named) and version.",
            ("model", "alias", "version"),
            registry=self.registry,
        )
        self._prediction_seconds = Histogram(
            "fsctl_prediction_duration_seconds",
            "Time per prediction request in each stage: lookup (online features) and model (predict).",
            ("model", "version", "stage"),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._feature_values = Counter(
            "fsctl_feature_values",
            "Feature values served without a current value, by feature and status (missing | expired).",
            ("feature", "status"),
            registry=self.registry,
        )
        self._log = _LogCollector()
        self.registry.register(self._log)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request (``endpoint``: the route template)."""
        self._requests.labels(endpoint, method, str(status)).inc()
        self._request_seconds.labels(endpoint).observe(seconds)

    def observe_prediction(
        self,
        model: str,
        alias: str | None,
        version: int,
        rows: int,
        lookup_seconds: float,
        model_seconds: float,
    ) -> None:
        """One prediction request: ``rows`` rows predicted by ``model`` version ``version``
        (named through ``alias``, or directly when None); the time spent reading features and
        in the model's ``predict``."""
        self._predictions.labels(model, alias or "", str(version)).inc(rows)
        self._prediction_seconds.labels(model, str(version), "lookup").observe(lookup_seconds)
        self._prediction_seconds.labels(model, str(version), "model").observe(model_seconds)

    def observe_features(self, statuses: Sequence[Sequence[str]], names: Sequence[str]) -> None:
        """The statuses of the values served (``OnlineResponse.statuses``: per feature in
        ``names``, one status per row): counts the ``missing`` and ``expired`` ones."""
        for name, column in zip(names, statuses, strict=True):
            for status in COUNTED_STATUSES:
                count = column.count(status)
                if count:
                    self._feature_values.labels(name, status).inc(count)

    def watch_log(self, stats: Callable[[], LogCounters]) -> None:
        """Read the prediction log's counters at each scrape from ``stats()`` (say
        ``lambda: log.stats``)."""
        self._log.source = stats

    def render(self) -> tuple[bytes, str]:
        """The exposition of every metric, and its content type."""
        from prometheus_client import exposition

        content_type = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", exposition.CONTENT_TYPE_LATEST)
        return exposition.generate_latest(self.registry), content_type


class _LogCollector:
    """The prediction log's series: the log's own counters, read at scrape time (zero rows
    until a log is watched)."""

    def __init__(self) -> None:
        self.source: Callable[[], LogCounters] | None = None

    def describe(self) -> Iterable[Any]:
        return self.collect()

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats = self.source() if self.source is not None else None
        written = stats.written_rows if stats is not None else 0
        dropped = stats.dropped_rows if stats is not None else 0
        rows = CounterMetricFamily(
            "fsctl_prediction_log_rows",
            "Prediction log rows, by outcome: written to a file, or dropped to bound memory.",
            labels=("outcome",),
        )
        rows.add_metric(("written",), written)
        rows.add_metric(("dropped",), dropped)
        yield rows
        if stats is not None:
            yield CounterMetricFamily(
                "fsctl_prediction_log_failed_writes",
                "Prediction log files that could not be written (their rows were kept and retried).",
                value=stats.failed_writes,
            )
            yield GaugeMetricFamily(
                "fsctl_prediction_log_pending_rows",
                "Prediction log rows appended and not yet written.",
                value=stats.pending_rows,
            )


def route_label(scope: "Scope") -> str:
    """The template of the route that answered ``scope`` (set by the router), or ``other``."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


class _TimingMiddleware:
    """Pure ASGI: times each HTTP request to its last body byte, labelled after routing.
    (Not BaseHTTPMiddleware, which costs a task per request and buffers streams.)"""

    def __init__(self, app: "ASGIApp", metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: "Scope", receive: "Receive", send: "Send") -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception before any response: the error middleware answers 500

        async def send_status(message: "Message") -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe_request(
                route_label(scope), str(scope.get("method", "")), status, time.perf_counter() - start
            )


def add_metrics(app: "FastAPI", metrics: ServerMetrics) -> None:
    """Time every request of ``app`` into ``metrics`` and serve them at ``GET /metrics``
    (not in the OpenAPI document). Call before the app starts."""
    from fastapi.responses import Response

    app.add_middleware(_TimingMiddleware, metrics=metrics)

    @app.get(METRICS_PATH, include_in_schema=False)
    def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)
