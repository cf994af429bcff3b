"""Starts the moto server with one request at a time, and transactions that copy each table once.

One request at a time: moto applies a TransactWriteItems without a lock, so two concurrent
transactions can both pass their conditions (seen here: 3 of 20 concurrent creates with the
same customer number committed). DynamoDB itself never lets that happen. Serving one request
at a time gives the emulator DynamoDB's guarantee; moto is bound by one core (the GIL) either
way.

One copy per table: moto backs a transaction up by deep-copying the whole table once for
every item in it, so a 100-item transaction (an import chunk) copied a table 100 times, and a
1 000-row import grew the emulator past 20 GB and minutes per request (seen here). The backup
is only needed once per table; the copies are shared within one transaction. This changes
nothing that DynamoDB would observe.
"""

import copy

import moto.server as server
from moto.dynamodb import models as dynamodb_models

_run_simple = server.run_simple


def _single_threaded(*args, **kwargs):
    kwargs["threaded"] = False
    return _run_simple(*args, **kwargs)


server.run_simple = _single_threaded


class _CopyOncePerTransaction:
    """Stands in for the `copy` module inside moto's DynamoDB models: within a transaction, a
    table is deep-copied once and the copy handed out again. Safe because requests are served
    one at a time."""

    def __init__(self):
        self.tables = None

    def deepcopy(self, value, *args, **kwargs):
        if self.tables is None or not isinstance(value, dynamodb_models.Table):
            return copy.deepcopy(value, *args, **kwargs)
        if id(value) not in self.tables:
            self.tables[id(value)] = copy.deepcopy(value, *args, **kwargs)
        return self.tables[id(value)]

    def __getattr__(self, name):
        return getattr(copy, name)


_copies = _CopyOncePerTransaction()
dynamodb_models.copy = _copies
_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_write_items_copying_once(self, *args, **kwargs):
    _copies.tables = {}
    try:
        return _transact_write_items(self, *args, **kwargs)
    finally:
        _copies.tables = None


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items_copying_once

if __name__ == "__main__":
    server.main()
