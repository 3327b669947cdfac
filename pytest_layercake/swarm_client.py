"""Ask the stack's web service for one path in a bounded loop, resolving its name for every request.

Each request goes to one address of the DNS answer, picked in turn, with no fallback to the others, so a replica that
is gone shows up as a failure of its address. Each answer counts as "v2" when it holds the new text, "v1" when it
holds the old body, or "other".
"""

import http.client
import json
import signal
import socket
import sys
import time
from collections import Counter

HOST, PORT, PATH = sys.argv[1], int(sys.argv[2]), sys.argv[3]
LIMIT_S, FIRST_ANSWER_S, CONNECT_S, ANSWER_S = map(float, sys.argv[4:8])
V1_TEXT, V2_TEXT = sys.argv[8], sys.argv[9]
answers, failures, per_address, samples = Counter(), Counter(), {}, []
# A pause between requests, so the client does not take a CPU from the replicas it watches: each address is still
# asked every few hundredths of a second.
PAUSE_S = 0.01
# The fewest replicas the DNS answer held once the service had answered: capacity kept or lost during an update.
fewest = None
stopping = False


def stop(*_):
    global stopping
    stopping = True


def version(body: str) -> str:
    return "v2" if V2_TEXT in body else "v1" if V1_TEXT in body else "other"


signal.signal(signal.SIGTERM, stop)
started, announced, turn = time.monotonic(), False, 0
while not stopping and time.monotonic() - started < LIMIT_S:
    if not answers and time.monotonic() - started > FIRST_ANSWER_S:
        break
    address = "unresolved"
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(HOST, PORT, type=socket.SOCK_STREAM)})
        address = addresses[turn % len(addresses)]
        if answers:
            fewest = len(addresses) if fewest is None else min(fewest, len(addresses))
        turn += 1
        # A gone replica's address never connects; a live but busy one may answer slowly.
        connection = http.client.HTTPConnection(address, PORT, timeout=CONNECT_S)
        try:
            connection.connect()
            connection.sock.settimeout(ANSWER_S)
            connection.request("GET", PATH, headers={"Host": HOST})
            response = connection.getresponse()
            body = response.read().decode()
        finally:
            connection.close()
        if response.status != 200:
            raise http.client.HTTPException(f"status {response.status}")
        answers[version(body)] += 1
        per_address.setdefault(address, Counter())["ok"] += 1
    except (OSError, http.client.HTTPException) as exc:
        failures[type(exc).__name__] += 1
        per_address.setdefault(address, Counter())["failed"] += 1
        if len(samples) < 10:
            samples.append(f"{address}: {exc!r}")
    if answers and not announced:
        print("first answer", flush=True)
        announced = True
    time.sleep(PAUSE_S)
summary = {"answers": answers, "failures": failures, "per_address": per_address, "fewest": fewest, "samples": samples}
print(json.dumps(summary), flush=True)
