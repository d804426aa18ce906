"""`valvenet distill`: train a small real-time student on a big teacher's output.

A Neural Amp Modeler capture (`.nam`) or any model file (`.vnet`) is the teacher: it is built
as a Keras model (models/keras_models.py) and renders its output for all the dry guitar it is
given (the built-in performance, any length, plus real DI folders), so the student is not
limited to a capture's original few minutes of recording. The student is any preset or config,
trained with `train`'s loss and schedule; the run folder holds the same model file, log and
report as `valvenet train`, scored against the teacher on held-out DI (distill_material.py),
plus the student's instructions per sample (export/cost.py).

Why the choices (docs/distill.md has the measurements):
- The teacher renders the whole training material once, before the first epoch (the sources
  joined with gaps of silence longer than its receptive field, so every target sample is its
  exact output for what the student hears). Its output for a window is the same as its output
  for the whole signal there, so rendering windows afresh every epoch (as the first version
  did) bought nothing and cost most of each epoch: a 13.8k-weight teacher costs 18x a nano
  student's forward pass.
- Every epoch draws new random windows from that rendered material, as `train` does from a
  recording; --pool N instead draws N windows once and reuses them (a fixed data set; the
  comparison is in docs/distill.md).
- A recurrent student (LSTM, GRU) trains as `train` trains one: stateful truncated
  back-propagation over long sequences (stateful_training.py), so its state learns what it
  must carry.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from valvenet import __version__, atomic, keras_batches
from valvenet.distill_material import DistillError, Material, builtin_performance, read_di_folder
from valvenet.models import config as model_config
from valvenet.train import (EPOCH_SAMPLES, Run, compile_model, context_length, default_batch,
                            default_learning_rate, default_segment, epoch_steps, is_recurrent, predict_windowed,
                            stop_reason, unsettled_note, update_schedule)
from valvenet.training_data import sample_windows

TEACHER_SUFFIXES = (".nam", ".vnet")


@dataclass
class DistillOptions:
    """Everything that decides a distillation (saved in the run folder and model file)."""

    teacher: str
    model: str
    out: str
    di: list[str] = field(default_factory=list)  # folders of real DI recordings
    builtin_seconds: float = 180.0  # of the built-in performance (0: none)
    seed: int = 0
    max_minutes: float = 30.0
    max_epochs: int = 1000
    segment: int = 0  # scored samples per window; 0: by model kind (train.default_segment)
    batch_size: int = 0  # 0: by model kind (train.default_batch: 16 windows, 64 RNN sequences)
    steps_per_epoch: int = 0  # 0: train.epoch_steps (64 WaveNet batches, 256 recurrent updates)
    pool: int = 0  # 0: fresh windows every epoch; N: N windows drawn once and reused
    learning_rate: float = 0.0  # 0: by model kind (train.default_learning_rate)
    lr_patience: int = 3
    patience: int = 8
    min_learning_rate: float = 1e-5
    restarts: int = 8  # warm restarts when validation stalls with time left (0: stop, as train does)
    pre_emphasis: float = 0.85
    report: bool = True


def load_teacher(path: Path) -> Any:
    """The teacher as a ModelFile: a .nam capture (imported exactly) or a .vnet model file."""
    if path.suffix not in TEACHER_SUFFIXES:
        raise DistillError(f"{path}: a teacher must be a Neural Amp Modeler capture (.nam) or a model file (.vnet)")
    if not path.is_file():
        raise DistillError(f"{path}: teacher not found")
    if path.suffix == ".nam":
        from valvenet.export.nam import read_nam

        return read_nam(path)
    from valvenet.models.model_file import load

    return load(path)


def gather_sources(options: DistillOptions, rate: int) -> list[Any]:
    """The dry material: the built-in performance, then every DI folder's files."""
    sources = [builtin_performance(options.builtin_seconds, rate)] if options.builtin_seconds > 0 else []
    for folder in options.di:
        sources += read_di_folder(Path(folder), rate)
    if not sources:
        raise DistillError("no DI material: give --di folders or a --builtin-seconds above 0")
    return sources


class Teacher:
    """The teacher's Keras model with its gains: renders its output for whole signals."""

    def __init__(self, model_file: Any) -> None:
        from valvenet.models import keras_models

        self.model_file = model_file
        self.keras = keras_models.build(model_file.config)
        keras_models.import_weights(self.keras, model_file.tensors)
        self.context = context_length(model_file.config)  # an RNN teacher's warm-up, a WaveNet's field
        self.input_gain = float(model_file.metadata.get("input_gain", 1.0))
        self.output_gain = float(model_file.metadata.get("output_gain", 1.0))

    def signal(self, x: np.ndarray) -> np.ndarray:
        """Output for a whole signal (zero history before it)."""
        y = predict_windowed(self.keras, self.input_gain * x, self.context, hop=24000)
        return (self.output_gain * y).astype(np.float32)


