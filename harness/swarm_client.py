"""Ask the stack's web service for one path in a bounded loop, resolving its name for every request.

Each answer counts as "v2" when it holds the new text, "v1" when it holds the old body, or "other".
"""

import http.client
import json
import signal
import sys
import time
import urllib.request
from collections import Counter

URL, LIMIT_S, FIRST_ANSWER_S, V1_TEXT, V2_TEXT = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), *sys.argv[4:6]
answers, failures, samples = Counter(), Counter(), []
stopping = False


def stop(*_):
    global stopping
    stopping = True


def version(body: str) -> str:
    return "v2" if V2_TEXT in body else "v1" if V1_TEXT in body else "other"


signal.signal(signal.SIGTERM, stop)
started, announced = time.monotonic(), False
while not stopping and time.monotonic() - started < LIMIT_S:
    if not answers and time.monotonic() - started > FIRST_ANSWER_S:
        break
    try:
        with urllib.request.urlopen(URL, timeout=2) as response:
            answers[version(response.read().decode())] += 1
    except (OSError, http.client.HTTPException) as exc:
        failures[type(exc).__name__] += 1
        if len(samples) < 10:
            samples.append(repr(exc))
    if answers and not announced:
        print("first answer", flush=True)
        announced = True
print(json.dumps({"answers": answers, "failures": failures, "samples": samples}), flush=True)
