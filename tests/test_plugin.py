"""The harness is a pytest plugin that brings its own markers: a project that loads it pastes no marker list."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_plugin_registers_its_markers_for_strict_markers(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["pytest_layercake.plugin"]\n')
    (tmp_path / "test_marked.py").write_text(
        "import pytest\n\n\n@pytest.mark.docker\n@pytest.mark.slow\n@pytest.mark.swarm\ndef test_marked():\n    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers", "-q", "test_marked.py"],
        check=False,
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        "a project with no marker list of its own can't run the harness's marked tests under --strict-markers: "
        f"pytest_layercake/plugin.py must register docker, slow and swarm itself\n{result.stdout[-1500:]}"
    )
