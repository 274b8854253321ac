"""Time `fsctl plan` and `fsctl apply` against an S3 registry on a local moto server.

Same generated repo as ``bench_cli.py`` (1,000 views, 100 services by default). The
moto server runs in this process on 127.0.0.1; each fsctl run is a separate process
reaching it over HTTP, as CI reaches S3. The same commands against a local registry
are measured in the same run, so the S3 cost reads as a ratio.

    .venv/bin/python benchmarks/bench_s3.py [--views 1000 --services 100 --repeat 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_repo  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(argv: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != expect:
        raise SystemExit(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", type=int, default=1000)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    repo = args.out / "repo_s3"
    gen_repo.generate(repo, args.views, args.services, 10, 10, revision=0)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSCTL_", "AWS_"))}
    env.update(creds, AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true", FSCTL_ACTOR="bench")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    fsctl = str(Path(sys.executable).parent / "fsctl")
    rows = []
    try:
        for backend in ("local", "s3"):
            results: dict[str, list[float]] = {"plan (empty registry)": [], "apply --yes (empty registry)": [],
                                               "plan (no changes)": []}
            for i in range(args.repeat):
                if backend == "s3":
                    bucket = f"bench-{i}-{port}"
                    client.create_bucket(Bucket=bucket)
                    registry = f"s3://{bucket}/fsctl/registry.json"
                else:
                    registry = str(args.out / f"local-{i}" / "registry.json")
                flags = ["--repo", str(repo), "--registry", registry]
                results["plan (empty registry)"].append(timed([fsctl, "plan", *flags], repo, env))
                results["apply --yes (empty registry)"].append(timed([fsctl, "apply", "--yes", *flags], repo, env))
                results["plan (no changes)"].append(
                    timed([fsctl, "plan", "--detailed-exitcode", *flags], repo, env)
                )
            for op, times in results.items():
                rows.append((backend, op, statistics.median(times), min(times)))
    finally:
        server.stop()

    local = {op: med for backend, op, med, _ in rows if backend == "local"}
    print(f"## fsctl against an S3 registry (moto on 127.0.0.1): {args.views} views, {args.services} services\n")
    print(f"Command: `.venv/bin/python benchmarks/bench_s3.py --views {args.views} --services {args.services} "
          f"--repeat {args.repeat}`; nproc {os.cpu_count()}\n")
    print("| registry | operation | median s | min s | s3 / local |")
    print("|---|---|---:|---:|---:|")
    for backend, op, med, best in rows:
        ratio = f"{med / local[op]:.2f}" if backend == "s3" else ""
        print(f"| {backend} | {op} | {med:.3f} | {best:.3f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
