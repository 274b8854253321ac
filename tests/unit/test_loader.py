"""Loading a feature repo: YAML and Python files, ignores, env expansion, every problem with file:line."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from fsctl.errors import ConfigError, DefinitionErrors, Problem
from fsctl.loader import load_repo
from fsctl.workspace import open_workspace

MakeRepo = Callable[..., Path]

CONFIG = "project: demo\nregistry: data/registry.json\n"

ENTITIES_YAML = """\
kind: Entity
name: driver
join_keys: [driver_id]
---
kind: Entity
name: customer
join_keys: [customer_id]
description: A rider
"""

SOURCE_PY = """\
from fsctl import FileSource

driver_source = FileSource(
    name="driver_source",
    path="data/driver.parquet",
)
"""

VIEWS_PY = """\
from datetime import timedelta

from fsctl import FeatureView, Field
from fsctl.types import Float64, Int64

from sources import driver_source

driver_stats = FeatureView(
    name="driver_stats",
    entities=["driver"],
    source=driver_source,
    ttl=timedelta(days=2),
    schema=[Field(name="conv_rate", dtype=Float64), Field(name="trips", dtype=Int64)],
)
"""

SERVICES_YAML = """\
kind: FeatureService
name: svc
features:
  - driver_stats
  - {view: driver_stats_subset_missing_on_purpose, features: [x]}
"""

MODELS_YAML = """\
kind: Model
name: churn
versions:
  - version: 1
    uri: s3://m/1
    feature_service: svc
aliases: {Production: 1}
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def base_files() -> dict[str, str]:
    return {
        "fsctl.yaml": CONFIG,
        "entities.yaml": ENTITIES_YAML,
        "sources.py": SOURCE_PY,
        "features/views.py": VIEWS_PY.replace("from sources import", "from sources import"),
        "services.yml": "kind: FeatureService\nname: svc\nfeatures: [driver_stats]\n",
        "models.yaml": MODELS_YAML,
    }


def load_problems(root: Path) -> list[Problem]:
    with pytest.raises(DefinitionErrors) as info:
        load_repo(root)
    return info.value.problems


def only_problem(root: Path) -> Problem:
    problems = load_problems(root)
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


# --- a valid mixed repo ------------------------------------------------------------------


def test_mixed_yaml_and_python_repo_loads(make_repo: MakeRepo) -> None:
    root = make_repo(base_files())
    repo = load_repo(root)
    names = {(o.KIND, o.name) for o in repo.all()}
    assert names == {
        ("Entity", "driver"),
        ("Entity", "customer"),
        ("FileSource", "driver_source"),
        ("FeatureView", "driver_stats"),
        ("FeatureService", "svc"),
        ("Model", "churn"),
    }
    assert repo.config.project == "demo"
    assert repo.count() == 6
    assert repo.root == root.resolve()
    assert repo.files == ["entities.yaml", "features/views.py", "models.yaml", "services.yml", "sources.py"]


def test_all_is_in_kind_order_then_name(make_repo: MakeRepo) -> None:
    repo = load_repo(make_repo(base_files()))
    assert [(o.KIND, o.name) for o in repo.all()] == [
        ("Entity", "customer"),
        ("Entity", "driver"),
        ("FileSource", "driver_source"),
        ("FeatureView", "driver_stats"),
        ("FeatureService", "svc"),
        ("Model", "churn"),
    ]


def test_objects_remember_file_and_line(make_repo: MakeRepo) -> None:
    repo = load_repo(make_repo(base_files()))
    origin = {(o.KIND, o.name): (o.origin.file, o.origin.line) for o in repo.all() if o.origin}
    assert origin[("Entity", "driver")] == ("entities.yaml", 1)
    assert origin[("Entity", "customer")] == ("entities.yaml", 5)
    assert origin[("FileSource", "driver_source")] == ("sources.py", 3)
    assert origin[("FeatureView", "driver_stats")] == ("features/views.py", 8)


