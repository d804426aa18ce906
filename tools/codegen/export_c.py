"""Bazel tool: `valvenet export c` as a build action (see model_library.bzl)."""

import sys

from valvenet.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", "c", *sys.argv[1:]]))
