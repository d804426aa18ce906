"""Bazel tool: a model's engine C (`valvenet export c`) for vnet_model_library().

It calls the export code directly instead of going through valvenet.cli, which imports every
subcommand: a firmware image should depend on the C generators, not on training.
"""

from __future__ import annotations

import argparse
import sys

from valvenet.export import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="export_c", description=__doc__.splitlines()[0])
    cli.add_c_arguments(parser)
    return cli.run_c(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
