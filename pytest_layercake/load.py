"""A bounded load from wrk, against 127.0.0.1 only."""

import json
import os
import shutil
import subprocess
import tempfile

# wrk script: requests the paths in WRK_PATHS in turn, and prints wrk's summary as one JSON line at the end.
WRK_SCRIPT = """
local paths, n = {}, 0
for path in string.gmatch(os.getenv("WRK_PATHS"), "%S+") do paths[#paths + 1] = path end
request = function()
  n = n + 1
  return wrk.format("GET", paths[n % #paths + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "connect": %d, "read": %d, "write": %d, "timeout": %d, "non_2xx": %d, '
    .. '"p50_ms": %.2f, "p99_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def run_wrk(port: int, paths: list[str], connections: int, seconds: float) -> dict:
    """Load 127.0.0.1:port with wrk for a fixed time; return its summary with errors and requests/s added."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise AssertionError("wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        command = [wrk, f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds}s", "--timeout=5s"]
        run = subprocess.run(
            [*command, "-s", script.name, f"http://127.0.0.1:{port}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            env=os.environ | {"WRK_PATHS": " ".join(paths)},
        )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["errors"] = sum(result[kind] for kind in ("connect", "read", "write", "timeout"))
    result["requests_per_s"] = round(result["requests"] / result["seconds"], 1)
    return result
