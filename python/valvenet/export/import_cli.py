"""`valvenet import nam CAPTURE.nam --out MODEL.vnet`: other tools' model files into ValveNet.

The counterpart of `valvenet export`: one format so far, Neural Amp Modeler captures (their
A1 WaveNet as a nam_wavenet model file, their LSTM as an lstm; export/nam.py says what is
and is not supported).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from valvenet.export.cli import add_formats, run_format


def add_nam_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("capture", type=Path, help="Neural Amp Modeler capture (.nam)")
    parser.add_argument("--out", required=True, type=Path, help="model file to write (.vnet)")
    parser.add_argument("--name", help="model name (default: the capture's file name without .nam)")


def run_nam(args: argparse.Namespace) -> int:
    from valvenet.export.nam import read_nam
    from valvenet.models.model_file import save

    model = read_nam(args.capture, args.name)
    save(model, args.out)
    print(f"wrote {args.out}: {model.config['kind']}, {model.parameter_count():,} parameters, "
          f"{model.sample_rate} Hz")
    return 0


FORMATS = {
    "nam": (add_nam_arguments, run_nam, "a Neural Amp Modeler capture (.nam: A1 WaveNet or LSTM) as a model file"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_formats(parser, FORMATS)


def run(args: argparse.Namespace) -> int:
    return run_format(args)