def test_python_file_importing_a_sibling_module_registers_each_object_once(make_repo: MakeRepo) -> None:
    files = base_files()
    files["features/views.py"] = VIEWS_PY  # imports `sources`, which is also a definition file
    repo = load_repo(make_repo(files))
    assert list(repo.objects["FileSource"]) == ["driver_source"]


def test_python_file_may_import_a_sibling_in_its_own_folder_via_the_repo_root(make_repo: MakeRepo) -> None:
    files = base_files()
    files["lib/__init__.py"] = ""
    files["lib/common.py"] = "TEAM = 'ranking'\n"
    files["features/views.py"] = VIEWS_PY.replace(
        "driver_stats = FeatureView(", "from lib.common import TEAM\n\ndriver_stats = FeatureView(owner=TEAM,"
    )
    repo = load_repo(make_repo(files))
    assert repo.objects["FeatureView"]["driver_stats"].owner == "ranking"


def test_sys_path_sys_modules_and_cwd_are_unchanged(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo(base_files())
    load_repo(root)  # first load imports fsctl's own lazy dependencies
    path_before, modules_before, cwd_before = list(sys.path), set(sys.modules), os.getcwd()
    load_repo(root)
    assert sys.path == path_before
    assert set(sys.modules) == modules_before
    assert os.getcwd() == cwd_before
    assert not any(m in sys.modules for m in ("sources", "views", "features", "features.views"))
    assert not any(m.startswith("_fsctl_repo_") for m in sys.modules)


def test_two_repos_with_same_helper_module_name_do_not_leak_into_each_other(make_repo: MakeRepo) -> None:
    def repo_files(team: str) -> dict[str, str]:
        return {
            "fsctl.yaml": CONFIG,
            "helpers.py": f"TEAM = {team!r}\n",
            "defs.py": "from fsctl import Entity\nimport helpers\n"
            "driver = Entity(name='driver', join_keys=['driver_id'], owner=helpers.TEAM)\n",
        }

    first = load_repo(make_repo(repo_files("alpha"), name="one"))
    second = load_repo(make_repo(repo_files("beta"), name="two"))
    assert first.objects["Entity"]["driver"].owner == "alpha"
    assert second.objects["Entity"]["driver"].owner == "beta"


def test_definitions_do_not_see_the_callers_cwd(make_repo: MakeRepo, tmp_path: Path, monkeypatch) -> None:
    files = base_files()
    files["features/views.py"] = VIEWS_PY  # `from sources import ...` must resolve inside the repo
    root = make_repo(files)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "sources.py").write_text("raise RuntimeError('wrong sources module')\n")
    monkeypatch.chdir(elsewhere)
    repo = load_repo(root)
    assert "driver_source" in repo.objects["FileSource"]
    assert os.getcwd() == str(elsewhere)


def test_user_file_named_json_breaks_nothing(make_repo: MakeRepo) -> None:
    import json

    files = base_files()
    files["json.py"] = "from fsctl import Entity\nrider = Entity(name='rider', join_keys=['rider_id'])\n"
    files["uses_json.py"] = (
        "import json\nfrom fsctl import Entity\n"
        "payload = json.dumps({'a': 1})\n"
        "assert payload == '{\"a\": 1}'\n"
        "rider_two = Entity(name='rider_two', join_keys=[json.loads('\"rid\"')])\n"
    )
    repo = load_repo(make_repo(files))
    assert {"rider", "rider_two"} <= set(repo.objects["Entity"])
    assert sys.modules["json"] is json
    assert json.dumps([1]) == "[1]"


