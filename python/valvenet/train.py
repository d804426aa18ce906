"""`valvenet train`: fit a model to a dataset, write the model file and a report.

Why it is built this way:
- WaveNets: batches of random segments (seeded) from the training split. Each segment
  carries the model's receptive field of context in front of the scored samples, and the
  loss ignores that context, so every scored sample sees real history.
- Recurrent models (LSTM, GRU): stateful truncated back-propagation, the state carried from
  one window of a sequence to the next after a warm-up (`stateful_training.py` says why).
- Adam with a plateau schedule: the learning rate halves when validation ESR stalls, and
  training stops early after a longer stall, after --max-epochs (a fixed amount of work, the
  same result on any machine for a seed), or at --max-minutes (a budget of time, whose result
  depends on the machine: a run cut off while validation ESR still improved says so).
- Validation ESR each epoch on the whole validation split, cut into context-carrying
  windows and run as one batch (fast even for RNNs).
- A checkpoint after every epoch (weights, optimizer state, progress) makes --resume exact.
- Data: the train/val/test folders, or one dry/amp pair (`datasets/splits.py`), or recordings
  at several knob settings (`datasets/knob_data.py`): the model is then conditioned on those
  knobs (models/knobs.py), each segment drawn from one setting with its knob values as extra
  input channels (`training_data.py`), and the test split scored setting by setting.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from valvenet import __version__, atomic, keras_batches
from valvenet.models import config as model_config
from valvenet.run_folder import (Run, append_log, data_hashes, read_log, restore_checkpoint, save_checkpoint,
                                 strict_json)

_read_log = read_log  # the name tests and tools imported before run_folder.py existed

RNN_WARMUP = 1024  # samples of context an RNN gets before scoring starts
RNN_SEGMENT = 512  # an RNN's truncated back-propagation window (docs/training.md: shorter learned faster)
SETTLED_EPOCHS = 3  # a time-limited run whose best epoch is older than this had settled
MIN_EVAL_SAMPLES = 4800  # of the val and test splits at least: 0.1 s at 48 kHz, the report's excerpts


@dataclass
class TrainOptions:
    """Everything that decides a training run (saved in the run folder and model file)."""

    data: str
    name: str
    model: str
    out: str
    input: str = ""  # one dry/amp pair instead of data/name
    target: str = ""
    channel: int | None = None  # of multi-channel recordings
    seed: int = 0
    max_minutes: float = 30.0
    max_epochs: int = 1000
    segment: int = 0  # 0: by model kind (see default_segment)
    batch_size: int = 0  # 0: by model kind (see default_batch)
    steps_per_epoch: int = 0  # 0: see steps_per_epoch()
    learning_rate: float = 0.0  # 0: by model kind (see default_learning_rate)
    lr_patience: int = 3
    patience: int = 8
    min_learning_rate: float = 1e-5
    pre_emphasis: float = 0.85
    resume: bool = False
    report: bool = True


def context_length(config: dict[str, Any]) -> int:
    """Unscored samples in front of each segment."""
    rf = model_config.receptive_field(config)
    return rf - 1 if rf > 1 else RNN_WARMUP


def default_segment(config: dict[str, Any]) -> int:
    """Scored samples per segment: long for WaveNets (the receptive field is paid once per
    segment), short for RNNs (their time steps run one after another, so short segments
    give many more updates per minute)."""
    return 8192 if model_config.receptive_field(config) > 1 else RNN_SEGMENT


def is_recurrent(config: dict[str, Any]) -> bool:
    """Whether the model's memory is a state (LSTM, GRU) rather than a receptive field."""
    return model_config.receptive_field(config) <= 1


def default_batch(config: dict[str, Any]) -> int:
    """Segments per batch: 16 for WaveNets; more sequences for RNNs, whose cost is per time
    step whatever the batch (stateful_training.RNN_BATCH)."""
    from valvenet.stateful_training import RNN_BATCH

    return RNN_BATCH if is_recurrent(config) else 16


def default_learning_rate(config: dict[str, Any]) -> float:
    """Adam's initial rate: 4e-3 for WaveNets, 8e-3 for RNNs (docs/training.md)."""
    return 8e-3 if is_recurrent(config) else 4e-3


MAX_STEPS_PER_EPOCH = 64
EPOCH_SAMPLES = MAX_STEPS_PER_EPOCH * 16 * 8192  # scored samples in an epoch: 64 WaveNet batches


