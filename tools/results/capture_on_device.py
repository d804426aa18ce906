"""A Neural Amp Modeler capture as it is, in the QEMU amp image: each of the image's engines
(int16 and float32) against the numpy oracle on real DI, and its instructions per sample
(docs/real_amps.md, "The feather capture as it is").

    cp REALDATA/captures/dumble.nam models/local/model.nam
    ./bazelw build //models/local:amp_mps2_an500
    PYTHONPATH=python .venv/bin/python tools/results/capture_on_device.py \\
        bazel-bin/models/local/amp_mps2_an500.elf REALDATA/captures/dumble.nam REALDATA/di/*.wav

The capture's QEMU image carries it in int16 and float32 (firmware/valvenet_firmware.bzl
local_amp_images). Each DI's loudest --seconds (the UART carries ~10 KB/s: seconds, not whole
files; the loudest, because a quiet excerpt's ESR measures only the int16 noise floor) go
through PROCESS frames of 48 samples from a reset engine; the oracle runs the same capture in
float64 over the same excerpt. Instructions per sample: the
firmware's `bench` command (blocks of 48 on its built-in guitar clip, harness subtracted),
median and worst block. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet import bench
from valvenet.device.console import Console
from valvenet.device.protocol import Client
from valvenet.device.targets import open_transport
from valvenet.export.nam import read_nam
from valvenet.models.oracle import Oracle
from valvenet.report import loudest_excerpt


def loudest_seconds(path: Path, seconds: float) -> np.ndarray:
    """The loudest `seconds` of a mono 48 kHz WAV (report.loudest_excerpt, as the training
    report picks its excerpts)."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != 48_000:
        raise SystemExit(f"{path}: {rate} Hz; the capture runs at 48 kHz")
    start, stop = loudest_excerpt(audio[:, 0], rate, seconds)
    return audio[start:stop, 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("firmware", type=Path, help="the capture's QEMU amp image (.elf)")
    parser.add_argument("capture", type=Path, help="the .nam file the image was built from")
    parser.add_argument("di", type=Path, nargs="+", help="DI recordings (48 kHz WAV)")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    capture = read_nam(args.capture)
    inputs = {di.stem: loudest_seconds(di, args.seconds) for di in args.di}
    # a fresh oracle per excerpt: each starts from silence, as the engine after RESET
    references = {name: Oracle(capture).process_all(x.astype(np.float64)) for name, x in inputs.items()}
    print("| engine | DI | max abs error vs oracle | ESR vs oracle | instructions per sample (median / worst block of 48) |")
    print("|---|---|---:|---:|---:|")
    with open_transport("qemu", args.firmware) as transport:
        console = Console(transport)
        console.wait_for_line(r"^ValveNet ", 60.0)
        client = Client(console)
        for index in range(client.info().model_count):
            info = client.select(index)
            speed = bench.measure(console, index, 48)
            for name, x in inputs.items():
                client.reset()
                out = np.asarray(client.process_stream(x, [48], "float32"), np.float64)
                error = out - references[name]
                esr = float(np.sum(error ** 2) / np.sum(references[name] ** 2))
                print(f"| {info.name} | {name} | {np.max(np.abs(error)):.2e} | {esr:.2e} | "
                      f"{speed['median']:,.0f} / {speed['max']:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
