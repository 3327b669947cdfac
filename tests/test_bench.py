"""The benchmark's output: it matches bench/schema.json, its goals follow from its own figures, and the README shows it."""

import json
import statistics
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from pytest_layercake.project import Project
from pytest_layercake.tools import tool

ROOT = Path(__file__).resolve().parent.parent
Project(ROOT).part("bench", "the benchmark is this project's own part")
from bench import config  # imported once bench/ is known to be here
from bench import run as bench

COMMITTED = ROOT / "bench" / "results"
QUICK = ROOT / "build" / "bench"  # written by `make bench-quick`, which .ci/run runs before `make test`
# The committed results are always checked, and a quick run's output whenever there is one.
FOLDERS = [COMMITTED] + ([QUICK] if (QUICK / "latest.json").exists() else [])


@pytest.fixture(params=FOLDERS, ids=[str(folder.relative_to(ROOT)) for folder in FOLDERS])
def folder(request):
    if not (request.param / "latest.json").exists():
        pytest.fail(
            f"{request.param.relative_to(ROOT)}/latest.json is missing: run `make bench-quick` before the tests"
        )
    return request.param


@pytest.fixture
def results(folder) -> dict:
    return json.loads((folder / "latest.json").read_text())


def test_results_match_the_schema(folder):
    result = subprocess.run(
        [tool("check-jsonschema"), "--schemafile", ROOT / "bench" / "schema.json", folder / "latest.json"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"bench output no longer matches bench/schema.json:\n{result.stdout}"


def test_medians_come_from_the_runs(results):
    for name, variant in results["variants"].items():
        for key in ("cold_build_s", "rebuild_s", "dependency_rebuild_s", "start_s", "stop_s"):
            timing = variant[key]
            assert len(timing["runs"]) == results["runs"], f"{name} {key}: {len(timing['runs'])} runs recorded"
            assert timing["median"] == pytest.approx(statistics.median(timing["runs"]), abs=1e-3), f"{name} {key}"


def test_load_covers_every_server_path_and_concurrency(results, contract):
    cells = {(c["server"], c["path"], c["connections"]) for c in results["load"]}
    assert cells == {(s, p, c) for s in config.SERVERS for p in config.load_paths(contract) for c in config.CONCURRENCY}
    for cell in results["load"]:
        runs = cell["runs"]
        assert len(runs) == results["load_runs"], f"{cell['server']} {cell['path']}: {len(runs)} load runs recorded"
        for key in ("requests_per_s", "requests_per_cpu_s", "p50_ms", "p99_ms"):
            assert cell[key] == pytest.approx(statistics.median(run[key] for run in runs)), f"{key} is not the median"
        assert cell["errors"] == sum(run["errors"] for run in runs)
        for run in runs:
            assert run["seconds"] >= results["load_seconds"] * 0.9, f"a load run lasted {run['seconds']} s"
            # requests_per_s is rounded to a tenth
            assert run["requests_per_s"] == pytest.approx(run["requests"] / run["seconds"], rel=0.01, abs=0.05)
            assert run["requests_per_cpu_s"] == pytest.approx(run["requests"] / run["cpu_s"], rel=0.01)


def test_goals_follow_from_the_figures(results, contract):
    variants = results["variants"]
    probe_c8 = {
        c["server"]: c["requests_per_s"]
        for c in results["load"]
        if (c["path"], c["connections"]) == (contract.probe.path, 8)
    }
    figures = {
        "rebuild": (variants["layercake"]["rebuild_s"]["median"], variants["naive"]["rebuild_s"]["median"]),
        "context": (variants["layercake"]["context_bytes"], variants["naive"]["context_bytes"]),
        "overhead": (variants["layercake"]["overhead_bytes"], variants["naive"]["overhead_bytes"]),
        "stop": (variants["layercake"]["stop_s"]["median"], variants["naive"]["stop_s"]["median"]),
        "throughput": (probe_c8["layercake"], probe_c8["dev server"]),
    }
    assert {goal["name"] for goal in results["goals"]} == set(figures)
    for goal in results["goals"]:
        ours, theirs = figures[goal["name"]]
        assert (goal["layercake"], goal["other"]) == (ours, theirs), f"goal {goal['name']} quotes other figures"
        assert goal["ratio"] == pytest.approx(ours / theirs, rel=1e-3), f"goal {goal['name']}: wrong ratio"
        met = ours / theirs <= goal["bound"] if goal["kind"] == "max" else ours / theirs >= goal["bound"]
        assert goal["met"] is met, f"goal {goal['name']} says met={goal['met']} but the ratio is {ours / theirs:.3g}"


def test_every_image_is_judged_on_the_same_rules(results):
    rules = {name: set(variant["cis"]) for name, variant in results["variants"].items()}
    assert set(rules) == set(config.VARIANTS), f"the bench measured {sorted(rules)}, not {config.VARIANTS}"
    assert len({frozenset(names) for names in rules.values()}) == 1, (
        f"the images were judged on different rules: {rules}"
    )
    broken = [rule for rule, held in results["variants"]["layercake"]["cis"].items() if not held]
    assert not broken, f"layercake, run by its compose files, breaks {broken}: see pytest_layercake/checks/test_cis.py"


def test_peer_comparison_follows_from_the_figures(results):
    ours = results["variants"]["layercake"]
    expected = []
    for peer in config.PEER_DEV_SERVER:
        for key in config.COMPARED + config.COMPARED_MORE:
            a, b = bench.figure(results, "layercake", key), bench.figure(results, peer, key)
            if (a > b * (1 + config.TIE)) if key in config.COMPARED else (b > a * (1 + config.TIE)):
                expected.append((peer, key))
        expected += [
            (peer, f"CIS {rule}")
            for rule, held in results["variants"][peer]["cis"].items()
            if held and not ours["cis"][rule]
        ]
    assert [(item["peer"], item["figure"]) for item in results["behind"]] == expected, (
        "the list of figures where a peer is ahead does not follow from the figures"
    )
    for item in results["behind"]:
        assert item["why"] == config.REFUSED.get((item["peer"], item["figure"]), ""), f"{item}: not the reason given"


def test_table_and_chart_are_written(folder, results):
    table = (folder / "latest.md").read_text()
    assert results["machine"]["base_image"] in table and f"{results['machine']['cpus']} CPUs" in table
    for goal in results["goals"]:
        assert goal["what"] in table, f"latest.md lacks the goal {goal['what']!r}"
    with Image.open(folder / "latest.png") as chart:
        assert chart.format == "PNG" and chart.width >= 800 and chart.height >= 400


def test_committed_results_are_a_full_run():
    """docs/benchmark.md shows these results (tests/test_docs.py checks that it is what `make docs` writes)."""
    if not (COMMITTED / "latest.json").exists():
        pytest.skip("bench/results/ is not here")
    results = json.loads((COMMITTED / "latest.json").read_text())
    assert results["mode"] == "full" and results["runs"] >= 3, "commit the output of `make bench`, not a quick run"
