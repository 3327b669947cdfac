"""A bounded load on the hardened compose container, with a real load generator: no errors, no memory growth."""

import itertools
import statistics

import pytest

from pytest_layercake.budgets import (
    LOAD_CONNECTIONS,
    LOAD_SLICE_S,
    LOAD_SLICES,
    LOAD_WARMUP_S,
    MEMORY_GROWTH_MAX,
)
from pytest_layercake.containers import anonymous_memory
from pytest_layercake.load import run_wrk

# Timed, so it runs alone: on a busy machine its warm-up reaches too few of the workers' threads, and their first use of
# memory would pass for a leak.
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timed]


def test_load_has_no_errors_and_no_memory_growth(stack, web, contract, report):
    paths = list(dict.fromkeys(probe.path for probe in contract.probes))
    idle = anonymous_memory(web)
    runs = [run_wrk(stack.port, paths, LOAD_CONNECTIONS, LOAD_WARMUP_S)]
    memory = [anonymous_memory(web)]
    for _ in range(LOAD_SLICES):
        runs.append(run_wrk(stack.port, paths, LOAD_CONNECTIONS, LOAD_SLICE_S))
        memory.append(anonymous_memory(web))
    growth = [after - before for before, after in itertools.pairwise(memory)]
    # What a leak does: grow in every slice. A one-time step (see budgets.py) shows in one slice only.
    steady = statistics.median(growth) * LOAD_SLICES / memory[0]
    measured = runs[1:]
    requests = sum(run["requests"] for run in measured)
    report["load"] = {
        "connections": LOAD_CONNECTIONS,
        "requests": requests,
        "requests_per_s": round(requests / sum(run["seconds"] for run in measured)),
        "p50_ms_median_slice": statistics.median(run["p50_ms"] for run in measured),
        "p99_ms_worst_slice": max(run["p99_ms"] for run in measured),
        "errors": sum(run["errors"] for run in runs),
        "non_2xx": sum(run["non_2xx"] for run in runs),
        "anonymous_memory_idle_mb": round(idle / 1e6, 1),
        "anonymous_memory_before_mb": round(memory[0] / 1e6, 1),
        "anonymous_memory_after_mb": round(memory[-1] / 1e6, 1),
        "anonymous_memory_growth_per_slice_mb": [round(step / 1e6, 2) for step in growth],
        "steady_growth_pct": round(100 * steady, 1),
    }
    assert requests > 0, f"wrk sent no requests: {measured}"
    assert report["load"]["errors"] == 0 and report["load"]["non_2xx"] == 0, f"errors under load: {report['load']}"
    assert steady <= MEMORY_GROWTH_MAX, (
        f"anonymous memory grew in most slices of the load, by {statistics.median(growth) / 1e6:.2f} MB in the median "
        f"one ({steady:+.0%} over {LOAD_SLICES * LOAD_SLICE_S} s from {memory[0] / 1e6:.1f} MB; per slice, MB: "
        f"{report['load']['anonymous_memory_growth_per_slice_mb']}): memory that grows with every request is a leak, "
        "look for what the app keeps per request"
    )
