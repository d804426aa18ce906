"""A short real training run on built-in data: it must learn, resume, and report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from valvenet import cli
from valvenet.models.model_file import load, save
from valvenet.synth import BuildOptions, build_dataset
from valvenet.train import EPOCH_SAMPLES, TrainOptions, _read_log, Run, epoch_steps, train


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    build_dataset(BuildOptions(out=out, presets=("crunch",), seconds_scale=0.1, seed=3), progress=False)
    return out


def options(data: Path, out: Path, **changes: object) -> TrainOptions:
    base = TrainOptions(data=str(data), name="crunch", model="wavenet-10x4", out=str(out), seed=1,
                        max_epochs=10, segment=2048, batch_size=8, steps_per_epoch=12, report=True)
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_training_halves_validation_esr_and_writes_the_run(dataset: Path, tmp_path: Path) -> None:
    model_path = train(options(dataset, tmp_path / "run"))
    rows = _read_log(Run(tmp_path / "run"))
    assert rows[0]["epoch"] == 0
    assert min(r["val_esr_preemph"] for r in rows[1:]) <= 0.5 * rows[0]["val_esr_preemph"]
    model = load(model_path)
    training = model.metadata["training"]
    assert training["samples_per_second"] > 0
    assert set(training["test"]) == {"esr", "esr_preemph", "dc"}
    # The int16 engine (what an int16 image plays) scored too: the same model, not a broken one.
    assert training["test_int16"]["esr_preemph"] == pytest.approx(training["test"]["esr_preemph"], rel=0.5)
    assert any(key.startswith("test/crunch-target") for key in training["data_hashes"])
    for name in ("report.html", "curves.png", "waveforms.png", "spectra.png", "segments.png", "log.csv", "log.json",
                 "excerpt-dry.wav", "excerpt-amp.wav", "excerpt-model.wav"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    page = (tmp_path / "run" / "report.html").read_text()
    assert "<audio controls" in page and "excerpt-model.wav" in page
    assert "below 1 % great, below 3.5 % good, below 10 % may still sound fine" in page
    assert f"<th>kept epoch (best validation ESR)</th><td>{training['best_epoch']}</td>" in page
    assert training["stopped"] == "max-epochs" and training["note"] == "" and "Not settled" not in page


def _strict(text: str) -> object:
    """JSON as a strict reader (jq, JavaScript) parses it: no NaN or Infinity."""
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_an_epoch_is_the_same_audio_for_every_model_kind() -> None:
    """The schedule counts epochs, so an epoch must mean the same amount of audio whatever the
    kind: 64 WaveNet batches (16 x 8192) or 256 recurrent updates (64 x 512), fewer when the
    training split is shorter, exactly the steps asked for when given."""
    plenty = 10 * EPOCH_SAMPLES
    assert epoch_steps(8192, 16, plenty) == 64
    assert epoch_steps(512, 64, plenty) == 256
    assert epoch_steps(512, 64, plenty) * 512 * 64 == epoch_steps(8192, 16, plenty) * 8192 * 16
    assert epoch_steps(512, 64, 100 * 512 * 64) == 100
    assert epoch_steps(512, 64, 10) == 1
    assert epoch_steps(512, 64, plenty, requested=12) == 12


def test_a_new_run_in_a_used_folder_starts_a_new_log(dataset: Path, tmp_path: Path) -> None:
    """Without --resume, a second run into the same folder logs only its own epochs (it used to
    append them to the first run's log, and the report drew both as one curve)."""
    for _ in range(2):
        train(options(dataset, tmp_path / "run", max_epochs=2, steps_per_epoch=2, report=False))
        assert [r["epoch"] for r in _read_log(Run(tmp_path / "run"))] == [0, 1, 2]


def test_a_fresh_gated_wavenet_starts_with_its_gates_in_their_nonlinear_range() -> None:
    """DI at its recorded level left every gate of a fresh gated WaveNet linear (the slow start on
    high gain); the input kernel scaled by 1 / input RMS gives the first layer's pre-activations
    a spread where tanh bends, and the output kernel's inverse keeps the output level."""
    import keras

    from valvenet.models import config as model_config
    from valvenet.models import keras_models

    _, config = model_config.resolve("wavenet-10x4")
    x = (0.03 * np.random.default_rng(0).standard_normal((1, 4800, 1))).astype(np.float32)
    spreads, levels = [], []
    for scaled in (False, True):
        model = keras_models.build(config, seed=1)
        if scaled:
            keras_models.initialise_gated_wavenet(model, 1.0 / 0.03)
        probe = keras.Model(model.input, [model.get_layer("layer0.conv").output, model.output])
        z, y = probe.predict(x, verbose=0)
        spreads.append(float(np.std(z)))
        levels.append(float(np.std(y)))
    assert spreads[0] < 0.1 < 0.3 < spreads[1]
    assert 0.2 < levels[1] / levels[0] < 5


def test_log_json_is_strict_json(dataset: Path, tmp_path: Path) -> None:
    train(options(dataset, tmp_path / "run", max_epochs=1, steps_per_epoch=2, report=False))
    log = _strict((tmp_path / "run" / "log.json").read_text())
    assert log["log"][0]["epoch"] == 0 and log["log"][0]["train_loss"] is None  # epoch 0 trained nothing
    assert log["log"][1]["train_loss"] > 0


def test_recurrent_training_carries_state_and_learns(dataset: Path, tmp_path: Path) -> None:
    model_path = train(options(dataset, tmp_path / "run", model="lstm-12", max_epochs=6, segment=1024,
                               batch_size=16, steps_per_epoch=8, report=True))
    rows = _read_log(Run(tmp_path / "run"))
    assert min(r["val_esr_preemph"] for r in rows[1:]) <= 0.25 * rows[0]["val_esr_preemph"]
    recurrent = load(model_path).metadata["training"]["recurrent"]
    assert set(recurrent["gates"]) == {"input", "forget", "cell", "output"} and recurrent["state_rms"] > 0
    assert "Recurrent state" in (tmp_path / "run" / "report.html").read_text()


def test_fixed_work_gives_the_same_model_for_the_same_seed(dataset: Path, tmp_path: Path) -> None:
    runs = [train(options(dataset, tmp_path / f"run{i}", max_epochs=2, steps_per_epoch=4, report=False))
            for i in range(2)]
    first, second = (load(path) for path in runs)
    assert first.metadata["training"]["epochs"] == second.metadata["training"]["epochs"] == 2
    assert first.tensors.keys() == second.tensors.keys()
    assert all(np.array_equal(first.tensors[k], second.tensors[k]) for k in first.tensors)
    assert first.metadata["training"]["test"] == second.metadata["training"]["test"]


def test_a_time_limited_run_that_still_improves_says_so(dataset: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", "--data", str(dataset), "--name", "crunch", "--model", "wavenet-10x4",
                     "--out", str(tmp_path / "run"), "--max-minutes", "0", "--segment", "2048", "--batch-size", "8",
                     "--steps-per-epoch", "4"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["stopped"] == "max-minutes" and summary["epochs"] == 1 and not summary["settled"]
    # Without a terminal: one progress line per epoch, then the closing summary.
    assert len(re.findall(r"^train wavenet-10x4: epoch \d+/\d+ train ", captured.err, re.M)) == 1
    assert re.search(r"^test ESR \d+\.\d\d % pre-emphasised", captured.err, re.M)
    assert re.search(r"^int16 engine: test ESR \d+\.\d\d % pre-emphasised", captured.err, re.M)
    assert f"report: {tmp_path / 'run' / 'report.html'}" in captured.err
    assert "note: stopped by --max-minutes 0 after 1 epochs while validation ESR was still improving" in captured.err
    assert "Not settled" in (tmp_path / "run" / "report.html").read_text()


def test_train_and_eval_on_one_stereo_pair_with_latency(dataset: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    x, rate = sf.read(dataset / "train/crunch-input.wav", dtype="float32")
    y, _ = sf.read(dataset / "train/crunch-target.wav", dtype="float32")
    delayed = np.concatenate([np.zeros(25, np.float32), y])
    sf.write(tmp_path / "dry.wav", x, rate, subtype="FLOAT")
    sf.write(tmp_path / "amp.wav", np.stack([delayed, 0.5 * delayed], axis=1), rate, subtype="FLOAT")
    pair = ["--input", str(tmp_path / "dry.wav"), "--target", str(tmp_path / "amp.wav"), "--channel", "0"]
    assert cli.main(["train", *pair, "--model", "wavenet-10x4", "--out", str(tmp_path / "run"), "--max-epochs", "1",
                     "--segment", "2048", "--batch-size", "8", "--steps-per-epoch", "2", "--no-report"]) == 0
    assert re.search(r"^data: .*dry.wav \+ .*amp.wav: latency \d+ samples", capsys.readouterr().err, re.M)
    assert cli.main(["eval", "--model", str(tmp_path / "run/model.vnet"), *pair]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == round(0.1 * (x.size)) and result["esr"] > 0


def test_resume_continues_where_it_stopped(dataset: Path, tmp_path: Path) -> None:
    train(options(dataset, tmp_path / "run", max_epochs=2, report=False))
    train(options(dataset, tmp_path / "run", max_epochs=4, resume=True, report=False))
    epochs = [int(r["epoch"]) for r in _read_log(Run(tmp_path / "run"))]
    assert epochs == [0, 1, 2, 3, 4]


def test_eval_prints_both_esr_figures(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_path = train(options(dataset, tmp_path / "run", max_epochs=1, report=False))
    capsys.readouterr()
    assert cli.main(["eval", "--model", str(model_path), "--data", str(dataset), "--name", "crunch"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 < result["esr_preemph"] and 0 < result["esr"]
    assert result["esr_preemph"] == pytest.approx(load(model_path).metadata["training"]["test"]["esr_preemph"])


def test_eval_scores_the_int16_engine_and_records_it(dataset: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """What amp_fit ranks an int16 image by; --record adds it to files trained before training stored it."""
    model_path = train(options(dataset, tmp_path / "run", max_epochs=1, report=False))
    model = load(model_path)
    stored = model.metadata["training"].pop("test_int16")
    save(model, model_path)  # as a file trained before training stored it
    base = ["eval", "--model", str(model_path), "--data", str(dataset), "--name", "crunch"]
    assert cli.main([*base, "--record"]) == 2
    assert "--record stores the int16 engine's test scores" in capsys.readouterr().err
    assert cli.main([*base, "--precision", "int16", "--record"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["precision"] == "int16" and printed["esr_preemph"] == pytest.approx(stored["esr_preemph"])
    assert load(model_path).metadata["training"]["test_int16"]["esr_preemph"] == pytest.approx(stored["esr_preemph"])


def test_a_recurrent_run_gets_one_intra_op_thread_if_tensorflow_has_not_started() -> None:
    """stateful_training.one_intra_op_thread, in a fresh process as `train` meets it: one thread
    before TensorFlow starts; once it runs, its pools are fixed and the call says so."""
    def run(code: str) -> list[str]:
        return subprocess.run([sys.executable, "-c", "from valvenet import stateful_training as s\n"
                               "import tensorflow as tf\n" + code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout.split()

    assert run("first = s.one_intra_op_thread(); tf.constant(1.0) + 1\n"
               "print(first, tf.config.threading.get_intra_op_parallelism_threads())") == ["True", "1"]
    assert run("tf.constant(1.0) + 1; print(s.one_intra_op_thread())") == ["False"]