def rendered_training(teacher: Teacher, material: Material) -> Any:
    """The training material and the teacher's output for it, rendered once: one Clip of the
    sources joined by gaps of silence a receptive field long (the teacher's output rings on into
    each gap, so every target is its exact output for the joined input)."""
    from valvenet.training_data import Clip

    gap = np.zeros(teacher.context + 1, np.float32)
    x = np.concatenate([part for source in material.train for part in (source, gap)]).astype(np.float32)
    return Clip(x[:, None], teacher.signal(x), {})


def _validation(model: Any, material: Material, target: np.ndarray, context: int, coefficient: float) -> dict[str, float]:
    from valvenet.losses import scores

    return scores(target, predict_windowed(model, material.val, context), skip=0, coefficient=coefficient)


def _log_row(run: Run, row: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    rows.append(row)
    header = ",".join(row) + "\n"
    lines = [",".join(str(r[k]) for k in row) for r in rows]
    atomic.write_text(run.log_csv, header + "\n".join(lines) + "\n")


def _epoch_data(pool: tuple[np.ndarray, np.ndarray] | None, rendered: Any, count: int, length: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An epoch's windows and targets: drawn from the fixed pool, or fresh from the rendered material."""
    if pool is None:
        return sample_windows([rendered], count, length, rng)
    index = rng.integers(0, pool[0].shape[0], count)
    return pool[0][index], pool[1][index]


def recurrent_epochs(student: Any, rendered: Any, options: DistillOptions, context: int) -> Any:
    """A recurrent student's stateful epochs (stateful_training.EpochRunner) over the rendered
    training material, the student's input level and forget gates initialised as `train` does."""
    from valvenet import stateful_training

    stateful_training.initialise(student, rendered.x[:, 0])
    steps = epoch_steps(options.segment, options.batch_size, rendered.y.size, options.steps_per_epoch)
    return stateful_training.EpochRunner(student, [rendered], options, context, steps)


def _fit(student: Any, rendered: Any, material: Material, options: DistillOptions, context: int,
         val_target: np.ndarray, run: Run, recurrent: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The epoch loop: draw windows (fresh, or from the pool), fit, validate, keep the best
    weights. `recurrent`: a recurrent student's stateful epochs (recurrent_epochs), which
    replace the windows and `fit`."""
    length = context + options.segment
    # an epoch is as much audio as train's (EPOCH_SAMPLES) unless asked otherwise
    steps = epoch_steps(options.segment, options.batch_size, EPOCH_SAMPLES, options.steps_per_epoch)
    count = steps * options.batch_size
    pool = sample_windows([rendered], options.pool, length, np.random.default_rng([options.seed, 0])) \
        if options.pool and recurrent is None else None
    state = {"epoch": 0, "best_val": math.inf, "best_epoch": 0, "stall": 0, "lr_stall": 0, "minutes": 0.0,
             "learning_rate": options.learning_rate, "restarts": 0}
    val = _validation(student, material, val_target, context, options.pre_emphasis)
    rows: list[dict[str, Any]] = []
    _log_row(run, {"epoch": 0, "minutes": 0.0, "train_loss": math.nan, "val_esr": val["esr"],
                   "val_esr_preemph": val["esr_preemph"], "learning_rate": options.learning_rate,
                   "samples_per_second": 0}, rows)
    run.best_weights.unlink(missing_ok=True)  # a failed epoch 1 must not restore an older run's
    started = time.monotonic()
    while state["epoch"] < options.max_epochs:
        epoch = state["epoch"] + 1
        rng = np.random.default_rng([options.seed, epoch])
        tick = time.monotonic()
        if recurrent is not None:
            loss, throughput, _ = recurrent.epoch(epoch, lambda _loss: None)
        else:
            x, y = _epoch_data(pool, rendered, count, length, rng)
            loss = keras_batches.fit_one_epoch(student, x, y, options.batch_size)
            throughput = x.size / (time.monotonic() - tick)
        val = _validation(student, material, val_target, context, options.pre_emphasis)
        state["epoch"], state["minutes"] = epoch, (time.monotonic() - started) / 60
        update_schedule(state, val["esr_preemph"], options, student, run)
        _log_row(run, {"epoch": epoch, "minutes": round(state["minutes"], 3),
                       "train_loss": loss, "val_esr": val["esr"],
                       "val_esr_preemph": val["esr_preemph"], "learning_rate": state["learning_rate"],
                       "samples_per_second": round(throughput)}, rows)
        print(f"epoch {epoch}: validation ESR {100 * val['esr_preemph']:.2f} % pre-emphasised "
              f"(best {100 * state['best_val']:.2f} %), {state['minutes']:.1f} min", file=sys.stderr)
        if should_restart(state, options):
            warm_restart(state, options, student, run)
        elif state["stall"] >= options.patience or state["minutes"] >= options.max_minutes:
            break
    state["stopped"] = stop_reason(state, options)  # type: ignore[arg-type]
    if run.best_weights.exists():
        student.load_weights(run.best_weights)
    return state, rows


def should_restart(state: dict[str, Any], options: DistillOptions) -> bool:
    """Whether a stalled run goes on from its best weights instead of stopping: validation has
    stalled for `patience` epochs, restarts are left and so is time. A run that stops by
    patience leaves minutes of its budget unused while its rate sits near the floor."""
    return (state["stall"] >= options.patience and state["restarts"] < options.restarts
            and state["minutes"] < options.max_minutes and state["epoch"] < options.max_epochs)


def warm_restart(state: dict[str, Any], options: DistillOptions, student: Any, run: Run) -> None:
    """Back to the best weights at half the initial rate, the stall counters cleared: a larger
    step out of the point the decayed rate settled in (Adam's moments are kept)."""
    if run.best_weights.exists():
        student.load_weights(run.best_weights)
    state.update(stall=0, lr_stall=0, restarts=state["restarts"] + 1, learning_rate=options.learning_rate / 2)
    student.optimizer.learning_rate.assign(state["learning_rate"])
    print(f"restart {state['restarts']} of {options.restarts}: best weights (epoch {state['best_epoch']}), "
          f"rate {state['learning_rate']:g}", file=sys.stderr)


def distill(options: DistillOptions) -> Path:
    """Run a distillation as the options say; return the path of the student's model file.

    Every input (preset, teacher, DI folders) is checked before TensorFlow loads."""
    from valvenet.distill_material import split_material

    name, config = model_config.resolve(options.model)
    teacher_file = load_teacher(Path(options.teacher))
    options.segment = options.segment or default_segment(config)
    options.batch_size = options.batch_size or default_batch(config)
    options.learning_rate = options.learning_rate or default_learning_rate(config)
    context = context_length(config)
    teacher_context = context_length(teacher_file.config)
    sources = gather_sources(options, teacher_file.sample_rate)
    material = split_material(sources, gap=teacher_context + context + 1,
                              min_train=context + options.segment)
    run = Run(Path(options.out))
    atomic.write_text(run.out / "options.json", json.dumps(asdict(options), indent=2, sort_keys=True))
    atomic.write_text(run.out / "config.json", json.dumps(config, indent=2, sort_keys=True))
    from valvenet.models import keras_models

    from valvenet import stateful_training

    teacher = Teacher(teacher_file)
    student = keras_models.build(config, seed=options.seed)
    recurrent = is_recurrent(config)
    compile_model(student, options, context, stateful_training.GRADIENT_CLIP if recurrent else None)
    started = time.monotonic()
    rendered = rendered_training(teacher, material)
    val_target = teacher.signal(material.val)
    teacher_minutes = (time.monotonic() - started) / 60
    epochs = recurrent_epochs(student, rendered, options, context) if recurrent else None
    state, rows = _fit(student, rendered, material, options, context, val_target, run, epochs)
    state["teacher_minutes"] = teacher_minutes
    return _finish(run, student, name, config, options, teacher, material, state, rows)


def _finish(run: Run, student: Any, name: str, config: dict[str, Any], options: DistillOptions, teacher: Teacher,
            material: Material, state: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """The model file (int16 scales calibrated), the held-out scores, log.json and the report."""
    from valvenet.datasets.loaders import AudioPair
    from valvenet.evaluate import evaluate_pair, int16_test_scores
    from valvenet.models import calibrate, keras_models
    from valvenet.models.model_file import ModelFile, save
    from valvenet.export.cost import describe

    rate = teacher.model_file.sample_rate
    training = {"distilled_from": {"teacher": str(Path(options.teacher).resolve().name),
                                   "teacher_parameters": teacher.model_file.parameter_count()},
                "sources": material.sources, "seed": options.seed, "epochs": state["epoch"],
                "best_epoch": state["best_epoch"], "minutes": round(state["minutes"], 2),
                "samples_per_second": int(np.median([r["samples_per_second"] for r in rows[1:]])) if len(rows) > 1 else 0,
                "best_val_esr_preemph": state["best_val"], "segment": options.segment,
                "batch_size": options.batch_size, "pool": options.pool, "stopped": state["stopped"],
                "restarts": state["restarts"], "teacher_render_minutes": round(state["teacher_minutes"], 2)}
    training["note"] = unsettled_note(training, options.max_minutes)
    metadata = {"name": name, "sample_rate": rate, "input_gain": 1.0, "output_gain": 1.0,
                "valvenet_version": __version__, "training": training}
    model_file = calibrate.with_scales(ModelFile(config, keras_models.export_weights(student), metadata),
                                       np.concatenate(material.train))
    test = AudioPair(material.test, teacher.signal(material.test), rate, Path("held-out DI"), Path(options.teacher))
    scored = evaluate_pair(model_file, test, options.pre_emphasis)
    model_file.metadata["training"]["test"] = {k: scored[k] for k in ("esr", "esr_preemph", "dc")}
    model_file.metadata["training"]["test_int16"] = int16_test_scores(model_file, test, options.pre_emphasis)
    model_file.metadata["training"]["cost"] = describe(name, config)
    save(model_file, run.model_file)
    atomic.write_text(run.log_json, json.dumps({"options": asdict(options), "log": rows,
                                                "training": model_file.metadata["training"]}, indent=2, sort_keys=True))
    if options.report:
        from valvenet.report import write_training_report

        write_training_report(run.out, model_file, test, rows, scored["prediction"])
    return run.model_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = DistillOptions("", "", "")
    parser.add_argument("--teacher", required=True, help="the model to imitate: a capture (.nam) or a model file (.vnet)")
    parser.add_argument("--model", required=True, help=f"student preset ({', '.join(model_config.PRESETS)}) or JSON config")
    parser.add_argument("--out", required=True, help="run folder (model.vnet, logs, report)")
    parser.add_argument("--di", action="append", default=[], help="folder of dry DI recordings (.wav) to play "
                        "through the teacher, besides the built-in performance (repeatable)")
    parser.add_argument("--builtin-seconds", type=float, default=defaults.builtin_seconds,
                        help="seconds of the built-in guitar performance (default %(default)s; 0: none)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--max-minutes", type=float, default=defaults.max_minutes,
                        help="time budget (default %(default)s); the result then depends on the machine's speed")
    parser.add_argument("--max-epochs", type=int, default=defaults.max_epochs)
    parser.add_argument("--segment", type=int, default=defaults.segment, help="scored samples per window")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="windows (RNN: sequences) per batch (default: by model kind, 16 or 64)")
    parser.add_argument("--steps-per-epoch", type=int, default=defaults.steps_per_epoch)
    parser.add_argument("--pool", type=int, default=defaults.pool,
                        help="draw this many windows once and reuse them (default: new windows every epoch)")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                        help="Adam's initial rate (default: by model kind, 4e-3 or 8e-3)")
    parser.add_argument("--pre-emphasis", type=float, default=defaults.pre_emphasis)
    parser.add_argument("--patience", type=int, default=defaults.patience)
    parser.add_argument("--restarts", type=int, default=defaults.restarts,
                        help="when validation stalls with time left, go on from the best weights at half "
                        "the initial rate, up to this many times (default %(default)s; 0: stop at the stall)")
    parser.add_argument("--no-report", dest="report", action="store_false")


def run(args: argparse.Namespace) -> int:
    keys = ("teacher", "model", "out", "di", "builtin_seconds", "seed", "max_minutes", "max_epochs", "segment",
            "batch_size", "steps_per_epoch", "pool", "learning_rate", "pre_emphasis", "patience", "restarts", "report")
    path = distill(DistillOptions(**{k: getattr(args, k) for k in keys}))
    from valvenet.models.model_file import load

    training = load(path).metadata["training"]
    if training["note"]:
        print(f"note: {training['note']}", file=sys.stderr)
    print(json.dumps({"model": str(path), "test_esr": training["test"]["esr"],
                      "test_esr_preemph": training["test"]["esr_preemph"], **training["cost"],
                      "epochs": training["epochs"], "best_epoch": training["best_epoch"],
                      "stopped": training["stopped"], "settled": not training["note"]}))
    return 0
