"""End-to-end CLI tests: every exit code, apply/plan round trips, saved plans, browsing."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import fsctl_env

pytestmark = pytest.mark.slow

ENTITY = "kind: Entity\nname: driver\njoin_keys: [driver_id]\n"
SOURCE = "kind: FileSource\nname: src\npath: data/none.parquet\n"


def view(ttl: str = "2d", features: str = "{name: conv_rate, dtype: float64}") -> str:
    return (
        "kind: FeatureView\nname: stats\nentities: [driver]\nsource: src\n"
        f"ttl: {ttl}\nschema:\n  - {features}\n"
    )


SERVICE = "kind: FeatureService\nname: svc\nfeatures: [stats]\n"
MODEL = (
    "kind: Model\nname: m\nowner: ml@example.com\n"  # a version behind Production needs an owner and a description
    "versions:\n  - {version: 1, uri: 's3://m/1', feature_service: svc, description: First}\n"
    "aliases: {Production: 1}\n"
)


def small_repo(write_repo, *docs: str, name: str = "repo") -> Path:
    return write_repo({"fsctl.yaml": "project: demo\n", "defs.yaml": "---\n".join(docs)}, name)


def no_traceback(result: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in result.stdout + result.stderr


def test_version(fsctl):
    result = fsctl("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("fsctl ") and "registry format 1" in result.stdout


def test_example_repo_round_trip(fsctl, example_repo):
    repo = ["--repo", str(example_repo)]
    assert fsctl("validate", *repo).returncode == 0
    planned = fsctl("plan", "--detailed-exitcode", *repo)
    assert planned.returncode == 2, planned.stderr
    assert "14 to add" in planned.stdout
    applied = fsctl("apply", "--yes", *repo)
    assert applied.returncode == 0, applied.stderr
    assert "version 0 -> 1" in applied.stdout
    again = fsctl("plan", "--detailed-exitcode", *repo)
    assert again.returncode == 0, again.stdout
    assert "No changes" in again.stdout
    reapplied = fsctl("apply", "--yes", *repo)
    assert reapplied.returncode == 0 and "stays at version 1" in reapplied.stdout
    history = json.loads(fsctl("registry", "history", "--format", "json", *repo).stdout)
    assert [h["version"] for h in history] == [1]
    assert set(history[0]) >= {"version", "applied_at", "actor", "commit", "plan_hash"}
    assert history[0]["actor"] == "tester"


def test_bad_definitions_exit_1_without_traceback(fsctl, write_repo):
    repo = small_repo(write_repo, ENTITY, view(ttl="2q"), SOURCE)
    for command in (["validate"], ["plan"], ["apply", "--yes"]):
        result = fsctl(*command, "--repo", str(repo))
        assert result.returncode == 1, command
        assert no_traceback(result)
        assert "defs.yaml" in result.stderr and "stats" in result.stderr and "ttl" in result.stderr


def test_debug_shows_traceback(fsctl, write_repo):
    repo = small_repo(write_repo, ENTITY, view(ttl="2q"), SOURCE)
    result = fsctl("validate", "--repo", str(repo), "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_bad_flag_is_exit_1(fsctl, example_repo):
    result = fsctl("plan", "--no-such-flag", "--repo", str(example_repo))
    assert result.returncode == 1
    assert "No such option" in result.stderr and no_traceback(result)
    bad_format = fsctl("plan", "--format", "yaml", "--repo", str(example_repo))
    assert bad_format.returncode == 1


def test_no_repo_is_exit_1(fsctl, tmp_path):
    result = fsctl("plan", cwd=tmp_path)
    assert result.returncode == 1
    assert "no fsctl.yaml found" in result.stderr and no_traceback(result)


def test_detailed_exitcode(fsctl, write_repo):
    repo = small_repo(write_repo, ENTITY, SOURCE, view())
    assert fsctl("plan", "--repo", str(repo)).returncode == 0
    assert fsctl("plan", "--detailed-exitcode", "--repo", str(repo)).returncode == 2
    assert fsctl("apply", "--yes", "--repo", str(repo)).returncode == 0
    assert fsctl("plan", "--detailed-exitcode", "--repo", str(repo)).returncode == 0


def test_blocked_plan_is_exit_1_and_apply_refuses(fsctl, write_repo):
    repo = small_repo(write_repo, ENTITY, SOURCE, view(), SERVICE, MODEL)
    assert fsctl("apply", "--yes", "--repo", str(repo)).returncode == 0
    (repo / "defs.yaml").write_text("---\n".join([ENTITY, SOURCE, view(ttl="1d"), SERVICE, MODEL]))
    planned = fsctl("plan", "--detailed-exitcode", "--format", "json", "--repo", str(repo))
    assert planned.returncode == 1
    body = json.loads(planned.stdout)
    assert body["blocked"][0]["name"] == "stats"
    assert "Model m v1 (Production)" in body["blocked"][0]["dependents"]
    applied = fsctl("apply", "--yes", "--repo", str(repo))
    assert applied.returncode == 1 and "blocked" in applied.stderr and no_traceback(applied)
    history = json.loads(fsctl("registry", "history", "--format", "json", "--repo", str(repo)).stdout)
    assert len(history) == 1  # nothing was written


def test_apply_without_terminal_or_yes_refuses(fsctl, example_repo):
    result = fsctl("apply", "--repo", str(example_repo), input="y\n")
    assert result.returncode == 1
    assert "--yes" in result.stderr and no_traceback(result)
    assert not (example_repo / "data" / "registry.json").exists()


def _apply_on_terminal(repo: Path, answer: bytes) -> tuple[int, str]:
    """Run `fsctl apply` with a pseudo-terminal as stdin and answer the prompt."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsctl", "apply", "--repo", str(repo)],
        stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=fsctl_env(),
    )
    os.close(secondary)
    os.write(primary, answer)
    stdout, _ = proc.communicate(timeout=60)
    os.close(primary)
    return proc.returncode, stdout.decode()


