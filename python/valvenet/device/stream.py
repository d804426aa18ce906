"""`valvenet run`: stream a WAV file through the amp firmware and write what it plays.

The firmware runs in QEMU (mps2-an500 image), in Renode (NUCLEO-F767ZI image) or on a board
on a serial port; audio goes in PROCESS frames (docs/protocol.md) and comes back processed by
the engine compiled into the image. The model file says which model of the image to use
(matched by name and weights CRC), so a WAV is never processed by a model other than the one
asked for.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet import atomic, paths
from valvenet.device.console import Console
from valvenet.device.protocol import MAX_SAMPLES, Client, ModelInfo
from valvenet.device.targets import open_transport
from valvenet.models.model_file import INT16_SUFFIX, ModelFile, load

# The default image per emulator, and where it lies beside the installation: in a Bazel
# runfiles tree, or where `./bazelw build //firmware:amp_<board>` puts it in the checkout.
DEFAULT_IMAGES = {"qemu": "amp_mps2_an500.elf", "renode": "amp_nucleo_f767zi.elf"}
IMAGE_FOLDERS = ("firmware", "bazel-bin/firmware")
BOOT_TIMEOUT_S = 120.0


class RunError(RuntimeError):
    """A problem with the inputs or the firmware, with the file it concerns."""


@dataclass(frozen=True)
class RunResult:
    samples: int
    seconds: float
    info: ModelInfo


def read_input(path: Path, model: ModelFile) -> np.ndarray:
    """The input WAV as mono float32, checked against the model: rate, channels, content."""
    if not path.is_file():
        raise RunError(f"{path}: no such file")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise RunError(f"{path}: not a readable audio file ({exc})") from exc
    if rate != model.sample_rate:
        raise RunError(f"{path}: sample rate {rate} Hz, model {model.name} runs at {model.sample_rate} Hz")
    if audio.shape[1] != 1:
        raise RunError(f"{path}: {audio.shape[1]} channels; the amp takes one (mono) channel")
    if audio.shape[0] == 0:
        raise RunError(f"{path}: no samples")
    if not np.all(np.isfinite(audio)):
        raise RunError(f"{path}: NaN or Inf in the audio")
    return audio[:, 0]


def check_output(path: Path, in_path: Path) -> None:
    """Refuses an output in a missing folder, or one that would replace the input, before a
    device boots (the stream would be lost at the end)."""
    if not path.parent.is_dir():
        raise RunError(f"{path}: folder {path.parent} does not exist")
    if path.exists() and path.samefile(in_path):
        raise RunError(f"{path}: is the input file; write the output to another file")


def default_firmware(target: str) -> Path | None:
    """The installation's amp image for an emulator target (None for a board, which runs what
    it was flashed with), found through valvenet.paths whatever the current folder is."""
    name = DEFAULT_IMAGES.get(target)
    if name is None:
        return None
    for folder in IMAGE_FOLDERS:
        root = paths.find(f"{folder}/{name}")
        if root is not None:
            return root / folder / name
    searched = ", ".join(str(root) for root in paths.source_roots())
    raise RunError(f"{name}: no such firmware image beside the installation (searched {searched}); build it: "
                   f"./bazelw build //firmware:{name[:-4]}, or give --firmware")


def select_model(client: Client, model: ModelFile, firmware: str, precision: str | None = None) -> ModelInfo:
    """SELECT the image's engine for `model` (same name and weights CRC; of `precision` if
    given, else the first: an image may hold a model's float32 and int16 engines). A running
    pedal stream (the NUCLEO amp image starts one at boot) is stopped first: the model cannot
    serve both."""
    client.audio_stop()
    wanted = model.weights_crc32()
    names = (model.name, model.name + INT16_SUFFIX)
    info = client.info()
    seen = []
    for index in range(info.model_count):
        candidate = client.select(index)
        if (candidate.name in names and candidate.weights_crc32 == wanted
                and precision in (None, candidate.precision)):
            return candidate
        seen.append(f"{candidate.name} ({candidate.precision}, CRC {candidate.weights_crc32:08X})")
    asked = f"model {model.name}" + (f" in {precision}" if precision else "")
    raise RunError(f"{firmware}: the image does not hold {asked} (weights CRC {wanted:08X}); it holds: "
                   f"{', '.join(seen) or 'no models'}. Build an image for it: copy the model file to "
                   "models/local/model.vnet and `./bazelw build //models/local:amp_mps2_an500` "
                   "(or amp_nucleo_f767zi for Renode and the board)")


def stream_audio(client: Client, model: ModelFile, audio: np.ndarray, source: str, fmt: str = "float32",
                 block: int = MAX_SAMPLES, precision: str | None = None,
                 progress: bool = True) -> tuple[np.ndarray, ModelInfo]:
    """SELECT the image's engine for `model`, RESET it and stream `audio` through PROCESS
    frames of `block` samples (with a progress bar); returns the output and the engine's INFO."""
    info = select_model(client, model, source, precision)
    client.reset()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=audio.size, unit="sample", unit_scale=True, desc=f"{info.board}: {info.name}")
    try:
        return client.process_stream(audio, block, fmt, progress=bar.update if bar else None), info
    finally:
        if bar is not None:
            bar.close()


