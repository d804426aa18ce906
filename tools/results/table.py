"""Collects the runs of tools/results/train_table.sh into results.json and a Markdown table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from valvenet.models.model_file import load
from valvenet.models.config import macs_per_sample


def main(out: Path) -> None:
    rows = []
    for model_path in sorted(out.glob("runs/*/model.vnet")):
        model = load(model_path)
        training = model.metadata["training"]
        rows.append({
            "preset": training["data_name"], "model": model.name, "parameters": model.parameter_count(),
            "macs_per_sample": macs_per_sample(model.config), "minutes": training["minutes"],
            "epochs": training["epochs"], "samples_per_second": training["samples_per_second"],
            "test_esr_preemph": training["test"]["esr_preemph"], "test_esr": training["test"]["esr"],
        })
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    lines = ["| amp preset | model | parameters | MACs/sample | minutes | epochs | train samples/s | test ESR pre-emph | test ESR raw |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['preset']} | {r['model']} | {r['parameters']:,} | {r['macs_per_sample']:,} | {r['minutes']:.1f} | "
                     f"{r['epochs']} | {r['samples_per_second']:,} | {100 * r['test_esr_preemph']:.2f} % | {100 * r['test_esr']:.2f} % |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
