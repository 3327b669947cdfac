"""A bounded load on the hardened compose container, with a real load generator: no errors, no memory growth."""

import pytest

from pytest_layercake.budgets import (
    LOAD_CONNECTIONS,
    LOAD_DURATION_S,
    LOAD_SETTLED,
    LOAD_WARMUP_S,
    LOAD_WARMUP_SLICES_MAX,
    MEMORY_GROWTH_MAX,
)
from pytest_layercake.containers import anonymous_memory
from pytest_layercake.load import run_wrk

# Timed, so it runs alone: on a busy machine its warm-up reaches too few of the workers' threads, and their first use of
# memory would pass for a leak.
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timed]


def test_load_has_no_errors_and_no_memory_growth(stack, web, contract, report):
    paths = list(dict.fromkeys(probe.path for probe in contract.probes))
    idle = before = anonymous_memory(web)
    for warmups in range(1, LOAD_WARMUP_SLICES_MAX + 1):
        run_wrk(stack.port, paths, LOAD_CONNECTIONS, LOAD_WARMUP_S)
        start, before = before, anonymous_memory(web)
        if (before - start) / start < LOAD_SETTLED:
            break
    result = run_wrk(stack.port, paths, LOAD_CONNECTIONS, LOAD_DURATION_S)
    after = anonymous_memory(web)
    growth = (after - before) / before
    report["load"] = {
        "connections": LOAD_CONNECTIONS,
        "requests": result["requests"],
        "requests_per_s": round(result["requests_per_s"]),
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "errors": result["errors"],
        "non_2xx": result["non_2xx"],
        "warmup_slices": warmups,
        "anonymous_memory_idle_mb": round(idle / 1e6, 1),
        "anonymous_memory_before_mb": round(before / 1e6, 1),
        "anonymous_memory_after_mb": round(after / 1e6, 1),
    }
    assert result["requests"] > 0, f"wrk sent no requests: {result}"
    assert report["load"]["errors"] == 0 and result["non_2xx"] == 0, f"errors under load: {report['load']}"
    assert growth <= MEMORY_GROWTH_MAX, (
        f"anonymous memory went from {before / 1e6:.1f} MB to {after / 1e6:.1f} MB ({growth:+.0%}) under load: look "
        "for a leak"
    )
