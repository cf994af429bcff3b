"""Starts the moto server with one request at a time, and transactions backed up by a journal.

One request at a time: moto applies a TransactWriteItems without a lock, so two concurrent
transactions can both pass their conditions (seen here: 3 of 20 concurrent creates with the
same customer number committed). DynamoDB itself never lets that happen. Serving one request
at a time gives the emulator DynamoDB's guarantee; moto is bound by one core (the GIL) either
way.

A journal instead of table copies: moto backs a transaction up by deep-copying the whole table
once for every item in it, so a 100-item transaction (an import chunk) copied a table 100
times, and a 1 000-row import grew the emulator past 20 GB and minutes per request (seen
here); even one copy per transaction made a cascade over a customer with 5 000 records take
seconds per page. The backup needs only the items the transaction names: each is copied before
the transaction and put back, with the table's stream cut back to where it was, if the
transaction is cancelled. This changes nothing that DynamoDB would observe.

ClientRequestToken honoured: moto ignores it, DynamoDB applies a TransactWriteItems repeated
with the same token (within ten minutes) only once and answers it with success; with the same
token and other parameters it answers IdempotentParameterMismatchException. The SDK repeats a
request whose answer was lost (a timeout, a dropped connection) and our functions rely on that
(tests/faults.rs loses such an answer on purpose), so the emulator keeps DynamoDB's promise.

Filters on key attributes refused: DynamoDB answers a Query whose FilterExpression names a key
attribute of the table or index it reads with a ValidationException; moto applies the filter.

Key sizes checked on reads too: moto refuses a key value past DynamoDB's limits (partition key
2048 bytes, sort key 1024 bytes) only when an item is put. DynamoDB refuses it in every request
that names a key (GetItem, UpdateItem, DeleteItem, BatchGetItem, BatchWriteItem, the items of a
transaction, a Query's key condition and ExclusiveStartKey) with a ValidationException, which
a function that lets such a value through turns into a 500; the emulator answers the same, so
tests see what production would.

One careless client cannot stop the others: connections are served on threads of their own and
each request's body is read whole there, before the request waits for its turn; a client that
announces more bytes than it sends holds only its own thread. A PUT with a form content type
(Python's urllib sends `application/x-www-form-urlencoded` by default) stores its bytes as
sent: the server would otherwise parse them as a form and moto store an empty object. S3
stores the bytes of a PUT whatever its content type.

Keep-alive on request (EMULATOR_KEEP_ALIVE=1, the benchmark's setting): werkzeug closes every
connection after its answer, so each SDK call of a function opens a new TCP connection, which
AWS does not make it do; see _KeepAliveHandler.

Faster where moto walks everything: a Query reads one partition of the table, or the items
that carry an index's key value (grouped once until the next write) instead of every item; an
item's size is checked once when it is made; the list of services is read once. Same answers.
POST policies enforced: moto stores whatever a browser-style POST upload sends, S3 checks its
policy (signature, expiry, every condition, content-length-range). The API hands out such
policies to keep uploads to one key and a size limit, so the emulator checks them as S3 does.
"""

import base64
import copy
import hashlib
import hmac
import io
import json
import os
import re
import selectors
import threading
import time
import types
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote, urlparse
from xml.sax.saxutils import escape

import moto.server as server
from moto.core import serialize as moto_serialize
from moto.core.responses import ActionResult
from moto.moto_api._internal import urls as moto_api_urls
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    DynamodbException,
    HashKeyTooLong,
    MockValidationException,
    RangeKeyTooLong,
)
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodb.models import table as dynamodb_table
from moto import backends as moto_backends
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import dynamo_type
from moto.dynamodb.models.dynamo_type import DynamoType, bytesize
from werkzeug import serving
from werkzeug.serving import WSGIRequestHandler

