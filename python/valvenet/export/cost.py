"""What a model costs on the STM32F767 engine, estimated before any firmware is built.

`valvenet bench` measures instructions per sample of the benchmark zoo in QEMU
(docs/benchmarks.json). A model that was not measured (an imported capture) is estimated from
those measurements: its MACs per sample times the instructions per MAC of the worst block of 48
(real time is decided by the worst block) measured for the zoo model of the same kind and
precision whose MAC count is nearest (on a log scale). Instructions
per MAC fall as models grow (fixed costs spread over more work), so for a model larger than
every measured one the estimate errs high by the difference (nam-feather 2.4, nano 3.5); a
capture refused by it is far over the budget either way (NAM's standard: about 7x at 48 kHz).

The budget is the F767's instructions per sample at the model's rate: 216 MHz / rate (4,500
at 48 kHz). QEMU counts instructions, not cycles (the M7 dual-issues; loads and flash wait
states cost more): docs/benchmarks.md has the caveat.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valvenet import paths
from valvenet.models import config as model_config

F767_CLOCK_HZ = 216_000_000
# The pedal's chain beyond the model, per sample at 48 kHz: docs/pedal.md measures 562-621
# instructions (the 256-tap float cabinet FIR, four outputs per pass, most of it; gain, gate
# and the stream's bookkeeping); counted as 580 cycles until the board's DWT measures the chain.
CHAIN_PER_SAMPLE = 580
BENCHMARKS = "docs/benchmarks.json"


@dataclass(frozen=True)
class Estimate:
    """Estimated instructions per sample, and what they were scaled from."""

    instructions: float
    macs: int
    per_mac: float
    basis: str  # the measured model the instructions per MAC come from
    cycles: float = 0.0  # estimated Cortex-M7 cycles per sample (the basis's cycles per MAC)

    def budget_share(self, sample_rate: int) -> float:
        return self.instructions / (F767_CLOCK_HZ / sample_rate)

    def realtime_share(self, sample_rate: int) -> float:
        """The pedal's share of the budget: the model's estimated cycles plus the chain's (the
        amp's fit rule, amp_fit.py, counts the same)."""
        return (self.cycles + CHAIN_PER_SAMPLE) / (F767_CLOCK_HZ / sample_rate)


def load_benchmarks(path: str | Path) -> list[dict[str, Any]]:
    """The rows of docs/benchmarks.json (`valvenet bench --json`)."""
    return list(json.loads(Path(path).read_text()))


def estimate(config: dict[str, Any], precision: str, benchmarks: list[dict[str, Any]]) -> Estimate:
    """Instructions per sample of a config's streaming engine; ValueError when no model of its
    kind and precision was measured."""
    macs = model_config.macs_per_sample(config)
    rows = [r for r in benchmarks if r.get("kind") == config["kind"] and r.get("precision") == precision
            and r.get("per_mac")]
    if not rows:
        raise ValueError(f"no {precision} {config['kind']} model in the benchmarks to estimate from")
    nearest = min(rows, key=lambda r: abs(math.log(r["macs_per_sample"] / macs)))
    per_mac = float(nearest.get("worst_block48", nearest["per_sample"])) / nearest["macs_per_sample"]
    # Cycles from the cycle model's worst block where the benchmark traced it, else instructions.
    cycles_per_mac = float(nearest.get("est_cycles_worst") or per_mac * nearest["macs_per_sample"]) / nearest["macs_per_sample"]
    return Estimate(macs * per_mac, macs, per_mac, str(nearest["model"]), macs * cycles_per_mac)


def benchmarks_beside_package() -> list[dict[str, Any]]:
    """docs/benchmarks.json's rows from the source tree the package runs from ([] when it is not
    there, e.g. inside a Bazel test that does not depend on it)."""
    root = paths.find(BENCHMARKS)
    return load_benchmarks(root / BENCHMARKS) if root is not None else []


def describe(name: str, config: dict[str, Any], precision: str = "float32",
             benchmarks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """{"instructions_per_sample", "budget_share_48k", "macs_per_sample", "source"} for a
    report: the measured worst block of 48 when a model of the same kind and MACs was
    benchmarked, else `estimate`'s figure; None figures (and why) when nothing of its kind was."""
    rows = benchmarks_beside_package() if benchmarks is None else benchmarks
    macs = model_config.macs_per_sample(config)
    same = [r for r in rows if r.get("kind") == config["kind"] and r.get("precision") == precision
            and r.get("macs_per_sample") == macs]
    if same:
        row = min(same, key=lambda r: r["model"] != name)  # the model's own row first
        per_sample = float(row.get("worst_block48", row["per_sample"]))
        source = f"measured worst block of 48 ({row['model']}, {BENCHMARKS})"
    else:
        try:
            guess = estimate(config, precision, rows)
        except ValueError as err:
            return {"instructions_per_sample": None, "budget_share_48k": None, "macs_per_sample": macs,
                    "source": f"unknown ({err}; {BENCHMARKS})"}
        per_sample = guess.instructions
        source = f"estimated: {macs} MACs x {guess.per_mac:.2f} instructions per MAC as measured for {guess.basis}"
    return {"instructions_per_sample": per_sample, "budget_share_48k": per_sample / (F767_CLOCK_HZ / 48_000),
            "macs_per_sample": macs, "source": source}
