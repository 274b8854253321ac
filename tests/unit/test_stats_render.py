"""``fsctl stats`` rendering (fsctl.render.stats): the rich version says what the plain text
says (with block bars and colours) and never trips over rich markup in data; the JSON keys;
and the ``stats:`` section of fsctl.yaml."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import pytest

from fsctl.definitions.config import StatsConfig, repo_config
from fsctl.errors import ConfigError
from fsctl.render import render
from fsctl.render.stats import quantile_label
from fsctl.results.stats import Baseline, Bin, DriftBin, FeatureDrift, FeatureSummary, StatsReport


def _report() -> StatsReport:
    x = FeatureSummary(
        "x", "float64", "numeric", count=10, nulls=1, min=0.0, max=2.0, mean=1.0, std=0.5, distinct=9,
        quantiles=((0.01, 0.0), (0.5, 1.0), (0.999, 2.0)),
        histogram=(Bin(0.0, 1.0, 6), Bin(1.0, 2.0, 3)),
    )  # fmt: skip
    city = FeatureSummary(
        "city", "string", "categorical", count=10, nulls=0, min="[bold]", max="z", distinct=3,
        top=(("[bold]", 5), ("[/]", 3)),
    )  # fmt: skip
    return StatsReport(
        kind="view",
        name="v[1]",
        location="/data/[x].parquet",
        rows=10,
        features=(x, city),
        start=datetime(2026, 1, 1, tzinfo=timezone.utc),
        baseline=Baseline("window", rows=20, end=datetime(2026, 1, 1, tzinfo=timezone.utc), features=(x,)),
        drift={
            "x": FeatureDrift(0.3, "high", "quantile bins", (DriftBin("< 1", 0.5, 0.6),)),
            "city": FeatureDrift(None, "n/a", note="not in the baseline"),
        },
        notes=["a [note]"],
    )


def test_rich_output_is_the_text_with_colours_and_block_bars() -> None:
    from rich.console import Console

    report = _report()
    text = render(report, "text")
    console = Console(width=300, record=True, file=io.StringIO(), color_system="truecolor")
    console.print(render(report, "rich"), end="", soft_wrap=True)
    shown = console.export_text()
    assert shown.rstrip("\n") == text.replace("#", "█")
    assert "[bold]" in text and "  [/]  " in text  # data that looks like markup is shown as it is
    assert "high drift: x" in text and "HIGH" in text
    assert "(other)  " in text  # 10 - 5 - 3 values not among the top


def test_json_keys() -> None:
    data = json.loads(render(_report(), "json"))
    assert list(data) == ["format", "subject", "window", "rows", "features", "baseline", "thresholds", "drifted", "notes"]
    x = data["features"][0]
    assert list(x) == [
        "name", "dtype", "kind", "count", "nulls", "null_fraction", "distinct", "min", "max", "mean", "std",
        "quantiles", "histogram", "top", "drift",
    ]  # fmt: skip
    assert x["quantiles"] == {"p01": 0.0, "p50": 1.0, "p99.9": 2.0}
    assert x["drift"] == {
        "psi": 0.3, "level": "high", "method": "quantile bins",
        "bins": [{"label": "< 1", "baseline": 0.5, "current": 0.6}], "note": None,
    }  # fmt: skip
    assert data["window"] == {"start": "2026-01-01T00:00:00Z", "end": None}
    assert data["baseline"]["end"] == "2026-01-01T00:00:00Z" and data["drifted"] == {"high": ["x"], "moderate": []}


def test_quantile_labels() -> None:
    assert [quantile_label(q) for q in (0.01, 0.05, 0.1, 0.5, 0.99, 0.999, 0.07)] == [
        "p01", "p05", "p10", "p50", "p99", "p99.9", "p07",
    ]  # fmt: skip


def test_the_stats_section_of_fsctl_yaml() -> None:
    assert repo_config({"project": "p"}).stats == StatsConfig(0.1, 0.25, 10)
    config = repo_config({"project": "p", "stats": {"psi_warn": 0.2, "psi_fail": 1, "bins": 20}})
    assert config.stats == StatsConfig(0.2, 1.0, 20)
    with pytest.raises(ConfigError) as caught:
        repo_config({"project": "p", "stats": {"psi_warn": "high", "bin": 3}})
    assert "field 'stats.bin': unknown field" in caught.value.message
    assert "field 'stats.psi_warn': must be a number" in caught.value.message
    with pytest.raises(ConfigError, match=r"field 'stats.bins': must be between 1 and 1000, got 0"):
        repo_config({"project": "p", "stats": {"bins": 0}})
