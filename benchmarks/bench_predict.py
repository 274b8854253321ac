"""Online predictions and batch scoring (issue 13), each against the feature-only work a
user would do instead, measured in the same run.

Builds a repo in a temporary folder: one entity (``driver_id``, 10,000 drivers), two online
views of 4 float features each on one parquet source of 100 rows per driver over 30 days,
one feature service with both views, and a Model ``churn`` whose version 1 (alias
``Production``) is ``python://bench_models.churn:predict``: a scikit-learn
LogisticRegression trained on random data, pickled into the repo and unpickled when the
module is imported (the python loader puts the repo root on ``sys.path``). The repo is
applied and materialized into SQLite (the default online store) through ``FeatureStore``.

1. Online predictions, 1 entity and a batch of 100 (random drivers, the same keys for every
   path of a call; the paths alternate call by call so background load hits them alike):

   * in-process: ``Predictor.predict`` against ``OnlineReader.get`` of the same features and
     keys (the feature-only read), the bare model call on an already-built frame, and the
     building of that frame; the predictor's own split (``groups[0].lookup_seconds`` and
     ``model_seconds``, which includes building the frame and reading the output);
   * HTTP: the real ``fsctl serve`` in a subprocess (uvicorn, 1 process, its default access
     log to a discarded stderr), one keep-alive ``httpx.Client`` sending requests one after
     another: ``POST /models/churn/predict`` against ``POST /get-online-features`` of the
     bound service.

2. Batch scoring of ``--rows`` entity rows with ``event_timestamp`` (point in time, from a
   parquet file): ``FeatureStore.score_batch`` against ``get_historical_features`` of the
   same rows and features (``.to_arrow()``, as score_batch reads it, and ``.to_pandas()``,
   as a user feeding a model does) plus the bare model call on the feature frame. Best and
   median of ``--repeat`` runs, interleaved. Target: score_batch <= 1.2x the reference.

The predictions in-process and in batch are checked against the bare model's on the same
features, and each HTTP answer for its row count, so a broken build cannot look fast.

    python benchmarks/bench_predict.py                              # 1M rows, 3 runs, a few minutes
    python benchmarks/bench_predict.py --rows 10000000 --repeat 5
    python benchmarks/bench_predict.py --rows 100000 --calls 500    # a quick look
    python benchmarks/bench_predict.py --profile                    # + cProfile of one score_batch
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VIEWS = {
    "driver_hourly": ["conv_rate", "acc_rate", "cancel_rate", "avg_trip_km"],
    "driver_daily": ["trips_7d", "rating_30d", "earnings_7d", "online_hours_7d"],
}
NAMES = [name for names in VIEWS.values() for name in names]
SERVICE = "churn_features"
MODEL = "churn"
MODEL_REF = "churn@Production"
FIRST_KEY = 1000
PER_DRIVER = 100  # source rows per driver
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
DAY_US = 86_400_000_000

MODEL_CODE = '''"""The benchmark's churn model: a scikit-learn LogisticRegression, unpickled at import."""

import pickle
from pathlib import Path

with open(Path(__file__).with_name("churn.pkl"), "rb") as file:
    MODEL = pickle.load(file)


def predict(features):
    """The churn probability of each row (features: one column per feature, by name)."""
    return MODEL.predict_proba(features)[:, 1]
