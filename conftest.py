"""Load the harness (harness/plugin.py): its fixtures serve harness/checks/ and tests/ alike."""

pytest_plugins = ["harness.plugin"]
