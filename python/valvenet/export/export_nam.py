"""Bazel tool: a model file as a Neural Amp Modeler capture (`valvenet export nam`) for
nam_capture_file(): the project's own .nam fixtures, made at build time from seeded models, so
the capture-to-firmware path is tested without any third-party capture in the repository.
"""

from __future__ import annotations

import argparse
import sys

from valvenet.export import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="export_nam", description=__doc__.splitlines()[0])
    cli.add_nam_arguments(parser)
    return cli.run_nam(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