'''


def _definitions() -> str:
    docs = [
        "kind: Entity\nname: driver\njoin_keys: [driver_id]\n",
        "kind: FileSource\nname: driver_stats\npath: data/driver_stats.parquet\ntimestamp_field: event_timestamp\n",
    ]
    for view, names in VIEWS.items():
        schema = "".join(f"  - {{name: {name}, dtype: float64}}\n" for name in names)
        docs.append(
            f"kind: FeatureView\nname: {view}\nentities: [driver]\nsource: driver_stats\nonline: true\n"
            f"schema:\n{schema}"
        )
    docs.append(f"kind: FeatureService\nname: {SERVICE}\nfeatures: [{', '.join(VIEWS)}]\n")
    docs.append(
        f"kind: Model\nname: {MODEL}\nowner: bench@example.com\ndescription: Benchmark churn model\n"
        "versions:\n  - version: 1\n    uri: python://bench_models.churn:predict\n"
        f"    feature_service: {SERVICE}\n    description: LogisticRegression on random data\n"
        "aliases: {Production: 1}\n"
    )
    return "---\n".join(docs)


def make_repo(root: Path, drivers: int, rows: int) -> None:
    """The repo (see the module docstring), applied and materialized, and ``rows`` entity rows."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.linear_model import LogisticRegression

    from fsctl import FeatureStore

    data = root / "data"
    data.mkdir(parents=True)
    (root / "fsctl.yaml").write_text(
        "project: bench_predict\nregistry: data/registry.json\n"
        "online_store:\n  type: sqlite\n  path: data/online.db\n"
    )
    (root / ".fsctlignore").write_text("data/\nbench_models/\n")
    (root / "defs.yaml").write_text(_definitions())

    rng = np.random.default_rng(13)
    n = drivers * PER_DRIVER
    step = 30 * DAY_US // PER_DRIVER
    slot = np.repeat(np.arange(PER_DRIVER, dtype=np.int64), drivers)
    columns: dict[str, Any] = {
        "driver_id": np.tile(np.arange(FIRST_KEY, FIRST_KEY + drivers, dtype=np.int64), PER_DRIVER),
        "event_timestamp": pa.array(
            START_US + slot * step + rng.integers(0, step, n), pa.timestamp("us", "UTC")
        ),
    }
    scale = rng.uniform(0.5, 50.0, len(NAMES))
    for j, name in enumerate(NAMES):
        columns[name] = rng.random(n) * scale[j]
    pq.write_table(pa.table(columns), data / "driver_stats.parquet")
    # Entity rows a day or more after each driver's first source row: every feature is found.
    entities = {
        "driver_id": rng.integers(FIRST_KEY, FIRST_KEY + drivers, rows),
        "event_timestamp": pa.array(
            START_US + rng.integers(DAY_US, 31 * DAY_US, rows), pa.timestamp("us", "UTC")
        ),
    }
    pq.write_table(pa.table(entities), data / "entities.parquet")

    train = pd.DataFrame(rng.random((5000, len(NAMES))) * scale, columns=NAMES)
    weights = rng.normal(size=len(NAMES)) / scale
    label = (train.to_numpy() @ weights + rng.normal(size=len(train)) * 0.3) > weights.sum() / 2
    models = root / "bench_models"
    models.mkdir()
    (models / "__init__.py").write_text("")
    (models / "churn.py").write_text(MODEL_CODE)
    with open(models / "churn.pkl", "wb") as file:
        pickle.dump(LogisticRegression(max_iter=1000).fit(train, label), file)

    from datetime import datetime, timezone

    with FeatureStore(root) as store:
        store.apply()
        result = store.materialize(
            datetime(2025, 12, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc)
        )
        if result.failed:
            raise SystemExit(f"materialize failed: {result.failed}")


# -- a shared machine ---------------------------------------------------------------------

# --wait-idle: before each part (and each batch run), wait up to this many seconds for the
# CPUs to be idle (other processes using < 10% of them); starts on a busy machine are counted.
IDLE = {"wait": 0.0, "busy_starts": 0, "starts": 0}


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def wait_idle() -> None:
    if IDLE["wait"] <= 0:
        return
    IDLE["starts"] += 1
    deadline = time.monotonic() + IDLE["wait"]
    while True:
        total, idle = _cpu_times()
        time.sleep(0.5)
        total2, idle2 = _cpu_times()
        if 1 - (idle2 - idle) / max(total2 - total, 1) < 0.1:
            return
        if time.monotonic() > deadline:
            IDLE["busy_starts"] += 1
            return


# -- statistics and printing ------------------------------------------------------------


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.2f} ms"


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    return (
        f"{len(os.sched_getaffinity(0))} cores ({cpu}), {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()}, fsctl at {commit} (+ the working tree), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


# -- 1. online predictions ----------------------------------------------------------------


def _key_batches(drivers: int, size: int, count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    keys = range(FIRST_KEY, FIRST_KEY + drivers)
    return [rng.sample(keys, size) for _ in range(count)]


def _same(predicted: list[Any], expected: Any) -> None:
    import numpy as np

    if len(predicted) != len(expected) or not np.allclose(np.asarray(predicted, dtype=float), expected):
        raise SystemExit("the predictions differ from the bare model's on the same features")


def in_process(root: Path, drivers: int, calls: int) -> list[str]:
    import pandas as pd

    from fsctl.services.features import FeatureRequest
    from fsctl.services.online import OnlineReader
    from fsctl.services.predict import Predictor
    from fsctl.workspace import open_workspace

    ws = open_workspace(root)
    reader = OnlineReader(ws.project, ws.registry_reader(), ws.online_store())
    predictor = Predictor(reader, ws.load_model)
    request = FeatureRequest(service=SERVICE)
    predictor.predict(MODEL, {"driver_id": [FIRST_KEY]})  # loads the model (the repo root goes on sys.path)
    bare = sys.modules["bench_models.churn"].predict
    rows = []
    for size, count in ((1, calls), (100, max(calls // 5, 50))):
        wait_idle()
        batches = _key_batches(drivers, size, count + 100, seed=size)
        times: dict[str, list[float]] = {
            k: [] for k in ("read", "frame", "model", "predict", "lookup", "inner")
        }
        for i, keys in enumerate(batches):
            entities = {"driver_id": keys}
            started = time.perf_counter()
            response = reader.get(request, entities)
            read = time.perf_counter() - started
            started = time.perf_counter()
            frame = pd.DataFrame(
                dict(zip(response.names, response.values, strict=True)), columns=list(response.names)
            )
            built = time.perf_counter() - started
            started = time.perf_counter()
            expected = bare(frame)
            model = time.perf_counter() - started
            started = time.perf_counter()
            result = predictor.predict(MODEL, entities)
            total = time.perf_counter() - started
            if i < 100:  # warm-up, and each answer checked
                _same([out["prediction"] for out in result.outputs], expected)
                continue
            group = result.groups[0]
            for name, value in (
                ("read", read),
                ("frame", built),
                ("model", model),
                ("predict", total),
                ("lookup", group.lookup_seconds),
                ("inner", group.model_seconds),
            ):
                times[name].append(value)
        ref = statistics.median(times["read"])
        limit = ref + statistics.median(times["frame"]) + statistics.median(times["model"])
        labels = (
            ("read", "reference: `OnlineReader.get`, same features and keys"),
            ("frame", "reference: `pandas.DataFrame` of the read values"),
            ("model", "reference: bare model call on that frame"),
            ("predict", "`Predictor.predict`"),
            ("lookup", "  of which feature lookup (`lookup_seconds`)"),
            ("inner", "  of which model (`model_seconds`: frame, predict, outputs)"),
        )
        for name, label in labels:
            med = statistics.median(times[name])
            extra = f"{med / ref:.2f}x" if name in ("predict", "lookup") else ""
            versus = f"{med / limit:.2f}x" if name == "predict" else ""
            rows.append(
                f"| {label} | {size} | {count:,} | {_ms(med)} | {_ms(_p(times[name], 0.99))} | {extra} | {versus} |"
            )
    ws.close()
    return [
        "| in-process | entities | calls | p50 | p99 | p50 / read | p50 / (read + frame + model) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def over_http(root: Path, drivers: int, calls: int) -> list[str]:
    import httpx

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fsctl", "serve", "--repo", str(root), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.time() + 60
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.time() > deadline:
                    raise SystemExit("fsctl serve did not become healthy")
                time.sleep(0.2)
            for size, count in ((1, calls), (100, max(calls // 3, 50))):
                wait_idle()
                times: dict[str, list[float]] = {"read": [], "predict": []}
                for i, keys in enumerate(_key_batches(drivers, size, count + 100, seed=10 + size)):
                    entities = {"driver_id": keys}
                    started = time.perf_counter()
                    read = client.post(
                        "/get-online-features", json={"feature_service": SERVICE, "entities": entities}
                    )
                    read_s = time.perf_counter() - started
                    started = time.perf_counter()
                    predicted = client.post(f"/models/{MODEL}/predict", json={"entities": entities})
                    predict_s = time.perf_counter() - started
                    if read.status_code != 200 or predicted.status_code != 200:
                        raise SystemExit(
                            f"HTTP {read.status_code} / {predicted.status_code}: {predicted.text[:300]}"
                        )
                    if i < 100:  # warm-up, and each answer checked
                        if len(predicted.json()["predictions"]) != size:
                            raise SystemExit("the prediction endpoint answered the wrong number of rows")
                        continue
                    times["read"].append(read_s)
                    times["predict"].append(predict_s)
                ref = statistics.median(times["read"])
                for name, label in (
                    ("read", "reference: `POST /get-online-features` (feature_service)"),
                    ("predict", f"`POST /models/{MODEL}/predict`"),
                ):
                    med = statistics.median(times[name])
                    ratio = f"{med / ref:.2f}x" if name == "predict" else ""
                    rows.append(
                        f"| {label} | {size} | {count:,} | {_ms(med)} | {_ms(_p(times[name], 0.99))} | {ratio} |"
                    )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return [
        "| HTTP, one keep-alive client, sequential | entities | requests | p50 | p99 | p50 / read |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ]


# -- 2. batch scoring ---------------------------------------------------------------------


def batch(root: Path, repeat: int, profile: bool) -> list[str]:
    from fsctl import FeatureStore

    entities = root / "data" / "entities.parquet"
    store = FeatureStore(root)
    model = store.workspace.load_model("python://bench_models.churn:predict")

    def historical_arrow() -> Any:
        with store.get_historical_features(entities, service=SERVICE) as result:
            return result.to_arrow()

    def historical_pandas() -> Any:
        with store.get_historical_features(entities, service=SERVICE) as result:
            return result.to_pandas()

    features = historical_pandas()[NAMES]

    def bare() -> Any:
        return model.predict(features)

    def score() -> Any:
        return store.score_batch(model=MODEL_REF, entities=entities)

    scored = score()  # warm-up, and the answer checked
    rows = len(features)
    if len(scored) != rows:
        raise SystemExit(f"score_batch returned {len(scored):,} rows for {rows:,}")
    _same(scored.table.column("prediction").to_pylist(), bare())
    del scored
    runs: dict[str, list[float]] = {"arrow": [], "pandas": [], "bare": [], "score": []}
    steps: list[tuple[float, float]] = []
    cases: dict[str, Callable[[], Any]] = {
        "arrow": historical_arrow,
        "pandas": historical_pandas,
        "bare": bare,
        "score": score,
    }
    for _ in range(repeat):  # interleaved, so background load hits all of them alike
        for name, call in cases.items():
            wait_idle()
            started = time.perf_counter()
            out = call()
            runs[name].append(time.perf_counter() - started)
            if name == "score":
                steps.append((out.lookup_seconds, out.model_seconds))
            del out
    best = {k: min(v) for k, v in runs.items()}
    med = {k: statistics.median(v) for k, v in runs.items()}
    lookup = min(s[0] for s in steps)
    inner = min(s[1] for s in steps)
    ref_arrow = best["arrow"] + best["bare"]
    ref_pandas = best["pandas"] + best["bare"]
    table = [
        f"| batch scoring, {rows:,} entity rows, point in time | best s | median s | score_batch / this: best, median |",
        "|---|---:|---:|---:|",
        f"| historical `.to_arrow()` | {best['arrow']:.3f} | {med['arrow']:.3f} | |",
        f"| historical `.to_pandas()` | {best['pandas']:.3f} | {med['pandas']:.3f} | |",
        f"| bare model call on the feature frame | {best['bare']:.3f} | {med['bare']:.3f} | |",
        f"| reference: `.to_arrow()` + bare model | {ref_arrow:.3f} | {med['arrow'] + med['bare']:.3f} "
        f"| **{best['score'] / ref_arrow:.2f}x**, {med['score'] / (med['arrow'] + med['bare']):.2f}x |",
        f"| reference: `.to_pandas()` + bare model | {ref_pandas:.3f} | {med['pandas'] + med['bare']:.3f} "
        f"| **{best['score'] / ref_pandas:.2f}x**, {med['score'] / (med['pandas'] + med['bare']):.2f}x |",
        f"| `FeatureStore.score_batch` | {best['score']:.3f} | {med['score']:.3f} | |",
        f"|   of which features (`lookup_seconds`) | {lookup:.3f} | | |",
        f"|   of which model (`model_seconds`: frame, predict, outputs) | {inner:.3f} | | |",
    ]
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        score()
        profiler.disable()
        print("# cProfile of one score_batch, by cumulative time:", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    store.close()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="entity rows to score (default 1,000,000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="batch runs of each case (best and median)")
    parser.add_argument(
        "--calls", type=int, default=3000, help="1-entity calls and requests (100 entities: a third)"
    )
    parser.add_argument("--drivers", type=int, default=10_000)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one score_batch (on stderr)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each part and each batch run, wait up to SECONDS for idle CPUs (a shared machine)",
    )
    args = parser.parse_args()
    IDLE["wait"] = args.wait_idle
    # As bench_online_reads.py: the registry re-read every 60 s (the server inherits it).
    os.environ.setdefault("FSCTL_REGISTRY_CACHE_SECONDS", "60")
    root = Path(tempfile.mkdtemp(prefix="fsctl-bench-predict-"))
    try:
        started = time.perf_counter()
        make_repo(root, args.drivers, args.rows)
        print(f"# repo ready in {time.perf_counter() - started:.1f}s: {root}", file=sys.stderr)
        print(f"Machine: {machine()}")
        print(
            f"Command: benchmarks/bench_predict.py --rows {args.rows} --repeat {args.repeat} --calls {args.calls}"
            + (f" --wait-idle {args.wait_idle:g}" if args.wait_idle else "")
        )
        print()
        print("\n".join(in_process(root, args.drivers, args.calls)))
        if not args.skip_http:
            print()
            print("\n".join(over_http(root, args.drivers, args.calls)))
        if not args.skip_batch:
            print()
            print("\n".join(batch(root, args.repeat, args.profile)))
        if args.wait_idle:
            print()
            print(
                f"{IDLE['busy_starts']} of {IDLE['starts']} parts and batch runs started on a busy machine "
                f"(waited up to {args.wait_idle:g} s for idle CPUs before each)."
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
