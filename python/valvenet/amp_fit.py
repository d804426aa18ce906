"""The amp's default model by measured fit: firmware/amp_fit.bzl, written by `valvenet bench
--amp-fit` from the benchmark rows and the trained models the amp may carry.

The rule (docs/pedal.md, "The amp's default model by measured fit"): of the candidates (each
trained model file in float32 and int16), the amp defaults to the most accurate one (lowest
pre-emphasised test ESR from its training record, each precision's own: the oracle's for
float32, the int16 engine's "test_int16" for int16; ESRs within TIE of the best count as equal
and fewer cycles decides) whose worst block of 48, in estimated Cortex-M7 cycles per sample of
the same preset and precision in the benchmark, plus the pedal's chain (cabinet FIR, gain,
gate, audio path: CHAIN_PER_SAMPLE) stays under LIMIT of the 48 kHz budget. If none does, the
cheapest candidate is the default and the table says that nothing fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valvenet.export.cost import CHAIN_PER_SAMPLE, F767_CLOCK_HZ  # one chain figure and clock for both rules
from valvenet.models.model_file import ModelFileError, load

BUDGET_48K = F767_CLOCK_HZ / 48_000  # cycles per sample at 216 MHz
LIMIT = 0.75
# Relative ESR difference counted as a tie, so a cheaper engine is not lost to a difference
# nobody hears: the committed crunch lstm-12 scores 21.320 % in int16 and 21.328 % in float32.
# The int16 engine's real losses are far larger: crunch nam-nano 1.49 % against 1.18 %
# (+27 %), high-gain nano 6.37 % against 4.49 % (docs/quality_per_instruction.md).
TIE = 0.05
PRECISIONS = ("float32", "int16")


@dataclass(frozen=True)
class Candidate:
    label: str  # Bazel label of the model file
    precision: str
    preset: str
    test_esr_preemph: float
    model_per_sample: float  # worst block of 48: estimated cycles (instructions without a trace)
    unit: str  # "estimated cycles" or "instructions"

    @property
    def total(self) -> float:
        return self.model_per_sample + CHAIN_PER_SAMPLE

    @property
    def share(self) -> float:
        return self.total / BUDGET_48K

    @property
    def fits(self) -> bool:
        return self.share < LIMIT


def bazel_label(path: Path) -> str:
    """//package:relative/path for a file in the source tree (the package: the nearest folder
    above it with a BUILD file)."""
    path = Path(path)
    folder = path.parent
    while folder != folder.parent and not (folder / "BUILD").is_file() and not (folder / "BUILD.bazel").is_file():
        folder = folder.parent
    package = "" if str(folder) == "." else folder.as_posix()
    return f"//{package}:{path.relative_to(folder).as_posix()}"


def table(rows: list[dict[str, Any]], candidates: list[Path]) -> list[Candidate]:
    """Each candidate model file in each precision with its benchmark figure (rows of the
    same preset and precision); those the benchmark lacks are left out."""
    by_name = {(r["model"].split("+")[0], r["precision"]): r for r in rows}
    found = []
    for path in candidates:
        model = load(path)
        preset = str(model.metadata["name"])
        for precision in PRECISIONS:
            row = by_name.get((preset, precision))
            if row is None:
                continue
            traced = "est_cycles_worst" in row
            figure = row["est_cycles_worst"] if traced else row["worst_block48"]
            found.append(Candidate(bazel_label(path), precision, preset, test_esr(path, model.metadata, precision),
                                   figure, "estimated cycles" if traced else "instructions"))
    return found


def test_esr(path: Path, metadata: dict[str, Any], precision: str) -> float:
    """The pre-emphasised test ESR the training record holds for a precision; an error naming
    the file where an int16 score is missing (`valvenet eval --precision int16 --record`)."""
    training = metadata["training"]
    if precision == "float32":
        return float(training["test"]["esr_preemph"])
    scored = training.get("test_int16", {})
    if "esr_preemph" not in scored:
        why = scored.get("error", "the file was trained before training stored it")
        raise ModelFileError(f"{path}: no int16 test ESR in its training record ({why}): store it with `valvenet eval "
                             f"--model {path} --data DATA --name NAME --precision int16 --record`")
    return float(scored["esr_preemph"])


def choose(candidates: list[Candidate]) -> tuple[Candidate, bool]:
    """(the default, whether it fits): the most accurate fitting candidate, else the cheapest."""
    if not candidates:
        raise ValueError("no amp candidate has a benchmark figure (--candidate models of the zoo's presets)")
    fitting = [c for c in candidates if c.fits]
    if fitting:
        best = min(c.test_esr_preemph for c in fitting)
        return min((c for c in fitting if c.test_esr_preemph <= best * (1 + TIE)), key=lambda c: c.total), True
    return min(candidates, key=lambda c: c.total), False


def render(candidates: list[Candidate]) -> str:
    """firmware/amp_fit.bzl: the table and AMP_DEFAULT (firmware/images.bzl reads it)."""
    default, fits = choose(candidates)
    rows = "\n".join(
        f'    ("{c.label}", "{c.precision}", "{c.preset}", {c.test_esr_preemph:.5f}, {c.model_per_sample:.0f}, '
        f'{c.total:.0f}, {c.share:.3f}, {c.fits}),  # {c.unit}'
        for c in sorted(candidates, key=lambda c: (c.test_esr_preemph, c.total)))
    verdict = "fits" if fits else "NOTHING FITS: the cheapest candidate, over the limit"
    return f'''"""The amp's default model by measured fit. Generated by `valvenet bench --amp-fit`
(tools/bench_docs.sh) from the benchmark (docs/benchmarks.json) and the trained models' test
ESR (each precision's own engine); do not edit. The rule (python/valvenet/amp_fit.py,
docs/pedal.md): the most accurate candidate (ESRs within {TIE:.0%} of the best are equal: fewer
cycles decides) whose worst block of 48 (estimated Cortex-M7 cycles per sample) plus the pedal's
chain ({CHAIN_PER_SAMPLE:,} per sample) stays under {LIMIT:.0%} of the 48 kHz budget ({BUDGET_48K:,.0f} cycles)."""

# (model file, precision, preset, test ESR pre-emphasised, model's worst block per sample,
#  with the chain, share of the 48 kHz budget, under {LIMIT:.0%})
AMP_FIT = [
{rows}
]

# {verdict}
AMP_DEFAULT = ("{default.label}", "{default.precision}")
'''
