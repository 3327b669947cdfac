"""Load: wrk drives each server at each concurrency on each path, round after round."""

import statistics

from bench.config import CONCURRENCY, CONTRACT, LOAD_FIGURES, PATHS, SERVERS, log
from bench.images import Images
from bench.lifecycle import start
from pytest_layercake.load import run_wrk


def load_round(images: Images, seconds: float, server: str, variant: str, **env: str) -> dict[tuple, dict]:
    """Drive a fresh container with wrk at each concurrency on each path, for a fixed time each."""
    container, port, _ = start(images, variant, **env)
    cells = {}
    try:
        run_wrk(port, [CONTRACT.probe.path], 8, 1)  # warm-up, not recorded
        for path in PATHS:
            for connections in CONCURRENCY:
                log(f"load: {server} {path} c={connections} for {seconds} s")
                cpu_before = cpu_seconds(container)
                result = run_wrk(port, [path], connections, seconds)
                result["cpu_s"] = round(cpu_seconds(container) - cpu_before, 4)
                result["requests_per_cpu_s"] = round(result["requests"] / result["cpu_s"], 1)
                cells[server, path, connections] = {key: result[key] for key in LOAD_FIGURES}
    finally:
        container.remove(force=True)
    return cells


def load(images: Images, rounds: int, seconds: float) -> list[dict]:
    """Load every server in turn, round after round, so a slow spell of the machine hits them all alike."""
    done = []
    for number in range(rounds):
        log(f"load round {number + 1} of {rounds}")
        cells = {}
        for server, (variant, env) in SERVERS.items():
            cells |= load_round(images, seconds, server, variant, **env)
        done.append(cells)
    cells = []
    for server, path, connections in done[0]:
        runs = [cells_of_round[server, path, connections] for cells_of_round in done]
        cells.append(
            {
                "server": server,
                "path": path,
                "connections": connections,
                "requests_per_s": statistics.median(run["requests_per_s"] for run in runs),
                "requests_per_cpu_s": statistics.median(run["requests_per_cpu_s"] for run in runs),
                "p50_ms": statistics.median(run["p50_ms"] for run in runs),
                "p99_ms": statistics.median(run["p99_ms"] for run in runs),
                "errors": sum(run["errors"] for run in runs),
                "non_2xx": sum(run["non_2xx"] for run in runs),
                "runs": runs,
            }
        )
    return cells


def cpu_seconds(container) -> float:
    """Return the CPU time the container's processes have used so far, from its cgroup (as `docker stats` reads it)."""
    return container.stats(stream=False, one_shot=True)["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
