"""Starts the moto server with one request at a time.

moto applies a TransactWriteItems without a lock: two concurrent transactions can both pass
their conditions (seen here: 3 of 20 concurrent creates with the same customer number
committed). DynamoDB itself never lets that happen. Serving one request at a time gives the
emulator DynamoDB's guarantee; moto is bound by one core (the GIL) either way.
"""

import moto.server as server

_run_simple = server.run_simple


def _single_threaded(*args, **kwargs):
    kwargs["threaded"] = False
    return _run_simple(*args, **kwargs)


server.run_simple = _single_threaded

if __name__ == "__main__":
    server.main()
