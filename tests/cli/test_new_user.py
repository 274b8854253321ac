"""What a new user runs into (issue 11): commands that need applied definitions refuse a
registry that has none, instead of succeeding with nothing done."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_fsctl

pytestmark = pytest.mark.slow

NEEDS_DEFINITIONS = {
    "materialize-incremental": ["materialize-incremental", "2026-01-04T00:00:00Z"],
    "materialize": ["materialize", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"],
    "historical": ["historical", "--entities", "data/entities.csv", "--service", "driver_activity_v1", "--output", "t.parquet"],
    "online": ["online", "--service", "driver_activity_v1", "--entity", "driver_id=1001", "--entity", "customer_id=2001"],
    "list": ["list", "views"],
    "describe": ["describe", "views", "driver_hourly_stats"],
    "serve": ["serve", "--port", "0"],
}


@pytest.mark.parametrize("command", list(NEEDS_DEFINITIONS))
def test_a_registry_with_nothing_applied_is_an_error_that_says_to_apply(example_repo: Path, command: str) -> None:
    result = run_fsctl(*NEEDS_DEFINITIONS[command], "--repo", str(example_repo), cwd=example_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "has nothing applied yet" in result.stderr and "fsctl apply" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (example_repo / "t.parquet").exists()


def test_after_a_teardown_materialize_is_an_error_not_a_silent_success(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    assert run_fsctl("teardown", "--yes", "--repo", str(example_repo)).returncode == 0
    result = run_fsctl("materialize-incremental", "2026-01-04T00:00:00Z", "--repo", str(example_repo))
    assert result.returncode == 1
    assert "has no definitions (version 2 is empty)" in result.stderr


# -- small inconsistencies (item 9) ------------------------------------------------------


def test_registry_diff_shows_changes_between_versions_not_a_plan(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    result = run_fsctl("registry", "diff", "0", "1", "--repo", str(example_repo))
    first = result.stdout.splitlines()[0]
    assert first.startswith("Changes in project driver_ranking from registry version 0 to 1")
    assert "Plan for project" not in result.stdout and "Changes: 14 to add" in result.stdout
    same = run_fsctl("registry", "diff", "1", "1", "--repo", str(example_repo))
    assert "No changes between versions 1 and 1." in same.stdout
    as_json = run_fsctl("registry", "diff", "0", "1", "--format", "json", "--repo", str(example_repo))
    assert '"from_version": 0' in as_json.stdout and '"to_version": 1' in as_json.stdout


def test_a_lookback_is_echoed_as_written_and_one_feature_is_singular(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    assert run_fsctl("materialize-incremental", "2026-01-04T00:00:00Z", "--repo", str(example_repo)).returncode == 0
    again = run_fsctl("materialize-incremental", "2026-01-05T00:00:00Z", "--lookback", "1h", "--repo", str(example_repo))
    assert "minus the 1h lookback" in again.stdout and "1:00:00" not in again.stdout


def test_history_keeps_the_dirty_mark_of_a_commit(example_repo: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=example_repo, check=True)
    subprocess.run(["git", "add", "."], cwd=example_repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], cwd=example_repo, check=True
    )
    (example_repo / "README.md").write_text("changed\n")
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    text = run_fsctl("registry", "history", "--repo", str(example_repo)).stdout
    assert "-dirty" in text


def test_teardown_without_a_terminal_says_how_to_confirm_a_teardown(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    result = run_fsctl("teardown", "--repo", str(example_repo), input="")
    assert result.returncode == 1
    assert "refusing to teardown without confirmation" in result.stderr
    assert "saved plan" not in result.stderr and "--yes" in result.stderr


def test_help_lists_every_command_with_a_whole_description() -> None:
    text = run_fsctl("--help", COLUMNS="80").stdout
    commands = text.split("Commands:")[1].strip().splitlines()
    from fsctl.cli import COMMANDS

    assert len(commands) == len(COMMANDS)  # one line each: no description wraps
    assert all("..." not in line and "…" not in line for line in commands), commands


def test_the_scaffold_ignores_what_fsctl_writes(tmp_path: Path) -> None:
    for template in ("local", "aws"):
        target = tmp_path / template
        assert run_fsctl("init", str(target), "--template", template).returncode == 0
        ignored = (target / ".gitignore").read_text()
        for pattern in ("data/registry.json*", "data/registry.state.json*", "data/online.db*"):
            assert pattern in ignored, (template, pattern)


# -- dangerous successes: wipes and protected aliases (item 1) ---------------------------


def test_an_ignore_file_that_hides_every_definition_cannot_wipe_the_registry(example_repo: Path) -> None:
    import json

    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    (example_repo / ".fsctlignore").write_text("*.py\n*.yaml\n")
    plan = run_fsctl("plan", "--repo", str(example_repo))
    assert plan.returncode == 1 and "deletes every object of the registry (14)" in plan.stdout
    assert "deletions among them" in plan.stdout
    apply = run_fsctl("apply", "--yes", "--repo", str(example_repo))
    assert apply.returncode == 1 and "blocked" in apply.stderr and "--allow-breaking" in apply.stderr
    history = json.loads(run_fsctl("registry", "history", "--format", "json", "--repo", str(example_repo)).stdout)
    assert len(history) == 1  # nothing was written
    md = run_fsctl("plan", "--format", "markdown", "--repo", str(example_repo)).stdout
    assert ":warning: 14 breaking" in md and "14 to delete" in md


def test_an_override_is_applied_on_purpose_and_kept_in_the_audit_record(example_repo: Path) -> None:
    import json

    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    (example_repo / ".fsctlignore").write_text("*.py\n*.yaml\n")
    typo = run_fsctl("apply", "--yes", "--allow-breaking", "Model/churn", "--reason", "r", "--repo", str(example_repo))
    assert typo.returncode == 1 and "no blocked change of this plan is about it" in typo.stderr
    unpaired = run_fsctl("apply", "--yes", "--allow-breaking", "*", "--repo", str(example_repo))
    assert unpaired.returncode == 1 and "one --reason for each --allow-breaking" in unpaired.stderr
    ok = run_fsctl(
        "apply", "--yes", "--allow-breaking", "*", "--reason", "moving to a new repo", "--repo", str(example_repo)
    )
    assert ok.returncode == 0, ok.stderr
    assert "ALLOWED by --allow-breaking" in ok.stdout
    history = json.loads(run_fsctl("registry", "history", "--format", "json", "--repo", str(example_repo)).stdout)
    allowed = history[-1]["allowed_breaking"]
    assert {a["name"] for a in allowed} >= {"*", "churn_classifier"}
    assert all(a["because"] == "moving to a new repo" and a["actor"] == "tester" for a in allowed)
    text = run_fsctl("registry", "history", "--repo", str(example_repo)).stdout
    assert "Allowed by --allow-breaking:" in text and "moving to a new repo" in text
    shown = run_fsctl("registry", "show", "--repo", str(example_repo)).stdout
    assert "allowed by --allow-breaking *" in shown


def test_a_saved_plan_keeps_its_overrides_and_teardown_needs_none(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    (example_repo / ".fsctlignore").write_text("*.py\n*.yaml\n")
    saved = example_repo / "plan.json"
    made = run_fsctl(
        "plan", "--out", str(saved), "--allow-breaking", "*", "--reason", "on purpose", "--repo", str(example_repo)
    )
    assert made.returncode == 0, made.stderr
    extra = run_fsctl("apply", str(saved), "--yes", "--allow-breaking", "*", "--reason", "x", "--repo", str(example_repo))
    assert extra.returncode == 1 and "applied exactly as planned" in extra.stderr
    assert run_fsctl("apply", str(saved), "--yes", "--repo", str(example_repo)).returncode == 0
    (example_repo / ".fsctlignore").unlink()
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0  # re-adding is never blocked
    assert run_fsctl("teardown", "--yes", "--repo", str(example_repo)).returncode == 0  # teardown is the way to remove


# -- describe and list (item 8) ----------------------------------------------------------


def test_describe_is_a_readable_page_with_what_uses_the_object(example_repo: Path) -> None:
    repo = ["--repo", str(example_repo)]
    assert run_fsctl("apply", "--yes", *repo).returncode == 0
    assert run_fsctl("materialize-incremental", "2026-01-04T00:00:00Z", *repo).returncode == 0
    page = run_fsctl("describe", "FeatureView", "driver_hourly_stats", *repo).stdout
    assert "ttl:        2d" in page and "172800" not in page
    assert "source:     driver_stats_source (data/driver_stats.parquet, parquet)" in page
    assert "entities:   driver [driver_id int64]" in page
    assert "conv_rate        float64" in page
    assert "watermark:  2026-01-04T00:00:00+00:00" in page
    used = page.split("Used by:")[1].split()
    assert "driver_activity_v1" in used and "(Production)" in used
    model = run_fsctl("describe", "models", "churn_classifier", *repo).stdout
    assert "Aliases: Production -> v1, Challenger -> v2" in model and "reads driver_activity_v1" in model
    assert "Used by: nothing" in model
    as_json = run_fsctl("describe", "views", "driver_hourly_stats", "--format", "json", *repo).stdout
    assert '"ttl": 172800' in as_json  # JSON stays the canonical document


@pytest.mark.parametrize("kind", ["views", "view", "FeatureView", "featureview", "feature-views", "feature_views"])
def test_every_way_of_naming_a_kind_lists_it(example_repo: Path, kind: str) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    result = run_fsctl("list", kind, "--repo", str(example_repo))
    assert result.returncode == 0, result.stderr
    assert "driver_hourly_stats" in result.stdout and "customer_profile" in result.stdout


def test_list_without_a_kind_shows_everything_grouped(example_repo: Path) -> None:
    import json

    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    text = run_fsctl("list", "--repo", str(example_repo)).stdout
    for heading in ("Entities (2)", "Sources (3)", "SQL sources (1)", "Feature views (5)", "Feature services (2)", "Models (1)"):
        assert heading in text
    grouped = json.loads(run_fsctl("list", "--format", "json", "--repo", str(example_repo)).stdout)
    assert list(grouped) == ["Entity", "FileSource", "SqlSource", "FeatureView", "FeatureService", "Model"]
    assert len(grouped["FeatureView"]) == 5


# -- wrong-typed keys (item 4) -----------------------------------------------------------

ONLINE = ["online", "--service", "driver_activity_v1", "--entity", "customer_id=2001"]


def test_a_key_value_that_cannot_be_the_keys_dtype_is_an_error(example_repo: Path) -> None:
    repo = ["--repo", str(example_repo)]
    assert run_fsctl("apply", "--yes", *repo).returncode == 0
    shown = run_fsctl("describe", "views", "driver_hourly_stats", *repo).stdout
    assert "driver [driver_id int64]" in shown  # read from the parquet footer by plan, recorded by apply
    assert run_fsctl("materialize-incremental", "2026-01-04T00:00:00Z", *repo).returncode == 0
    wrong = run_fsctl(*ONLINE, "--entity", "driver_id=abc", *repo)
    assert wrong.returncode == 1, wrong.stdout
    assert "join key 'driver_id' is int64, and 'abc' is not an integer" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not wrong.stdout
    wrong_file = example_repo / "rows.csv"  # read as a string column: "1001" is converted, "x1" is not a key
    wrong_file.write_text("driver_id,customer_id\n1001,2001\nx1,2001\n")
    batch = run_fsctl("online", "--service", "driver_activity_v1", "--entities", str(wrong_file), *repo)
    assert batch.returncode == 1 and "entity row 2: join key 'driver_id' is int64, and 'x1'" in batch.stderr
    # a string that is an integer is that integer (as Feast converts it): the same answer as 1001
    spaced = run_fsctl(*ONLINE, "--entity", "driver_id= 1001", "--ignore-ttl", "--format", "json", *repo)
    plain = run_fsctl(*ONLINE, "--entity", "driver_id=1001", "--ignore-ttl", "--format", "json", *repo)
    assert spaced.returncode == 0, spaced.stderr
    assert spaced.stdout == plain.stdout and '"status": "expired"' in plain.stdout


def test_a_source_whose_key_changes_type_is_a_breaking_change(make_repo) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    definitions = (
        "kind: Entity\nname: user\njoin_keys: [user_id]\n---\n"
        "kind: FileSource\nname: src\npath: data/users.parquet\n---\n"
        "kind: FeatureView\nname: stats\nentities: [user]\nsource: src\nschema:\n  - {name: score, dtype: float64}\n---\n"
        "kind: FeatureService\nname: svc\nfeatures: [stats]\n"
    )
    repo = make_repo({"fsctl.yaml": "project: keys\n", "defs.yaml": definitions}, data=False)
    (repo / "data").mkdir()

    def write(ids: list) -> None:
        ts = pa.array([0] * len(ids), pa.timestamp("us", tz="UTC"))
        table = pa.table({"user_id": ids, "event_timestamp": ts, "score": [0.5] * len(ids)})
        pq.write_table(table, repo / "data" / "users.parquet")

    write(["u1", "u2"])
    assert run_fsctl("apply", "--yes", "--repo", str(repo)).returncode == 0
    # a string key takes any string; an integer is the same key as its text
    numeric = run_fsctl("online", "--features", "stats:score", "--entity", "user_id=1001", "--repo", str(repo))
    assert numeric.returncode == 0 and "missing" in numeric.stdout
    write([1, 2])
    plan = run_fsctl("plan", "--format", "json", "--repo", str(repo))
    assert plan.returncode == 1  # blocked: the service uses the view
    change = json.loads(plan.stdout)["changes"][0]
    assert change["name"] == "stats" and change["breaking"] is True
    assert change["fields"][0]["path"] == "key_dtypes.user_id"
    assert "changed from string to int64" in change["fields"][0]["reason"]


# -- more silent no-ops and dangerous successes --------------------------------------------


def test_an_empty_views_list_is_an_error_and_a_view_named_twice_runs_once(example_repo: Path) -> None:
    repo = ["--repo", str(example_repo)]
    assert run_fsctl("apply", "--yes", *repo).returncode == 0
    empty = run_fsctl("materialize", "2026-01-01", "2026-01-02", "--views", "", *repo)
    assert empty.returncode == 1 and "no views named to materialize" in empty.stderr
    twice = run_fsctl("materialize", "2026-01-01", "2026-01-02", "--views", "driver_hourly_stats,driver_hourly_stats", *repo)
    assert twice.returncode == 0, twice.stderr
    assert twice.stdout.count("driver_hourly_stats: done") == 1


def test_historical_never_writes_over_its_entity_file_or_a_source(example_repo: Path) -> None:
    repo = ["--repo", str(example_repo)]
    assert run_fsctl("apply", "--yes", *repo).returncode == 0
    entities = example_repo / "data" / "entities.csv"
    source = example_repo / "data" / "driver_stats.parquet"
    before = entities.read_bytes(), source.read_bytes()
    common = ["historical", "--service", "driver_activity_v1", *repo]
    over_input = run_fsctl(*common, "--entities", str(entities), "--output", str(entities))
    assert over_input.returncode == 1 and "is the entity file" in over_input.stderr
    over_source = run_fsctl(*common, "--entities", str(entities), "--output", str(source))
    assert over_source.returncode == 1 and "is data of source 'driver_stats_source'" in over_source.stderr
    assert (entities.read_bytes(), source.read_bytes()) == before


def test_historical_with_an_entity_file_of_no_rows_says_so(example_repo: Path) -> None:
    repo = ["--repo", str(example_repo)]
    assert run_fsctl("apply", "--yes", *repo).returncode == 0
    empty = example_repo / "empty.csv"
    empty.write_text("driver_id,customer_id,event_timestamp\n")
    result = run_fsctl("historical", "--service", "driver_activity_v1", "--entities", str(empty), "--output", "t.parquet", *repo)
    assert result.returncode == 1 and "has no rows" in result.stderr, result.stderr
