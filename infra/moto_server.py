"""moto's server, with DynamoDB's conditional writes made atomic.

DynamoDB evaluates a write's condition and applies the write atomically, and
the bundle's exactly-once guarantees (leases, idempotency claims, the
failover state machine, webhook de-duplication) rest on that. moto's server
is threaded and does not lock between checking a condition and writing, so
two concurrent conditional puts can both succeed. This launcher serialises
moto's DynamoDB write operations under one lock (reads stay concurrent) and
then starts moto's own server with the usual arguments (-H HOST -p PORT).

It also makes TransactWriteItems copy each table once: moto 5.2.5 backs up
the whole table once per item of the transaction (to roll back), so a
100-item transaction on a large table copied it 100 times, which cost
minutes and grew moto past 20 GB in a test run. One copy per table per
transaction is the same backup.
"""

import copy as _copy
import functools
import threading

import moto.dynamodb.models as _models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.server import main

class _OneCopyPerTable:
    """moto's `copy` module inside a transaction: a table is deep-copied once."""

    def __init__(self):
        self.local = threading.local()

    def deepcopy(self, obj, *args, **kwargs):
        memo = getattr(self.local, "tables", None)
        if memo is not None and isinstance(obj, Table):
            if id(obj) not in memo:
                memo[id(obj)] = _copy.deepcopy(obj)
            return memo[id(obj)]
        return _copy.deepcopy(obj, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(_copy, name)


_COPY = _OneCopyPerTable()
_models.copy = _COPY
_transact = DynamoDBBackend.transact_write_items


@functools.wraps(_transact)
def _transact_copying_once(self, *args, **kwargs):
    _COPY.local.tables = {}
    try:
        return _transact(self, *args, **kwargs)
    finally:
        _COPY.local.tables = None


DynamoDBBackend.transact_write_items = _transact_copying_once

_WRITE_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def _serialised(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITE_LOCK:
            return method(*args, **kwargs)

    return wrapper


for _name in _WRITES:
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main()
