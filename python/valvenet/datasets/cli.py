"""`valvenet dataset`: build the built-in dataset.

    valvenet dataset build --out DIR [--preset NAME ... | --sweep SPEC] [--seconds-scale F] [--seed N] [--cab [IR]]

The heavy lifting is in valvenet.synth; this module only turns options into a BuildOptions (its
SynthError becomes one readable line and exit status 2 in valvenet.cli).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _add_build(subparsers: argparse._SubParsersAction) -> None:
    from valvenet.synth import amp, builder, cab, sweep

    build = subparsers.add_parser(
        "build",
        help="build the built-in dataset (fluidsynth guitar through the guitarix amp)",
        description="Renders a seeded guitar performance with fluidsynth (FluidR3_GM) and runs it through "
        "guitarix's LV2 amp for each preset; writes DIR/{train,val,test}/NAME-{input,target}.wav "
        "(float32, 48 kHz) and DIR/meta.json. The same options give byte-identical files.",
    )
    build.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    build.add_argument(
        "--preset", action="append", dest="presets", choices=sorted(amp.PRESETS), metavar="NAME",
        help=f"amp preset, repeatable (default: {' '.join(builder.DEFAULT_PRESETS)}; "
        f"choices: {', '.join(sorted(amp.PRESETS))})",
    )  # fmt: skip
    build.add_argument(
        "--sweep", metavar="SPEC",
        help="instead of presets, a knob sweep of the crunch circuit: NAME=LO..HI:COUNT[,...] with knobs "
        f"{' and '.join(sweep.KNOBS)} in 0..1 (e.g. gain=0..1:5,tone=0..1:3); clips are named by setting "
        "and meta.json's knobs table gives their values; val and test add the settings between the grid's",
    )  # fmt: skip
    build.add_argument(
        "--seconds-scale", type=float, default=1.0, metavar="F",
        help="scale the split lengths (default 1: train 180 s, val 30 s, test 30 s)",
    )  # fmt: skip
    build.add_argument("--seed", type=int, default=0, help="seed of the generated performance (default 0)")
    build.add_argument(
        "--cab", nargs="?", const="", default=None, metavar="IR.wav",
        help=f"convolve the targets with a cabinet IR: a WAV path or a name in {cab.IR_DIR} "
        f"(default IR: {cab.DEFAULT_IR!r}); names get a -cab suffix",
    )  # fmt: skip
    build.set_defaults(dataset_action=_run_build)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the `dataset` actions (`build`) to the `valvenet dataset` parser."""
    subparsers = parser.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    _add_build(subparsers)


def _run_build(args: argparse.Namespace) -> int:
    from valvenet.synth import BuildOptions, SynthError, build_dataset
    from valvenet.synth.builder import DEFAULT_PRESETS

    if args.sweep is not None and args.presets:
        raise SynthError("--preset and --sweep exclude each other: a sweep's clips are named by their knob settings")
    opts = BuildOptions(
        out=args.out,
        presets=tuple(args.presets or DEFAULT_PRESETS),
        seconds_scale=args.seconds_scale,
        seed=args.seed,
        cab=args.cab,
        sweep=args.sweep,
    )
    meta = build_dataset(opts)
    print(f"wrote {len(meta['files'])} files and meta.json to {args.out}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Runs the chosen `dataset` action; returns the exit status."""
    return int(args.dataset_action(args))


def main(argv: list[str] | None = None) -> int:
    """`valvenet dataset ...` on its own: the build's dataset tool (//data), which so depends
    on datasets and synth only, not on every subcommand."""
    parser = argparse.ArgumentParser(prog="valvenet dataset")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
