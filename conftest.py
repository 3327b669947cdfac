"""Load the harness (pytest_layercake/plugin.py): its fixtures serve pytest_layercake/checks/ and tests/ alike."""

pytest_plugins = ["pytest_layercake.plugin"]