_run_simple = server.run_simple
# Set in a request's environment once its body has been read whole (see _KeepAliveHandler).
_BODY_READ = "emulator.body_read"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _read_body(environ):
    """The whole request body, read on the connection's own thread; None when the client
    closed the connection before sending the length it announced."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    chunks = []
    while length > 0:
        chunk = stream.read(min(length, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def _error(start_response, status, code, message):
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
        "<Message>%s</Message></Error>" % (code, escape(message))
    ).encode()
    start_response(status, [("Content-Type", "application/xml"),
                            ("Content-Length", str(len(xml)))])
    return [xml]


class _OneAtATime:
    """Moto's application, called by one thread at a time, with each body already read."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        body = _read_body(environ)
        if body is None:
            # As S3 answers a body cut short; nothing reaches moto.
            return _error(start_response, "400 Bad Request", "IncompleteBody",
                          "You did not provide the number of bytes specified by the "
                          "Content-Length HTTP header.")
        environ[_BODY_READ] = True
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        content_type = environ.get("CONTENT_TYPE", "").lower()
        if environ.get("REQUEST_METHOD") == "PUT" and content_type.startswith(_FORM_TYPES):
            environ["CONTENT_TYPE"] = "application/octet-stream"
        refusal = _post_policy_refusal(environ, body)
        if refusal is not None:
            return _error(start_response, *refusal)
        answer = {}

        def keep(status, headers, exc_info=None):
            answer["start"] = (status, headers, exc_info)
            return lambda data: answer.setdefault("written", []).append(data)

        with self.lock:
            written = _writes_of(environ)
            result = self.app(environ, keep)
            try:
                chunks = answer.get("written", []) + list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
                _refresh_groups(written)
        status, headers, exc_info = answer["start"]
        start_response(status, headers, exc_info)
        return chunks


class _KeepAliveHandler(WSGIRequestHandler):
    """Keeps a connection open after an answer (HTTP/1.1 keep-alive) once the request's body
    was read whole. Werkzeug closes every connection because it cannot drain a body the
    application left unread before the next request line; `_OneAtATime` reads every body
    first, so that danger is gone. AWS keeps connections too: with one per request, a function
    spends CPU on TCP set-up that it would not spend on AWS (the benchmark turns this on).

    Without Nagle's algorithm: werkzeug sends an answer's head and body in two writes, and on
    a kept connection the body then waits for the client's delayed ACK of the head, 40 ms on
    Linux, at every answer (AWS answers without that wait)."""

    disable_nagle_algorithm = True

    def send_header(self, keyword, value):
        drained = getattr(self, "environ", {}).get(_BODY_READ)
        if drained and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)


class _NoDrain:
    """Stands in for the selector with which werkzeug, after each answer, reads whatever the
    client sent next and throws it away (a body the application left unread): on a kept
    connection that is the next request, and the read blocks until the client goes. Every
    body has been read whole by then (`_OneAtATime`)."""

    def register(self, *args):
        pass

    def select(self, timeout=None):
        return []

    def close(self):
        pass


def _threaded_one_at_a_time(host, port, application, *args, **kwargs):
    kwargs["threaded"] = True
    if os.environ.get("EMULATOR_KEEP_ALIVE") == "1":
        kwargs["request_handler"] = _KeepAliveHandler
        serving.selectors = types.SimpleNamespace(
            DefaultSelector=_NoDrain, EVENT_READ=selectors.EVENT_READ
        )
    return _run_simple(host, port, _OneAtATime(application), *args, **kwargs)


server.run_simple = _threaded_one_at_a_time


