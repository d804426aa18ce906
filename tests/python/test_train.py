"""A short real training run on built-in data: it must learn, resume, and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valvenet import cli
from valvenet.models.model_file import load
from valvenet.synth import BuildOptions, build_dataset
from valvenet.train import TrainOptions, _read_log, Run, train


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
    assert any(key.startswith("test/crunch-target") for key in training["data_hashes"])
    for name in ("report.html", "curves.png", "waveforms.png", "spectra.png", "segments.png", "log.csv", "log.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0


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
