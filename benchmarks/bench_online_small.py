"""Online reads on a small materialized repo, for comparing two versions of fsctl in one
session: in-process ``FeatureStore.get_online_features`` (1 entity, 20,000 calls; 1,000
entities, 300 calls; minimum and p50) and HTTP through ``fsctl serve`` (4 clients, 5 s).

Prepare a repo with each version (apply and materialize it with that version), then run
the two alternately, the older one through ``PYTHONPATH`` (the server subprocess inherits it):

    cp -r example_repo /tmp/new && make example-data   # or copy example_repo/data after make demo
    (cd /tmp/new && fsctl apply --yes && fsctl materialize-incremental "$(date -u +%FT%TZ)")
    PYTHONPATH=/path/to/old/checkout python benchmarks/bench_online_small.py --repo /tmp/old
    python benchmarks/bench_online_small.py --repo /tmp/new
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

FEATURES = ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"]
KEYS = [1001, 1002, 1003, 1004]


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"min {ordered[0] * 1e3:.3f} ms, p50 {ordered[len(ordered) // 2] * 1e3:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    import fsctl
    from fsctl import FeatureStore

    print(f"# fsctl from {Path(fsctl.__file__).parent}", file=sys.stderr)
    store = FeatureStore(args.repo)
    for _ in range(200):
        store.get_online_features(FEATURES, entity_rows={"driver_id": [1001]})
    single = []
    for i in range(20_000):
        started = time.perf_counter()
        store.get_online_features(FEATURES, entity_rows={"driver_id": [KEYS[i % 4]]})
        single.append(time.perf_counter() - started)
    rows = {"driver_id": [KEYS[i % 4] for i in range(1000)]}
    batch = []
    for _ in range(300):
        started = time.perf_counter()
        store.get_online_features(FEATURES, entity_rows=rows)
        batch.append(time.perf_counter() - started)
    print(f"| 1 entity, in-process | {_stats(single)} |")
    print(f"| 1,000 entities, in-process | {_stats(batch)} |")
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_online_reads import http_load

    print(http_load(args.repo, KEYS, 4, args.seconds)[-1])


if __name__ == "__main__":
    main()
