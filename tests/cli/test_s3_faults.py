"""An S3 registry that cannot be used: every fault is exit 1, one clear message, no write.

Faults: a bucket that does not exist, credentials the server refuses (a moto server with
IAM auth switched on), access denied (a local stub answering 403 AccessDenied), read-only
credentials, no credentials at all, an endpoint that is down or never answers (must fail
fast), and an object at the key that is not an fsctl registry (left byte-for-byte
untouched). Plus the happy path: plan / apply / saved plan / registry history, show and
diff on S3.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import fsctl_env
from tests.support.s3 import endpoint_env, free_port, s3_client

pytestmark = pytest.mark.slow

KEY = "teams/demo/registry.json"
ENTITY = "kind: Entity\nname: driver\njoin_keys: [driver_id]\n"
SOURCE = "kind: FileSource\nname: src\npath: data/none.parquet\n"
VIEW = (
    "kind: FeatureView\nname: stats\nentities: [driver]\nsource: src\nttl: 2d\n"
    "schema:\n  - {name: conv_rate, dtype: float64}\n"
)
CUSTOMER = "kind: Entity\nname: customer\njoin_keys: [customer_id]\n"


def aws_env(server_env: dict[str, str], **extra: str) -> dict[str, str]:
    """fsctl_env without any AWS_* of the machine running the tests, plus ``server_env``."""
    env = {k: v for k, v in fsctl_env().items() if not k.startswith("AWS_")}
    env.update(server_env)
    env.update(extra)
    return env


def fsctl(
    repo: Path, env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fsctl", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_clear_failure(result: subprocess.CompletedProcess[str], *needles: str, hint: bool = True) -> None:
    """Exit 1, one error message (with a hint of what to check) naming ``needles``, no traceback."""
    shown = f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 1, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert "internal error" not in result.stderr, shown
    assert result.stderr.count("error:") == 1, shown
    assert not hint or "hint:" in result.stderr, shown
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in the message\n{shown}"


@pytest.fixture
def repo(write_repo) -> Path:
    return write_repo({"fsctl.yaml": "project: demo\n", "defs.yaml": "---\n".join([ENTITY, SOURCE, VIEW])})


# --- faults on the moto server ---------------------------------------------------------------


def test_bucket_that_does_not_exist(s3_server, repo):
    bucket = f"no-such-bucket-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    uri = f"s3://{bucket}/{KEY}"
    env = aws_env(s3_server.env)
    for command in (["plan"], ["apply", "--yes"], ["registry", "history"]):
        result = fsctl(repo, env, *command, "--registry", uri)
        assert_clear_failure(result, uri, f"bucket '{bucket}' does not exist")
    names = [b["Name"] for b in s3_server.client().list_buckets().get("Buckets", [])]
    assert bucket not in names  # nothing created


def test_no_credentials_at_all(s3_server, repo, tmp_path):
    bucket = s3_server.new_bucket()
    uri = f"s3://{bucket}/{KEY}"
    empty = tmp_path / "empty-aws-file"
    empty.write_text("", encoding="utf-8")
    env = aws_env(
        {
            "AWS_ENDPOINT_URL": s3_server.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        HOME=str(tmp_path),
    )
    for command in (["plan"], ["apply", "--yes"]):
        started = time.perf_counter()
        result = fsctl(repo, env, *command, "--registry", uri)
        assert_clear_failure(result, uri, "no AWS credentials", "AWS_PROFILE")
        assert time.perf_counter() - started < 15
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\x00\x01\xfe\xff not json at all", id="binary"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"hello": "world"}', id="json-object"),
        pytest.param(b"[1, 2, 3]", id="json-array"),
        pytest.param(b'{"format_version": 1, "version": "three", "objects": {}}', id="bad-version"),
    ],
)
def test_object_that_is_not_a_registry_is_left_untouched(s3_server, repo, body):
    bucket = s3_server.new_bucket()
    uri = f"s3://{bucket}/{KEY}"
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key=KEY, Body=body)
    etag = client.head_object(Bucket=bucket, Key=KEY)["ETag"]
    env = aws_env(s3_server.env)
    for command in (["plan"], ["apply", "--yes"]):
        result = fsctl(repo, env, *command, "--registry", uri)
        assert_clear_failure(result, uri, "not a valid fsctl registry")
        assert "Applied" not in result.stdout
    assert client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == body
    assert client.head_object(Bucket=bucket, Key=KEY)["ETag"] == etag
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [KEY]  # no history copy, no temp object, nothing else


def test_registry_of_a_newer_format_is_not_overwritten(s3_server, repo):
    bucket = s3_server.new_bucket()
    uri = f"s3://{bucket}/{KEY}"
    client = s3_server.client()
    body = json.dumps(
        {"format_version": 99, "project": "demo", "version": 7, "objects": {}, "history": []}
    ).encode()
    client.put_object(Bucket=bucket, Key=KEY, Body=body)
    result = fsctl(repo, aws_env(s3_server.env), "apply", "--yes", "--registry", uri)
    assert_clear_failure(result, uri, "format version 99", "upgrade fsctl")
    assert client.get_object(Bucket=bucket, Key=KEY)["Body"].read() == body


def test_endpoint_that_is_down_fails_fast(repo):
    port = free_port()  # nothing listens there
    uri = f"s3://some-bucket/{KEY}"
    env = aws_env(endpoint_env(f"http://127.0.0.1:{port}"))
    for command in (["plan"], ["apply", "--yes"]):
        started = time.perf_counter()
        result = fsctl(repo, env, *command, "--registry", uri, timeout=60)
        elapsed = time.perf_counter() - started
        assert_clear_failure(result, uri, "cannot be reached", f"127.0.0.1:{port}", "AWS_ENDPOINT_URL")
        assert elapsed < 10, f"took {elapsed:.1f}s to give up on a closed port"


BLACKHOLE_BUDGET_SECONDS = 25


def test_endpoint_that_never_answers_fails_fast_with_a_hint(repo):
    """An endpoint that accepts connections but never answers (a firewall, a wrong port behind
    a load balancer): fsctl must give up within a bounded time with a message saying what to check."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes the handshakes; nobody ever reads or answers
        port = listener.getsockname()[1]
        uri = f"s3://some-bucket/{KEY}"
        env = aws_env(endpoint_env(f"http://127.0.0.1:{port}"))
        started = time.perf_counter()
        try:
            result = fsctl(repo, env, "plan", "--registry", uri, timeout=BLACKHOLE_BUDGET_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"fsctl plan was still waiting on an endpoint that never answers after "
                f"{BLACKHOLE_BUDGET_SECONDS}s"
            )
        elapsed = time.perf_counter() - started
    assert_clear_failure(result, uri, f"127.0.0.1:{port}", "AWS_ENDPOINT_URL")
    assert elapsed < BLACKHOLE_BUDGET_SECONDS


