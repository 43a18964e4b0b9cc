"""pyproject.toml lists every package: a folder with an __init__.py that the
list misses would be left out of the wheel, and `pip install .` would ship an
engine that fails at its first query."""

from __future__ import annotations

import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = {"tests", "build", "dist"}


def packages_on_disk() -> set[str]:
    found = set()
    for dirpath, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP
                   and not d.endswith(".egg-info") and d != "__pycache__"]
        if "__init__.py" in files:
            rel = os.path.relpath(dirpath, ROOT)
            found.add("quiver" if rel == "." else "quiver." + rel.replace(os.sep, "."))
    return found


def test_every_package_folder_is_listed():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    on_disk = packages_on_disk()
    assert on_disk - listed == set(), "pyproject.toml misses these packages"
    assert listed - on_disk == set(), "pyproject.toml lists packages that do not exist"


def test_version_has_one_source():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert "version" not in project and "version" in project["dynamic"]
