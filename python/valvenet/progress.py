"""What a user sees while `valvenet train` runs, and when it ends.

On a terminal: one bar over the whole run, whose total is the batches still to come (the
epoch limit, or as many epochs as the time budget holds at the speed measured so far), so it
shows an ETA. Without a terminal (nohup, CI logs) a bar's carriage returns are noise, so one
line per epoch is printed instead, flushed at once. Both go to stderr: stdout keeps the one
machine-readable JSON line `valvenet train` ends with.
"""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO


def _percent(value: float) -> str:
    return f"{100 * value:.2f} %" if math.isfinite(value) else "-"


def _minutes(value: float) -> str:
    return f"{value:.1f} min" if math.isfinite(value) else "-"


class Progress:
    """A run's progress: `batch` after every weight update, `epoch` after each validation."""

    def __init__(self, name: str, steps: int, max_epochs: int, max_minutes: float, first_epoch: int = 1,
                 stream: TextIO | None = None, terminal: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.name, self.steps, self.max_epochs, self.max_minutes = name, steps, max_epochs, max_minutes
        self.first_epoch, self.epoch, self.loss, self.validation = first_epoch, first_epoch, math.nan, ""
        self.bar = None
        if self.terminal:
            from tqdm import tqdm

            self.bar = tqdm(total=self.steps * (max_epochs - first_epoch + 1), unit="batch", desc=f"train {name}",
                            dynamic_ncols=True, file=self.stream)

    def batch(self, loss: float) -> None:
        self.loss = loss
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"epoch {self.epoch} train {_percent(loss)} {self.validation}", refresh=False)

    def remaining_epochs(self, epoch: int, minutes: float) -> int:
        """Epochs left after `epoch`: the epoch limit or, when sooner, the time budget at the
        mean epoch time so far."""
        by_epochs = self.max_epochs - epoch
        if not math.isfinite(self.max_minutes) or minutes <= 0 or epoch <= 0:
            return by_epochs
        per_epoch = minutes / epoch  # minutes are the run's total, resumed parts included
        return max(0, min(by_epochs, math.ceil((self.max_minutes - minutes) / per_epoch)))

    def end_epoch(self, row: dict[str, Any], best: float, best_epoch: int) -> None:
        """After validation: the bar's total and postfix, or one line without a terminal."""
        epoch, minutes = int(row["epoch"]), float(row["minutes"])
        left = self.remaining_epochs(epoch, minutes)
        self.validation = f"val {_percent(row['val_esr_preemph'])} (best {_percent(best)})"
        self.epoch = epoch + 1
        if self.bar is not None:
            self.bar.total = self.bar.n + left * self.steps
            self.bar.set_postfix_str(f"epoch {epoch} train {_percent(self.loss)} {self.validation}")
            return
        eta = minutes / epoch * left if epoch else math.nan
        print(f"train {self.name}: epoch {epoch}/{epoch + left} train {_percent(row['train_loss'])} "
              f"val {_percent(row['val_esr_preemph'])} (best {_percent(best)} at epoch {best_epoch}) "
              f"{round(row['samples_per_second']):,} samples/s, {_minutes(minutes)} elapsed, "
              f"about {_minutes(eta)} left", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary(model_path: str, training: dict[str, Any], report: str | None) -> str:
    """The lines a user reads when training ends: test ESR, how it stopped, where things are."""
    test = training["test"]
    lines = [f"test ESR {_percent(test['esr_preemph'])} pre-emphasised, {_percent(test['esr'])} raw "
             f"(best epoch {training['best_epoch']} of {training['epochs']}, stopped by {training['stopped']}, "
             f"{training['minutes']:.1f} min, {training['samples_per_second']:,} samples/s)",
             f"model:  {model_path}"]
    int16 = training.get("test_int16", {})
    if "esr_preemph" in int16:
        lines.insert(1, f"int16 engine: test ESR {_percent(int16['esr_preemph'])} pre-emphasised, "
                        f"{_percent(int16['esr'])} raw")
    if report:
        lines.append(f"report: {report}")
    return "\n".join(lines)
