"""Ask the stack's web service for /hello in a bounded loop, resolving its name for every request."""

import http.client
import json
import signal
import sys
import time
import urllib.request
from collections import Counter

URL, LIMIT_S, FIRST_ANSWER_S = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
answers, failures, samples = Counter(), Counter(), []
stopping = False


def stop(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
started, announced = time.monotonic(), False
while not stopping and time.monotonic() - started < LIMIT_S:
    if not answers and time.monotonic() - started > FIRST_ANSWER_S:
        break
    try:
        with urllib.request.urlopen(URL, timeout=2) as response:
            answers[response.read().decode()] += 1
    except (OSError, http.client.HTTPException) as exc:
        failures[type(exc).__name__] += 1
        if len(samples) < 10:
            samples.append(repr(exc))
    if answers and not announced:
        print("first answer", flush=True)
        announced = True
print(json.dumps({"answers": answers, "failures": failures, "samples": samples}), flush=True)
