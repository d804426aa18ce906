"""The amp's default model by measured fit (valvenet.amp_fit): the rule on made-up figures,
and the checked-in firmware/amp_fit.bzl against the rule applied to docs/benchmarks.json and
the trained models (a benchmark regenerated without the table, or a hand edit, fails here:
regenerate both with tools/bench_docs.sh)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from valvenet import amp_fit
from valvenet.amp_fit import Candidate
from valvenet.models.model_file import ModelFileError

_RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "valvenet" if "TEST_SRCDIR" in os.environ else None
ROOT = _RUNFILES or Path(__file__).resolve().parents[2]


def candidate(preset: str, precision: str, esr: float, cycles: float) -> Candidate:
    return Candidate(f"//models:trained/{preset}.vnet", precision, preset, esr, cycles, "estimated cycles")


def test_fit_is_the_worst_block_plus_the_chain_under_75_percent_of_48_khz() -> None:
    limit = 0.75 * 4500 - amp_fit.CHAIN_PER_SAMPLE  # 2,265 cycles left for the model
    assert candidate("a", "int16", 0.01, limit - 1).fits
    assert not candidate("a", "int16", 0.01, limit).fits


def test_the_most_accurate_fitting_candidate_wins() -> None:
    accurate_but_slow = candidate("wavenet", "float32", 0.005, 4000)
    fits_worse = candidate("lstm", "int16", 0.15, 1000)
    fits_better = candidate("nano", "int16", 0.012, 1600)
    assert amp_fit.choose([accurate_but_slow, fits_worse, fits_better]) == (fits_better, True)


def test_a_tie_in_accuracy_goes_to_the_cheaper() -> None:
    slow, fast = candidate("nano", "float32", 0.012, 2000), candidate("nano", "int16", 0.012, 1500)
    assert amp_fit.choose([slow, fast]) == (fast, True)


def test_an_esr_within_the_tie_of_the_best_counts_as_equal_and_the_cheaper_wins() -> None:
    best = candidate("nano", "float32", 0.0100, 2000)
    within = candidate("nano", "int16", 0.0100 * (1 + amp_fit.TIE) - 1e-6, 1500)
    beyond = candidate("nano", "int16", 0.0100 * (1 + amp_fit.TIE) + 1e-6, 1500)
    assert amp_fit.choose([best, within]) == (within, True)
    assert amp_fit.choose([best, beyond]) == (best, True)


def test_each_precision_is_ranked_by_its_own_engines_test_esr(tmp_path: Path) -> None:
    path = _model_file(tmp_path, {"test": {"esr_preemph": 0.012}, "test_int16": {"esr_preemph": 0.015}})
    rows = [{"model": "nam-nano", "precision": p, "est_cycles_worst": c} for p, c in (("float32", 2279), ("int16", 1386))]
    found = {c.precision: c.test_esr_preemph for c in amp_fit.table(rows, [path])}
    assert found == {"float32": 0.012, "int16": 0.015}


def test_a_file_without_an_int16_score_is_refused_with_its_name_and_the_fix(tmp_path: Path) -> None:
    path = _model_file(tmp_path, {"test": {"esr_preemph": 0.012}})
    rows = [{"model": "nam-nano", "precision": "int16", "est_cycles_worst": 1386}]
    with pytest.raises(ModelFileError, match=r"old\.vnet: no int16 test ESR.*--precision int16 --record"):
        amp_fit.table(rows, [path])


def _model_file(folder: Path, training: dict) -> Path:
    from valvenet.models.config import PRESETS
    from valvenet.models.model_file import ModelFile, save
    from valvenet.models.random_model import random_tensors

    path = folder / "old.vnet"
    metadata = {"name": "nam-nano", "sample_rate": 48000, "input_gain": 1.0, "output_gain": 1.0, "training": training}
    save(ModelFile(PRESETS["nam-nano"], random_tensors(PRESETS["nam-nano"], 0), metadata), path)
    return path


def test_when_nothing_fits_the_cheapest_is_the_default_and_the_table_says_so() -> None:
    slow, slower = candidate("nano", "float32", 0.012, 3000), candidate("wavenet", "int16", 0.01, 3500)
    assert amp_fit.choose([slower, slow]) == (slow, False)
    assert "NOTHING FITS" in amp_fit.render([slower, slow])


def test_without_a_benchmark_figure_there_is_no_default() -> None:
    with pytest.raises(ValueError, match="no amp candidate"):
        amp_fit.choose([])


def test_the_checked_in_table_is_the_rule_applied_to_the_checked_in_benchmark() -> None:
    rows = json.loads((ROOT / "docs/benchmarks.json").read_text())
    models = sorted((ROOT / "models/trained").glob("*.vnet"))
    assert models, "no trained models in the runfiles"
    candidates = [_relabel(c) for c in amp_fit.table(rows, models)]
    assert (ROOT / "firmware/amp_fit.bzl").read_text() == amp_fit.render(candidates)


def _relabel(c: Candidate) -> Candidate:
    """The label of the model in the source tree (the runfiles tree has no BUILD files to
    find a package by)."""
    return Candidate(f"//models:trained/{Path(c.label.split(':')[-1]).name}", c.precision, c.preset,
                     c.test_esr_preemph, c.model_per_sample, c.unit)
