"""`./bazelw run //:demo`: the whole ValveNet path on the built-in example, end to end.

1. builds the built-in dataset (crunch amp) at a short length,
2. trains the recommended real-time model (nam-nano) for a fixed number of seeded epochs (a
   fixed amount of work, not of time: the figures are the same on a busy machine),
3. exports it to C and builds the amp firmware for QEMU and the NUCLEO-F767ZI (Bazel),
4. streams the test split through the firmware (QEMU by default, a flashed board with
   --target serial:PORT) and benchmarks it on the device's counter,
5. prints the test ESR of the firmware's output against the amp, its agreement with the
   Python oracle, instructions (QEMU) or cycles (board) per sample against the real-time
   budget, and where the WAVs and the training report are.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from valvenet import atomic, paths
from valvenet.device import Console, TransportError, open_transport
from valvenet.device.protocol import Client, FirmwareError, ProtocolError
from valvenet.device.stream import read_input, stream_audio
from valvenet.models.model_file import ModelFile, load
from valvenet.losses import esr, scores
from valvenet.models import config as model_config
from valvenet.models.oracle import Oracle

CORE_CLOCK_HZ = 216_000_000
SAMPLE_RATES_HZ = (44_100, 48_000)
DEFAULT_MODEL = "nam-nano"  # the recommended real-time model (docs/benchmarks.md, docs/results.md)
# Epochs of the demo's training: about 4 minutes on an idle 2-core machine, where the model's
# validation ESR has come down to a few percent (docs/results.md has longer runs).
DEFAULT_EPOCHS = 28
IMAGES = {"qemu": "amp_mps2_an500", "serial": "amp_nucleo_f767zi", "renode": "amp_nucleo_f767zi"}


def budget_table(clock_hz: int = CORE_CLOCK_HZ) -> list[tuple[int, float, float]]:
    """Rows of (sample rate, cycles per sample, microseconds per sample) at clock_hz."""
    return [(rate, clock_hz / rate, 1e6 / rate) for rate in SAMPLE_RATES_HZ]


def memory_rows(size_report: str) -> list[str]:
    """The per-region lines of a firmware size report (header included)."""
    rows = size_report.split("\n\n")[1] if "\n\n" in size_report else ""
    return rows.splitlines()


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def build_dataset(out: Path, seconds_scale: float) -> Path:
    from valvenet.synth.builder import BuildOptions, build_dataset as build

    if "VALVENET_LV2HOST" in os.environ:  # Bazel gives it relative to the runfiles tree
        os.environ["VALVENET_LV2HOST"] = os.path.abspath(os.environ["VALVENET_LV2HOST"])
    build(BuildOptions(out=out, presets=("crunch",), seconds_scale=seconds_scale, seed=0))
    return out


def train_model(data: Path, out: Path, preset: str, epochs: int, seed: int) -> Path:
    import math

    from valvenet.train import TrainOptions, train

    # A fixed number of epochs and no time limit: the same weights on any machine. Patience 20
    # epochs: a short validation split is noisy; the best epoch's weights are what the model
    # file keeps.
    return train(TrainOptions(data=str(data), name="crunch", model=preset, out=str(out), seed=seed,
                              max_minutes=math.inf, max_epochs=epochs, patience=20, report=True))


def build_firmware(root: Path, model_path: Path) -> dict[str, Path]:
    """Copy the model into models/demo and build its images; return image name -> ELF."""
    shutil.copyfile(model_path, root / "models/demo/model.vnet")
    targets = [f"//models/demo:{image}" for image in sorted(set(IMAGES.values()))]
    bazel = root / "bazelw"
    subprocess.run([str(bazel), "build", "--noshow_progress", *targets], cwd=root, check=True)
    return {image: root / "bazel-bin/models/demo" / f"{image}.elf" for image in set(IMAGES.values())}


def run_on_device(target: str, firmware: Path, model: ModelFile, audio: np.ndarray) -> dict[str, Any]:
    """Boot, self-test line, stream the audio, BENCH; returns outputs and figures."""
    with open_transport(target, firmware if not target.startswith("serial:") else None) as transport:
        console = Console(transport)
        client = Client(console)
        if target.startswith("serial:"):
            client.audio_stop()  # the NUCLEO amp image streams from its codec from boot
            selftest = console.command("selftest", 60.0)
        else:
            console.wait_for_line(r"^ValveNet ", 120.0)
            selftest = console.wait_for_line(r"^SELFTEST ", 120.0).string
        started = time.monotonic()
        output, info = stream_audio(client, model, audio, str(firmware))
        seconds = time.monotonic() - started
        bench = client.bench(48, 16)
        stats = client.stats()
    return {"output": output, "selftest": selftest, "info": info, "bench": bench, "stats": stats,
            "stream_seconds": seconds}


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder (default: demo-out)")
    parser.add_argument("--target", default="qemu", help="qemu (default) or serial:PORT for a NUCLEO-F767ZI")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"training epochs, a fixed amount of work (default {DEFAULT_EPOCHS}: about 4 min "
                             "on an idle 2-core machine)")
    parser.add_argument("--seconds-scale", type=float, default=0.25,
                        help="dataset length as a fraction of the full one (default 0.25: 45 s train, 7.5 s test)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"preset to train (default {DEFAULT_MODEL})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-flash", action="store_true", help="serial target: the board already runs the demo image")
    args = parser.parse_args(argv)
    if "BUILD_WORKING_DIRECTORY" in os.environ and not args.out.is_absolute():
        args.out = Path(os.environ["BUILD_WORKING_DIRECTORY"]) / args.out
    return args


def show_images(images: dict[str, Path]) -> None:
    """Each built image and its memory rows (from the size report beside it)."""
    for _, elf in sorted(images.items()):
        print(f"  {elf}")
        report = elf.with_suffix(".size.txt")
        if report.is_file():
            for line in memory_rows(report.read_text()):
                print(f"      {line}")


def figures(model: ModelFile, target_audio: np.ndarray, oracle: np.ndarray, device: dict[str, Any],
            skip: int) -> dict[str, Any]:
    """What demo.json records: the firmware against the amp and against the oracle, its cost."""
    amp = scores(target_audio, device["output"], skip=skip)
    agreement = {"max_abs_error": float(np.max(np.abs(device["output"].astype(np.float64) - oracle))),
                 "esr": esr(oracle, device["output"])}
    bench, training = device["bench"], model.metadata["training"]
    return {
        "model": model.name, "parameters": model.parameter_count(),
        "training_epochs": training["epochs"], "best_epoch": training["best_epoch"],
        "training_minutes": training["minutes"], "training_test_esr_preemph": training["test"]["esr_preemph"],
        "firmware_test_esr": amp["esr"], "firmware_test_esr_preemph": amp["esr_preemph"],
        "oracle_agreement": agreement, "selftest": device["selftest"], "board": device["info"].board,
        "counter_unit": bench.unit, "per_sample_median": bench.median_per_sample, "per_sample_max": bench.max_per_sample,
        "budget_share": {f"{rate / 1000:g} kHz": bench.median_per_sample / cycles for rate, cycles, _ in budget_table()},
        "stream_seconds": device["stream_seconds"], "link_stats": device["stats"],
    }


def print_figures(result: dict[str, Any]) -> None:
    agreement = result["oracle_agreement"]
    print(f"  model {result['model']}: {result['parameters']} parameters, trained {result['training_epochs']} epochs "
          f"(kept epoch {result['best_epoch']}; {result['training_minutes']:.1f} min on this machine)")
    print(f"  test ESR of the firmware's output against the amp: {100 * result['firmware_test_esr']:.2f} % "
          f"({100 * result['firmware_test_esr_preemph']:.2f} % pre-emphasised; the training loss)")
    print(f"  agreement with the Python oracle: max abs error {agreement['max_abs_error']:.2e}, ESR {agreement['esr']:.1e}")
    print(f"  {result['selftest']}")
    unit, median = result["counter_unit"], result["per_sample_median"]
    print(f"  {unit} per sample on {result['board']}: {median:,.0f} (median of 16 blocks of 48; worst block "
          f"{result['per_sample_max']:,.0f})")
    for rate, cycles, _ in budget_table():
        print(f"    {100 * median / cycles:5.1f} % of the STM32F767's {cycles:,.0f} cycles per sample "
              f"at {rate / 1000:g} kHz (216 MHz)")
    if unit == "instructions":
        print("    (QEMU counts instructions, not cycles: the Cortex-M7 dual-issues, and its caches, TCMs and flash "
              "wait states only a board shows; run the demo with --target serial:PORT for cycles)")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = paths.checkout()  # the demo builds firmware in the source tree
    kind = "serial" if args.target.startswith("serial:") else args.target
    if kind not in IMAGES:
        print(f"error: --target {args.target}: qemu, renode or serial:PORT", file=sys.stderr)
        return 2

    print("ValveNet demo: dry guitar + amp recording -> model -> microcontroller firmware")
    step(f"1/5 built-in dataset (crunch amp, {args.seconds_scale:g} x full length) -> {out / 'data'}")
    data = build_dataset(out / "data", args.seconds_scale)
    step(f"2/5 training {args.model} for {args.epochs} epochs (seed {args.seed}) -> {out / 'run'}")
    model_path = train_model(data, out / "run", args.model, args.epochs, args.seed)
    model = load(model_path)
    step("3/5 C export and firmware build (Bazel: //models/demo:amp_mps2_an500, :amp_nucleo_f767zi)")
    images = build_firmware(root, model_path)
    show_images(images)
    firmware = images[IMAGES[kind]]
    if kind == "serial" and not args.no_flash:
        from valvenet.device.flash import flash_board

        flash_board(firmware, os.environ.get("VALVENET_FLASH_TOOL", "auto"))

    step(f"4/5 streaming the test split through the firmware ({args.target})")
    test_input = read_input(data / "test/crunch-input.wav", model)
    target_audio, _ = sf.read(str(data / "test/crunch-target.wav"), dtype="float32")
    try:
        device = run_on_device(args.target, firmware, model, test_input)
    except (TransportError, ProtocolError, FirmwareError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    oracle = np.asarray(Oracle(model).process_all(test_input.astype(np.float64)), np.float32)
    firmware_wav, oracle_wav = out / "test-firmware.wav", out / "test-oracle.wav"
    atomic.write_wav(firmware_wav, device["output"], model.sample_rate)
    atomic.write_wav(oracle_wav, oracle, model.sample_rate)

    step("5/5 results")
    skip = min(model_config.receptive_field(model.config), test_input.size // 2)
    result = figures(model, target_audio, oracle.astype(np.float64), device, skip)
    atomic.write_text(out / "demo.json", json.dumps(result, indent=2) + "\n")
    print_figures(result)
    print(f"  outputs: {firmware_wav} (firmware), {oracle_wav} (oracle), {data / 'test/crunch-target.wav'} (amp)")
    print(f"  training report: {out / 'run/report.html'}; figures: {out / 'demo.json'}")
    print(f"  firmware: {images['amp_nucleo_f767zi']} (flash it and add --target serial:PORT)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