# --- credentials the server refuses: a private moto server with IAM auth on --------------------


class AuthMoto:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def set_auth(self, on: bool) -> None:
        """moto checks credentials once ``INITIAL_NO_AUTH_ACTION_COUNT`` requests were served."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if on else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def client(self) -> Any:
        return s3_client(self.endpoint)


@pytest.fixture(scope="module")
def auth_moto(tmp_path_factory) -> Iterator[AuthMoto]:
    """A moto server in its own process (auth settings are process-wide), auth off to start."""
    port = free_port()
    log = tmp_path_factory.mktemp("auth-moto") / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "inf"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.05)
        yield AuthMoto(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_credentials_refused(auth_moto, repo):
    client = auth_moto.client()
    bucket = f"fsctl-auth-{time.monotonic_ns() % 10**9}"
    client.create_bucket(Bucket=bucket)
    uri = f"s3://{bucket}/{KEY}"
    env = aws_env(
        {
            "AWS_ENDPOINT_URL": auth_moto.endpoint,
            "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000",
            "AWS_SECRET_ACCESS_KEY": "wrong",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    auth_moto.set_auth(True)
    try:
        for command in (["plan"], ["apply", "--yes"]):
            result = fsctl(repo, env, *command, "--registry", uri)
            assert_clear_failure(result, uri, "access denied", "credentials")
    finally:
        auth_moto.set_auth(False)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


# --- access denied / read-only credentials: a stub S3 endpoint ---------------------------------


def _error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>stub</RequestId><HostId>stub</HostId></Error>"
    ).encode()


class StubS3:
    """Answers every request with a fixed error per method; records what it was asked."""

    def __init__(self, answers: dict[str, tuple[int, str, str]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _drain(self) -> None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        self.rfile.read(size + 2)
                        if size == 0:
                            break
                else:
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(self) -> None:
                self._drain()
                stub.requests.append((self.command, self.path))
                status, code, message = stub.answers.get(self.command, (403, "AccessDenied", "Access Denied"))
                body = b"" if self.command == "HEAD" else _error_xml(code, message)
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amz-request-id", "stub")
                self.end_headers()
                if body:
                    self.wfile.write(body)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer  # noqa: N815 (http.server names)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_s3() -> Iterator[Any]:
    stubs: list[StubS3] = []

    def make(answers: dict[str, tuple[int, str, str]]) -> StubS3:
        stubs.append(StubS3(answers))
        return stubs[-1]

    yield make
    for stub in stubs:
        stub.close()


def test_access_denied(stub_s3, repo):
    stub = stub_s3({})  # 403 AccessDenied for everything
    uri = f"s3://locked-bucket/{KEY}"
    for command in (["plan"], ["apply", "--yes"]):
        result = fsctl(repo, aws_env(stub.env()), *command, "--registry", uri)
        assert_clear_failure(result, uri, "access denied", "s3:GetObject")
    assert stub.requests and all(method == "GET" for method, _ in stub.requests), stub.requests


def test_read_only_credentials_plan_works_apply_fails(stub_s3, repo):
    stub = stub_s3(
        {"GET": (404, "NoSuchKey", "The specified key does not exist."), "HEAD": (404, "NoSuchKey", "")}
    )
    uri = f"s3://ro-bucket/{KEY}"
    env = aws_env(stub.env())
    planned = fsctl(repo, env, "plan", "--registry", uri)
    assert planned.returncode == 0, planned.stderr
    assert "(version 0)" in planned.stdout
    assert not [r for r in stub.requests if r[0] != "GET"]
    applied = fsctl(repo, env, "apply", "--yes", "--registry", uri)
    assert_clear_failure(applied, uri, "cannot write", "access denied", "s3:PutObject")
    assert "Applied" not in applied.stdout
    puts = [path for method, path in stub.requests if method == "PUT"]
    assert puts == [f"/ro-bucket/{KEY}"], stub.requests  # one refused write; no history copy after it


# --- the happy path on S3 ----------------------------------------------------------------------


def test_plan_apply_and_browse_round_trip_on_s3(s3_server, write_repo):
    bucket = s3_server.new_bucket()
    uri = f"s3://{bucket}/{KEY}"
    files = {
        "fsctl.yaml": f"project: demo\nregistry: {uri}\n",
        "defs.yaml": "---\n".join([ENTITY, SOURCE, VIEW]),
    }
    repo = write_repo(files)
    env = aws_env(s3_server.env)
    client = s3_server.client()

    planned = fsctl(repo, env, "plan", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    assert f"registry {uri} (version 0)" in planned.stdout and "3 to add" in planned.stdout
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # plan writes nothing

    applied = fsctl(repo, {**env, "FSCTL_ACTOR": "alice"}, "apply", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert f"Applied: registry {uri} version 0 -> 1 (3 added" in applied.stdout

    again = fsctl(repo, env, "plan", "--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr

    (repo / "defs.yaml").write_text("---\n".join([ENTITY, SOURCE, VIEW, CUSTOMER]), encoding="utf-8")
    saved = fsctl(repo, env, "plan", "--out", "plan.json")
    assert saved.returncode == 0, saved.stderr
    applied2 = fsctl(repo, {**env, "FSCTL_ACTOR": "bob"}, "apply", "plan.json", "--yes")
    assert applied2.returncode == 0, applied2.stderr
    assert "version 1 -> 2 (1 added, 0 changed, 0 deleted)" in applied2.stdout

    history = json.loads(fsctl(repo, env, "registry", "history", "--format", "json").stdout)
    assert [(h["version"], h["actor"]) for h in history] == [(1, "alice"), (2, "bob")]
    assert all({"version", "applied_at", "actor", "commit", "plan_hash"} <= set(h) for h in history)
    text = fsctl(repo, env, "registry", "history")
    assert text.returncode == 0 and "alice" in text.stdout and "bob" in text.stdout, text.stderr

    shown = fsctl(repo, env, "registry", "show", "1", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    v1 = json.loads(shown.stdout)
    assert v1["version"] == 1 and set(v1["objects"]["Entity"]) == {"driver"}
    assert set(v1["objects"]["FeatureView"]) == {"stats"}
    current = json.loads(fsctl(repo, env, "registry", "show", "--format", "json").stdout)
    assert current["version"] == 2 and set(current["objects"]["Entity"]) == {"driver", "customer"}

    diff = fsctl(repo, env, "registry", "diff", "1", "2", "--format", "json")
    assert diff.returncode == 0, diff.stderr
    changes = [(c["kind"], c["name"], c["action"]) for c in json.loads(diff.stdout)["changes"]]
    assert changes == [("Entity", "customer", "add")]
    diff_text = fsctl(repo, env, "registry", "diff", "1", "2")
    assert diff_text.returncode == 0 and "+ Entity customer" in diff_text.stdout, diff_text.stdout

    missing = fsctl(repo, env, "registry", "show", "3")
    assert_clear_failure(missing, uri, "no version 3", "versions 1..2", hint=False)

    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))
    assert keys == [KEY, f"{KEY}.history/00000001.json", f"{KEY}.history/00000002.json"]


# -- S3 sources at plan time (issue 11, item 2) ----------------------------------------------


def s3_source_repo(write_repo, path: str) -> Path:
    source = f"kind: FileSource\nname: src\npath: {path}\n"
    return write_repo({"fsctl.yaml": "project: demo\n", "defs.yaml": "---\n".join([ENTITY, source, VIEW])}, name="s3src")


def test_plan_checks_that_an_s3_source_exists_when_s3_answers(s3_server, write_repo):
    bucket = s3_server.new_bucket()
    s3_server.client().put_object(Bucket=bucket, Key="stats/part-0.parquet", Body=b"x")
    env = aws_env(s3_server.env)
    for present in (f"s3://{bucket}/stats/part-0.parquet", f"s3://{bucket}/stats/", f"s3://{bucket}/stats/*.parquet"):
        result = fsctl(s3_source_repo(write_repo, present), env, "plan")
        assert result.returncode == 0, result.stderr
        assert "not checked" not in result.stderr
    missing = fsctl(s3_source_repo(write_repo, f"s3://{bucket}/nothing/*.parquet"), env, "plan")
    assert missing.returncode == 1 and f"no object matches s3://{bucket}/nothing/*.parquet" in missing.stderr
    validate = fsctl(s3_source_repo(write_repo, f"s3://{bucket}/nothing/*.parquet"), env, "validate")
    assert validate.returncode == 0 and "is not checked here" in validate.stderr  # validate never reaches out


def test_plan_reports_an_s3_source_it_cannot_reach_as_unchecked(s3_server, write_repo):
    env = aws_env({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})  # fmt: skip
    result = fsctl(s3_source_repo(write_repo, "s3://somewhere/stats.parquet"), env, "plan")
    assert result.returncode == 0, result.stderr
    assert "s3://somewhere/stats.parquet was not checked:" in result.stderr
