"""`valvenet distill` on self-made material: a small random WaveNet teacher written as a .nam
capture, the built-in performance and a folder of synthetic DI. The student must learn the
teacher (held-out ESR cut by a set factor) and bad inputs must fail in one line naming the
file and the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from valvenet import cli
from valvenet.distill import DistillOptions, distill
from valvenet.export.nam import write_nam
from valvenet.models.calibrate import synthetic_guitar
from valvenet.models.config import nam_wavenet
from valvenet.models.model_file import ModelFile, load
from valvenet.models.random_model import random_tensors

RATE = 48_000
# Small shapes keep the test short: the teacher a random 2-array WaveNet of 4 then 2 channels,
# the student the same shape from other random weights.
TEACHER = nam_wavenet((4, 2), [[1, 2, 4, 8], [16, 32]], head_scale=0.5)
STUDENT = TEACHER
ESR_CUT = 4.0  # the student's held-out ESR against the teacher must fall by at least this factor
RNN_ESR_CUT = 2.0  # the same for a short LSTM student (a different kind, fewer steps)


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("material")
    teacher = ModelFile(TEACHER, random_tensors(TEACHER, seed=5),
                        {"name": "teacher", "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0})
    write_nam(teacher, root / "teacher.nam")
    (root / "di").mkdir()
    for seed in (1, 2):
        sf.write(root / "di" / f"take{seed}.wav", synthetic_guitar(6.0, RATE, seed=seed), RATE, subtype="FLOAT")
    (root / "student.json").write_text(json.dumps(STUDENT))
    return {"teacher": root / "teacher.nam", "di": root / "di", "student": root / "student.json"}


def test_a_short_distillation_cuts_the_students_esr_against_its_teacher(material: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    options = DistillOptions(teacher=str(material["teacher"]), model=str(material["student"]), out=str(tmp_path / "run"),
                             di=[str(material["di"])], builtin_seconds=8.0, seed=1, max_epochs=16,
                             steps_per_epoch=8, batch_size=8, segment=2048, learning_rate=1e-2)
    model = load(distill(options))
    log = json.loads((tmp_path / "run" / "log.json").read_text())
    untrained = log["log"][0]["val_esr_preemph"]
    training = model.metadata["training"]
    assert training["best_val_esr_preemph"] * ESR_CUT <= untrained
    assert training["test"]["esr_preemph"] * ESR_CUT <= untrained  # held-out test, scored by the oracle
    assert training["test_int16"]["esr_preemph"] * ESR_CUT <= untrained  # and by the int16 engine (amp_fit)
    assert [s["name"] for s in training["sources"]][1:] == ["take1", "take2"]
    assert training["cost"]["macs_per_sample"] > 0
    for name in ("report.html", "curves.png", "log.csv", "excerpt-model.wav", "options.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0


def test_the_material_rendered_once_is_what_the_teacher_plays_for_any_window(material: dict[str, Path]) -> None:
    """The teacher renders the training material once and epochs draw windows from it: every
    target must be the teacher's output for that window played alone with its receptive field
    in front (what rendering each window afresh gave), across the joins between sources too."""
    from valvenet.distill import Teacher, load_teacher, rendered_training
    from valvenet.distill_material import read_di_folder, split_material

    teacher = Teacher(load_teacher(material["teacher"]))
    split = split_material(read_di_folder(material["di"], RATE), gap=teacher.context + 1, min_train=4096)
    rendered = rendered_training(teacher, split)
    x, y, n = rendered.x[:, 0], rendered.y, 2048
    starts = [teacher.context, split.train[0].size - n // 2, x.size - n] + \
        list(np.random.default_rng(3).integers(teacher.context, x.size - n, 5))
    windows = np.stack([x[s - teacher.context:s + n] for s in starts])[..., None]
    alone = teacher.output_gain * teacher.keras.predict(teacher.input_gain * windows, verbose=0)[:, teacher.context:, 0]
    expected = np.stack([y[s:s + n] for s in starts])
    assert np.max(np.abs(alone - expected)) <= 1e-5 * np.max(np.abs(expected))
    assert rendered.y.size == sum(part.size + teacher.context + 1 for part in split.train)


def test_a_recurrent_student_distils_statefully(material: dict[str, Path], tmp_path: Path) -> None:
    """An LSTM student trains on sequences of the teacher's output with its state carried from
    window to window (stateful_training, RNN batch by default) and learns the teacher."""
    options = DistillOptions(teacher=str(material["teacher"]), model="lstm-8", out=str(tmp_path / "run"),
                             di=[str(material["di"])], builtin_seconds=8.0, seed=1, max_epochs=12,
                             steps_per_epoch=8, segment=256, report=False)
    model = load(distill(options))
    log = json.loads((tmp_path / "run" / "log.json").read_text())
    training = model.metadata["training"]
    assert training["batch_size"] == 64  # train.default_batch for an RNN: the stateful path's sequences
    assert training["best_val_esr_preemph"] * RNN_ESR_CUT <= log["log"][0]["val_esr_preemph"]


def _bad(material: dict[str, Path], tmp_path: Path, case: str) -> tuple[list[str], str]:
    """Arguments of a failing `valvenet distill` call, and what its error line must contain."""
    base = ["distill", "--teacher", str(material["teacher"]), "--model", "nam-nano", "--out", str(tmp_path / "run"),
            "--builtin-seconds", "0"]
    if case == "missing teacher":
        return ["distill", "--teacher", str(tmp_path / "gone.nam"), "--model", "nam-nano", "--out",
                str(tmp_path / "run")], f"{tmp_path / 'gone.nam'}: teacher not found"
    if case == "unknown preset":
        return base[:4] + ["nam-huge"] + base[5:], "unknown model 'nam-huge'"
    if case == "DI folder without wav":
        (tmp_path / "empty").mkdir()
        return base + ["--di", str(tmp_path / "empty")], f"{tmp_path / 'empty'}: no .wav files"
    if case == "missing DI folder":
        return base + ["--di", str(tmp_path / "nowhere")], f"{tmp_path / 'nowhere'}: DI folder not found"
    if case == "wrong sample rate":
        (tmp_path / "di44").mkdir()
        sf.write(tmp_path / "di44" / "take.wav", synthetic_guitar(1.0, 44_100), 44_100)
        return base + ["--di", str(tmp_path / "di44")], f"{tmp_path / 'di44' / 'take.wav'}: sample rate 44100 Hz"
    if case == "not a capture":
        (tmp_path / "teacher.txt").write_text("hello")
        return base[:2] + [str(tmp_path / "teacher.txt")] + base[3:], f"{tmp_path / 'teacher.txt'}: a teacher must be"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing teacher", "unknown preset", "DI folder without wav", "missing DI folder",
                                  "wrong sample rate", "not a capture"])
def test_bad_inputs_fail_in_one_line_naming_the_file(material: dict[str, Path], tmp_path: Path, case: str,
                                                      capsys: Any) -> None:
    argv, expected = _bad(material, tmp_path, case)
    assert cli.main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("valvenet distill: error: ") and expected in lines[-1], lines
    assert not (tmp_path / "run" / "model.vnet").exists()


def test_an_unreadable_teacher_names_its_file(material: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    broken = tmp_path / "broken.nam"
    broken.write_text(material["teacher"].read_text()[:100])
    assert cli.main(["distill", "--teacher", str(broken), "--model", "nam-nano", "--out", str(tmp_path / "run")]) == 2
    assert f"{broken}: not valid JSON" in capsys.readouterr().err


def test_the_untrained_student_is_far_from_the_teacher(material: dict[str, Path]) -> None:
    """The ESR cut above means something only if the student starts far from its teacher."""
    from valvenet.export.nam import read_nam
    from valvenet.losses import esr
    from valvenet.models.oracle import Oracle

    teacher = read_nam(material["teacher"])
    student = ModelFile(STUDENT, random_tensors(STUDENT, seed=1), dict(teacher.metadata))
    x = synthetic_guitar(1.0, RATE, seed=3)
    assert esr(Oracle(teacher).process_all(x), Oracle(student).process_all(x)) > 0.5
    assert np.std(Oracle(teacher).process_all(x)) > 1e-3


def test_a_stalled_run_restarts_from_its_best_weights_at_half_the_rate(tmp_path: Path) -> None:
    """--restarts: a run whose validation stalled for `patience` epochs, with restarts and time
    left, goes on from its best weights at half the initial rate instead of stopping."""
    from valvenet.distill import should_restart, warm_restart
    from valvenet.models import keras_models
    from valvenet.run_folder import Run
    from valvenet.train import compile_model

    options = DistillOptions(teacher="t.nam", model="m", out=str(tmp_path), learning_rate=4e-3, patience=3,
                             restarts=1, max_minutes=30.0)
    state = {"epoch": 20, "best_epoch": 12, "stall": 3, "lr_stall": 2, "minutes": 10.0, "learning_rate": 1e-5,
             "restarts": 0}
    assert should_restart(state, options)
    assert not should_restart({**state, "stall": 2}, options)  # not stalled long enough
    assert not should_restart({**state, "minutes": 30.0}, options)  # no time left
    assert not should_restart(state, DistillOptions(**{**options.__dict__, "restarts": 0}))  # --restarts 0: stop at the stall

    student = keras_models.build(STUDENT, seed=1)
    compile_model(student, options, context=64)
    run = Run(tmp_path)
    best = [w.copy() for w in student.get_weights()]
    student.save_weights(run.best_weights)
    student.set_weights([w + 0.5 for w in best])  # where the stalled epochs left it
    warm_restart(state, options, student, run)
    assert all(np.array_equal(a, b) for a, b in zip(student.get_weights(), best))
    assert state["learning_rate"] == 2e-3 and float(student.optimizer.learning_rate.numpy()) == pytest.approx(2e-3)
    assert (state["stall"], state["lr_stall"], state["restarts"]) == (0, 0, 1)
    assert not should_restart({**state, "stall": 3}, options)  # its one restart is spent
