"""copier's migration to 0.5.0, run after the update: the compose files are docker-compose.yml,
docker-compose.override.yml and docker-compose.dev.yml now, and this carries the owner's edits of the old ones over.

copier's update wrote the new files as the template has them and removed the old ones, edits and all (it removes any
file the new release lacks). Each old file, as the owner committed it, is merged into its new one the way copier
merges any file: the last release's rendering with the project's answers is the base, so only the owner's own changes
move over; where the owner and the template changed the same lines, the new file keeps both, with copier's markers.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import copier
import yaml

RENAMED = {
    "compose.yaml": "docker-compose.yml",
    "compose.override.yaml": "docker-compose.override.yml",
    "compose.dev.yaml": "docker-compose.dev.yml",
}
# copier's own labels for the three sides of a merge, so that one search finds every conflict an update left.
LABELS = ["-L", "before updating", "-L", "last update", "-L", "after updating"]


def committed(path: str) -> str | None:
    """The file as the project's last commit holds it (copier updates only a clean checkout), or None."""
    shown = subprocess.run(["git", "show", f"HEAD:./{path}"], check=False, capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def main() -> None:
    owned = {old: text for old in RENAMED if (text := committed(old)) is not None}
    if not owned:
        return  # a project made after the rename, or whose owner removed the files
    previous = yaml.safe_load(committed(".copier-answers.yml") or "") or {}
    answers = {key: value for key, value in previous.items() if not key.startswith("_")}
    conflicted = []
    with tempfile.TemporaryDirectory() as scratch:
        release = Path(scratch) / "release"
        source, ref = previous["_src_path"], previous["_commit"]
        copier.run_copy(source, release, data=answers, vcs_ref=ref, defaults=True, quiet=True, unsafe=True)
        for old, text in owned.items():
            new, base, ours = Path(RENAMED[old]), release / old, Path(scratch) / old
            if not new.is_file() or not base.is_file():
                continue  # the owner deleted the new file, or the release had no such file to compare with
            ours.write_text(text)
            merged = subprocess.run(["git", "merge-file", *LABELS, ours, base, new], check=False, capture_output=True)
            if merged.returncode > 127:  # git merge-file counts conflicts up to 127, and exits negative on an error
                raise SystemExit(f"copier migration: git merge-file could not merge {old} into {new}: {merged.stderr}")
            new.write_text(ours.read_text())
            Path(old).unlink(missing_ok=True)
            if merged.returncode:
                conflicted.append(f"{new} ({merged.returncode} from your {old})")
    if conflicted:
        print(
            "copier migration: your edits and the template's meet in " + ", ".join(conflicted) + ": keep what you "
            "want between the markers (git grep -n '^<<<<<<< '), then commit",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from answers import restore

    try:
        main()
    except BaseException:
        restore()
        print("copier migration: the update stopped; every file is back as the last commit has it", file=sys.stderr)
        raise
