"""`valvenet process`: streams a WAV through a model file (and a cabinet IR) into a WAV."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from valvenet import cli, process
from valvenet.export import cabinet_table
from valvenet.models import model_file
from valvenet.models.model_file import ModelFile
from valvenet.models import config
from valvenet.models.oracle import Oracle
from valvenet.models.shapes import expected_shapes
from valvenet.process import BLOCK, CabinetConvolver

RATE = 48000


def small_model(tmp_path: Path) -> tuple[Path, ModelFile]:
    rng = np.random.default_rng(2)
    cfg = config.PRESETS["nam-nano"]
    tensors = {n: (0.3 * rng.standard_normal(s)).astype(np.float32) for n, s in expected_shapes(cfg).items()}
    model = ModelFile(cfg, tensors, {"name": "nano", "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0})
    path = tmp_path / "m.vnet"
    model_file.save(model, path)
    return path, model


def test_process_equals_the_oracle_across_block_boundaries(tmp_path: Path) -> None:
    path, model = small_model(tmp_path)
    x = (0.3 * np.sin(np.arange(BLOCK + 5000) * 0.01)).astype(np.float32)  # longer than one block
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    assert cli.main(["process", "--model", str(path), str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 0
    y, rate = sf.read(tmp_path / "out.wav", dtype="float64")
    assert rate == RATE
    np.testing.assert_allclose(y, Oracle(model).process_all(x), atol=1e-6)


def test_cabinet_stage_is_a_plain_convolution() -> None:
    rng = np.random.default_rng(5)
    ir, x = rng.standard_normal(300), rng.standard_normal(5000)
    cab = CabinetConvolver(ir)
    y = np.concatenate([cab.process(x[i:i + 777]) for i in range(0, x.size, 777)])
    np.testing.assert_allclose(y, signal.fftconvolve(x, ir)[: x.size], atol=1e-9)


def table_taps(source: str) -> np.ndarray:
    """The float literals of a generated cabinet table, as float32."""
    body = source.split("cabinet_taps[CABINET_TAPS] = {")[1].split("};")[0]
    return np.array([float(v.rstrip("f")) for v in re.findall(r"-?\d\.\d+e[-+]\d+f", body)], np.float32)


def test_process_cab_applies_the_cabinet_the_firmware_table_holds(tmp_path: Path) -> None:
    # A 44.1 kHz guitarix IR for a 48 kHz model, cut to 128 taps: the host and the firmware's
    # table must resample, trim and normalise it the same way (the same float32 taps).
    path, model = small_model(tmp_path)
    table = tmp_path / "cabinet.c"
    assert cabinet_table.main(["--ir", "Mesa Boogie Mark V", "--model", str(path), "--taps", "128",
                               "--out", str(table)]) == 0
    taps = table_taps(table.read_text())
    assert taps.size == 128
    x = (0.3 * np.sin(np.arange(20000) * 0.01)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    assert cli.main(["process", "--model", str(path), str(tmp_path / "in.wav"), str(tmp_path / "out.wav"),
                     "--cab", "Mesa Boogie Mark V", "--cab-taps", "128"]) == 0
    y, _ = sf.read(tmp_path / "out.wav", dtype="float64")
    want = signal.fftconvolve(Oracle(model).process_all(x), taps.astype(np.float64))[: x.size]
    np.testing.assert_allclose(y, want, atol=1e-6)


@pytest.mark.parametrize("problem, write, message", [
    ("stereo", lambda p: sf.write(p, np.zeros((100, 2)), RATE), "2 channels; choose one with --channel"),
    ("rate", lambda p: sf.write(p, np.zeros(100), 44100), "sample rate 44100 Hz, the model runs at 48000 Hz"),
])
def test_bad_input_names_the_file_and_keeps_earlier_output(tmp_path: Path, problem: str, write, message: str,  # type: ignore[no-untyped-def]
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = small_model(tmp_path)
    bad = tmp_path / f"{problem}.wav"
    write(bad)
    out = tmp_path / "out.wav"
    out.write_bytes(b"earlier result")
    assert cli.main(["process", "--model", str(path), str(bad), str(out)]) == 2
    assert message in capsys.readouterr().err
    assert out.read_bytes() == b"earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.vnet", bad.name, "out.wav"])


def test_an_unknown_cabinet_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = small_model(tmp_path)
    sf.write(tmp_path / "in.wav", np.zeros(100, np.float32), RATE)
    assert cli.main(["process", "--model", str(path), str(tmp_path / "in.wav"), str(tmp_path / "out.wav"),
                     "--cab", "no such cabinet"]) == 2
    err = capsys.readouterr().err
    assert "'no such cabinet' not found" in err and "Traceback" not in err
    assert not (tmp_path / "out.wav").exists()


def test_a_failure_midway_keeps_the_earlier_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The NaN is in the second block: the first was already written, to the temporary file.
    path, _ = small_model(tmp_path)
    x = np.full(process.BLOCK + 100, 0.1, np.float32)
    x[process.BLOCK + 50] = np.nan
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    out = tmp_path / "out.wav"
    out.write_bytes(b"earlier result")
    assert cli.main(["process", "--model", str(path), str(tmp_path / "in.wav"), str(out)]) == 2
    assert "NaN or Inf" in capsys.readouterr().err
    assert out.read_bytes() == b"earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "m.vnet", "out.wav"]