def epoch_steps(segment: int, batch_size: int, train_samples: int, requested: int = 0) -> int:
    """Weight updates per epoch: `requested`, else one pass over the training material, at most
    EPOCH_SAMPLES scored samples. An epoch is the same amount of audio for every model kind (64
    WaveNet batches of 16 x 8192, 256 recurrent updates of 64 x 512), so the schedule's patience
    means the same for all: with 64 recurrent updates an epoch was 4 s, and three noisy epochs
    halved the rate, which fell from 8e-3 to its floor in 4 minutes (lstm-12, docs/training.md)."""
    per_step = segment * batch_size
    return requested or min(max(1, train_samples // per_step), max(1, EPOCH_SAMPLES // per_step))


def steps_per_epoch(options: TrainOptions, train_samples: int) -> int:
    """epoch_steps for a training run's options."""
    return epoch_steps(options.segment, options.batch_size, train_samples, options.steps_per_epoch)


def predict_windowed(model: Any, x: np.ndarray, context: int, hop: int = 48000, batch_size: int = 8) -> np.ndarray:
    """Model output for all of x (audio (N,), or (N, 1 + knobs) for a conditioned model), via
    context-carrying windows, `batch_size` windows a batch (0: all at once, for RNNs, whose
    time steps cost the same for any batch)."""
    from valvenet.training_data import windows_with_context

    x = np.asarray(x, np.float32)
    windows = windows_with_context(x[:, None] if x.ndim == 1 else x, context, hop)
    out = keras_batches.predict_in_batches(model, windows, batch_size or len(windows))[:, context:, 0]
    return out.reshape(-1)[: x.shape[0]]


def _load_splits(options: TrainOptions, segment_samples: int, receptive_field: int) -> tuple[dict[str, Any], str]:
    """The train, val and test pairs, from either layout, and how they were found (how the
    pair was aligned, where the splits were cut); the train split must hold one segment with its
    context, val and test more than the model's warm-up."""
    from valvenet.datasets.splits import training_splits

    return training_splits(options.data, options.name, options.input, options.target, options.channel,
                           min_train=segment_samples, min_eval=max(receptive_field, MIN_EVAL_SAMPLES))


def compile_model(model: Any, options: Any, context: int, clip: float | None = None) -> None:
    """Adam and the loss (`options`: its learning_rate and pre_emphasis, as TrainOptions and
    distill's options have them); `clip`: the gradients' largest global norm (None: not clipped)."""
    import keras

    from valvenet.losses import keras_loss

    optimizer = keras.optimizers.Adam(learning_rate=options.learning_rate, global_clipnorm=clip)
    model.compile(optimizer=optimizer, loss=keras_loss(context, options.pre_emphasis), jit_compile=False)
    optimizer.build(model.trainable_variables)


def _validation_esr(model: Any, data: list[Any], context: int, coefficient: float) -> dict[str, float]:
    """ESR over every clip of the validation split (training_data.Clip): the sum of the errors
    over the sum of the targets' energy, raw and pre-emphasised."""
    from valvenet.losses import esr_terms, pooled_esr

    recurrent = any(layer.name == "rnn" for layer in model.layers)
    return pooled_esr(sum(esr_terms(clip.y, predict_windowed(model, clip.x, context, batch_size=0 if recurrent else 8),
                                    coefficient=coefficient) for clip in data))


def _epoch(model: Any, train: list[Any], options: TrainOptions, context: int, epoch: int,
           on_batch: Any) -> tuple[float, float, int]:
    """One epoch of random segments of the training clips; returns (mean loss, input samples
    per second, input samples). `on_batch(loss)` is called after every batch."""
    import keras

    from valvenet.training_data import sample_windows

    steps = steps_per_epoch(options, sum(c.y.size for c in train))
    rng = np.random.default_rng([options.seed, epoch])
    x, y = sample_windows(train, steps * options.batch_size, context + options.segment, rng)

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            on_batch((logs or {}).get("loss", math.nan))

    started = time.monotonic()
    loss = keras_batches.fit_one_epoch(model, x, y, options.batch_size, [Progress()])
    seconds = time.monotonic() - started
    return loss, y.size / seconds, y.size


def stop_reason(state: dict[str, Any], options: TrainOptions) -> str:
    """Why training ended: "patience" (validation ESR stalled: settled), "max-epochs" (the
    fixed amount of work done) or "max-minutes" (the time budget ran out)."""
    if state["stall"] >= options.patience:
        return "patience"
    return "max-epochs" if state["epoch"] >= options.max_epochs else "max-minutes"


def unsettled_note(training: dict[str, Any], max_minutes: float) -> str:
    """A warning for a run the time budget cut off while validation ESR still improved (its
    best epoch among the last few): its figures depend on how fast the machine was. Empty
    for any other run."""
    if training.get("stopped") != "max-minutes" or training["epochs"] - training["best_epoch"] >= SETTLED_EPOCHS:
        return ""
    return (f"stopped by --max-minutes {max_minutes:g} after {training['epochs']} epochs while validation ESR was "
            f"still improving (best at epoch {training['best_epoch']}): not settled, the model can get better; "
            "train longer (--resume with a larger --max-minutes) or give a fixed --max-epochs")


def train(options: TrainOptions) -> Path:
    """Run training as the options say; return the path of the model file written.

    The config, the dataset and the run folder are checked before TensorFlow loads, so a bad
    input fails in a second, not after the import."""
    name, config = model_config.resolve(options.model)
    options.segment = options.segment or default_segment(config)
    options.batch_size = options.batch_size or default_batch(config)
    options.learning_rate = options.learning_rate or default_learning_rate(config)
    context = context_length(config)
    splits, how = _load_splits(options, context + options.segment, model_config.receptive_field(config))
    if hasattr(splits["train"], "clips"):
        from valvenet.datasets.knob_data import knob_ranges
        from valvenet.models.knobs import with_knobs

        config = with_knobs(config, knob_ranges(splits))
    run = Run(Path(options.out))
    if not options.resume:
        run.start_new()
    print(f"data: {how}", file=sys.stderr)  # after every check: an error stays one line
    atomic.write_text(run.out / "options.json", json.dumps(asdict(options), indent=2, sort_keys=True))
    atomic.write_text(run.out / "config.json", json.dumps(config, indent=2, sort_keys=True))

    from valvenet import stateful_training
    from valvenet.models import keras_models
    from valvenet.progress import Progress
    from valvenet.training_data import clips, input_rms, train_audio

    data = {split: clips(splits[split], config) for split in ("train", "val")}

    recurrent = is_recurrent(config)
    if recurrent:
        stateful_training.one_intra_op_thread()
    model = keras_models.build(config, seed=options.seed)
    compile_model(model, options, context, stateful_training.GRADIENT_CLIP if recurrent else None)
    state = {"epoch": 0, "best_val": math.inf, "best_epoch": 0, "stall": 0, "lr_stall": 0,
             "learning_rate": options.learning_rate, "minutes": 0.0, "samples": 0}
    if options.resume:
        state = restore_checkpoint(run, model)
    elif recurrent:
        stateful_training.initialise(model, train_audio(data["train"]))
    elif config["kind"] == "gated_wavenet":
        keras_models.initialise_gated_wavenet(model, 1.0 / input_rms(train_audio(data["train"])))
    model.optimizer.learning_rate.assign(state["learning_rate"])

    if not options.resume:
        # Epoch 0: the untrained model's validation ESR, the baseline training must beat.
        val = _validation_esr(model, data["val"], context, options.pre_emphasis)
        append_log(run, {"epoch": 0, "minutes": 0.0, "train_loss": math.nan, "val_esr": val["esr"],
                          "val_esr_preemph": val["esr_preemph"], "learning_rate": state["learning_rate"],
                          "samples_per_second": 0})
    if recurrent:
        epoch_runner = stateful_training.EpochRunner(model, data["train"], options, context,
                                                     steps_per_epoch(options, splits["train"].num_samples))
        steps = epoch_runner.updates
    else:
        steps = steps_per_epoch(options, splits["train"].num_samples)
    progress = Progress(name, steps, options.max_epochs, options.max_minutes, first_epoch=state["epoch"] + 1)
    started = time.monotonic() - 60 * state["minutes"]
    while state["epoch"] < options.max_epochs:
        epoch = state["epoch"] + 1
        if recurrent:
            loss, throughput, samples = epoch_runner.epoch(epoch, progress.batch)
        else:
            loss, throughput, samples = _epoch(model, data["train"], options, context, epoch, progress.batch)
        val = _validation_esr(model, data["val"], context, options.pre_emphasis)
        state["epoch"], state["minutes"] = epoch, (time.monotonic() - started) / 60
        state["samples"] += samples
        update_schedule(state, val["esr_preemph"], options, model, run)
        row = {"epoch": epoch, "minutes": round(state["minutes"], 3), "train_loss": loss,
               "val_esr": val["esr"], "val_esr_preemph": val["esr_preemph"],
               "learning_rate": state["learning_rate"], "samples_per_second": round(throughput)}
        append_log(run, row)
        progress.end_epoch(row, state["best_val"], state["best_epoch"])
        save_checkpoint(run, model, state)
        if state["stall"] >= options.patience or state["minutes"] >= options.max_minutes:
            break
    state["stopped"] = stop_reason(state, options)
    progress.close()
    return _finish(run, model, name, config, options, splits, state, context)


class Schedule(Protocol):
    """What update_schedule reads of a run's options (TrainOptions, distill's options)."""

    lr_patience: int
    min_learning_rate: float


def update_schedule(state: dict[str, Any], val_esr: float, options: Schedule, model: Any, run: Run) -> None:
    """Keep the best weights (run.best_weights); count stalled epochs; halve the learning rate
    after lr_patience. One schedule for `train` and `distill`, so they stop and decay alike."""
    if val_esr < state["best_val"]:
        state.update(best_val=val_esr, best_epoch=state["epoch"], stall=0, lr_stall=0)
        with atomic.replacing(run.best_weights) as tmp:
            model.save_weights(tmp)
    else:
        state["stall"] += 1
        state["lr_stall"] += 1
    if state["lr_stall"] >= options.lr_patience:
        state["learning_rate"] = max(options.min_learning_rate, state["learning_rate"] / 2)
        model.optimizer.learning_rate.assign(state["learning_rate"])
        state["lr_stall"] = 0


def _finish(run: Run, model: Any, name: str, config: dict[str, Any], options: TrainOptions,
            splits: dict[str, Any], state: dict[str, Any], context: int) -> Path:
    from valvenet.models import calibrate
    from valvenet.models.model_file import ModelFile, save
    from valvenet.models import keras_models

    model.load_weights(run.best_weights)
    rows = [json.loads(json.dumps(r)) for r in read_log(run)]
    metadata = {
        "name": name,
        "sample_rate": splits["train"].sample_rate,
        "input_gain": 1.0,
        "output_gain": 1.0,
        "valvenet_version": __version__,
        "training": {
            "dataset": str(Path(options.data or options.target).resolve().name),
            "data_name": options.name,
            "data_hashes": data_hashes(splits),
            "seed": options.seed,
            "epochs": state["epoch"],
            "best_epoch": state["best_epoch"],
            "minutes": round(state["minutes"], 2),
            "samples_per_second": int(np.median([r["samples_per_second"] for r in rows[1:]])) if len(rows) > 1 else 0,
            "best_val_esr_preemph": state["best_val"],
            "segment": options.segment,
            "batch_size": options.batch_size,
            "context": context,
            "stopped": state["stopped"],
        },
    }
    metadata["training"]["note"] = unsettled_note(metadata["training"], options.max_minutes)
    if is_recurrent(config):
        from valvenet.recurrent_diagnostics import diagnose

        weights = keras_models.export_weights(model)
        metadata["training"]["recurrent"] = diagnose(config, weights, _audio(splits["val"]), splits["val"].sample_rate)
    # The int16 engine's scales, calibrated on the training input (see models/calibrate.py).
    model_file = calibrate.with_scales(ModelFile(config, keras_models.export_weights(model), metadata),
                                       _audio(splits["train"]))
    metadata = model_file.metadata
    test, shown = _test(model_file, splits, options.pre_emphasis)
    metadata["training"]["test"] = {k: test[k] for k in ("esr", "esr_preemph", "dc", "per_setting") if k in test}
    if not hasattr(splits["test"], "clips"):  # the int16 engine has no knob inputs to score settings with
        from valvenet.evaluate import int16_test_scores

        metadata["training"]["test_int16"] = int16_test_scores(model_file, splits["test"], options.pre_emphasis)
    save(model_file, run.model_file)
    log = {"options": asdict(options), "log": rows, "test": metadata["training"]["test"], "training": metadata["training"]}
    atomic.write_text(run.log_json, json.dumps(strict_json(log), indent=2, sort_keys=True, allow_nan=False))
    if options.report:
        from valvenet.report import write_training_report

        write_training_report(run.out, model_file, shown, rows, test["prediction"])
    return run.model_file


def _audio(split: Any) -> np.ndarray:
    """A split's dry audio: the pair's input, or a knob split's clips one after another."""
    return split.audio if hasattr(split, "clips") else split.input


def _test(model_file: Any, splits: dict[str, Any], coefficient: float) -> tuple[dict[str, Any], Any]:
    """The test split's scores (per setting too, for knob data) and the pair the report shows
    with its prediction in `prediction`: for knob data, the setting nearest the knobs' defaults
    among those never trained on."""
    from valvenet.evaluate import evaluate_knobs, evaluate_pair

    test = splits["test"]
    if not hasattr(test, "clips"):
        return evaluate_pair(model_file, test, coefficient), test
    trained = [c.settings for c in splits["train"].clips]
    result = evaluate_knobs(model_file, test, coefficient, trained)
    defaults = {k["name"]: k["default"] for k in model_file.config["knobs"]}
    unheard = [i for i, row in enumerate(result["per_setting"]) if not row["trained"]] or list(range(len(test.clips)))
    index = min(unheard, key=lambda i: sum((test.clips[i].settings[n] - v) ** 2 for n, v in defaults.items()))
    return {**result, "prediction": result["predictions"][index]}, test.clips[index].pair


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainOptions("", "", "", "")
    parser.add_argument("--input", default="", help="dry recording (DI) of a reamped pair, with --target")
    parser.add_argument("--target", default="", help="the amp's recording of --input (its latency is measured "
                        "and removed; validation and test are cut from the pair)")
    parser.add_argument("--data", default="", help="instead of --input/--target: dataset folder "
                        "({train,val,test}/NAME-input.wav ...)")
    parser.add_argument("--name", default="", help="NAME of the input/target pair in --data, e.g. crunch")
    parser.add_argument("--channel", type=int, help="channel of multi-channel recordings (0 = left)")
    parser.add_argument("--model", required=True, help=f"preset ({', '.join(model_config.PRESETS)}) or JSON config")
    parser.add_argument("--out", required=True, help="run folder (model.vnet, logs, report)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--max-minutes", type=float, default=defaults.max_minutes,
                        help="time budget (default %(default)s); the result then depends on the machine's speed")
    parser.add_argument("--max-epochs", type=int, default=defaults.max_epochs,
                        help="fixed amount of work: the same result on any machine for a --seed")
    parser.add_argument("--segment", type=int, default=defaults.segment, help="scored samples per segment "
                        f"(default: 8192 for WaveNets; an RNN's back-propagation window, {RNN_SEGMENT})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="segments (RNNs: sequences) per batch (default: 16 for WaveNets, 64 for RNNs)")
    parser.add_argument("--steps-per-epoch", type=int, default=defaults.steps_per_epoch)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                        help="Adam's initial rate (default: 4e-3 for WaveNets, 8e-3 for RNNs)")
    parser.add_argument("--patience", type=int, default=defaults.patience)
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    parser.add_argument("--no-report", dest="report", action="store_false")


def run(args: argparse.Namespace) -> int:
    options = TrainOptions(
        data=args.data, name=args.name, model=args.model, out=args.out, input=args.input, target=args.target,
        channel=args.channel, seed=args.seed,
        max_minutes=args.max_minutes, max_epochs=args.max_epochs, segment=args.segment,
        batch_size=args.batch_size, steps_per_epoch=args.steps_per_epoch, learning_rate=args.learning_rate,
        patience=args.patience, resume=args.resume, report=args.report,
    )
    path = train(options)
    from valvenet.models.model_file import load
    from valvenet.progress import summary

    training = load(path).metadata["training"]
    report = path.parent / "report.html"
    print(summary(str(path), training, str(report) if options.report and report.is_file() else None), file=sys.stderr)
    if training["note"]:
        print(f"note: {training['note']}", file=sys.stderr)
    test = training["test"]
    print(json.dumps({"model": str(path), "test_esr": test["esr"], "test_esr_preemph": test["esr_preemph"],
                      "epochs": training["epochs"], "best_epoch": training["best_epoch"],
                      "stopped": training["stopped"], "settled": not training["note"]}))
    return 0
