"""Online reads from SQLite: in-process through ``FeatureStore.get_online_features`` and over
HTTP through ``fsctl serve``, with a raw SQLite point select as the reference.

Run by bench_materialize.py after it has materialized the benchmark repo; on its own:

    python benchmarks/bench_online_reads.py [--clients 4] [--seconds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

FEATURES = ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def in_process(repo: Path, keys: list[int]) -> list[str]:
    from fsctl import FeatureStore

    store = FeatureStore(repo)
    for key in keys[:200]:  # warm up: plans, codecs, the connection
        store.get_online_features(FEATURES, entity_rows={"driver_id": [key]})
    single = []
    for key in random.Random(1).choices(keys, k=10_000):
        started = time.perf_counter()
        store.get_online_features(FEATURES, entity_rows={"driver_id": [key]})
        single.append(time.perf_counter() - started)
    batch = []
    rng = random.Random(2)
    for _ in range(200):
        rows = {"driver_id": rng.sample(keys, 1000)}
        started = time.perf_counter()
        store.get_online_features(FEATURES, entity_rows=rows)
        batch.append(time.perf_counter() - started)
    db = sqlite3.connect(repo / "data" / "online.db")
    raw = []
    select = "SELECT event_ts, created_ts, vals FROM bench__driver_hourly_stats WHERE key = ?"
    for key in random.Random(1).choices(keys, k=10_000):
        started = time.perf_counter()
        db.execute(select, (str(key),)).fetchone()
        raw.append(time.perf_counter() - started)
    s50, s99 = _percentiles(single)
    r50, r99 = _percentiles(raw)
    b50, b99 = _percentiles(batch)
    return [
        "| read | p50 | p99 | reference (raw SQLite select) p50 / p99 |",
        "|---|---|---|---|",
        f"| 1 entity, in-process (10,000 calls) | {s50 * 1e3:.3f} ms | {s99 * 1e3:.3f} ms "
        f"| {r50 * 1e3:.3f} ms / {r99 * 1e3:.3f} ms |",
        f"| 1,000 entities, in-process (200 calls) | {b50 * 1e3:.2f} ms | {b99 * 1e3:.2f} ms | |",
    ]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_load(repo: Path, keys: list[int], clients: int, seconds: float) -> list[str]:
    port = _free_port()
    fsctl = str(Path(sys.executable).with_name("fsctl"))
    server = subprocess.Popen(
        [fsctl, "serve", "--repo", str(repo), "--port", str(port)],
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("fsctl serve did not become healthy")
            time.sleep(0.2)
        latencies: list[list[float]] = [[] for _ in range(clients)]
        stop = time.perf_counter() + seconds

        def client(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            rng = random.Random(n)
            headers = {"Content-Type": "application/json"}
            while time.perf_counter() < stop:
                body = json.dumps({"features": FEATURES, "entities": {"driver_id": [rng.choice(keys)]}})
                started = time.perf_counter()
                conn.request("POST", "/get-online-features", body, headers)
                response = conn.getresponse()
                response.read()
                latencies[n].append(time.perf_counter() - started)
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    samples = [x for per in latencies for x in per]
    p50, p99 = _percentiles(samples)
    return [
        "",
        "| HTTP `POST /get-online-features`, 1 entity | clients | requests | p50 | p99 | requests/s |",
        "|---|---|---|---|---|---|",
        f"| `fsctl serve` (uvicorn, 1 process), loopback | {clients} | {len(samples):,} "
        f"| {p50 * 1e3:.2f} ms | {p99 * 1e3:.2f} ms | {len(samples) / elapsed:,.0f} |",
    ]


def bench_reads(repo: Path, clients: int = 4, seconds: float = 5.0) -> list[str]:
    db = sqlite3.connect(repo / "data" / "online.db")
    keys = [int(k) for (k,) in db.execute("SELECT key FROM bench__driver_hourly_stats")]
    db.close()
    if not keys:
        raise SystemExit("materialize the benchmark repo first (bench_materialize.py)")
    os.environ.setdefault("FSCTL_REGISTRY_CACHE_SECONDS", "60")
    return in_process(repo, keys) + http_load(repo, keys, clients, seconds)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_retrieval import OUT

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, default=OUT / "n1000000_m100000")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print("\n".join(bench_reads(args.repo, args.clients, args.seconds)))


if __name__ == "__main__":
    main()
