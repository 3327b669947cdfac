"""How the swarm check reads docker-compose.yml's health timings (`docker compose config` writes Go durations)."""

import pytest

from pytest_layercake.runtime import go_duration_s


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("1.5s", 1.5), ("1h", 3600)])
def test_go_duration_reads_as_seconds(text, seconds):
    assert go_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["30", "", "30 s", "1d"])
def test_go_duration_without_a_unit_fails(text):
    with pytest.raises(AssertionError, match="not a duration"):
        go_duration_s(text)
