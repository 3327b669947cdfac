"""The parts of this repository that an owner of a copy deletes or replaces, in one place: the checks of what is left
must not need them (tests/test_parts.py), and tests/test_template.py removes them when it makes a copy."""

# This project's own parts: a copy never needs them, and their checks skip when they are gone.
PROJECT_PARTS = ("README.ru.md", "docs", "bench", "deploy", ".github", ".ci", "examples")
# The guide's app and its description, which the owner's app replaces.
GUIDE_APP = ("app.py", "static", "tests/test_app.py", "layercake.toml", "README.md")
