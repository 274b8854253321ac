"""fsctl codeowners' use case: who owns which definition file, owners GitHub accepts, and the
section rewritten in place inside a CODEOWNERS file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsctl.errors import UsageError
from fsctl.results.codeowners import STALE, UNCHANGED, UP_TO_DATE, WRITTEN
from fsctl.services.codeowners import codeowners, git_root, owners_of, replace_section

CONFIG = "project: shop\nregistry: data/registry.json\n"
DEFS = {
    "entities.yaml": "kind: Entity\nname: user\njoin_keys: [user_id]\nowner: '@someone'\n",
    "sources/clicks.yaml": (
        "kind: FileSource\nname: clicks\npath: data/clicks.parquet\ntimestamp_field: ts\n"
        "---\nkind: FileSource\nname: orders\npath: data/orders.parquet\ntimestamp_field: ts\n"
    ),
    "views.yaml": (
        "kind: FeatureView\nname: click_stats\nentities: [user]\nsource: clicks\n"
        "schema: [{name: clicks, dtype: int64}]\n"
    ),
    "orders.yaml": (
        "kind: FeatureView\nname: order_stats\nentities: [user]\nsource: orders\n"
        "schema: [{name: orders, dtype: int64}]\nowner: '@acme/orders, orders@example.com'\n"
    ),
    "services.yaml": "kind: FeatureService\nname: ranking\nfeatures: [click_stats]\n",
    "models.yaml": (
        "kind: Model\nname: ranker\nowner: '@acme/ranking'\n"
        "versions: [{version: 1, uri: 's3://m/1', feature_service: ranking}]\naliases: {Production: 1}\n"
    ),
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # the git repository; the feature repo is a folder of it
    return write(tmp_path / "features", {"fsctl.yaml": CONFIG, **DEFS})


def test_model_owners_own_what_their_versions_read_and_view_owners_their_view(repo: Path) -> None:
    result = codeowners(repo)
    assert [(r.path, r.owners) for r in result.rules] == [
        ("/features/entities.yaml", ("@acme/ranking",)),  # entity owners own nothing
        ("/features/fsctl.yaml", ("@acme/ranking",)),  # the model has a protected alias
        ("/features/models.yaml", ("@acme/ranking",)),
        ("/features/orders.yaml", ("@acme/orders", "orders@example.com")),  # no model reads it
        ("/features/services.yaml", ("@acme/ranking",)),
        ("/features/sources/clicks.yaml", ("@acme/ranking",)),
        ("/features/views.yaml", ("@acme/ranking",)),
    ]
    assert result.problems == ()
    assert result.section.splitlines()[0].startswith("# BEGIN fsctl codeowners: project shop ")
    assert result.section.splitlines()[-1] == "# END fsctl codeowners: project shop"
    assert "/features/views.yaml @acme/ranking\n" in result.section
    ranked = next(r for r in result.rules if r.path == "/features/views.yaml")
    assert ranked.because == ("@acme/ranking: Model ranker reads FeatureView click_stats",)


def test_a_model_without_a_protected_alias_does_not_own_fsctl_yaml(repo: Path) -> None:
    (repo / "models.yaml").write_text(DEFS["models.yaml"].replace("Production", "Staging"))
    assert "/features/fsctl.yaml" not in {r.path for r in codeowners(repo).rules}


def test_owners_that_github_does_not_take_are_reported_as_comments(repo: Path) -> None:
    (repo / "orders.yaml").write_text(DEFS["orders.yaml"].replace("'@acme/orders, orders@example.com'", "Orders team"))
    result = codeowners(repo)
    assert "/features/orders.yaml" not in {r.path for r in result.rules}
    assert result.problems == (
        "owner 'Orders team' of FeatureView order_stats (orders.yaml) is not @user, @org/team or an email: "
        "it owns nothing here",
    )
    assert f"# fsctl: {result.problems[0]}\n" in result.section


@pytest.mark.parametrize(
    ("owner", "owners"),
    [
        ("@alice", ("@alice",)),
        ("@acme/ml-team", ("@acme/ml-team",)),
        ("ml@example.com", ("ml@example.com",)),
        ("@alice, @bob ml@example.com", ("@alice", "@bob", "ml@example.com")),
        ("alice", None),
        ("@", None),
        ("@-alice", None),
        ("@alice team", None),
        ("", None),
    ],
)
def test_owners_of(owner: str, owners: tuple[str, ...] | None) -> None:
    assert owners_of(owner) == owners


def test_paths_are_from_the_repo_without_a_git_repository(tmp_path: Path) -> None:
    repo = write(tmp_path / "alone", {"fsctl.yaml": CONFIG, **DEFS})
    assert git_root(repo) is None  # pytest's temp folders are in no git repository
    paths = {r.path for r in codeowners(repo).rules}
    assert "/models.yaml" in paths and "/sources/clicks.yaml" in paths
    # fsctl init passes the new folder as the base, whatever repository it is made in
    (tmp_path / ".git").mkdir()
    assert {r.path for r in codeowners(repo, base=repo).rules} == paths


def test_output_writes_replaces_in_place_and_check_compares(repo: Path) -> None:
    target = repo.parent / ".github" / "CODEOWNERS"
    assert codeowners(repo, check=True).status == STALE  # no file yet: GitHub's default place
    written = codeowners(repo, target)
    assert written.status == WRITTEN
    assert codeowners(repo, check=True).status == UP_TO_DATE
    assert codeowners(repo, target).status == UNCHANGED
    before, after = "* @acme/admins\n", "# after\n/docs/ @acme/writers\n"
    target.write_text(before + "\n" + target.read_text() + after)
    (repo / "models.yaml").write_text(DEFS["models.yaml"].replace("@acme/ranking", "@acme/ml"))
    stale = codeowners(repo, check=True)
    assert stale.status == STALE
    assert "-/features/models.yaml @acme/ranking" in stale.diff and "+/features/models.yaml @acme/ml" in stale.diff
    assert codeowners(repo, target).status == WRITTEN
    text = target.read_text()
    assert text.startswith(before + "\n# BEGIN fsctl codeowners: project shop")
    assert text.endswith("# END fsctl codeowners: project shop\n" + after)
    assert "@acme/ranking" not in text and text.count("# BEGIN fsctl codeowners") == 1


def test_other_projects_sections_are_kept(repo: Path) -> None:
    result = codeowners(repo)
    other = "# BEGIN fsctl codeowners: project shop_eu (generated)\n/eu/x.yaml @eu\n# END fsctl codeowners: project shop_eu\n"
    merged = replace_section(other, result, "CODEOWNERS")
    assert merged == other + "\n" + result.section
    assert replace_section(merged, result, "CODEOWNERS") == merged


def test_a_broken_section_is_an_error_that_says_how_to_fix_it(repo: Path) -> None:
    result = codeowners(repo)
    broken = result.section.splitlines(keepends=True)[:-1]  # no end line
    with pytest.raises(UsageError) as error:
        replace_section("".join(broken) + "/x @y\n", result, ".github/CODEOWNERS")
    assert ".github/CODEOWNERS: the fsctl codeowners section of project shop is broken (1 begin and 0 end lines)" in str(error.value)
    assert "run fsctl codeowners --output again" in str(error.value)