def test_apply_asks_on_a_terminal(example_repo):
    code, stdout = _apply_on_terminal(example_repo, b"n\n")
    assert code == 1 and "Cancelled" in stdout
    assert not (example_repo / "data" / "registry.json").exists()
    code, stdout = _apply_on_terminal(example_repo, b"y\n")
    assert code == 0 and "version 0 -> 1" in stdout


def test_saved_plan_applies_exactly_and_refuses_when_stale(fsctl, write_repo, tmp_path):
    repo = small_repo(write_repo, ENTITY, SOURCE, view())
    plan_file = tmp_path / "plan.json"
    assert fsctl("plan", "--out", str(plan_file), "--repo", str(repo)).returncode == 0
    saved = json.loads(plan_file.read_text())
    assert saved["plan"]["registry_version"] == 0
    applied = fsctl("apply", str(plan_file), "--yes", "--repo", str(repo))
    assert applied.returncode == 0, applied.stderr
    history = json.loads(fsctl("registry", "history", "--format", "json", "--repo", str(repo)).stdout)
    assert history[0]["plan_hash"] == saved["plan"]["plan_hash"]

    # the registry moved since the plan: refuse
    again = fsctl("apply", str(plan_file), "--yes", "--repo", str(repo))
    assert again.returncode == 1 and "moved since the plan" in again.stderr

    # the definitions changed since the plan: refuse
    second = tmp_path / "plan2.json"
    (repo / "defs.yaml").write_text("---\n".join([ENTITY, SOURCE, view(ttl="3d")]))
    assert fsctl("plan", "--out", str(second), "--repo", str(repo)).returncode == 0
    (repo / "defs.yaml").write_text("---\n".join([ENTITY, SOURCE, view(ttl="4d")]))
    stale = fsctl("apply", str(second), "--yes", "--repo", str(repo))
    assert stale.returncode == 1 and "definitions changed" in stale.stderr and no_traceback(stale)

    not_a_plan = fsctl("apply", str(repo / "defs.yaml"), "--yes", "--repo", str(repo))
    assert not_a_plan.returncode == 1 and "not an fsctl plan file" in not_a_plan.stderr


def test_corrupt_registry_is_exit_1_and_untouched(fsctl, example_repo):
    registry = example_repo / "data" / "registry.json"
    registry.write_text("{not json")
    for command in (["plan"], ["apply", "--yes"], ["list", "views"]):
        result = fsctl(*command, "--repo", str(example_repo))
        assert result.returncode == 1
        assert str(registry) in result.stderr and no_traceback(result)
    assert registry.read_text() == "{not json"


def test_registry_flag_and_env_point_elsewhere(fsctl, example_repo, tmp_path):
    other = tmp_path / "staging.json"
    assert fsctl("apply", "--yes", "--repo", str(example_repo), "--registry", str(other)).returncode == 0
    assert other.exists() and not (example_repo / "data" / "registry.json").exists()
    listed = fsctl("list", "views", "--repo", str(example_repo), FSCTL_REGISTRY=str(other))
    assert "driver_hourly_stats" in listed.stdout


