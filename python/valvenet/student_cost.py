"""What a model costs on the F767: instructions per sample and share of the 48 kHz budget.

Measured figures come from docs/benchmarks.json (`valvenet bench` in QEMU, exact instruction
counts) when a model of the same kind and multiply-accumulates per sample (the same shape, for
the presets) was benchmarked; any other config gets an estimate:
its multiply-accumulates per sample times the measured instructions per MAC of its kind's
benchmarked float32 models (the engine's cost grows with MACs; per-MAC overhead differs by kind).
Without the benchmark file the cost is unknown, said so rather than guessed.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from valvenet import paths
from valvenet.models import config as model_config

CORE_CLOCK_HZ = 216_000_000
BUDGET_48K = CORE_CLOCK_HZ / 48_000  # instructions per sample at 48 kHz
BENCHMARKS = "docs/benchmarks.json"


def benchmarks() -> list[dict[str, Any]]:
    """The float32 rows of docs/benchmarks.json ([] when the file is not beside the package)."""
    root = paths.find(BENCHMARKS)
    if root is None:
        return []
    return [r for r in json.loads((root / BENCHMARKS).read_text()) if r.get("precision") == "float32"]


def cost(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """{"instructions_per_sample", "budget_share_48k", "source"} of the float32 engine; the
    figures are None when no benchmark of the model's kind is available."""
    macs = model_config.macs_per_sample(config)
    rows = benchmarks()
    same_shape = [r for r in rows if r["kind"] == config["kind"] and r["macs_per_sample"] == macs]
    if same_shape:
        row = min(same_shape, key=lambda r: r["model"] != name)  # the model's own row first
        per_sample = float(row["per_sample"])
        return {"instructions_per_sample": per_sample, "budget_share_48k": per_sample / BUDGET_48K,
                "macs_per_sample": macs, "source": f"measured ({row['model']}, {BENCHMARKS})"}
    per_mac = [float(r["per_mac"]) for r in rows if r["kind"] == config["kind"]]
    if not per_mac:
        return {"instructions_per_sample": None, "budget_share_48k": None, "macs_per_sample": macs,
                "source": f"unknown (no {config['kind']} benchmark in {BENCHMARKS})"}
    per_sample = macs * statistics.median(per_mac)
    return {"instructions_per_sample": per_sample, "budget_share_48k": per_sample / BUDGET_48K,
            "macs_per_sample": macs,
            "source": f"estimated: {macs} MACs x {statistics.median(per_mac):.2f} instructions per MAC "
                      f"({config['kind']} benchmarks in {BENCHMARKS})"}
