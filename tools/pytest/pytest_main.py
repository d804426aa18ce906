"""Entry point of every pytest_test: runs pytest on the given files, writes JUnit XML.

Bazel sets XML_OUTPUT_FILE for each test; pytest's report there lets Bazel (and CI) show
per-test-case results instead of one pass/fail per target.
"""

import os
import sys

import pytest


def main() -> int:
    args = sys.argv[1:] + ["-p", "no:cacheprovider", "-v"]
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        args.append(f"--junitxml={xml}")
    return pytest.main(args)


if __name__ == "__main__":
    sys.exit(main())
