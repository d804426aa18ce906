"""Where the checkout's files are, from wherever valvenet runs.

valvenet runs from the source tree (`.venv/bin/valvenet`, `PYTHONPATH=python`), from a Bazel
runfiles tree (`bazel test`, `bazel run`, build tools) and with `bazel run` from the folder the
user started it in. Files it needs beside the Python package (the firmware/nn headers for the
host C engine, sim/renode's platform, the built lv2host) are looked up in the same candidate
roots everywhere, most specific first: this one function is the lookup.
"""

from __future__ import annotations

import os
from pathlib import Path

WORKSPACE_NAME = "valvenet"  # the WORKSPACE's name: the runfiles folder of this repository


def source_roots() -> list[Path]:
    """Folders that may hold the repository's files, most specific first: $VALVENET_ROOT,
    the runfiles trees Bazel names (RUNFILES_DIR, TEST_SRCDIR), the tree this file lies in as
    seen (a runfiles tree) and with symlinks resolved (the source tree), and the workspace
    `bazel run` was started in."""
    roots: list[Path] = []
    if os.environ.get("VALVENET_ROOT"):
        roots.append(Path(os.environ["VALVENET_ROOT"]))
    for variable in ("RUNFILES_DIR", "TEST_SRCDIR"):
        if os.environ.get(variable):
            for workspace in (os.environ.get("TEST_WORKSPACE"), WORKSPACE_NAME, "__main__"):
                if workspace:
                    roots.append(Path(os.environ[variable]) / workspace)
    here = Path(__file__)
    roots += [here.absolute().parents[2], here.resolve().parents[2]]
    if os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
        roots.append(Path(os.environ["BUILD_WORKSPACE_DIRECTORY"]))
    return list(dict.fromkeys(roots))


def find(relative: str | Path, *more: str | Path) -> Path | None:
    """The first source root holding `relative` (and every path in `more` beside it), or None."""
    for root in source_roots():
        if all((root / path).exists() for path in (relative, *more)):
            return root
    return None


def checkout() -> Path:
    """The source tree itself (not a runfiles copy): where `bazel run` was started, else the
    tree this file lies in with symlinks resolved. Where the demo builds firmware."""
    if os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
        return Path(os.environ["BUILD_WORKSPACE_DIRECTORY"])
    return Path(__file__).resolve().parents[2]