def test_user_file_named_json_breaks_nothing_in_a_fresh_process(make_repo: MakeRepo) -> None:
    import subprocess

    files = base_files()
    files["json.py"] = "from fsctl import Entity\nrider = Entity(name='rider', join_keys=['rider_id'])\n"
    root = make_repo(files)
    script = (
        "import sys\n"
        "from fsctl.loader import load_repo\n"
        f"repo = load_repo({str(root)!r})\n"
        "import json\n"
        "assert hasattr(json, 'dumps') and 'rider' in repo.objects['Entity']\n"
        "print(json.dumps(sorted(repo.objects['Entity'])))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"rider"' in done.stdout


def test_modules_imported_from_a_venv_inside_the_repo_are_not_dropped(
    make_repo: MakeRepo, monkeypatch
) -> None:
    # A project keeps its virtualenv in the repo folder (`.venv/`); hidden folders are not
    # definitions. A library a definition file imports from there must stay imported, or the
    # next import runs it again (two copies of its classes; pyo3/C extensions refuse to load twice).
    files = base_files()
    files[".venv/site-packages/extlib_for_fsctl_test.py"] = "class Marker:\n    pass\n"
    files["uses_lib.py"] = "import extlib_for_fsctl_test\n"
    root = make_repo(files)
    monkeypatch.syspath_prepend(str(root / ".venv" / "site-packages"))
    monkeypatch.delitem(sys.modules, "extlib_for_fsctl_test", raising=False)
    load_repo(root)
    try:
        assert "extlib_for_fsctl_test" in sys.modules
    finally:
        sys.modules.pop("extlib_for_fsctl_test", None)


def test_objects_passed_inline_are_registered(make_repo: MakeRepo) -> None:
    files = {
        "fsctl.yaml": CONFIG,
        "defs.py": dedent(
            """
            from fsctl import Entity, FeatureView, Field, FileSource
            view = FeatureView(
                name="v",
                entities=[Entity(name="driver", join_keys=["driver_id"])],
                source=FileSource(name="src", path="data/x.parquet"),
                schema=[Field(name="a", dtype="int64")],
            )
            """
        ),
    }
    repo = load_repo(make_repo(files))
    assert set(repo.objects["Entity"]) == {"driver"}
    assert set(repo.objects["FileSource"]) == {"src"}


def test_service_passed_inline_to_a_model_version_is_registered(make_repo: MakeRepo) -> None:
    # "In Python an object may be passed where a name is expected", and inline objects are
    # registered (as for a FileSource given to a FeatureView): this holds for ModelVersion too.
    files = {
        "fsctl.yaml": CONFIG,
        "defs.py": dedent(
            """
            from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model, ModelVersion
            view = FeatureView(
                name="v",
                entities=[Entity(name="driver", join_keys=["driver_id"])],
                source=FileSource(name="src", path="data/x.parquet"),
                schema=[Field(name="a", dtype="int64")],
            )
            churn = Model(
                name="churn",
                versions=[ModelVersion(version=1, uri="u", feature_service=FeatureService(name="svc", features=[view]))],
            )
            """
        ),
    }
    repo = load_repo(make_repo(files))
    assert set(repo.objects["FeatureService"]) == {"svc"}
    assert set(repo.objects["Model"]) == {"churn"}


def test_same_object_bound_to_two_names_is_registered_once(make_repo: MakeRepo) -> None:
    files = {
        "fsctl.yaml": CONFIG,
        "defs.py": "from fsctl import Entity\ndriver = Entity(name='driver', join_keys=['d'])\nalias = driver\n",
    }
    assert list(load_repo(make_repo(files)).objects["Entity"]) == ["driver"]


def test_a_local_source_path_that_matches_no_file_is_an_error(make_repo: MakeRepo) -> None:
    # It used to be a warning, and the first failure came at 3 a.m. in materialize.
    problem = only_problem(make_repo(base_files(), data=False))
    assert (problem.file, problem.kind, problem.name, problem.field) == ("sources.py", "FileSource", "driver_source", "path")
    assert "no file matches data/driver.parquet" in problem.message


@pytest.mark.parametrize(
    ("path", "folder", "readme"),
    [
        ("raw/2026/driver.parquet", "; there is no folder raw/)", False),
        ("features/missing/driver.parquet", "; there is no folder features/missing/)", True),  # features/ exists
        ("raw/*/driver.parquet", "; there is no folder raw/)", False),
        ("features/*/driver.parquet", ")", False),  # a glob matching no folder names none
        ("features/driver.parquet", ")", True),
    ],
)
def test_a_source_with_no_file_names_the_missing_folder(make_repo: MakeRepo, path: str, folder: str, readme: bool) -> None:
    files = base_files()
    files["sources.py"] = SOURCE_PY.replace('path="data/driver.parquet"', f'path="{path}"')
    if readme:
        files["README.md"] = "# how to get the data\n"
    problem = only_problem(make_repo(files, data=False))
    assert problem.message == f"no file matches {path} (relative to the repo{folder}"
    assert problem.fix == "generate or copy the data there first, or fix the path" + (
        "; README.md may say how to get the data" if readme else ""
    )


def test_a_source_on_s3_is_reported_as_not_checked_by_validate(make_repo: MakeRepo) -> None:
    files = base_files()
    files["sources.py"] = SOURCE_PY.replace('path="data/driver.parquet"', 'path="s3://bucket/driver.parquet"')
    repo = load_repo(make_repo(files))
    assert any(w.name == "driver_source" and "not checked here" in w.message for w in repo.warnings)


# --- .fsctlignore and discovery ----------------------------------------------------------


def test_fsctlignore_patterns_skip_files_and_folders(make_repo: MakeRepo) -> None:
    files = base_files()
    files[".fsctlignore"] = "# comments and blank lines are fine\n\nscratch/\n*.draft.yaml\nnotebooks/**\n"
    files["scratch/broken.py"] = "raise RuntimeError('must not be loaded')\n"
    files["wip.draft.yaml"] = "kind: Nonsense\n"
    files["notebooks/deep/explore.py"] = "import does_not_exist\n"
    files["features/other.draft.yaml"] = "not: [valid\n"
    repo = load_repo(make_repo(files))
    assert not any(f.startswith(("scratch/", "notebooks/")) or "draft" in f for f in repo.files)


def test_fsctlignore_negation_reincludes_a_file(make_repo: MakeRepo) -> None:
    files = base_files()
    files[".fsctlignore"] = "extra/*.yaml\n!extra/keep.yaml\n"
    files["extra/skip.yaml"] = "kind: Nonsense\n"
    files["extra/keep.yaml"] = "kind: Entity\nname: kept\njoin_keys: [k]\n"
    repo = load_repo(make_repo(files))
    assert "kept" in repo.objects["Entity"]


def test_hidden_folders_and_pycache_are_skipped(make_repo: MakeRepo) -> None:
    files = base_files()
    files[".git/hooks/x.py"] = "raise RuntimeError('no')\n"
    files[".github/workflows/ci.yaml"] = "on: push\n"
    files["__pycache__/x.py"] = "raise RuntimeError('no')\n"
    files[".hidden.yaml"] = "kind: Nonsense\n"
    load_repo(make_repo(files))


def test_ignored_file_problems_do_not_count_but_others_do(make_repo: MakeRepo) -> None:
    files = base_files()
    files[".fsctlignore"] = "ignored.py\n"
    files["ignored.py"] = "raise RuntimeError('ignored')\n"
    files["loaded.py"] = "raise RuntimeError('loaded')\n"
    problem = only_problem(make_repo(files))
    assert problem.file == "loaded.py"


# --- fsctl.yaml and ${ENV} ---------------------------------------------------------------


def test_env_vars_are_expanded_in_config(make_repo: MakeRepo, monkeypatch) -> None:
    monkeypatch.setenv("FSCTL_TEST_BUCKET", "my-bucket")
    monkeypatch.setenv("FSCTL_TEST_DB", "online")
    files = base_files()
    files["fsctl.yaml"] = (
        "project: demo\nregistry: s3://${FSCTL_TEST_BUCKET}/reg.json\n"
        "online_store:\n  type: sqlite\n  path: data/${FSCTL_TEST_DB}-${FSCTL_TEST_DB}.db\n"
    )
    config = load_repo(make_repo(files)).config
    assert config.registry == "s3://my-bucket/reg.json"
    assert config.online_store.path == "data/online-online.db"


def test_env_default_is_used_when_unset(make_repo: MakeRepo, monkeypatch) -> None:
    monkeypatch.delenv("FSCTL_TEST_UNSET", raising=False)
    files = base_files()
    files["fsctl.yaml"] = "project: demo\nregistry: ${FSCTL_TEST_UNSET:-data/default.json}\n"
    assert load_repo(make_repo(files)).config.registry == "data/default.json"


def test_env_default_is_not_used_when_set(make_repo: MakeRepo, monkeypatch) -> None:
    monkeypatch.setenv("FSCTL_TEST_SET", "data/set.json")
    files = base_files()
    files["fsctl.yaml"] = "project: demo\nregistry: ${FSCTL_TEST_SET:-data/default.json}\n"
    assert load_repo(make_repo(files)).config.registry == "data/set.json"


def test_env_default_is_used_when_set_but_empty(make_repo: MakeRepo, monkeypatch) -> None:
    # ${VAR:-default} has shell semantics: the default applies when VAR is unset *or empty*
    # (CI systems commonly export empty variables).
    monkeypatch.setenv("FSCTL_TEST_EMPTY", "")
    files = base_files()
    files["fsctl.yaml"] = "project: demo\nregistry: ${FSCTL_TEST_EMPTY:-data/default.json}\n"
    assert load_repo(make_repo(files)).config.registry == "data/default.json"


def test_unset_env_var_without_default_names_the_variable(make_repo: MakeRepo, monkeypatch) -> None:
    monkeypatch.delenv("FSCTL_TEST_UNSET", raising=False)
    files = base_files()
    files["fsctl.yaml"] = "project: demo\nregistry: ${FSCTL_TEST_UNSET}\n"
    with pytest.raises(ConfigError) as info:
        load_repo(make_repo(files))
    assert "FSCTL_TEST_UNSET" in str(info.value)
    assert "fsctl.yaml" in str(info.value)
    assert "registry" in str(info.value)


def test_env_is_not_expanded_in_definition_files(make_repo: MakeRepo, monkeypatch) -> None:
    monkeypatch.setenv("FSCTL_TEST_SET", "expanded")
    files = base_files()
    files["more.yaml"] = "kind: Entity\nname: e\njoin_keys: [k]\ndescription: '${FSCTL_TEST_SET}'\n"
    repo = load_repo(make_repo(files))
    assert repo.objects["Entity"]["e"].description == "${FSCTL_TEST_SET}"


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ("registry: x.json\n", "project"),
        ("project: Bad-Name\n", "project"),
        ("project: demo\nregistery: x.json\n", "registery"),
        ("project: demo\nonline_store: {type: cassandra}\n", "online_store"),
        ("project: [unclosed\n", "fsctl.yaml"),
        ("- a list\n", "fsctl.yaml"),
    ],
)
def test_bad_config_is_a_config_error_naming_the_field(make_repo: MakeRepo, config: str, needle: str) -> None:
    files = base_files()
    files["fsctl.yaml"] = config
    with pytest.raises(ConfigError) as info:
        root = make_repo(files)
        load_repo(root)
        open_workspace(root).close()  # the store sections are checked against their type here
    assert needle in str(info.value)


