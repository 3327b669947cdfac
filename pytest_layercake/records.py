"""Records written through the app and read back (layercake.toml's [write]): the durability checks run it on the host
against a compose stack, and as a one-shot swarm job on a stack's network (`python -c <this file> write|read ...`).
Standard library only, so that the base image runs it."""

import http.client
import json
import sys

# Records written before each fault: enough to see a loss, few enough to stay a probe, not a load.
RECORDS = 10
# The first record's number: every number has as many digits, so one record's text never holds another's.
FIRST = 1_000_000


def ask(host: str, port: int, method: str, path: str, body: str | None = None, content_type: str = "") -> tuple:
    """One request, redirects not followed; return its status and text."""
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, path, body=body.encode() if body else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def write(host: str, port: int, spec: dict, numbers: list[int]) -> dict:
    """Write each numbered record; return those the app acknowledged, and what it answered to the others."""
    acknowledged, refused = [], []
    for n in numbers:
        body = spec["body"].replace("{n}", str(n))
        try:
            status, text = ask(host, port, "POST", spec["path"], body, spec["content_type"])
        except OSError as exc:
            status, text = None, str(exc)
        if status == spec["status"]:
            acknowledged.append(n)
        else:
            refused.append([n, status, text[:300]])
    return {"acknowledged": acknowledged, "refused": refused}


def missing(host: str, port: int, spec: dict, numbers: list[int]) -> dict:
    """The numbered records the app's read page no longer shows (all of them if it does not answer 200)."""
    try:
        status, text = ask(host, port, "GET", spec["read"])
    except OSError as exc:
        status, text = None, str(exc)
    shown = text if status == 200 else ""
    return {"status": status, "missing": [n for n in numbers if spec["shows"].replace("{n}", str(n)) not in shown]}


if __name__ == "__main__":
    command, host, port, spec, numbers = sys.argv[1:6]
    do = {"write": write, "read": missing}[command]
    print(json.dumps(do(host, int(port), json.loads(spec), json.loads(numbers))))
