"""`valvenet export c|tflite|nam`: what leaves training for the device (C code; TFLite in
export/tflite.py) or for other tools (a Neural Amp Modeler .nam file, export/nam.py).

`export c` writes SYMBOL.h and SYMBOL.c through the engine registry (export/engines/registry.py):
`--precision float32` (the default) the float engine of the model's kind; `--precision int16`
its int16 engine, with the model file's calibrated scales (metadata["int16_scales"]), else
scales calibrated on `--calibration WAV`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from valvenet.export.c_text import CodegenError, write_files
from valvenet.models.model_file import ModelFile

PRECISIONS = ("float32", "int16")


def add_c_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="model file (.vnet)")
    parser.add_argument("--out", required=True, type=Path, help="folder for SYMBOL.h and SYMBOL.c")
    parser.add_argument("--symbol", help="C symbol prefix (default: from the model name, + _recompute with --full-recompute)")
    parser.add_argument("--full-recompute", action="store_true",
                        help="baseline variant: recompute the whole receptive field for every output sample "
                             "(what a non-streaming TFLite model does); WaveNets only")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="engine: float32, or int16 fixed point (needs calibrated scales)")
    parser.add_argument("--calibration", type=str, metavar="WAV",
                        help="int16: calibrate the scales on this audio (the model's input) when the model "
                             "file has none")


def run_c(args: argparse.Namespace) -> int:
    from valvenet.export.engines.registry import generate_float32, generate_int16
    from valvenet.models.model_file import load

    if args.precision == "int16" and args.full_recompute:
        raise CodegenError("--full-recompute is a float32 baseline only")
    model = load(args.model)
    if args.precision == "float32":
        symbol, header, source = generate_float32(model, args.symbol, args.full_recompute)
    else:
        symbol, header, source, _ = generate_int16(model, int16_scales(args, model), args.symbol)
    header_path, source_path = write_files(args.out, symbol, header, source)
    print(f"wrote {header_path} and {source_path}")
    return 0


def int16_scales(args: argparse.Namespace, model: ModelFile) -> dict[str, int]:
    """The model file's int16 scales, else scales calibrated on --calibration WAV."""
    from valvenet.models import calibrate

    fracs = calibrate.stored_scales(model)
    if fracs is None:
        if not args.calibration:
            raise CodegenError(f"{args.model} has no int16 scales (metadata {calibrate.METADATA_KEY!r}): "
                                      "give --calibration WAV (input audio) to calibrate them")
        import soundfile as sf

        audio, rate = sf.read(args.calibration, dtype="float32", always_2d=True)
        if rate != model.sample_rate:
            raise CodegenError(f"{args.calibration} is {rate} Hz, {args.model} needs {model.sample_rate} Hz")
        fracs = calibrate.scales(model, audio.mean(axis=1)[:int(calibrate.TRAINING_SECONDS * rate)])
    return fracs


def add_tflite_arguments(parser: argparse.ArgumentParser) -> None:
    from valvenet.export import tflite

    tflite.add_arguments(parser)


def run_tflite(args: argparse.Namespace) -> int:
    from valvenet.export import tflite

    return tflite.run(args)


def add_nam_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path,
                        help="model file (.vnet) of kind nam_wavenet or lstm (without the input skip)")
    parser.add_argument("--out", required=True, type=Path, help=".nam file to write")


def run_nam(args: argparse.Namespace) -> int:
    from valvenet.export.nam import NamError, write_nam
    from valvenet.models.model_file import load

    model = load(args.model)
    try:
        write_nam(model, args.out)
    except NamError as exc:
        raise NamError(f"{args.model}: {exc}") from exc
    print(f"wrote {args.out}")
    return 0


FORMATS = {
    "c": (add_c_arguments, run_c, "C source for the streaming engine (firmware and host)"),
    "tflite": (add_tflite_arguments, run_tflite,
               "a fixed-window TensorFlow Lite model (float32, int16x8, int8) and its C array for TFLite Micro"),
    "nam": (add_nam_arguments, run_nam,
            "a Neural Amp Modeler capture (.nam: A1 WaveNet or LSTM) of a nam_wavenet or lstm model"),
}


def add_formats(parser: argparse.ArgumentParser, formats: dict[str, tuple]) -> None:
    """One sub-subcommand per format (`valvenet export c`, `valvenet import nam`): each entry is
    (add its arguments, run it, one-line help); run_format runs the chosen one."""
    subparsers = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for name, (arguments, run_one, help_text) in formats.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        arguments(sub)
        sub.set_defaults(format_run=run_one)


def run_format(args: argparse.Namespace) -> int:
    return int(args.format_run(args))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_formats(parser, FORMATS)


def run(args: argparse.Namespace) -> int:
    return run_format(args)