def test_config_defaults(make_repo: MakeRepo) -> None:
    root = make_repo({"fsctl.yaml": "project: demo\n"})
    config = load_repo(root).config
    assert config.registry == "data/registry.json"
    assert config.offline_store.type == "duckdb"
    with open_workspace(root) as workspace:
        online = workspace.online_config
        assert workspace.offline_config.type == "duckdb"
    assert (config.online_store.type, online.type, online.path) == ("sqlite", "sqlite", "data/online.db")


def test_a_folder_without_fsctl_yaml_is_not_a_repo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"fsctl\.yaml"):
        load_repo(tmp_path)


# --- problems carry file and line --------------------------------------------------------


def test_yaml_bad_field_names_file_line_and_field(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = dedent(
        """
        kind: Entity
        name: other
        join_keys: [k]
        ---
        kind: FeatureView
        name: broken_view
        entities: [driver]
        source: driver_source
        schema:
          - {name: a, dtype: int64}
          - {name: b, dtype: decimal}
        """
    )
    problem = only_problem(make_repo(files))
    assert (problem.file, problem.line) == ("more.yaml", 11)
    assert (problem.kind, problem.name) == ("FeatureView", "broken_view")
    assert problem.field == "schema.1.dtype"
    assert "decimal" in problem.message
    assert problem.render().startswith("more.yaml:11: FeatureView 'broken_view'")


def test_yaml_unknown_kind_and_missing_kind(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = "name: x\n---\n\nkind: Entiti\nname: y\njoin_keys: [k]\n"
    problems = load_problems(make_repo(files))
    assert [(p.file, p.line, p.field) for p in problems] == [
        ("more.yaml", 1, "kind"),
        ("more.yaml", 4, "kind"),
    ]
    assert "Entiti" in problems[1].message


def test_yaml_unknown_field_and_missing_field(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = "kind: Entity\nname: x\njoin_keys: [k]\njoinkey: [k]\n---\nkind: Entity\nname: y\n"
    problems = load_problems(make_repo(files))
    by_name = {p.name: p for p in problems}
    assert (by_name["x"].line, by_name["x"].field, by_name["x"].message) == (4, "joinkey", "unknown field")
    assert by_name["y"].field == "join_keys" and by_name["y"].line == 6
    assert "required" in by_name["y"].message


def test_yaml_syntax_error_names_the_line(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = "kind: Entity\nname: x\njoin_keys: [k\ndescription: oops\n"
    problem = only_problem(make_repo(files))
    assert problem.file == "more.yaml"
    assert problem.line is not None and 3 <= problem.line <= 5
    assert "YAML" in problem.message


def test_yaml_duplicate_key_is_a_problem(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = "kind: Entity\nname: x\njoin_keys: [a]\njoin_keys: [b]\n"
    problem = only_problem(make_repo(files))
    assert (problem.file, problem.line) == ("more.yaml", 4)
    assert "join_keys" in problem.message


def test_yaml_document_that_is_not_a_mapping(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = "kind: Entity\nname: x\njoin_keys: [a]\n---\n- just\n- a list\n"
    problem = only_problem(make_repo(files))
    assert (problem.file, problem.line) == ("more.yaml", 5)


def test_empty_yaml_documents_are_fine(make_repo: MakeRepo) -> None:
    files = base_files()
    files["empty.yaml"] = ""
    files["comments.yaml"] = "# nothing here\n---\n---\n"
    load_repo(make_repo(files))


def test_python_file_raising_names_the_raising_line(make_repo: MakeRepo) -> None:
    files = base_files()
    files["bad.py"] = "x = 1\n\ndef f():\n    return {}['missing']\n\nf()\n"
    problem = only_problem(make_repo(files))
    assert problem.file == "bad.py"
    assert problem.line == 4  # the innermost line of this file: where the error was raised
    assert "KeyError" in problem.message


def test_python_syntax_error_names_the_line(make_repo: MakeRepo) -> None:
    files = base_files()
    files["bad.py"] = "x = 1\ny = (\n"
    problem = only_problem(make_repo(files))
    assert problem.file == "bad.py"
    assert problem.line in (2, 3)
    assert "syntax" in problem.message.lower()


def test_python_bad_definition_names_relative_file_and_call_line(make_repo: MakeRepo) -> None:
    files = base_files()
    files["sub/bad.py"] = (
        "from fsctl import Entity\n\n\nrider = Entity(\n    name='rider',\n    join_keys=[],\n)\n"
    )
    problem = only_problem(make_repo(files))
    assert (problem.file, problem.line) == ("sub/bad.py", 4)
    assert (problem.kind, problem.name, problem.field) == ("Entity", "rider", "join_keys")


def test_python_sys_exit_is_a_problem_not_an_exit(make_repo: MakeRepo) -> None:
    files = base_files()
    files["bad.py"] = "import sys\nsys.exit(3)\n"
    problem = only_problem(make_repo(files))
    assert (problem.file, problem.line) == ("bad.py", 2)


def test_problem_in_an_imported_sibling_is_reported_once(make_repo: MakeRepo) -> None:
    files = base_files()
    files["helpers.py"] = "from fsctl import Entity\nbad = Entity(name='bad name', join_keys=['k'])\n"
    files["user.py"] = "import helpers\n"
    problems = load_problems(make_repo(files))
    helper_problems = [p for p in problems if p.file == "helpers.py"]
    assert len(helper_problems) == 1, [p.render() for p in problems]
    assert helper_problems[0].line == 2


def test_duplicate_names_across_files_name_both_places(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.py"] = "from fsctl import Entity\n\ndriver = Entity(name='driver', join_keys=['x'])\n"
    problem = only_problem(make_repo(files))
    assert (problem.kind, problem.name) == ("Entity", "driver")
    assert "entities.yaml:1" in problem.message
    assert "more.py:3" in problem.message


def test_duplicate_names_in_one_file(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = "kind: Entity\nname: x\njoin_keys: [a]\n---\nkind: Entity\nname: x\njoin_keys: [b]\n"
    problem = only_problem(make_repo(files))
    assert "more.yaml:1" in problem.message and "more.yaml:5" in problem.message


def test_same_name_in_different_kinds_is_fine(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = "kind: FeatureService\nname: driver_stats\nfeatures: [driver_stats]\n"
    load_repo(make_repo(files))


def test_dangling_references_are_reported_at_the_referring_object(make_repo: MakeRepo) -> None:
    files = base_files()
    files["services.yml"] = SERVICES_YAML
    files["models.yaml"] = MODELS_YAML.replace("feature_service: svc", "feature_service: svc_typo").replace(
        "{Production: 1}", "{Production: 1, Staging: 7}"
    )
    files["more.yaml"] = dedent(
        """
        kind: FeatureView
        name: v2
        entities: [drivr]
        source: nowhere
        checks: {nope: {min: 0}}
        schema: [{name: a, dtype: int64}, {name: driver_id, dtype: int64}]
        """
    )
    problems = load_problems(make_repo(files))
    rendered = "\n".join(p.render() for p in problems)
    expected = {
        ("more.yaml", "v2", "entities[0]"),
        ("more.yaml", "v2", "source"),
        ("more.yaml", "v2", "checks.nope"),
        ("services.yml", "svc", "features[1]"),
        ("models.yaml", "churn", "versions[0].feature_service"),
        ("models.yaml", "churn", "aliases.Staging"),
    }
    assert expected <= {(p.file, p.name, p.field) for p in problems}, rendered
    assert all(p.line is not None for p in problems), rendered
    drivr = next(p for p in problems if p.field == "entities[0]")
    assert drivr.fix is not None and "driver" in drivr.fix  # did you mean 'driver'?


def test_feature_that_is_also_a_join_key_is_a_problem(make_repo: MakeRepo) -> None:
    files = base_files()
    files["more.yaml"] = (
        "kind: FeatureView\nname: v2\nentities: [driver]\nsource: driver_source\n"
        "schema: [{name: driver_id, dtype: int64}]\n"
    )
    problem = only_problem(make_repo(files))
    assert (problem.file, problem.name) == ("more.yaml", "v2")
    assert "join key" in problem.message


def test_every_problem_of_every_file_is_reported_at_once_and_sorted(make_repo: MakeRepo) -> None:
    files = base_files()
    files["a.yaml"] = "kind: Entity\nname: bad name\njoin_keys: [k]\n"
    files["b.py"] = "raise ValueError('boom')\n"
    files["c.yaml"] = "kind: Nope\n"
    files["d.yaml"] = "kind: FeatureService\nname: s2\nfeatures: [missing_view]\n"
    problems = load_problems(make_repo(files))
    assert [p.file for p in problems] == ["a.yaml", "b.py", "c.yaml", "d.yaml"]
    with pytest.raises(DefinitionErrors) as info:
        load_repo(make_repo(files, name="again"))
    assert str(info.value).startswith("4 problems in the definitions:")


def test_references_to_objects_that_failed_to_load_are_not_reported_again(make_repo: MakeRepo) -> None:
    files = base_files()
    files["entities.yaml"] = ENTITIES_YAML.replace("join_keys: [driver_id]", "join_keys: []")
    problem = only_problem(make_repo(files))
    assert (problem.file, problem.name, problem.field) == ("entities.yaml", "driver", "join_keys")