def test_list_and_describe_every_kind(fsctl, example_repo):
    repo = ["--repo", str(example_repo)]
    assert fsctl("apply", "--yes", *repo).returncode == 0
    expected = {
        "entities": "driver", "sources": "driver_stats_source", "views": "driver_hourly_stats",
        "services": "driver_activity_v1", "models": "churn_classifier",
    }
    for kind, name in expected.items():
        text = fsctl("list", kind, *repo)
        assert text.returncode == 0 and name in text.stdout
        listed = json.loads(fsctl("list", kind, "--format", "json", *repo).stdout)
        assert name in [o["name"] for o in listed]
        described = json.loads(fsctl("describe", kind, name, "--format", "json", *repo).stdout)
        assert described["name"] == name
        assert name in fsctl("describe", kind, name, *repo).stdout
    missing = fsctl("describe", "views", "driver_hourly_stat", *repo)
    assert missing.returncode == 1 and "did you mean 'driver_hourly_stats'" in missing.stderr
    unknown = fsctl("list", "widgets", *repo)
    assert unknown.returncode == 1 and "unknown kind" in unknown.stderr


def test_deleted_objects_leave_the_registry_and_history_is_browsable(fsctl, write_repo):
    repo = small_repo(write_repo, ENTITY, SOURCE, view(), SERVICE)
    assert fsctl("apply", "--yes", "--repo", str(repo)).returncode == 0
    (repo / "defs.yaml").write_text("---\n".join([ENTITY, SOURCE, view()]))
    planned = fsctl("plan", "--repo", str(repo))
    assert "- FeatureService svc  [DELETE]" in planned.stdout
    assert fsctl("apply", "--yes", "--repo", str(repo)).returncode == 0
    assert json.loads(fsctl("list", "services", "--format", "json", "--repo", str(repo)).stdout) == []
    old = json.loads(fsctl("registry", "show", "1", "--format", "json", "--repo", str(repo)).stdout)
    assert "svc" in old["objects"]["FeatureService"]
    diff = json.loads(fsctl("registry", "diff", "1", "2", "--format", "json", "--repo", str(repo)).stdout)
    assert [(c["kind"], c["name"], c["action"]) for c in diff["changes"]] == [("FeatureService", "svc", "delete")]


def test_teardown(fsctl, example_repo):
    repo = ["--repo", str(example_repo)]
    assert fsctl("apply", "--yes", *repo).returncode == 0
    assert fsctl("teardown", *repo).returncode == 1  # no terminal, no --yes
    torn = fsctl("teardown", "--yes", *repo)
    assert torn.returncode == 0 and "14 deleted" in torn.stdout
    assert json.loads(fsctl("list", "views", "--format", "json", *repo).stdout) == []
    assert len(json.loads(fsctl("registry", "history", "--format", "json", *repo).stdout)) == 2


def test_init_renders_a_working_repo(fsctl, tmp_path):
    created = fsctl("init", "my_features", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    repo = tmp_path / "my_features"
    assert (repo / "fsctl.yaml").read_text().startswith("project: my_features") or "my_features" in (
        repo / "fsctl.yaml"
    ).read_text()
    assert fsctl("validate", cwd=repo).returncode == 0
    planned = fsctl("plan", "--detailed-exitcode", cwd=repo)
    assert planned.returncode == 2 and "to add" in planned.stdout
    assert fsctl("apply", "--yes", cwd=repo).returncode == 0
    again = fsctl("init", "my_features", cwd=tmp_path)
    assert again.returncode == 1 and "not empty" in again.stderr
    bad = fsctl("init", "My-Features", cwd=tmp_path)
    assert bad.returncode == 1 and "my_features" in bad.stderr


def test_internal_error_exits_3_and_suggests_debug(monkeypatch, capsys, example_repo):
    from fsctl import cli, workspace
    from tests.support.contract_faults import BROKEN_REGISTRY

    monkeypatch.setitem(workspace.REGISTRIES, "local", BROKEN_REGISTRY)  # a registry that raises RuntimeError
    code = cli.run(["plan", "--repo", str(example_repo)])
    captured = capsys.readouterr()
    assert code == 3
    assert "internal error: RuntimeError: boom" in captured.err and "--debug" in captured.err
    with pytest.raises(RuntimeError):
        cli.run(["plan", "--repo", str(example_repo), "--debug"])


def test_markdown_plan_is_for_a_pr_comment(fsctl, example_repo):
    result = fsctl("plan", "--format", "markdown", "--repo", str(example_repo))
    assert result.returncode == 0
    assert result.stdout.startswith("### fsctl plan: `driver_ranking`")
    assert "| + add | Entity `driver` |" in result.stdout