def stream_file(target: str, firmware: Path | None, model: ModelFile, in_path: Path, out_path: Path,
                fmt: str = "float32", block: int = MAX_SAMPLES, progress: bool = True,
                precision: str | None = None) -> RunResult:
    """Stream in_path through the firmware into out_path (float32 WAV; an earlier out_path
    stays as it was if anything fails)."""
    audio = read_input(in_path, model)
    check_output(out_path, in_path)
    if firmware is None:
        firmware = default_firmware(target)
    if firmware is not None and not firmware.is_file():
        raise RunError(f"{firmware}: no such firmware image (build it: ./bazelw build //firmware:amp_mps2_an500)")
    started = time.monotonic()
    with open_transport(target, firmware) as transport:
        console = Console(transport)
        if not target.startswith("serial:"):
            console.wait_for_line(r"^ValveNet ", BOOT_TIMEOUT_S)
        client = Client(console)
        output, info = stream_audio(client, model, audio, str(firmware or target), fmt, block, precision, progress)
    atomic.write_wav(out_path, output, model.sample_rate)
    return RunResult(audio.size, time.monotonic() - started, info)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="qemu", help="qemu (default), renode or serial:PORT[@BAUD]")
    parser.add_argument("--model", required=True, type=Path, help="the model file (.vnet) the image must hold")
    parser.add_argument("--firmware", type=Path,
                        help="firmware ELF for qemu/renode (default: the installation's amp_mps2_an500.elf, "
                             "amp_nucleo_f767zi.elf for renode, built by ./bazelw build //firmware:...); a serial "
                             "board runs what it was flashed with")
    parser.add_argument("--precision", choices=("float32", "int16"),
                        help="which engine of the model, where the image holds both (default: the first)")
    parser.add_argument("--format", choices=("float32", "int16"), default="float32", help="sample format on the link")
    parser.add_argument("--block", type=int, default=MAX_SAMPLES, help=f"samples per frame (1..{MAX_SAMPLES})")
    parser.add_argument("input", type=Path, help="input WAV (mono, the model's sample rate)")
    parser.add_argument("output", type=Path, help="output WAV (float32)")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.block <= MAX_SAMPLES:
        raise RunError(f"--block {args.block}: frames hold 1..{MAX_SAMPLES} samples")
    result = stream_file(args.target, args.firmware, load(args.model), args.input, args.output,
                         args.format, args.block, precision=args.precision)
    print(f"wrote {args.output}: {result.samples} samples through {result.info.name} ({result.info.precision}) "
          f"on {result.info.board} in {result.seconds:.1f} s")
    return 0
