"""A bounded load on the hardened compose container, with a real load generator: no errors, no memory growth."""

import json
import shutil
import subprocess

import pytest
from budgets import LOAD_CONNECTIONS, LOAD_DURATION_S, MEMORY_GROWTH_MAX

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Alternates /hello and /, and prints wrk's summary as one JSON line.
WRK_SCRIPT = """
local paths, n = {"/hello", "/"}, 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[n % 2 + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.2f, "connect": %d, "read": %d, "write": %d, "timeout": %d, "non_2xx": %d, '
    .. '"p50_ms": %.2f, "p99_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def memory_used(container) -> int:
    """Return the container's memory use as `docker stats` shows it: usage minus the reclaimable file cache."""
    memory = container.stats(stream=False)["memory_stats"]
    stats = memory.get("stats", {})
    return memory["usage"] - stats.get("inactive_file", stats.get("total_inactive_file", 0))


def test_load_has_no_errors_and_no_memory_growth(stack, web, tmp_path, report):
    wrk = shutil.which("wrk")
    if not wrk:
        pytest.fail("wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`; .ci/run does")
    script = tmp_path / "load.lua"
    script.write_text(WRK_SCRIPT)
    before = memory_used(web)
    command = [wrk, "-t2", f"-c{LOAD_CONNECTIONS}", f"-d{LOAD_DURATION_S}s", "--timeout=5s", "-s", str(script)]
    run = subprocess.run(
        [*command, stack.url("/")], check=True, capture_output=True, text=True, timeout=LOAD_DURATION_S + 30
    )
    after = memory_used(web)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    growth = (after - before) / before
    report["load"] = {
        "connections": LOAD_CONNECTIONS,
        "requests": result["requests"],
        "requests_per_s": round(result["requests"] / result["seconds"]),
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "errors": sum(result[kind] for kind in ("connect", "read", "write", "timeout")),
        "non_2xx": result["non_2xx"],
        "memory_before_mb": round(before / 1e6, 1),
        "memory_after_mb": round(after / 1e6, 1),
    }
    assert result["requests"] > 0, f"wrk sent no requests:\n{run.stdout}{run.stderr}"
    assert report["load"]["errors"] == 0 and result["non_2xx"] == 0, f"errors under load: {report['load']}"
    assert abs(growth) <= MEMORY_GROWTH_MAX, (
        f"memory went from {before / 1e6:.1f} MB to {after / 1e6:.1f} MB ({growth:+.0%}) under load: look for a leak"
    )
