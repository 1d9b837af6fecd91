"""moto's server, with DynamoDB's conditional writes made atomic.

DynamoDB evaluates a write's condition and applies the write atomically, and
the bundle's exactly-once guarantees (leases, idempotency claims, the
failover state machine, webhook de-duplication) rest on that. moto's server
is threaded and does not lock between checking a condition and writing, so
two concurrent conditional puts can both succeed. This launcher serialises
moto's DynamoDB write operations under one lock (reads stay concurrent) and
then starts moto's own server with the usual arguments (-H HOST -p PORT).
"""

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

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