def _post_policy_refusal(environ, body):
    """Why S3 would refuse this POST upload, as (status, code, message); None when it would
    take it, or when the request is no POST upload with a policy."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    if not environ.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data"):
        return None
    from werkzeug.wrappers import Request

    probe = dict(environ)
    probe["wsgi.input"] = io.BytesIO(body)
    request = Request(probe)
    form = {name.lower(): value for name, value in request.form.items()}
    if "policy" not in form:
        return None
    upload = request.files.get("file")
    size = len(upload.read()) if upload is not None else len(form.get("file", "").encode())
    denied = lambda why: ("403 Forbidden", "AccessDenied", "Invalid according to Policy: " + why)
    credential = form.get("x-amz-credential", "").split("/")
    if form.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or len(credential) != 5:
        return denied("the form carries no AWS4-HMAC-SHA256 credential")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "test")
    key = ("AWS4" + secret).encode()
    for part in credential[1:]:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, form["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, form.get("x-amz-signature", "")):
        return ("403 Forbidden", "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.")
    policy = json.loads(base64.b64decode(form["policy"]))
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    if expiration <= datetime.now(timezone.utc):
        return denied("Policy expired.")
    bucket = unquote(environ.get("PATH_INFO", "")).strip("/").split("/")[0]
    values = dict(form, bucket=bucket)
    named = {"policy", "x-amz-signature", "file", "bucket"}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            (name, expected), = condition.items()
            condition = ["eq", "$" + name, expected]
        operator = condition[0].lower()
        if operator == "content-length-range":
            if size < int(condition[1]):
                return ("400 Bad Request", "EntityTooSmall",
                        "Your proposed upload is smaller than the minimum allowed size")
            if size > int(condition[2]):
                return ("400 Bad Request", "EntityTooLarge",
                        "Your proposed upload exceeds the maximum allowed size")
            continue
        name = condition[1].lstrip("$").lower()
        named.add(name)
        value = values.get(name, "")
        matches = value == condition[2] if operator == "eq" else value.startswith(condition[2])
        if not matches:
            return denied("Policy Condition failed: %s" % json.dumps(condition))
    extra = sorted(n for n in form if n not in named and not n.startswith("x-ignore-"))
    if extra:
        return denied("Extra input fields: %s" % ", ".join(extra))
    return None


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's DynamoDB models: a table is not copied
    (its backup is the journal below); everything else is copied as before."""

    def deepcopy(self, value, *args, **kwargs):
        if isinstance(value, dynamodb_models.Table):
            return value
        return copy.deepcopy(value, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(copy, name)


dynamodb_models.copy = _NoTableCopies()
_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _key_of(table, op):
    """The (hash, range) key a transaction item names, as moto stores it; None if malformed
    (moto then refuses the request before writing anything)."""
    attrs = op.get("Item") or op.get("Key") or {}
    try:
        hash_value = DynamoType(attrs[table.hash_key_attr])
        range_value = (
            DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        )
    except KeyError:
        return None
    return hash_value, range_value


def _restore(table, hash_value, range_value, previous):
    if range_value is None:
        if previous is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = previous
        return
    if previous is None:
        table.items[hash_value].pop(range_value, None)
        if not table.items[hash_value]:
            table.items.pop(hash_value, None)
    else:
        table.items[hash_value][range_value] = previous


def _transact_write_items_journaled(self, transact_items, *args, **kwargs):
    journal = []
    streams = {}
    for entry in transact_items[:100]:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        key = _key_of(table, op) if table is not None else None
        if key is None:
            continue
        journal.append((table, *key, copy.deepcopy(table.get_item(*key))))
        if table.stream_shard is not None:
            streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    try:
        return _transact_write_items(self, transact_items, *args, **kwargs)
    except Exception:
        # Undo the writes moto made before the failing item, and the stream records they
        # produced: a cancelled transaction never happened, in the table or its stream.
        for table, hash_value, range_value, previous in reversed(journal):
            _restore(table, hash_value, range_value, previous)
        for shard, length in streams.values():
            del shard.items[length:]
        raise


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items_journaled

# Token -> (digest of the request's other parameters, when it was applied, an outline of its
# writes). Only applied transactions are remembered: a cancelled one wrote nothing, so
# repeating it is evaluated again, as DynamoDB does.
_IDEMPOTENCY_WINDOW_SECONDS = 600
_applied_tokens = {}
_handle_transact_write_items = DynamoHandler.transact_write_items


class _IdempotentParameterMismatch(DynamodbException):
    def __init__(self, token, applied_ago, applied, repeated):
        # DynamoDB's own message, then what a test's log needs to tell which two requests
        # met (the keys they write, no attribute values).
        super().__init__(
            ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request."
            " [emulator: token %s applied %.1f s ago to %s; now %s]"
            % (token, applied_ago, applied, repeated),
        )


def _transaction_outline(body):
    """Each write of a TransactWriteItems as `Action table key`, keys in wire form."""
    writes = []
    for item in body.get("TransactItems", []):
        for action, op in item.items():
            key = op.get("Key") or {
                name: value for name, value in op.get("Item", {}).items()
                if name in ("PK", "SK")
            }
            table = op.get("TableName")
            writes.append("%s %s %s" % (action, table, json.dumps(key, sort_keys=True)))
    return "[" + "; ".join(writes) + "]"


def _parameters_digest(body):
    others = {name: value for name, value in body.items() if name != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(others, sort_keys=True).encode()).hexdigest()


def _transact_write_items_idempotent(self):
    token = self.body.get("ClientRequestToken")
    if token is None:
        return _handle_transact_write_items(self)
    now = time.monotonic()
    for old, (_, applied_at, _) in list(_applied_tokens.items()):
        if now - applied_at > _IDEMPOTENCY_WINDOW_SECONDS:
            del _applied_tokens[old]
    digest = _parameters_digest(self.body)
    seen = _applied_tokens.get(token)
    if seen is not None:
        if seen[0] != digest:
            raise _IdempotentParameterMismatch(
                token, now - seen[1], seen[2], _transaction_outline(self.body)
            )
        return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
    outline = _transaction_outline(self.body)
    result = _handle_transact_write_items(self)
    _applied_tokens[token] = (digest, now, outline)
    return result


DynamoHandler.transact_write_items = _transact_write_items_idempotent


def _value_size(value):
    if "S" in value:
        return len(value["S"].encode())
    if "B" in value:
        return len(base64.b64decode(value["B"]))
    return 0


def _hash_keys(table, index_name=None):
    """The partition key names of the table, or of one of its indexes."""
    if index_name is None:
        return {table.hash_key_attr}
    for index in (table.global_indexes or []) + (table.indexes or []):
        if index.name == index_name:
            return {k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"}
    return set()


def _key_names(table, index_name=None):
    """The partition and sort key names of the table, or of one of its indexes."""
    if index_name is None:
        return {name for name in (table.hash_key_attr, table.range_key_attr) if name}
    for index in (table.global_indexes or []) + (table.indexes or []):
        if index.name == index_name:
            return {k["AttributeName"] for k in index.schema}
    return set()


def _check_key_values(table, values, hash_names):
    """`values`: attribute name -> DynamoDB value, as named in a key."""
    for name, value in values.items():
        if name in hash_names:
            if _value_size(value) > 2048:
                raise HashKeyTooLong
        elif _value_size(value) > 1024:
            raise RangeKeyTooLong


def _check_key(backend, table_name, key):
    table = backend.get_table(table_name)
    _check_key_values(table, key or {}, _hash_keys(table))


_TOKEN = re.compile(r"#[A-Za-z0-9_]+|:[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_.]*")
_KEYWORDS = {"AND", "BETWEEN", "begins_with"}


def _check_query(backend, body):
    table = backend.get_table(body["TableName"])
    index = body.get("IndexName")
    hash_names = _hash_keys(table, index)
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    attribute = None
    for token in _TOKEN.findall(body.get("KeyConditionExpression") or ""):
        if token.startswith(":"):
            if attribute is not None and token in values:
                _check_key_values(table, {attribute: values[token]}, hash_names)
        elif token not in _KEYWORDS:
            attribute = names.get(token, token)
    start = body.get("ExclusiveStartKey") or {}
    _check_key_values(table, start, hash_names | _hash_keys(table))
    # DynamoDB refuses a filter on the key attributes of what is queried (they belong in the
    # key condition); moto applies it.
    key_names = _key_names(table, index)
    for token in _TOKEN.findall(body.get("FilterExpression") or ""):
        name = names.get(token, token)
        if not token.startswith(":") and name in key_names:
            raise MockValidationException(
                "Filter Expression can only contain non-primary key attributes: "
                f"Primary key attribute: {name}"
            )


def _check_request(action, backend, body):
    if action in ("get_item", "delete_item", "update_item"):
        _check_key(backend, body["TableName"], body.get("Key"))
    elif action == "query":
        _check_query(backend, body)
    elif action == "batch_get_item":
        for table_name, request in (body.get("RequestItems") or {}).items():
            for key in request.get("Keys") or []:
                _check_key(backend, table_name, key)
    elif action == "batch_write_item":
        for table_name, requests in (body.get("RequestItems") or {}).items():
            for request in requests:
                key = (request.get("DeleteRequest") or {}).get("Key")
                _check_key(backend, table_name, key)
    elif action in ("transact_get_items", "transact_write_items"):
        for item in body.get("TransactItems") or []:
            for operation in item.values():
                if "Key" in operation:
                    _check_key(backend, operation["TableName"], operation["Key"])


def _checking_key_sizes(action):
    handle = getattr(DynamoHandler, action)

    def checked(self):
        _check_request(action, self.dynamodb_backend, self.body)
        return handle(self)

    return checked


for _action in (
    "get_item",
    "delete_item",
    "update_item",
    "query",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
):
    setattr(DynamoHandler, _action, _checking_key_sizes(_action))

# A Query of the table (not an index) reads the one partition it names, in key order. moto's
# walks every item of every partition of the table, sorts them with Python-level comparisons
# and works out the size of every item it passes: 0.3 s a page for a customer with 5 000
# records, in the emulator that serves one request at a time (tests/cascade_scale.rs, whose
# cascade reads some 200 such pages, spent most of its minutes there). Same answers, items,
# ScannedCount and LastEvaluatedKey included, as moto's own walk below gives them.
_ITEM_SIZE_MAX = 410 * 1024  # moto refuses bigger items (LimitedSizeDict)
_table_query = dynamodb_models.Table.query


def _table_query_of_partition(self, hash_key, range_comparison, range_objs, limit,
                              exclusive_start_key, scan_index_forward, projection_expressions,
                              index_name=None, consistent_read=False, filter_expression=None,
                              hash_key_conditions=None, range_key_conditions=None,
                              **filter_kwargs):
    if (index_name or filter_kwargs or hash_key is None or not self.range_key_attr
            or len(range_key_conditions or []) > 1):
        return _table_query(self, hash_key, range_comparison, range_objs, limit,
                            exclusive_start_key, scan_index_forward, projection_expressions,
                            index_name, consistent_read, filter_expression,
                            hash_key_conditions=hash_key_conditions,
                            range_key_conditions=range_key_conditions, **filter_kwargs)
    partition = self.items.get(hash_key) or {}
    ordered = sorted(
        (item for item in partition.values() if isinstance(item, dynamodb_models.Item)),
        key=lambda item: item.range_key.cast_value,
        reverse=not scan_index_forward,
    )
    start = 0
    if exclusive_start_key is not None:
        # moto passes over every item at or before the start key, in the order of the walk.
        after = DynamoType(exclusive_start_key.get(self.range_key_attr)).cast_value
        while start < len(ordered) and (
            ordered[start].range_key.cast_value <= after if scan_index_forward
            else ordered[start].range_key.cast_value >= after
        ):
            start += 1
    results, result_size, scanned_count, last_evaluated_key = [], 0, 0, None
    for item in ordered[start:]:
        # An item's size counts only once it could take the page past the limit.
        near_limit = result_size + _ITEM_SIZE_MAX > dynamodb_table.RESULT_SIZE_LIMIT
        if len(results) == limit or (
            near_limit and result_size + item.size() > dynamodb_table.RESULT_SIZE_LIMIT
        ):
            last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
            break
        if not range_comparison or item.range_key.compare(range_comparison, range_objs):
            results.append(item)
            result_size += item.size()
            scanned_count += 1
    results = copy.deepcopy(results)
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [item.project(projection_expressions) for item in results]
    return results, scanned_count, last_evaluated_key


dynamodb_models.Table.query = _table_query_of_partition


# A Query of a global secondary index reads only the items that carry the key value it asks
# for. moto walks every item of the table for each such Query: an import's possible-duplicate
# lookups (an e-mail, a phone) cost a walk of the whole table each, so 10 000 new customers in
# a table took 100 s, growing with the square of the table (tests/bench/imports.rs). Items are
# grouped by an index's partition key attribute once, and moto's own query then runs over the
# group instead of the table, so its answers are the same. After each write the items it named
# are looked up again and moved in the groups (cancelled transactions too: moto has restored
# their items by then); a write this does not read (tables created or deleted, say) drops every
# group. Dropping them at every write instead cost a walk of the table per lookup once an
# import's lookups (in indexes) and writes interleaved (bench-imports' round trips).
_READ_ACTIONS = {
    "GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables",
    "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups",
    "DescribeStream", "GetRecords", "GetShardIterator", "ListStreams",
}


class _Group:
    """The items of one table that carry one attribute, by its value."""

    def __init__(self, table, attribute):
        self.table, self.attribute = table, attribute
        self.items = {}  # value -> {item key: item}
        self.value_of = {}  # item key -> value
        for item in table.all_items():
            if isinstance(item, dynamodb_models.Item):
                self.place(_item_key(table, item), item)

    def place(self, key, item):
        found = item.attrs.get(self.attribute) if item is not None else None
        if found is not None:
            value = _value_key(found)
            self.items.setdefault(value, {})[key] = item
            self.value_of[key] = value

    def refresh(self, attrs):
        """Takes the item with these key attributes as the table now holds it."""
        key = _wire_key(self.table, attrs)
        old = self.value_of.pop(key, None)
        if old is not None:
            self.items[old].pop(key, None)
        try:
            hash_value = DynamoType(attrs[self.table.hash_key_attr])
            range_attr = self.table.range_key_attr
            range_value = DynamoType(attrs[range_attr]) if range_attr else None
        except (KeyError, TypeError):
            return
        self.place(key, self.table.get_item(hash_value, range_value))


# (table name, attribute) -> _Group
_groups = {}


def _writes_of(environ):
    """(table name, key or item) for each item a DynamoDB write request may change; [] for a
    read or another service; None for a write this does not read."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    service, _, action = target.partition(".")
    if not service.startswith("DynamoDB") or action in _READ_ACTIONS:
        return []
    try:
        body = json.loads(environ["wsgi.input"].getvalue() or b"{}")
    except (ValueError, AttributeError):
        return None
    if action == "PutItem":
        return [(body.get("TableName"), body.get("Item"))]
    if action in ("UpdateItem", "DeleteItem"):
        return [(body.get("TableName"), body.get("Key"))]
    if action == "BatchWriteItem":
        return [
            (table, (request.get("PutRequest") or {}).get("Item")
             or (request.get("DeleteRequest") or {}).get("Key"))
            for table, requests in (body.get("RequestItems") or {}).items()
            for request in requests
        ]
    if action == "TransactWriteItems":
        return [
            (op.get("TableName"), op.get("Item") or op.get("Key"))
            for entry in body.get("TransactItems") or []
            for kind, op in entry.items()
            if kind != "ConditionCheck"
        ]
    return None


def _refresh_groups(written):
    if written is None:
        _groups.clear()
        return
    for (table_name, _), group in _groups.items():
        for name, attrs in written:
            if name == table_name and isinstance(attrs, dict):
                group.refresh(attrs)


def _wire_key(table, attrs):
    """The key of an item as a request spells it, comparable with `_item_key`."""
    key = []
    for name in (table.hash_key_attr, table.range_key_attr):
        if name:
            value = (attrs or {}).get(name) or {}
            key.extend(next(iter(value.items()), (None, None)))
    return tuple(key)


def _item_key(table, item):
    key = [item.hash_key.type, item.hash_key.value]
    if table.range_key_attr:
        key.extend([item.range_key.type, item.range_key.value])
    return tuple(key)


def _value_key(value):
    return (value.type, json.dumps(value.value, sort_keys=True, default=str))


def _items_with(table, attribute, value):
    group = _groups.get((table.name, attribute))
    if group is None or group.table is not table:
        group = _Group(table, attribute)
        _groups[(table.name, attribute)] = group
    return list(group.items.get(_value_key(value), {}).values())


def _index_query_of_group(self, hash_key, range_comparison, range_objs, limit,
                          exclusive_start_key, scan_index_forward, projection_expressions,
                          index_name=None, consistent_read=False, filter_expression=None,
                          hash_key_conditions=None, **kwargs):
    query = (self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
             scan_index_forward, projection_expressions, index_name, consistent_read,
             filter_expression)
    if not index_name or not hash_key_conditions:
        return _table_query_of_partition(*query, hash_key_conditions=hash_key_conditions,
                                         **kwargs)
    attribute, value = hash_key_conditions[0]
    group = _items_with(self, attribute, value)
    # moto's query walks `all_items()`; for this call, the group is all there is.
    self.all_items = lambda: list(group)
    try:
        return _table_query_of_partition(*query, hash_key_conditions=hash_key_conditions,
                                         **kwargs)
    finally:
        del self.all_items


dynamodb_models.Table.query = _index_query_of_group


# An item's size is checked once, when it is made. moto's item checks its size at every
# attribute it sets, adding up all the attributes set before: a 40-attribute customer card
# cost 800 size computations, a tenth of an import's time in the emulator. The total checked
# is the same as moto's last check.
def _item_init(self, hash_key, range_key, attrs):
    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    size = sum(bytesize(key) + value.size() for key, value in values.items())
    if size > 405000:
        raise ItemSizeTooLarge
    self.attrs = dynamo_type.LimitedSizeDict()
    dict.update(self.attrs, values)


dynamodb_models.Item.__init__ = _item_init

# moto finds a request's service by listing its own package directory, for every request: a
# sixth of the time the emulator spent on an import's requests. The list does not change.
_moto_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _moto_modules

# DynamoDB's attribute values go out as they are. moto writes every response through the
# service's botocore shapes, value by value; an attribute value is a structure of ten members,
# each looked up under its aliases, which made three quarters of the time of a 50-item Query
# page (and of the stream's GetRecords, whose records carry two images each). A value already
# in its wire form (the model keeps them so) is copied as it is: the same JSON. Binary values
# and anything unexpected take moto's way.
_WIRE_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_WIRE_SETS = ("SS", "NS")
_serialize_type_structure = moto_serialize.BaseJSONSerializer._serialize_type_structure


def _in_wire_form(value):
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (kind, inner), = value.items()
    if kind in _WIRE_SCALARS:
        return type(inner) is _WIRE_SCALARS[kind]
    if kind in _WIRE_SETS:
        return isinstance(inner, list) and all(type(v) is str for v in inner)
    if kind == "M":
        return isinstance(inner, dict) and all(
            type(k) is str and _in_wire_form(v) for k, v in inner.items()
        )
    if kind == "L":
        return isinstance(inner, list) and all(_in_wire_form(v) for v in inner)
    return False


def _serialize_attribute_value_as_is(self, serialized, value, shape, key):
    if shape.name == "AttributeValue" and key and _in_wire_form(value):
        self._default_serialize(serialized, value, shape, key)
        return
    _serialize_type_structure(self, serialized, value, shape, key)


moto_serialize.BaseJSONSerializer._serialize_type_structure = _serialize_attribute_value_as_is

# `GET /moto-api/data.json?service=sns`: the state of the named services only. The whole dump
# walks every tracked model instance (every DynamoDB item and stream record of every test
# table), which takes seconds and blocks this single-threaded emulator; tests read the SMS
# the emulator recorded this way.
_DATA_JSON = "{0}/moto-api/data.json"
_all_model_data = moto_api_urls.url_paths[_DATA_JSON]


def _public_attributes(instance):
    result = {}
    for attr in dir(instance):
        if attr.startswith("_"):
            continue
        try:
            value = getattr(instance, attr)
            json.dumps(value)
        except (TypeError, AttributeError, ValueError):
            continue
        result[attr] = value
    return result


def _model_data(request, full_url, headers):
    services = parse_qs(urlparse(full_url).query).get("service")
    if not services:
        return _all_model_data(request, full_url, headers)
    from moto.core.model_instances import model_data

    results = {
        service: {
            name: [_public_attributes(i) for i in model.instances_tracked]
            for name, model in sorted(model_data.get(service, {}).items())
        }
        for service in services
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(results)


moto_api_urls.url_paths[_DATA_JSON] = _model_data

if __name__ == "__main__":
    server.main()
