"""Concurrent applies end to end: 8 real `fsctl` processes racing on one registry.

Run on both registries: a local file and an S3 object on the moto server (whose puts are
serialised like real S3's conditional writes, see tests/support/s3.py).

Design. apply is declarative (objects missing from the repo are deleted), so processes
that race with *different* desired states necessarily replace each other's objects: that
is not a lost update, it is the later apply's plan. A lost update is a write that was not
based on the version it replaced. So in round r, process i applies

    desired(r, i) = BASE + KEPT(r) + {Entity e_<r>_<i>}

where KEPT(r) are the objects that survived earlier rounds (the extra entity of each
earlier round's last writer): they are in every process's repo, so they must never be
deleted. Every process's change is then "add my e_<r>_<i>" (plus, after a re-plan, "delete
the e_<r>_<j> of whoever landed just before me"), and the contract is checkable:

* every process exits 0 (exactly one new version, "version A -> A+1") or 1 (the registry
  kept moving; a clear message, no traceback);
* versions are contiguous; one new version per successful process, each its own;
* the history names each version's actor (FSCTL_ACTOR=proc-<round>-<i>);
* no lost update: version B holds exactly its writer's desired state (so its e_<r>_<i>),
  and the plan its writer printed last was made against version B-1 and deletes exactly
  what B-1 had beyond the writer's desired state -- i.e. every write was based on the
  version it replaced.

The processes import fsctl (and boto3) first and then wait on a start barrier, so that all
8 read the registry at nearly the same moment; then they run exactly what
``python -m fsctl apply --yes ...`` runs. The read-only checks (`registry history` /
`registry show V --format json`) run the same CLI entry point in the test process, to leave
the CPU to the racers; the final history and latest version are also read by a separate
process and must match.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import fsctl_env
from tests.support.lockstep import run_in_lockstep
from tests.support.source_data import fill_sources

pytestmark = pytest.mark.slow

PROCESSES = 8
ROUNDS = 3
PROJECT = "race"

BASE = (
    "kind: Entity\nname: driver\njoin_keys: [driver_id]\n---\n"
    "kind: FileSource\nname: src\npath: data/none.parquet\n---\n"
    "kind: FeatureView\nname: stats\nentities: [driver]\nsource: src\nttl: 2d\n"
    "schema:\n  - {name: conv_rate, dtype: float64}\n"
)
BASE_OBJECTS = {("Entity", "driver"), ("FileSource", "src"), ("FeatureView", "stats")}

APPLIED = re.compile(r"^Applied: registry (\S+) version (\d+) -> (\d+) \(", re.M)
MOVED = re.compile(r"registry .*(moved|changed|kept moving)", re.S)
RETRIED = re.compile(r" after \d+ attempts\.$", re.M)
STALE = re.compile(r"registry moved (since the plan was made|while the plan was being applied)")

def extra_entity(name: str) -> str:
    return f"kind: Entity\nname: {name}\njoin_keys: [{name}_id]\n"


def write_repo_dir(root: Path, extras: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fsctl.yaml").write_text(f"project: {PROJECT}\nregistry: data/unused.json\n", encoding="utf-8")
    (root / "defs.yaml").write_text(
        "---\n".join([BASE, *(extra_entity(n) for n in extras)]), encoding="utf-8"
    )
    fill_sources(root)
    return root


@dataclass
class Backend:
    name: str
    registry: str
    env: dict[str, str]
    raw: Any  # () -> bytes of the current registry document

    @property
    def s3(self) -> bool:
        return self.registry.startswith("s3://")


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        path = tmp_path / "shared" / "registry.json"
        return Backend("local", str(path), {}, path.read_bytes)
    server = request.getfixturevalue("s3_server")
    bucket = server.new_bucket()
    client = server.client()
    key = "teams/race/registry.json"
    return Backend(
        "s3",
        f"s3://{bucket}/{key}",
        dict(server.env),
        lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read(),
    )


@dataclass
class Outcome:
    index: int
    actor: str
    repo: Path
    code: int
    stdout: str
    stderr: str
    extra: str = ""
    desired: set[tuple[str, str]] = field(default_factory=set)

    @property
    def applied(self) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for _, a, b in APPLIED.findall(self.stdout)]

    def last_plan(self) -> tuple[int, set[str], set[str]]:
        """(version it was made against, names added, names deleted) of the last plan printed."""
        block = self.stdout.rsplit("Plan for project", 1)[-1]
        against = re.search(r"\(version (\d+)\)", block)
        kinds = "Entity|FileSource|FeatureView|FeatureService|Model"  # not "Online store:" lines
        added = set(re.findall(rf"^\s+\+ (?:{kinds}) (\S+)", block, re.M))
        deleted = set(re.findall(rf"^\s+- (?:{kinds}) (\S+)", block, re.M))
        return (int(against.group(1)) if against else -1), added, deleted

    def describe(self) -> str:
        return f"{self.actor} exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def race(tmp: Path, backend: Backend, jobs: list[tuple[str, Path, list[str]]]) -> list[tuple[int, str, str]]:
    """Start one process per (actor, repo, args) together; return (code, stdout, stderr)."""
    preload = ["fsctl.cli", "fsctl.loader", "fsctl.services.apply", "fsctl.registry.local", "yaml"]
    if backend.s3:
        preload += ["boto3", "botocore.config", "fsctl.registry.s3"]
    return run_in_lockstep(
        tmp, [(args, fsctl_env(FSCTL_ACTOR=actor, **backend.env), repo) for actor, repo, args in jobs], preload
    )


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def fsctl_here(backend: Backend, *args: str, **env: str) -> tuple[int, str, str]:
    """Run the CLI in this process (same entry point as `python -m fsctl`): for the many
    read-only checks and the setup steps, so that the CPU goes to the racing processes."""
    from fsctl.cli import run

    out, err = io.StringIO(), io.StringIO()
    extra = {k: v for k, v in fsctl_env(**backend.env, **env).items() if k.startswith(("AWS_", "FSCTL_"))}
    with environment(extra), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([*args, "--registry", backend.registry])
    return code, out.getvalue(), err.getvalue()


def fsctl_json(backend: Backend, repo: Path, *args: str) -> Any:
    code, out, err = fsctl_here(backend, *args, "--format", "json", "--repo", str(repo))
    assert code == 0 and "Traceback" not in err, f"fsctl {' '.join(args)}: {err}"
    return json.loads(out)


def show_versions(backend: Backend, repo: Path, versions: list[int]) -> dict[int, dict[str, Any]]:
    """`fsctl registry show V --format json` for each version."""
    return {v: fsctl_json(backend, repo, "registry", "show", str(v)) for v in versions}


def fsctl_process_json(backend: Backend, repo: Path, *args: str) -> Any:
    """The same as :func:`fsctl_json`, as a separate process."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fsctl",
            *args,
            "--format",
            "json",
            "--repo",
            str(repo),
            "--registry",
            backend.registry,
        ],
        capture_output=True,
        text=True,
        env=fsctl_env(**backend.env),
        timeout=60,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, (
        f"fsctl {' '.join(args)}: {result.stderr}"
    )
    return json.loads(result.stdout)


