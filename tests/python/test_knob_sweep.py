"""The knob sweep of the built-in amp (`valvenet dataset build --sweep`): the real amp at every
setting, a reproducible layout with its knobs table, bad specs refused before any work, and a
short conditioned training scored setting by setting by `valvenet eval`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from valvenet import cli
from valvenet.synth import BuildOptions, build_dataset, sweep
from valvenet.synth.builder import SWEEP_EVAL_SECONDS

SPEC = "gain=0..1:3,tone=0..1:2"
SCALE = 0.25  # train 45 s per setting, val and test 1.5 s per setting


@pytest.fixture(scope="module")
def two_sweeps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    dirs = (tmp_path_factory.mktemp("sweep1"), tmp_path_factory.mktemp("sweep2"))
    for out in dirs:
        build_dataset(BuildOptions(out=out, seconds_scale=SCALE, seed=5, sweep=SPEC), progress=False)
    return dirs


def test_sweep_layout_and_knobs_table(two_sweeps: tuple[Path, Path]) -> None:
    out = two_sweeps[0]
    meta = json.loads((out / "meta.json").read_text())
    table = meta["knobs"]
    assert table["names"] == ["gain", "tone"] and table["grid"] == {"gain": [0.0, 0.5, 1.0], "tone": [0.0, 1.0]}
    train = set(table["clips"]["train"])
    assert len(train) == 6 and "gain=0.5,tone=1" in train
    between = set(table["clips"]["test"]) - train
    assert between == {"gain=0.25,tone=0.5", "gain=0.75,tone=0.5"}  # settings never trained on
    assert set(table["clips"]["val"]) == set(table["clips"]["test"]) == train | between
    assert table["clips"]["test"]["gain=0.75,tone=0.5"] == {"gain": 0.75, "tone": 0.5}
    assert table["mapping"]["knobs"]["gain"]["PreGain"] == [0.5, 5.0]
    thd = table["thd_1khz_-20dbfs"]
    assert thd["gain=0,tone=0"] < 0.3 < 0.5 < thd["gain=1,tone=1"]  # crunch to high gain
    # One dry performance per split, shared by its settings (hard links), targets that differ.
    inputs = [out / "val" / f"{name}-input.wav" for name in sorted(table["clips"]["val"])]
    assert len({os.stat(p).st_ino for p in inputs}) == 1
    frames = sf.info(str(inputs[0])).frames
    assert frames == round(SWEEP_EVAL_SECONDS * SCALE * 48_000)
    a, _ = sf.read(out / "val" / "gain=0,tone=0-target.wav")
    b, _ = sf.read(out / "val" / "gain=1,tone=0-target.wav")
    assert a.size == b.size == frames and np.max(np.abs(a - b)) > 0.05
    assert max(np.max(np.abs(sf.read(out / "train" / f"{n}-target.wav")[0])) for n in train) < 1.0


def test_sweep_is_reproducible(two_sweeps: tuple[Path, Path]) -> None:
    first, second = two_sweeps
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.parametrize("spec, message", [
    ("gain=0..1:5,drive=0..1:3", "unknown knob 'drive'; knobs: gain, tone"),
    ("gain=0..1", "'gain=0..1' is not NAME=LO..HI:COUNT"),
    ("gain=0..1:1", "gain needs 2 to 11 grid points, got 1"),
    ("gain=0.5..0.2:3", "gain needs 0 <= LO < HI <= 1, got 0.5..0.2"),
    ("gain=0..1:3,gain=0..1:2", "knob 'gain' is given twice"),
])
def test_bad_sweep_specs_are_refused_in_one_line(spec: str, message: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["dataset", "build", "--out", str(tmp_path / "d"), "--sweep", spec]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()  # refused before any work
    assert cli.main(["dataset", "build", "--out", str(tmp_path / "d"), "--sweep", "gain=0..1:3",
                     "--preset", "clean"]) == 2
    assert "--preset and --sweep exclude each other" in capsys.readouterr().err


def test_settings_grammar_round_trips() -> None:
    grid = sweep.parse_sweep("gain=0..1:5,tone=0.2..0.8:3")
    assert grid == {"gain": [0.0, 0.25, 0.5, 0.75, 1.0], "tone": [0.2, 0.5, 0.8]}
    assert len(sweep.training_settings(grid)) == 15 and len(sweep.between_settings(grid)) == 8
    for settings in sweep.between_settings(grid):
        assert sweep.parse_setting(sweep.format_setting(settings), "here") == settings
    assert sweep.controls_at({"gain": 1.0})["Distortion"] == 60.0


def test_conditioned_training_on_the_sweep_and_eval_per_setting(two_sweeps: tuple[Path, Path], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = two_sweeps[0]
    run = tmp_path / "run"
    assert cli.main(["train", "--data", str(data), "--model", "nam-nano", "--out", str(run), "--max-epochs", "8",
                     "--steps-per-epoch", "8", "--segment", "4096", "--batch-size", "8", "--no-report"]) == 0
    capsys.readouterr()
    assert cli.main(["eval", "--model", str(run / "model.vnet"), "--data", str(data)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    whole, rows = lines[0], lines[1:]
    assert whole["settings"] == 8 == len(rows)
    assert {json.dumps(r["setting"], sort_keys=True) for r in rows if not r["trained"]} == {
        '{"gain": 0.25, "tone": 0.5}', '{"gain": 0.75, "tone": 0.5}'}
    log = json.loads((run / "log.json").read_text())
    assert whole["esr_preemph"] == pytest.approx(log["test"]["esr_preemph"])
    # It learned (0.92 of the untrained ESR measured; test_knob_models holds a toy amp to 0.15).
    assert whole["esr_preemph"] < 0.97 * log["log"][0]["val_esr_preemph"]
    # A model without the sweep's knobs is refused by name.
    from valvenet.models import config as model_config
    from valvenet.models.model_file import ModelFile, save
    from valvenet.models.random_model import random_tensors

    plain, nano = tmp_path / "plain.vnet", model_config.PRESETS["nam-nano"]
    save(ModelFile(nano, random_tensors(nano, 0), {"name": "plain", "sample_rate": 48_000, "input_gain": 1.0,
                                                    "output_gain": 1.0}), plain)
    assert cli.main(["eval", "--model", str(plain), "--data", str(data)]) == 2
    assert "the model's knobs (none) are not the data's (gain, tone" in capsys.readouterr().err
