"""`valvenet export c|tflite`: what leaves training for the device (C code; TFLite in export/tflite.py).

`export c --precision float32` (the default) runs the float engine's generator (c_code.py);
`--precision int16` the int16 engine's (c_q15.py), with the model file's calibrated scales
(metadata["int16_scales"]), else scales calibrated on `--calibration WAV`.
"""

from __future__ import annotations

import argparse

from valvenet.export import c_code

PRECISIONS = ("float32", "int16")


def add_c_arguments(parser: argparse.ArgumentParser) -> None:
    c_code.add_arguments(parser)
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="engine: float32, or int16 fixed point (needs calibrated scales)")
    parser.add_argument("--calibration", type=str, metavar="WAV",
                        help="int16: calibrate the scales on this audio (the model's input) when the model "
                             "file has none")


def run_c(args: argparse.Namespace) -> int:
    if args.precision == "float32":
        return c_code.run(args)
    from valvenet.export import c_q15
    from valvenet.models import calibrate
    from valvenet.models.model_file import load

    if args.full_recompute:
        raise c_code.CodegenError("--full-recompute is a float32 baseline only")
    model = load(args.model)
    fracs = calibrate.stored_scales(model)
    if fracs is None:
        if not args.calibration:
            raise c_code.CodegenError(f"{args.model} has no int16 scales (metadata {calibrate.METADATA_KEY!r}): "
                                      "give --calibration WAV (input audio) to calibrate them")
        import soundfile as sf

        audio, rate = sf.read(args.calibration, dtype="float32", always_2d=True)
        if rate != model.sample_rate:
            raise c_code.CodegenError(f"{args.calibration} is {rate} Hz, {args.model} needs {model.sample_rate} Hz")
        fracs = calibrate.scales(model, audio.mean(axis=1)[:int(calibrate.TRAINING_SECONDS * rate)])
    header, source = c_q15.write(model, fracs, args.out, args.symbol)
    print(f"wrote {header} and {source}")
    return 0


def add_tflite_arguments(parser: argparse.ArgumentParser) -> None:
    from valvenet.export import tflite

    tflite.add_arguments(parser)


def run_tflite(args: argparse.Namespace) -> int:
    from valvenet.export import tflite

    return tflite.run(args)


FORMATS = {
    "c": (add_c_arguments, run_c, "C source for the streaming engine (firmware and host)"),
    "tflite": (add_tflite_arguments, run_tflite,
               "a fixed-window TensorFlow Lite model (float32, int16x8, int8) and its C array for TFLite Micro"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    formats = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for name, (arguments, run_format, help_text) in FORMATS.items():
        sub = formats.add_parser(name, help=help_text, description=help_text)
        arguments(sub)
        sub.set_defaults(export_run=run_format)


def run(args: argparse.Namespace) -> int:
    return int(args.export_run(args))