def object_set(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(kind, name) for kind, objs in document["objects"].items() for name in objs}


def test_concurrent_applies_never_lose_an_update(tmp_path: Path, backend: Backend) -> None:
    started = time.perf_counter()
    reader = write_repo_dir(tmp_path / "reader", [])
    kept: list[str] = []  # extra entities that survived earlier rounds: in every repo from now on
    versions = 0
    shown: dict[int, dict[str, Any]] = {}  # `registry show V --format json` of every version so far
    totals = {"attempted": 0, "landed": 0, "refused": 0, "lost": 0, "retried": 0}
    problems: list[str] = []

    for rnd in range(ROUNDS):
        outcomes = []
        jobs = []
        for i in range(PROCESSES):
            extra = f"e_{rnd}_{i}"
            repo = write_repo_dir(tmp_path / f"r{rnd}" / f"p{i}", [*kept, extra])
            outcomes.append(
                Outcome(
                    i,
                    f"proc-{rnd}-{i}",
                    repo,
                    -1,
                    "",
                    "",
                    extra,
                    BASE_OBJECTS | {("Entity", n) for n in [*kept, extra]},
                )
            )
            jobs.append((f"proc-{rnd}-{i}", repo, ["apply", "--yes", "--registry", backend.registry]))
        for outcome, (code, out, err) in zip(outcomes, race(tmp_path, backend, jobs), strict=True):
            outcome.code, outcome.stdout, outcome.stderr = code, out, err

        # Exit codes and messages.
        landed, refused = [], []
        for o in outcomes:
            assert o.code in (0, 1), o.describe()
            assert "Traceback" not in o.stdout + o.stderr and "internal error" not in o.stderr, o.describe()
            if o.code == 0:
                assert len(o.applied) == 1, o.describe()  # exactly one new version
                a, b = o.applied[0]
                assert b == a + 1, o.describe()
                landed.append(o)
            else:
                assert not o.applied, o.describe()
                assert MOVED.search(o.stderr), o.describe()
                assert o.stderr.count("error:") == 1, o.describe()
                refused.append(o)

        # The registry parses; versions are contiguous; one version per success, each its own.
        json.loads(backend.raw())
        history = fsctl_json(backend, reader, "registry", "history")
        new_versions = [o.applied[0][1] for o in landed]
        assert len(set(new_versions)) == len(new_versions), new_versions
        assert [h["version"] for h in history] == list(range(1, versions + len(landed) + 1))
        assert sorted(new_versions) == list(range(versions + 1, versions + len(landed) + 1))
        actors = {h["version"]: h["actor"] for h in history}
        for o in landed:
            assert actors[o.applied[0][1]] == o.actor, o.describe()
        for o in refused:
            assert o.actor not in actors.values(), o.describe()

        # No lost update: each new version is exactly its writer's desired state, and its writer's
        # plan was made against the version it replaced.
        shown.update(show_versions(backend, reader, sorted(new_versions)))  # B-1 is new or shown before
        for o in landed:
            a, b = o.applied[0]
            doc = shown[b]
            lost = False
            if doc["version"] != b or ("Entity", o.extra) not in object_set(doc):
                lost = True
                problems.append(f"{backend.name}: {o.actor}'s {o.extra} is missing from version {b}")
            if object_set(doc) != o.desired:
                lost = True
                problems.append(
                    f"{backend.name}: version {b} is not {o.actor}'s desired state: {object_set(doc)}"
                )
            against, added, deleted = o.last_plan()
            before = object_set(shown[a]) if a > 0 else set()
            if (
                against != a
                or added != {n for _, n in o.desired - before}
                or deleted != {n for _, n in before - o.desired}
            ):
                lost = True
                problems.append(
                    f"{backend.name}: {o.actor} wrote version {b} from a plan against version {against} "
                    f"(+{sorted(added)} -{sorted(deleted)}), but version {a} held {sorted(before)}"
                )
            totals["lost"] += lost
        # Nothing a refused process wanted got in.
        for o in refused:
            for doc in shown.values():
                assert ("Entity", o.extra) not in object_set(doc), o.describe()

        totals["attempted"] += len(outcomes)
        totals["landed"] += len(landed)
        totals["refused"] += len(refused)
        totals["retried"] += sum(1 for o in landed if RETRIED.search(o.stdout))
        versions += len(landed)
        if landed:
            last = max(landed, key=lambda o: o.applied[0][1])
            kept.append(last.extra)
        assert shown[versions]["version"] == versions
        assert {("Entity", n) for n in kept} <= object_set(shown[versions])

    # The same history and latest version, read by a separate process.
    assert fsctl_process_json(backend, reader, "registry", "history") == history
    assert fsctl_process_json(backend, reader, "registry", "show", str(versions)) == shown[versions]

    elapsed = time.perf_counter() - started
    summary = (
        f"concurrency[{backend.name}]: attempted={totals['attempted']} landed={totals['landed']} "
        f"refused={totals['refused']} lost={totals['lost']} (landed after a re-plan: {totals['retried']}; "
        f"versions 1..{versions}) in {elapsed:.1f}s"
    )
    print(summary)  # shown with `pytest -s` (without xdist)
    assert not problems, "\n".join(problems)
    assert totals["landed"] + totals["refused"] == totals["attempted"]
    assert totals["landed"] >= ROUNDS  # at least one apply lands per round
    assert totals["lost"] == 0
    assert totals["retried"] + totals["refused"] > 0, "no apply ever lost a race: the test did not race"


