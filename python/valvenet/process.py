"""`valvenet process`: run a model file over a WAV file, optionally through a cabinet IR.

Block by block (the oracle streams), reading and writing with soundfile, so memory stays
flat for long files. The cabinet is its own step, as on the device where it is a separate FIR
stage: the firmware's taps for the IR (valvenet.export.cabinet.load: resampled to the model's
rate, minimum phase, cut to --cab-taps, unit energy), applied by FFT overlap-add convolution.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from valvenet import atomic
from valvenet.export import cabinet as cabinet_ir
from valvenet.models.model_file import ModelFile, load
from valvenet.models.oracle import Oracle

BLOCK = 65536


class ProcessError(ValueError):
    """Input that cannot be processed; names the file and the problem."""


def _mono_block(block: np.ndarray, path: Path, channel: int | None) -> np.ndarray:
    if block.ndim == 1:
        return block
    if channel is None:
        raise ProcessError(f"{path}: {block.shape[1]} channels; choose one with --channel")
    if not 0 <= channel < block.shape[1]:
        raise ProcessError(f"{path}: channel {channel} does not exist ({block.shape[1]} channels)")
    return block[:, channel]


class CabinetConvolver:
    """Streaming FFT convolution (overlap-add) with an impulse response."""

    def __init__(self, ir: np.ndarray) -> None:
        self.ir = np.asarray(ir, dtype=np.float64)
        self.tail = np.zeros(max(ir.size - 1, 0))

    def process(self, block: np.ndarray) -> np.ndarray:
        full = signal.fftconvolve(block, self.ir)  # len(block) + len(ir) - 1 >= len(tail)
        full[: self.tail.size] += self.tail
        self.tail = full[block.size:]
        return full[: block.size]


ENGINES = ("oracle", "c")


def make_engine(model: ModelFile, engine: str):  # type: ignore[no-untyped-def]
    """The numpy oracle, or the generated C engine compiled for the host."""
    if engine == "c":
        from valvenet.export.c_host import CEngine

        return CEngine(model)
    return Oracle(model)


def check_paths(in_path: Path, out_path: Path) -> None:
    """Refuses, before any work, an input that does not exist, an output in a missing folder and
    an output that would replace the input (libsndfile would only say "System error"). The
    cabinet (a file or one of guitarix's IR names) is checked by its loader."""
    if not in_path.is_file():
        raise ProcessError(f"{in_path}: no such file")
    if not out_path.parent.is_dir():
        raise ProcessError(f"{out_path}: folder {out_path.parent} does not exist")
    if out_path.exists() and out_path.samefile(in_path):
        raise ProcessError(f"{out_path}: is the input file; write the output to another file")


def process_file(model: ModelFile, in_path: Path, out_path: Path, channel: int | None = None,
                 cab: str | Path | None = None, engine: str = "oracle",
                 cab_taps: int = cabinet_ir.DEFAULT_LENGTH) -> None:
    """Stream in_path through the model (and the cabinet `cab` as the firmware has it, cab_taps
    long) into out_path (float32 WAV)."""
    check_paths(in_path, out_path)
    info = sf.info(str(in_path))
    if info.samplerate != model.sample_rate:
        raise ProcessError(f"{in_path}: sample rate {info.samplerate} Hz, the model runs at {model.sample_rate} Hz")
    oracle = make_engine(model, engine)
    cabinet = CabinetConvolver(cabinet_ir.load(cab, model.sample_rate, cab_taps).taps) if cab else None
    with atomic.replacing(out_path) as tmp:  # an earlier out_path stays as it was on failure
        with sf.SoundFile(str(tmp), "w", samplerate=model.sample_rate, channels=1, subtype="FLOAT",
                          format="WAV") as out:
            for block in sf.blocks(str(in_path), blocksize=BLOCK, dtype="float64"):
                x = _mono_block(block, in_path, channel)
                if not np.all(np.isfinite(x)):
                    raise ProcessError(f"{in_path}: NaN or Inf in the audio")
                y = oracle.process(x)
                out.write((cabinet.process(y) if cabinet else y).astype(np.float32))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file (.vnet)")
    parser.add_argument("input", type=Path, help="input WAV (dry guitar)")
    parser.add_argument("output", type=Path, help="output WAV")
    parser.add_argument("--cab", help="cabinet impulse response WAV, or the name of one of guitarix-common's")
    parser.add_argument("--cab-taps", type=int, default=cabinet_ir.DEFAULT_LENGTH,
                        help="cabinet length in taps, as the firmware image's (default %(default)s)")
    parser.add_argument("--channel", type=int, help="channel of a multi-channel input")
    parser.add_argument("--engine", choices=ENGINES, default="oracle",
                        help="oracle: numpy reference (default); c: the firmware's C engine built for this machine")


def run(args: argparse.Namespace) -> int:
    process_file(load(args.model), args.input, args.output, args.channel, args.cab, args.engine,
                 args.cab_taps)
    print(f"wrote {args.output}")
    return 0
