"""The `valvenet` command: one subcommand per stage of the data path.

Each subcommand lives in the module that does the work and exposes two functions:
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when their
subcommand runs, so `valvenet --help` stays fast (no TensorFlow import).

Errors a user can fix (a bad file, a bad option, a device that does not answer) are reported
here, in one place, as one line naming the file and the problem, with exit status 2 (as for
argparse's usage errors); anything else is a bug and keeps its traceback.
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
    "distill": ("valvenet.distill", "train a small model on a big model's (or a .nam capture's) output"),
    "eval": ("valvenet.evaluate", "ESR of a model file on a dataset split"),
    "process": ("valvenet.process", "run a model file over a WAV file"),
    "export": ("valvenet.export.cli", "export a model file (C code for the engine, TFLite, .nam)"),
    "import": ("valvenet.export.import_cli", "import another tool's model file (.nam) as a model file"),
    "bench": ("valvenet.bench", "instructions per sample of a benchmark firmware in QEMU"),
    "run": ("valvenet.device.stream", "stream a WAV through the amp firmware (QEMU, Renode or a board)"),
    "pedal": ("valvenet.pedal.cli", "the real-time amp: parameters, load, a clip through its block loop"),
}


# The project's errors a user can fix: (module, class). Each message already starts with the
# file or option it concerns. Looked up in sys.modules, not imported: an error whose module
# was never imported cannot have been raised, and importing them all would load TensorFlow.
USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("valvenet.models.model_file", "ModelFileError"),
    ("valvenet.models.config", "ConfigError"),
    ("valvenet.datasets.loaders", "DatasetError"),
    ("valvenet.datasets.latency", "LatencyError"),
    ("valvenet.distill_material", "DistillError"),
    ("valvenet.synth.errors", "SynthError"),
    ("valvenet.process", "ProcessError"),
    ("valvenet.export.c_text", "CodegenError"),
    ("valvenet.export.cabinet", "CabinetError"),
    ("valvenet.export.tflite", "TFLiteExportError"),
    ("valvenet.export.nam", "NamError"),
    ("valvenet.device.transport", "TransportError"),  # FlashError too
    ("valvenet.device.protocol", "ProtocolError"),
    ("valvenet.device.protocol", "FirmwareError"),
    ("valvenet.device.stream", "RunError"),
    ("valvenet.pedal.chain", "ChainError"),
    ("valvenet.pedal.cli", "PedalError"),
    ("soundfile", "LibsndfileError"),  # "Error opening 'PATH': Format not recognised."
)


def user_error_message(exc: BaseException) -> str | None:
    """The one line to print for an error the user can fix, or None for a bug.

    OS errors count when they name a file (missing, not a folder, no permission, disk full):
    the line is the path and the system's words for the problem.
    """
    if isinstance(exc, OSError) and exc.filename is not None:
        target = f" -> {exc.filename2}" if exc.filename2 is not None else ""
        return f"{exc.filename}{target}: {exc.strerror or exc}"
    for module_name, class_name in USER_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return str(exc)
    return None


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
    try:
        return int(args.handler(args))
    except Exception as exc:
        message = user_error_message(exc)
        if message is None:
            raise
        print(f"valvenet {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