def test_concurrent_saved_plans_one_lands_rest_refused_as_stale(tmp_path: Path, backend: Backend) -> None:
    """8 plans made against the same version, applied at once: one lands, 7 are stale, none retried."""
    reader = write_repo_dir(tmp_path / "reader", [])
    code, out, err = fsctl_here(backend, "apply", "--yes", "--repo", str(reader), FSCTL_ACTOR="setup")
    assert code == 0 and "version 0 -> 1" in out, err

    repos = [write_repo_dir(tmp_path / f"p{i}", [f"s_{i}"]) for i in range(PROCESSES)]
    for repo in repos:
        code, out, err = fsctl_here(backend, "plan", "--out", str(repo / "plan.json"), "--repo", str(repo))
        assert code == 0 and "(version 1)" in out, err
    results = race(
        tmp_path,
        backend,
        [
            (f"saved-{i}", repo, ["apply", str(repo / "plan.json"), "--yes", "--registry", backend.registry])
            for i, repo in enumerate(repos)
        ],
    )

    winners = [i for i, (code, _, _) in enumerate(results) if code == 0]
    assert len(winners) == 1, results
    for i, (code, out, err) in enumerate(results):
        assert "Traceback" not in out + err and "internal error" not in err, (out, err)
        assert out.count("Plan for project") <= 1, out  # a saved plan is never re-planned
        assert "attempts" not in out + err, (out, err)
        if i in winners:
            assert re.search(r"^Applied: .* version 1 -> 2 \(", out, re.M), out
        else:
            assert code == 1, (code, out, err)
            assert "Applied" not in out
            assert STALE.search(err), err
            assert "fsctl plan --out" in err  # says what to do
    history = fsctl_json(backend, reader, "registry", "history")
    assert [(h["version"], h["actor"]) for h in history] == [(1, "setup"), (2, f"saved-{winners[0]}")]
    current = fsctl_json(backend, reader, "registry", "show")
    assert object_set(current) == BASE_OBJECTS | {("Entity", f"s_{winners[0]}")}
