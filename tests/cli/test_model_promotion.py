"""A model's life through plan and apply (issue 12, items 4-6), with the real ``fsctl`` in a
subprocess and a real scikit-learn model: train on a training set from example_repo, add the
model as a new version, stage it, materialize, promote it to Production with every promotion
gate passing (after a failing metrics gate blocked it), then see a later breaking change of a
feature it reads blocked with the chain to Production."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_fsctl
from tests.support.example import ANCHOR

pytestmark = pytest.mark.slow

FEATURES = ["conv_rate", "acc_rate", "avg_daily_trips", "current_balance", "avg_passenger_count"]


def ok(*args: str) -> str:
    result = run_fsctl(*args)
    assert result.returncode == 0, f"fsctl {' '.join(args)} -> {result.returncode}\n{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def train(repo: Path) -> tuple[Path, float]:
    """A LogisticRegression on the training set of driver_activity_v2 (label: entities.csv's
    ``churned``), saved with joblib; its AUC on a held-out split."""
    import joblib
    import pyarrow.parquet as pq
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    out = repo / "data" / "training.parquet"
    ok(
        "historical", "--repo", str(repo), "--entities", str(repo / "data" / "entities.csv"),
        "--service", "driver_activity_v2", "--output", str(out),
    )  # fmt: skip
    table = pq.read_table(out).to_pydict()
    rows = [[0.0 if table[f][i] is None else float(table[f][i]) for f in FEATURES] for i in range(len(table["churned"]))]
    labels = [int(v) for v in table["churned"]]
    assert len(rows) >= 20 and 0 < sum(labels) < len(labels)
    x_train, x_test, y_train, y_test = train_test_split(rows, labels, test_size=0.4, random_state=0, stratify=labels)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    auc = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
    path = repo / "models" / "churn-3.joblib"
    path.parent.mkdir()
    joblib.dump(model, path)
    return path, round(auc, 4)


def test_train_stage_materialize_promote_then_a_breaking_change_is_blocked(example_repo: Path) -> None:
    repo = str(example_repo)
    models = example_repo / "models.yaml"
    # the customer view declares a freshness: the gate compares its newest online event (as
    # `fsctl status` does), which the test data (anchored in January 2026) keeps within 10 years
    edit(example_repo / "customer.yaml", "online: true\n", "online: true\nfreshness: 3650d\n")
    ok("apply", "--yes", "--repo", repo)

    artifact, auc = train(example_repo)
    edit(
        models,
        "aliases: {Production: 1, Challenger: 2}",
        "  - version: 3\n"
        f"    uri: file://{artifact}\n"
        "    feature_service: driver_activity_v2\n"
        "    description: Logistic regression on driver_activity_v2\n"
        f"    metrics: {{auc: {auc}}}\n"
        "aliases: {Production: 1, Challenger: 2, Staging: 3}\n"
        f"gates: {{min_metrics: {{auc: {auc + 0.01:.4f}}}}}",
    )
    ok("apply", "--yes", "--repo", repo)  # Staging is not protected: no gates yet
    # up to the end of the test data, so the online store holds its rows (materializing up to
    # now would load nothing: the views' TTL windows end in 2026-12, their data in 2026-01)
    ok("materialize-incremental", ANCHOR.strftime("%Y-%m-%dT%H:%M:%S"), "--repo", repo)

    # Production onto version 3 while gates.min_metrics asks for more than its real AUC: blocked
    edit(models, "aliases: {Production: 1, Challenger: 2, Staging: 3}", "aliases: {Production: 3, Challenger: 2, Staging: 3}")
    blocked = run_fsctl("plan", "--repo", repo)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "Traceback" not in blocked.stderr
    least = float(f"{auc + 0.01:.4f}")
    assert f"  fail     min_metrics: auc {auc:g} < {least:g}" in blocked.stdout, blocked.stdout
    assert "x Model churn_classifier: promotion of version 3 to Production fails its gates: min_metrics (fail)" in blocked.stdout, blocked.stdout
    assert (
        "           fix: promote a version whose metrics meet gates.min_metrics of Model churn_classifier; "
        "or, on purpose, --allow-breaking Model/churn_classifier --reason TEXT"
    ) in blocked.stdout
    refused = run_fsctl("apply", "--yes", "--repo", repo)  # apply refuses it, naming the gate and its fix
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "gate min_metrics of churn_classifier/3 -> Production" in refused.stderr

    # with a threshold it meets, every gate passes and the move applies
    edit(models, f"gates: {{min_metrics: {{auc: {auc + 0.01:.4f}}}}}", f"gates: {{min_metrics: {{auc: {auc - 0.01:.4f}}}}}")
    text = ok("plan", "--repo", repo)
    assert "  ~ churn_classifier: Production 1 -> 3  [alias move, protected: promotion gates below]" in text, text
    assert "Promotion gates: churn_classifier version 3 -> Production (moved from version 1):" in text
    plan = json.loads(ok("plan", "--repo", repo, "--format", "json"))
    gates = {g["name"]: g for g in plan["gates"]}
    assert sorted(gates) == ["freshness", "metadata", "min_metrics", "signature", "version"]
    assert all(g["status"] == "pass" and (g["model"], g["alias"], g["version"]) == ("churn_classifier", "Production", 3) for g in gates.values()), gates
    assert "customer_profile newest online event" in gates["freshness"]["detail"]
    assert "within its freshness 3650d (materialized up to" in gates["freshness"]["detail"]
    assert [f["path"] for c in plan["changes"] for f in c["fields"]] == ["aliases.Production", "gates.min_metrics.auc"]
    assert plan["blocked"] == []
    markdown = ok("plan", "--repo", repo, "--format", "markdown")
    assert "| ~ alias move | Model `churn_classifier`: Production 1 -> 3 | non-breaking |" in markdown
    assert "**Approvals needed:** ranking-team@example.com (Model churn_classifier)" in markdown
    ok("apply", "--yes", "--repo", repo)
    registry = json.loads((example_repo / "data" / "registry.json").read_text())
    assert registry["objects"]["Model"]["churn_classifier"]["aliases"]["Production"] == 3

    # later, a dtype change of a feature version 3 reads: blocked, naming the chain to Production
    edit(example_repo / "customer.yaml", "{name: avg_passenger_count, dtype: float64}", "{name: avg_passenger_count, dtype: float32}")
    result = run_fsctl("plan", "--repo", repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stdout + result.stderr
    chain = (
        "      chain: customer_profile.avg_passenger_count dtype float64 -> float32 => driver_activity_v2 "
        "=> churn_classifier/3 => Production (protected)"
    )
    assert chain in result.stdout, result.stdout
    lines = result.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("      chain: "))
    assert lines[first] == chain  # production impact first
    refused = run_fsctl("apply", "--yes", "--repo", repo)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert (
        "chain: customer_profile.avg_passenger_count dtype float64 -> float32 -> driver_activity_v2 "
        "-> churn_classifier/3 -> Production"
    ) in refused.stderr
