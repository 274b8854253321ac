"""A fuzzer against the real ``fsctl serve``: schemathesis reads ``/openapi.json`` and sends
schema-valid and schema-invalid requests to every operation (reads, health, and the write
endpoints, enabled with a token), checking that

* no response is a 5xx (``not_a_server_error``);
* every status is one the document lists for the operation (``status_code_conformance``),
  and every body matches the schema listed for it (``response_schema_conformance``);
* a body the schema refuses is refused, with a 4xx (``negative_data_rejection``): the schema
  is no looser than the server;
* a body the schema accepts is never refused for its shape, that is with a 413 or 422
  (``positive_data_acceptance``, with 200 and the 4xx of a request fsctl cannot answer
  expected): the server is no stricter than the schema;
* the write endpoints refuse a missing or wrong token (``ignored_auth``).

Seeded and derandomized, and bounded (a few dozen cases per operation and mode), so a run
is the same every time and takes well under a minute on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.support.server import Server, serving_repo, start_server

pytestmark = pytest.mark.slow

TOKEN = "fuzz-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WRITES = ("/push", "/write-to-online-store")
OPERATIONS = [
    "GET /health",
    "POST /get-online-features",
    "POST /models/{name}/predict",
    "POST /push",
    "POST /write-to-online-store",
]
MAX_EXAMPLES = 75
SEED = 20260301
CHECKS = {
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
    # A body the schema refuses: refused with a 4xx (413 for a column over --max-entity-rows).
    "negative_data_rejection": {"enabled": True, "expected-statuses": ["400", "401", "403", "413", "422"]},
    # A schema-valid body may still name a feature, service, key or model that does not exist
    # (400, 404), lack the token (401, 403) or need features the store lacks (424); it must
    # never be refused for its shape (413, 422).
    "positive_data_acceptance": {"enabled": True, "expected-statuses": ["200", "400", "401", "403", "404", "424"]},
    "ignored_auth": {"enabled": True},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    repo = serving_repo(tmp_path_factory.mktemp("fuzz") / "example_repo")
    running = start_server(
        repo, "--enable-push", "--max-entity-rows", "20", "--no-access-log", FSCTL_PUSH_TOKEN=TOKEN
    )
    yield running
    code, stderr = running.stop()
    assert code == 0, stderr


@pytest.fixture(scope="module")
def api_schema(server: Server) -> Any:
    config = SchemathesisConfig.from_dict({"seed": SEED, "checks": CHECKS})
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)


def operations(api_schema: Any) -> dict[str, Any]:
    return {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in api_schema.get_all_operations())}


def test_every_operation_is_in_the_document(api_schema: Any) -> None:
    assert set(operations(api_schema)) == set(OPERATIONS)


CASES = [
    (operation, mode)
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (operation == "GET /health" and mode is GenerationMode.NEGATIVE)  # nothing to make invalid
]

# Names the example repo has, so that half the valid bodies reach a read or a write rather
# than stop at "no such feature" (random names almost never exist).
REFS = [f"driver_hourly_stats:{f}" for f in ("conv_rate", "acc_rate", "avg_daily_trips")] + [
    "customer_profile:current_balance"
]
SERVICES = ["driver_activity_v1", "driver_activity_v2"]
MODELS = ["churn_classifier", "churn_classifier@Challenger"]
KEYS = ["driver_id", "customer_id"]


def realistic(body: Any, data: st.DataObject) -> Any:
    """A valid body with some of its names replaced by real ones (still valid: same shapes)."""
    if not isinstance(body, dict) or not data.draw(st.booleans(), label="use real names"):
        return body
    body = dict(body)
    if "features" in body:
        body["features"] = data.draw(st.lists(st.sampled_from(REFS), min_size=1, unique=True), label="features")
    if "feature_service" in body:
        body["feature_service"] = data.draw(st.sampled_from(SERVICES), label="service")
    if "push_source_name" in body:
        body["push_source_name"] = data.draw(st.sampled_from(["driver_stats_source", "customer_profile_source"]))
    if "feature_view_name" in body:
        body["feature_view_name"] = data.draw(st.sampled_from(["driver_hourly_stats", "customer_profile"]))
    if isinstance(body.get("entities"), dict) and body["entities"]:
        values = list(body["entities"].values())
        body["entities"] = {key: values[i % len(values)] for i, key in enumerate(KEYS)}
    return body


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=[f"{o} {m.value}" for o, m in CASES])
def test_the_server_keeps_its_openapi_document(api_schema: Any, operation: str, mode: GenerationMode) -> None:
    op = operations(api_schema)[operation]
    headers = AUTH if op.path in WRITES else None

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode), data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE:
            case.body = realistic(case.body, data)
            if "name" in (case.path_parameters or {}) and data.draw(st.booleans(), label="a real model"):
                case.path_parameters["name"] = data.draw(st.sampled_from(MODELS), label="model")
        case.call_and_validate(headers=headers, timeout=30)

    fuzz()
