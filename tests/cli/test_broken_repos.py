"""`fsctl validate` on broken repos: exit 1, no traceback, one clear message per problem.

The repos are the corpus in ``tests/corpus/broken.py``. For each case, the file at
fault (relative to the repo), the object at fault and a key word of the problem must
appear together on one line of the output. The repo is written to ``tmp_path/repo``
and fsctl runs from ``tmp_path``, so a path relative to the working directory
(``repo/views.yaml``) or an absolute path does not count as naming the file.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_corpus() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "corpus" / "broken.py"
    spec = importlib.util.spec_from_file_location("fsctl_tests_corpus_broken", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()


def validate(repo: Path) -> subprocess.CompletedProcess[str]:
    # No FSCTL_DEBUG (it would print tracebacks), no FSCTL_REGISTRY, and the corpus's
    # "unset" variable really unset.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSCTL_")}
    env.pop(corpus.UNSET_VAR, None)
    return subprocess.run(
        [sys.executable, "-m", "fsctl", "validate", "--repo", str(repo)],
        capture_output=True,
        text=True,
        env=env,
        cwd=repo.parent,
        timeout=120,
    )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def test_corpus_is_large_enough() -> None:
    ids = [case.id for case in corpus.CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids), "case ids must be unique"
    for case in corpus.CASES:
        assert len(case.expect) >= 2, f"{case.id}: expect at least the file and the object"


def test_baseline_repo_is_valid(make_repo) -> None:
    """Every case breaks a valid repo, so what fails is what the case changed."""
    result = validate(make_repo(corpus.baseline()))
    assert result.returncode == 0, _report(result)


@pytest.mark.parametrize("case", corpus.CASES, ids=[case.id for case in corpus.CASES])
def test_broken_repo(case, make_repo) -> None:
    repo = make_repo(case.files)
    result = validate(repo)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, _report(result)
    assert result.returncode == 1, _report(result)
    unmet = corpus.missing(output, case.expect, str(repo))
    assert not unmet, (
        f"no line of the output names all of {case.expect}; the closest misses {unmet}"
        + (f" ({case.why})" if case.why else "")
        + "\n"
        + _report(result)
    )


def test_all_problems_in_all_files_reported_in_one_run(make_repo) -> None:
    repo = make_repo(corpus.MULTI_PROBLEM_REPO)
    result = validate(repo)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, _report(result)
    assert result.returncode == 1, _report(result)

    lines = corpus.normalize(output, str(repo)).splitlines()
    found: dict[tuple[str, ...], int] = {}
    for problem in corpus.MULTI_PROBLEMS:
        at = [i for i, line in enumerate(lines) if not corpus.missing(line, list(problem))]
        assert at, f"problem {problem} is not reported on one line\n{_report(result)}"
        found[problem] = at[0]
    expected = len(corpus.MULTI_PROBLEMS)
    assert len(set(found.values())) == expected, f"each problem on its own line: {found}\n{_report(result)}"
    # If the output states how many problems it found, that count is right.
    counts = [int(n) for n in re.findall(r"\b(\d+) (?:problems?|errors?)\b", output)]
    assert all(n == expected for n in counts), (
        f"expected {expected} problems, output says {counts}\n{_report(result)}"
    )
