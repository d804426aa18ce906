"""tools/results/real_amps.py, the script behind docs/real_amps.md, end to end on a self-made
realdata folder (a small random capture, synthetic DIs named like the held-out players): it
must run, score the student on the held-out DIs only, record how it trained, and keep the
rows of earlier runs that it does not redo (the table is filled over several 30-minute runs)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import soundfile as sf

from valvenet.export.nam import write_nam
from valvenet.models.calibrate import synthetic_guitar
from valvenet.models.config import nam_wavenet
from valvenet.models.model_file import ModelFile
from valvenet.models.random_model import random_tensors

RATE = 48_000
SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "results" / "real_amps.py"


def real_amps() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_amps", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def realdata(root: Path) -> Path:
    teacher = nam_wavenet((4, 2), [[1, 2, 4], [8, 16]], head_scale=0.5)
    (root / "captures").mkdir(parents=True)
    write_nam(ModelFile(teacher, random_tensors(teacher, seed=3),
                        {"name": "tiny", "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0}),
              root / "captures" / "tiny.nam")
    (root / "di").mkdir()
    for seed, name in enumerate(("celestial", "jazz-hop", "take1", "take2")):
        sf.write(root / "di" / f"{name}.wav", synthetic_guitar(3.0, RATE, seed=seed), RATE, subtype="FLOAT")
    return root


def test_a_run_adds_its_rows_scored_on_held_out_di_and_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "out" / "real_amps"
    out.parent.mkdir()
    earlier = {"capture": "other", "student": "lstm-16", "parameters": 1, "instructions_per_sample": 1.0,
               "budget_share_48k": 0.1, "source": "made up", "f767_share_int16": 0.1, "minutes": 30.0, "epochs": 9,
               "stopped": "patience", "settled": True, "teacher_rendered": "every epoch", "esr": 0.5,
               "esr_preemph": 0.5, "per_file_preemph": {"celestial": 0.5}, "command": "an earlier run"}
    out.with_suffix(".json").write_text(json.dumps({"command": "an earlier run", "students": [earlier]}))
    script = real_amps()
    assert script.main([str(realdata(tmp_path / "real")), "--minutes", "0.05", "--students", "nam-nano",
                        "--steps-per-epoch", "2", "--builtin-seconds", "2", "--work", str(tmp_path / "work"),
                        "--out", str(out)]) == 0

    result = json.loads(out.with_suffix(".json").read_text())
    rows = {(r["capture"], r["student"]): r for r in result["students"]}
    assert set(rows) == {("other", "lstm-16"), ("tiny", "nam-nano")}
    assert rows[("other", "lstm-16")]["command"] == "an earlier run"  # kept as it was
    row = rows[("tiny", "nam-nano")]
    assert set(row["per_file_preemph"]) == {"celestial", "jazz-hop"}  # the held-out players only
    assert all(np.isfinite(v) and v > 0 for v in row["per_file_preemph"].values())
    assert row["teacher_rendered"] == "once" and row["restarts"] >= 0 and row["epochs"] >= 1
    assert "--restarts" in row["command"]  # the command reproduces the row with the same recipe
    assert [r["capture"] for r in result["as_is"]] == ["tiny"]  # every capture reported as it is
    train_di = sorted(p.name for p in (tmp_path / "work" / "train-di").iterdir())
    assert train_di == ["take1.wav", "take2.wav"]  # never trained on a held-out DI

    page = out.with_suffix(".md").read_text()
    assert "**Smoke run**" in page  # under 30 minutes the page says it is not the result
    assert "**Partial table**: no row yet for tiny nam-feather, tiny " in page  # only nano was run
    assert "| tiny | nam-nano |" in page and "| other | lstm-16 |" in page


def test_the_recipe_column_names_the_restarts_a_row_made() -> None:
    recipe = real_amps()._recipe
    assert recipe({"teacher_rendered": "once", "restarts": 2}) == "once, 2 restarts"
    assert recipe({"teacher_rendered": "once", "restarts": 1}) == "once, 1 restart"
    assert recipe({"teacher_rendered": "every epoch"}) == "every epoch"  # rows from before --restarts


def test_the_table_is_complete_when_every_capture_has_every_student() -> None:
    missing = real_amps().missing_rows
    as_is = [{"capture": "a"}, {"capture": "b"}]
    rows = [{"capture": c, "student": s} for c in ("a", "b") for s in ("nano", "micro")]
    assert missing(rows, as_is, ["nano", "micro"]) == []
    assert missing(rows[1:], as_is, ["nano", "micro"]) == ["a nano"]
    assert missing(rows, as_is, ["nano", "micro", "feather"]) == ["a feather", "b feather"]
