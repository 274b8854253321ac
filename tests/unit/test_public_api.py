"""The public API is explicit: exactly what ``fsctl.__all__`` names, importable and lazy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fsctl
from tests.support.example import copy_example_repo

EXPECTED = {
    "Aggregation", "Entity", "FeatureService", "FeatureStore", "FeatureView", "Field", "FileSource", "Model", "ModelVersion",
    "SqlSource",
    "__version__",
}


def test_all_is_the_public_api():
    assert set(fsctl.__all__) == EXPECTED
    for name in fsctl.__all__:
        assert getattr(fsctl, name) is not None


def test_import_fsctl_and_cli_stay_light():
    code = (
        "import sys, fsctl, fsctl.cli; "
        "heavy = [m for m in ('pyarrow', 'duckdb', 'pydantic', 'yaml', 'jinja2', 'rich', 'boto3') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_feature_store_plans_and_applies(tmp_path: Path):
    repo = copy_example_repo(tmp_path / "repo")
    store = fsctl.FeatureStore(repo)
    plan = store.plan()
    assert plan.summary["add"] == 14
    result = store.apply()
    assert result.version_after == 1
    assert not store.plan().has_changes
    assert [v["name"] for v in store.list("views")] == ["customer_active_days", "customer_order_days", "customer_order_windows", "customer_profile", "driver_hourly_stats"]
    assert store.get("models", "churn_classifier")["aliases"] == {"Challenger": 2, "Production": 1}
    assert [h.version for h in store.history()] == [1]
