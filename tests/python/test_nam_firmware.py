"""A Neural Amp Modeler capture as firmware (export/nam_model.py, the tool behind
valvenet_firmware's .nam models): converted exactly, and refused when too big for real time,
with its estimated cost (export/cost.py, from the measured docs/benchmarks.json) and the
advice to distill it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from valvenet import paths
from valvenet.export import cost
from valvenet.export.nam import read_nam, write_nam
from valvenet.export.nam_model import main as nam_model
from valvenet.models import config
from valvenet.models.model_file import ModelFile, load
from valvenet.models.random_model import random_tensors


@pytest.fixture(scope="module")
def benchmarks() -> Path:
    root = paths.find("docs/benchmarks.json")
    assert root is not None, "docs/benchmarks.json not found"
    return root / "docs/benchmarks.json"


def capture(tmp_path: Path, preset: str) -> Path:
    cfg = config.PRESETS[preset]
    path = tmp_path / f"{preset}.nam"
    write_nam(ModelFile(cfg, random_tensors(cfg, seed=5),
                        {"name": preset, "sample_rate": 48_000, "input_gain": 1.0, "output_gain": 1.0}), path)
    return path


def test_a_capture_that_fits_becomes_the_imported_model_file(tmp_path: Path, benchmarks: Path) -> None:
    source = capture(tmp_path, "nam-nano")
    assert nam_model(["--capture", str(source), "--out", str(tmp_path / "m.vnet"), "--max-budget-share", "1.0",
                      "--benchmarks", str(benchmarks)]) == 0
    made, expected = load(tmp_path / "m.vnet"), read_nam(source)
    assert made.config == expected.config and made.metadata == expected.metadata
    for name, tensor in expected.tensors.items():
        np.testing.assert_array_equal(made.tensors[name], tensor, err_msg=name)


def test_a_capture_over_the_budget_is_refused_with_its_cost_and_the_way_out(
        tmp_path: Path, benchmarks: Path, capsys: Any) -> None:
    source = capture(tmp_path, "nam-standard")
    out = tmp_path / "m.vnet"
    assert nam_model(["--capture", str(source), "--out", str(out), "--max-budget-share", "1.0",
                      "--benchmarks", str(benchmarks)]) == 1
    err = capsys.readouterr().err
    assert str(source) in err and "too big for real time" in err and "cycles per sample" in err
    assert "for the pedal's chain" in err
    assert "valvenet distill --teacher nam-standard.nam" in err and not out.exists()
    # Without the check (an image that keeps no time, QEMU's) the same capture converts.
    assert nam_model(["--capture", str(source), "--out", str(out)]) == 0 and out.exists()


def test_the_estimate_of_a_measured_model_is_its_measurement(benchmarks: Path) -> None:
    rows = cost.load_benchmarks(benchmarks)
    for row in rows:
        if row["model"] in ("nam-nano", "nam-feather", "lstm-16") and row["precision"] == "float32":
            guess = cost.estimate(config.PRESETS[row["model"]], "float32", rows)
            assert guess.basis == row["model"]
            assert guess.instructions == pytest.approx(row["worst_block48"], rel=1e-9)
            assert guess.budget_share(48_000) == pytest.approx(row["worst_block48"] / 4500, rel=1e-9)
            assert guess.cycles == pytest.approx(row["est_cycles_worst"], rel=1e-9)
            assert guess.realtime_share(48_000) == pytest.approx((row["est_cycles_worst"] + cost.CHAIN_PER_SAMPLE) / 4500, rel=1e-9)


def test_nam_standard_is_estimated_far_over_the_48_khz_budget(benchmarks: Path) -> None:
    guess = cost.estimate(config.PRESETS["nam-standard"], "float32", cost.load_benchmarks(benchmarks))
    assert guess.budget_share(48_000) > 3.0


def test_a_kind_never_measured_cannot_be_estimated() -> None:
    with pytest.raises(ValueError, match="no float32 nam_wavenet model in the benchmarks"):
        cost.estimate(config.PRESETS["nam-nano"], "float32", json.loads("[]"))
