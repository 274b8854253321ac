"""The DynamoDB online store, for serving from AWS (``online_store: {type: dynamodb}``).

Each online view is a table ``{table_prefix}{project}__{view}`` (on-demand capacity) with
partition key ``k`` (the encoded entity key, a string) and attributes ``event_ts`` and
``created_ts`` (numbers, ``created_ts`` absent when null) and ``vals`` (the JSON text of
:mod:`fsctl.online.codec`). Writes are conditional puts, so the never-older rule is checked
by DynamoDB itself; a failed condition means the stored record was newer and is kept.
Reads are ``BatchGetItem`` calls of 100 keys, retrying unprocessed keys.

Credentials, region and endpoint come from the standard AWS chain (``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_DYNAMODB`` included) unless ``endpoint_url`` is set. Timeouts are short,
so an endpoint that does not answer fails in seconds with one clear message.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fsctl.definitions.config import PortConfig
from fsctl.errors import StoreError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.codec import codec_for
from fsctl.online.format import StoredRecord, encode_key
from fsctl.storage.aws import error_code, transport_error

_THREADS = 8
_BATCH_GET = 100
_UNPROCESSED_RETRIES = 8
_ACCESS_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
}
# The never-older rule as a DynamoDB condition, for an incoming created time and for a null one.
_NEWER_THAN_STORED = (
    "attribute_not_exists(k) OR event_ts < :e OR "
    "(event_ts = :e AND (attribute_not_exists(created_ts) OR created_ts <= :c))"
)
_NEWER_THAN_STORED_NULL_CREATED = (
    "attribute_not_exists(k) OR event_ts < :e OR (event_ts = :e AND attribute_not_exists(created_ts))"
)


class DynamoDBOnlineStore:
    """Online views as DynamoDB tables named ``{table_prefix}{project}__{view}``."""

    def __init__(
        self,
        region: str = "us-east-1",
        table_prefix: str = "fsctl_",
        endpoint_url: str | None = None,
        *,
        client: Any = None,
    ) -> None:
        self.region = region
        self.table_prefix = table_prefix
        self.endpoint_url = endpoint_url
        where = f" at {endpoint_url}" if endpoint_url else ""
        self.location = f"dynamodb {region} tables {table_prefix}*{where}"
        self._client = client
        self._client_lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(
                    connect_timeout=5,
                    read_timeout=10,
                    retries={"max_attempts": 3, "mode": "standard"},
                    max_pool_connections=_THREADS * 2,
                )
                kwargs: dict[str, Any] = {"region_name": self.region, "config": config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                self._client = boto3.client("dynamodb", **kwargs)
            return self._client

    def table(self, project: str, view: str) -> str:
        return f"{self.table_prefix}{project}__{view}"

    def _fail(self, exc: BaseException, action: str, table: str | None) -> StoreError:
        """Turn a botocore error into one message naming the table and what to check."""
        from botocore.exceptions import ClientError

        where = f"DynamoDB table {table}" if table else f"DynamoDB tables {self.table_prefix}*"
        head = f"cannot {action} {where} ({self.region})"
        common = transport_error(
            exc,
            head,
            region_hint="set online_store.region in fsctl.yaml",
            endpoint_hint="check the network, any proxy, online_store.endpoint_url and "
            "AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB",
            service="DynamoDB",
            endpoint_url=self.endpoint_url,
        )
        if common is not None:
            return StoreError(common[0], hint=common[1])
        if isinstance(exc, ClientError):
            code = error_code(exc)
            message = exc.response.get("Error", {}).get("Message", "") or code
            if code == "ResourceNotFoundException" and table:
                return StoreError(
                    f"{head}: the table does not exist",
                    hint="run `fsctl apply` to create the table, then `fsctl materialize` to load it",
                )
            if code in _ACCESS_CODES:
                return StoreError(
                    f"{head}: access denied ({code}): {message}",
                    hint="check the credentials in use and that their policy allows dynamodb actions "
                    f"on tables {self.table_prefix}*",
                )
            if code in (
                "ProvisionedThroughputExceededException",
                "ThrottlingException",
                "RequestLimitExceeded",
            ):
                return StoreError(
                    f"{head}: throttled ({code})", hint="retry later, or raise the account limits"
                )
            return StoreError(f"{head}: {code}: {message}")
        return StoreError(f"{head}: {type(exc).__name__}: {exc}")

    def _call(self, action: str, table: str | None, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, action, table) from None

    # -- tables -----------------------------------------------------------------------

    def create(self, view: OnlineView) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, WaiterError

        table = self.table(view.project, view.name)
        try:
            try:
                status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                status = None
            if status == "ACTIVE":
                return
            if status == "DELETING":  # a teardown elsewhere: create anew once it is gone
                self.client.get_waiter("table_not_exists").wait(
                    TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
                )
                status = None
            if status is None:
                try:
                    self.client.create_table(
                        TableName=table,
                        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                        BillingMode="PAY_PER_REQUEST",
                    )
                except ClientError as exc:
                    if error_code(exc) != "ResourceInUseException":  # created meanwhile by someone else
                        raise
            self.client.get_waiter("table_exists").wait(
                TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
            )
        except WaiterError as exc:
            raise StoreError(
                f"DynamoDB table {table} ({self.region}) did not become active: {exc}",
                hint="check the table in the AWS console, then run `fsctl apply` again",
            ) from None
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "create", table) from None

    def drop(self, project: str, view: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, WaiterError

        table = self.table(project, view)
        try:
            for _ in range(300):
                try:
                    self.client.delete_table(TableName=table)
                    break
                except ClientError as exc:
                    if error_code(exc) == "ResourceNotFoundException":
                        return
                    if error_code(exc) != "ResourceInUseException":
                        raise
                # Being created or updated (delete once that is done), or being deleted already.
                try:
                    status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
                except ClientError as exc:
                    if error_code(exc) == "ResourceNotFoundException":
                        return
                    raise
                if status == "DELETING":
                    break
                time.sleep(1)
            self.client.get_waiter("table_not_exists").wait(
                TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
            )
        except WaiterError as exc:
            raise StoreError(
                f"DynamoDB table {table} ({self.region}) was not deleted in time: {exc}"
            ) from None
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "delete", table) from None

    def views(self, project: str) -> set[str]:
        prefix = self.table(project, "")
        names: set[str] = set()
        kwargs: dict[str, Any] = {}
        while True:
            page = self._call("list", None, "list_tables", **kwargs)
            for name in page.get("TableNames", []):
                rest = name[len(prefix) :]
                # View names never contain '__', so this cannot be another project's table.
                if name.startswith(prefix) and rest and "__" not in rest:
                    names.add(rest)
            if not page.get("LastEvaluatedTableName"):
                return names
            kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]

    # -- records ----------------------------------------------------------------------

    def write(self, view: OnlineView, rows: Sequence[StoredRecord]) -> int:
        table = self.table(view.project, view.name)
        items = list(rows)
        if not items:
            return 0
        client = self.client
        stop = threading.Event()

        def put_all(part: list[StoredRecord]) -> int:
            from botocore.exceptions import BotoCoreError, ClientError

            stored = 0
            for key, event_ts, created_ts, vals in part:
                if stop.is_set():
                    break
                item: dict[str, Any] = {
                    "k": {"S": key},
                    "event_ts": {"N": str(event_ts)},
                    "vals": {"S": vals},
                }
                values: dict[str, Any] = {":e": {"N": str(event_ts)}}
                if created_ts is None:
                    condition = _NEWER_THAN_STORED_NULL_CREATED
                else:
                    condition = _NEWER_THAN_STORED
                    item["created_ts"] = {"N": str(created_ts)}
                    values[":c"] = {"N": str(created_ts)}
                try:
                    client.put_item(
                        TableName=table,
                        Item=item,
                        ConditionExpression=condition,
                        ExpressionAttributeValues=values,
                    )
                    stored += 1
                except ClientError as exc:
                    if error_code(exc) == "ConditionalCheckFailedException":
                        continue  # the stored record is newer: kept, as the contract says
                    stop.set()
                    raise self._fail(exc, "write to", table) from None
                except BotoCoreError as exc:
                    stop.set()
                    raise self._fail(exc, "write to", table) from None
            return stored

        threads = min(_THREADS, len(items))
        parts = [items[i::threads] for i in range(threads)]
        if threads == 1:
            return put_all(parts[0])
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fsctl-dynamodb") as pool:
            futures = [pool.submit(put_all, part) for part in parts]
            return sum(f.result() for f in futures)

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        table = self.table(view.project, view.name)
        codec = codec_for(view)
        encoded = [encode_key(key) for key in keys]
        unique = list(dict.fromkeys(encoded))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(unique), _BATCH_GET):
            self._batch_get(table, unique[start : start + _BATCH_GET], found)
        out: list[OnlineRecord | None] = []
        for key, text in zip(keys, encoded, strict=True):
            item = found.get(text)
            if item is None:
                out.append(None)
                continue
            created = item.get("created_ts")
            out.append(
                OnlineRecord(
                    tuple(key),
                    int(item["event_ts"]["N"]),
                    None if created is None else int(created["N"]),
                    codec.decode(item["vals"]["S"]),
                )
            )
        return out

    def _batch_get(self, table: str, keys: list[str], found: dict[str, dict[str, Any]]) -> None:
        request: dict[str, Any] = {table: {"Keys": [{"k": {"S": k}} for k in keys]}}
        for attempt in range(_UNPROCESSED_RETRIES + 1):
            response = self._call("read from", table, "batch_get_item", RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[item["k"]["S"]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return
            time.sleep(min(0.05 * 2**attempt, 2.0))
        raise StoreError(
            f"cannot read from DynamoDB table {table} ({self.region}): keys stayed unprocessed "
            f"after {_UNPROCESSED_RETRIES} retries (throttled)",
            hint="retry later, or check the table's capacity and the account limits",
        )

    def sync(self) -> None:
        pass  # DynamoDB acknowledges a write once it is durable

    def close(self) -> None:
        self._client = None


@dataclass(frozen=True)
class DynamoDBOnlineStoreConfig(PortConfig):
    """``online_store: {type: dynamodb, region, table_prefix, endpoint_url}``."""

    type: str = "dynamodb"
    region: str = "us-east-1"
    table_prefix: str = "fsctl_"
    endpoint_url: str | None = None

    def identity(self, root: Path) -> str:
        """``dynamodb:{region}/{table_prefix}``, plus ``@endpoint`` when the tables are not
        on AWS (``endpoint_url``, else ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL``,
        the endpoint boto3 uses). The AWS account is not part of it: keep one registry per
        account, so each has its own record of its store."""
        endpoint = (
            self.endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        where = f"dynamodb:{self.region}/{self.table_prefix}"
        if not endpoint:
            return where
        parts = urlsplit(endpoint)
        host = parts.netloc.rpartition("@")[2]  # never a user or password
        return f"{where}@{urlunsplit(parts._replace(netloc=host)).rstrip('/')}"

def create_store(config: DynamoDBOnlineStoreConfig, root: Path) -> DynamoDBOnlineStore:
    return DynamoDBOnlineStore(region=config.region, table_prefix=config.table_prefix, endpoint_url=config.endpoint_url)
