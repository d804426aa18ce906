"""The `valvenet` command: one subcommand per stage of the data path.

Each subcommand lives in the module that does the work and exposes two functions:
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when their
subcommand runs, so `valvenet --help` stays fast (no TensorFlow import).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "dataset": ("valvenet.datasets.cli", "build the built-in dataset"),
    "train": ("valvenet.train", "train a model on a dataset"),
    "eval": ("valvenet.evaluate", "ESR of a model file on a dataset split"),
    "process": ("valvenet.process", "run a model file over a WAV file"),
    "export": ("valvenet.export.cli", "export a model file (C code for the engine)"),
    "bench": ("valvenet.bench", "instructions per sample of a benchmark firmware in QEMU"),
    "run": ("valvenet.device.stream", "stream a WAV through the amp firmware (QEMU, Renode or a board)"),
    "pedal": ("valvenet.pedal.cli", "the real-time amp: parameters, load, a clip through its block loop"),
}


def _subcommand_name(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `bazel run` starts us in the runfiles tree: resolve relative paths against the
    # directory the user ran bazel from.
    if "BUILD_WORKING_DIRECTORY" in os.environ:
        # Tool paths Bazel passes are relative to the runfiles tree we are leaving.
        for key in ("VALVENET_LV2HOST",):
            if key in os.environ and not os.path.isabs(os.environ[key]):
                os.environ[key] = os.path.abspath(os.environ[key])
        os.chdir(os.environ["BUILD_WORKING_DIRECTORY"])
    parser = argparse.ArgumentParser(prog="valvenet", description="Neural amp modelling for microcontrollers.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _subcommand_name(argv)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
