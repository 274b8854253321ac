"""The catalog of applied objects: how a model version, a feature and an object are named,
and the errors that say how to name them (retrieval, online reads and lineage share them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model, ModelVersion
from fsctl.errors import UsageError
from fsctl.services.catalog import Catalog, parse_model_ref
from fsctl.services.project import Project


def catalog() -> Catalog:
    driver = Entity(name="driver", join_keys=["driver_id"])
    src = FileSource(name="src", path="data/x.parquet")
    stats = FeatureView(name="stats", entities=[driver], source=src, schema=[Field(name="conv", dtype="float64")])
    svc = FeatureService(name="svc", features=[stats])
    churn = Model(
        name="churn",
        versions=[ModelVersion(version=n, feature_service=svc) for n in (1, 2, 10)],
        aliases={"Production": 10},
    )
    objects: dict[str, dict[str, dict[str, Any]]] = {}
    for obj in (driver, src, stats, svc, churn):
        objects.setdefault(obj.KIND, {})[obj.name] = obj.to_dict()
    project = Project("demo", Path("/repo"), "data/registry.json", "memory:")
    return Catalog.of(project, objects, 3)


def test_model_refs_name_an_alias_or_a_version_in_ascii_digits() -> None:
    assert parse_model_ref("churn@Production") == ("churn", "Production", None)
    assert parse_model_ref("churn/10") == ("churn", None, 10)
    # str.isdigit() accepts these, int() does not: they were an internal error (exit 3)
    for ref in ("churn/\u00b2", "churn/\u0663", "churn/1\u00b2", "churn/", "churn/-1", "churn/ 1"):
        with pytest.raises(UsageError, match="the version must be a number"):
            parse_model_ref(ref)


def test_model_version_and_feature_lookups() -> None:
    objects = catalog()
    assert objects.model_version("churn@Production")[:2] == ("churn", "Production")
    assert objects.model_version("churn@Production")[2]["version"] == 10
    assert objects.model_version("churn/2")[2]["version"] == 2
    assert objects.feature(" stats:conv ") == ("stats", "conv")


@pytest.mark.parametrize(
    ("call", "message", "hint"),
    [
        (lambda c: c.model_version("churn@Prodution"), "model 'churn' has no alias 'Prodution'", "did you mean 'Production'?"),
        (lambda c: c.model_version("churn@Staging"), "model 'churn' has no alias 'Staging'", "its aliases: Production"),
        (lambda c: c.model_version("churn/3"), "model 'churn' has no version 3", "its versions: 1, 2, 10"),
        (lambda c: c.model_version("chrun/1"), "model 'chrun' is not in the registry data/registry.json (version 3)", "did you mean 'churn'?"),
        (lambda c: c.feature("stats:cnv"), "view 'stats' has no feature 'cnv'", "did you mean 'conv'?"),
        (lambda c: c.feature("stats:zzz"), "view 'stats' has no feature 'zzz'", "its features: conv"),
        (lambda c: c.feature("stats"), "feature reference 'stats' is not view:feature", "e.g."),
        (lambda c: c.get("FeatureService", "zzz"), "feature service 'zzz' is not in the registry", "applied FeatureService objects: svc"),
        (lambda c: c.get("Entity", "zzz", "entity"), "entity 'zzz' is not in the registry", "applied Entity objects: driver"),
    ],
)
def test_unknown_names_say_what_there_is(call: Callable[[Catalog], object], message: str, hint: str) -> None:
    with pytest.raises(UsageError) as error:
        call(catalog())
    assert message in error.value.message
    assert hint in (error.value.hint or "")
