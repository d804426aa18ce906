"""A training run's folder: options, checkpoint (weights, optimizer state, progress), the
per-epoch log (log.csv while training, log.json at the end) and the data's hashes.

The checkpoint is written after every epoch, each file replaced atomically, so `--resume`
continues exactly where an interrupted run stopped.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from valvenet import atomic


class Run:
    """A training run's folder: options, checkpoint, log and results."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.checkpoint_weights = out / "checkpoint.weights.h5"
        self.best_weights = out / "best.weights.h5"
        self.optimizer_state = out / "checkpoint.optimizer.npz"
        self.state_file = out / "checkpoint.json"
        self.log_csv = out / "log.csv"
        self.log_json = out / "log.json"
        self.model_file = out / "model.vnet"

    def start_new(self) -> None:
        """Forget an earlier run's log, checkpoint and best weights in this folder (its model
        file and report stay until the new run replaces them): a new run appended its epochs
        to the old log.csv, so a second `./bazelw run //:demo` drew two runs as one curve."""
        for path in (self.log_csv, self.log_json, self.state_file, self.checkpoint_weights, self.optimizer_state,
                     self.best_weights):
            path.unlink(missing_ok=True)


def save_checkpoint(run: Run, model: Any, state: dict[str, Any]) -> None:
    with atomic.replacing(run.checkpoint_weights) as tmp:
        model.save_weights(tmp)
    with atomic.replacing(run.optimizer_state) as tmp:
        np.savez(tmp, *[np.asarray(v) for v in model.optimizer.variables])
    atomic.write_text(run.state_file, json.dumps(state, indent=2, sort_keys=True))


def restore_checkpoint(run: Run, model: Any) -> dict[str, Any]:
    if not run.state_file.is_file():
        raise FileNotFoundError(f"{run.state_file}: no checkpoint to resume from")
    model.load_weights(run.checkpoint_weights)
    with np.load(run.optimizer_state) as saved:
        for variable, key in zip(model.optimizer.variables, sorted(saved.files, key=lambda k: int(k.split("_")[1]))):
            variable.assign(saved[key])
    return json.loads(run.state_file.read_text())


def append_log(run: Run, row: dict[str, Any]) -> None:
    new = not run.log_csv.is_file()
    with run.log_csv.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def strict_json(value: Any) -> Any:
    """`value` with every NaN or infinity made None (null): JSON has no NaN (epoch 0 has no
    training loss), and strict readers (jq, JavaScript) reject Python's bare NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def read_log(run: Run) -> list[dict[str, float]]:
    with run.log_csv.open() as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def data_hashes(splits: dict[str, Any]) -> dict[str, str]:
    import hashlib

    hashes: dict[str, str] = {}
    known: dict[Path, str] = {}  # a knob dataset's clips share their input file
    for split, data in splits.items():
        for pair in [c.pair for c in data.clips] if hasattr(data, "clips") else [data]:
            for path in (Path(pair.input_path), Path(pair.target_path)):
                if path not in known:
                    known[path] = hashlib.sha256(path.read_bytes()).hexdigest()
                hashes[f"{split}/{path.name}"] = known[path]
    return hashes
