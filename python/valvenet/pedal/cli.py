"""`valvenet pedal`: control the real-time amp (the pedal) and read its load.

On a board (`--target serial:PORT`) the amp image streams from the codec from boot: `--set`
changes parameters live (each ramps in the firmware, no click) and the command prints the
stream's statistics: CPU load (DWT cycles over the block period) and missed deadlines. In an
emulator there is no codec: `--input`/`--output` run a short clip (up to 16384 samples)
through the same block loop from the timer-paced software source, `--start software
--seconds S` measures the load.

    valvenet pedal --target serial:/dev/ttyACM0 --set output_gain_db=-6 --set gate_threshold_db=-60
    valvenet pedal --target qemu --start software --block 32 --seconds 1
    valvenet pedal --target qemu --set cabinet=0 --input di.wav --output amp.wav
    valvenet pedal --target serial:/dev/ttyACM0 --model model.vnet --set gain=0.7   (a model's knob)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet import atomic
from valvenet.device.console import Console
from valvenet.device.protocol import MAX_BLOCK, MIN_BLOCK, RATES, Client
from valvenet.device.stream import BOOT_TIMEOUT_S, check_output, default_firmware
from valvenet.device.targets import open_transport
from valvenet.pedal.chain import PARAMS, ChainError, check_param, param_id

SOURCE_CAPACITY = 16384  # firmware/app/pedal.h PEDAL_SOFT_CAPACITY


class PedalError(RuntimeError):
    """A bad request (file, parameter), with what it concerns."""


def parse_setting(text: str, knob_names: tuple[str, ...] = ()) -> tuple[str, float]:
    """"name=value" -> (name, value), checked against the firmware's ranges (a knob: the
    model's name for it, or knob<i>; a position 0..1)."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or math.isnan(number):
        raise PedalError(f"--set {text!r}: expected NAME=NUMBER, NAME one of {', '.join(PARAMS)}")
    try:
        check_param(name, number, knob_names=knob_names)
    except ChainError as err:
        raise PedalError(f"--set {text!r}: {err}") from err
    return name, number


def read_clip(path: Path, rate: int) -> np.ndarray:
    """A mono clip at the stream's rate that fits the software source."""
    if not path.is_file():
        raise PedalError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except RuntimeError as err:
        raise PedalError(f"{path}: cannot read ({err})") from err
    if info.channels != 1:
        raise PedalError(f"{path}: {info.channels} channels; the pedal takes mono")
    if info.samplerate != rate:
        raise PedalError(f"{path}: {info.samplerate} Hz, the stream runs at {rate} Hz (--rate)")
    audio, _ = sf.read(str(path), dtype="float32")
    if audio.size == 0 or audio.size > SOURCE_CAPACITY:
        raise PedalError(f"{path}: {audio.size} samples; the emulator's software source holds 1..{SOURCE_CAPACITY}")
    if not np.all(np.isfinite(audio)):
        raise PedalError(f"{path}: contains NaN or infinity")
    return audio


def describe(stats: dict[str, int]) -> str:
    state = "running" if stats.get("audio_running") else "stopped"
    return (f"stream {state}: {stats.get('audio_events', 0):,} blocks, {stats.get('audio_processed', 0):,} processed, "
            f"{stats.get('audio_missed', 0)} missed deadlines ({stats.get('audio_dropped', 0)} dropped); "
            f"load {stats.get('load_avg_ppm', 0) / 1e4:.1f} % average, {stats.get('load_max_ppm', 0) / 1e4:.1f} % max "
            f"of {stats.get('period_counts', 0):,} counter units per block")


def render_clip(client: Client, audio: np.ndarray, rate: int, block: int) -> np.ndarray:
    """The clip through the block loop; the output without the one block of sink latency."""
    client.load_source(audio, "float32")
    blocks = math.ceil(audio.size / block)
    client.audio_start("software", rate, block, blocks)
    stats = client.wait_stream_end(timeout=120.0)
    sink = client.read_sink(stats["sink_samples"])
    return sink[block:block + audio.size]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="qemu", help="qemu (default), renode or serial:PORT[@BAUD]")
    parser.add_argument("--firmware", type=Path, help="firmware ELF for qemu/renode (default: the amp image)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help=f"a parameter ({', '.join(PARAMS)}), or a knob of the model (its name with "
                        "--model, or knob0..knob3: a position 0..1); repeat for several")
    parser.add_argument("--model", type=Path, help="the model file the pedal runs: its knobs' names for --set")
    parser.add_argument("--start", choices=("codec", "software"), help="start a stream from this source")
    parser.add_argument("--rate", type=int, default=48000, choices=RATES,
                        help="the stream's rate: the model's own (the firmware refuses another)")
    parser.add_argument("--block", type=int, default=32, help=f"frames per block ({MIN_BLOCK}..{MAX_BLOCK})")
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="with --start: run this long and stop (0: leave it running)")
    parser.add_argument("--stop", action="store_true", help="stop the stream")
    parser.add_argument("--input", type=Path, help="emulator: a mono clip to run through the pedal")
    parser.add_argument("--output", type=Path, help="where --input's output goes (float32 WAV)")


def pedal(args: argparse.Namespace) -> str:
    knob_names = ()
    if args.model:
        from valvenet.models.knobs import knob_names as names_of
        from valvenet.models.model_file import load

        knob_names = tuple(names_of(load(args.model).config))
    settings = [parse_setting(text, knob_names) for text in args.set]
    if bool(args.input) != bool(args.output):
        raise PedalError("--input and --output go together")
    if not MIN_BLOCK <= args.block <= MAX_BLOCK:
        raise PedalError(f"--block {args.block}: {MIN_BLOCK}..{MAX_BLOCK} frames")
    clip = read_clip(args.input, args.rate) if args.input else None
    if clip is not None:
        check_output(args.output, args.input)
    firmware = args.firmware or default_firmware(args.target)
    if firmware is not None and not Path(firmware).is_file():
        raise PedalError(f"{firmware}: no such firmware image (./bazelw build //firmware:amp_mps2_an500)")
    with open_transport(args.target, firmware) as transport:
        console = Console(transport)
        if not args.target.startswith("serial:"):
            console.wait_for_line(r"^ValveNet ", BOOT_TIMEOUT_S)
        client = Client(console)
        client.info()  # the firmware speaks this host's protocol version (VersionError if not)
        for name, value in settings:
            block = client.set_param(param_id(name, knob_names), value)
            print(f"{name} = {value:g}" + ("" if block == 0xFFFFFFFF else f" (from block {block})"))
        if clip is not None:
            out = render_clip(client, clip, args.rate, args.block)
            atomic.write_wav(args.output, out, args.rate)
            print(f"wrote {args.output}: {out.size} samples")
        elif args.start:
            stream = client.audio_start(args.start, args.rate, args.block, 0)
            print(f"started {stream.source} at {stream.rate_hz:.3f} Hz, {stream.block} frames per block, "
                  f"cabinet {stream.cabinet_name or 'none'} ({stream.cabinet_taps} taps)")
            if args.seconds > 0:
                time.sleep(args.seconds)
                client.audio_stop()
        if args.stop:
            client.audio_stop()
        return describe(client.stats())


def run(args: argparse.Namespace) -> int:
    print(pedal(args))
    return 0
