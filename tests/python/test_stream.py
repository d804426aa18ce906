"""`valvenet run`: a WAV through the amp firmware in QEMU, and clear errors for bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from valvenet import cli
from valvenet.device.stream import default_firmware
from valvenet.models.model_file import load
from valvenet.models.oracle import Oracle
from tests.python.wav_fixtures import RATE, assert_engine_matches, guitar_like, write

FIRMWARE = Path(os.environ.get("AMP_FIRMWARE", "firmware/amp_mps2_an500.elf"))
MODEL = Path(os.environ.get("AMP_MODEL", "models/trained/crunch-nam-nano.vnet"))
PRECISION = os.environ.get("AMP_PRECISION", "float32")  # the amp image's engine
OTHER_MODEL = Path(os.environ.get("OTHER_MODEL", "models/trained/crunch-lstm-12.vnet"))
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")



def run(*args: object) -> int:
    return cli.main(["run", "--firmware", str(FIRMWARE), *map(str, args)])



@needs_qemu
def test_firmware_output_matches_the_oracle(tmp_path: Path) -> None:
    x = guitar_like(0.1)
    out = tmp_path / "out.wav"
    assert run("--model", MODEL, "--block", 100, write(tmp_path / "in.wav", x), out) == 0
    y, rate = sf.read(out, dtype="float64")
    assert rate == RATE and y.size == x.size
    assert_engine_matches(y, Oracle(load(MODEL)).process_all(x.astype(np.float64)), PRECISION)


@needs_qemu
def test_default_firmware_is_found_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --firmware, `valvenet run` finds the installation's image, not one relative to
    the current folder (here an empty one)."""
    model, firmware, x = MODEL.resolve(), FIRMWARE.resolve(), guitar_like(0.02)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert default_firmware("qemu").samefile(firmware)
    assert cli.main(["run", "--model", str(model), str(write(tmp_path / "in.wav", x)), str(tmp_path / "out.wav")]) == 0
    assert sf.info(str(tmp_path / "out.wav")).frames == x.size


@needs_qemu
def test_a_model_the_image_does_not_hold_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = write(tmp_path / "out.wav", np.zeros(10, np.float32))  # an earlier result
    assert run("--model", OTHER_MODEL, write(tmp_path / "in.wav", guitar_like(0.01)), out) == 2
    err = capsys.readouterr().err
    assert "does not hold model lstm-12" in err and "nam-nano" in err and str(FIRMWARE) in err
    assert sf.read(out)[0].size == 10  # untouched


@pytest.mark.parametrize("problem, audio, rate, message", [
    ("rate", np.zeros(100, np.float32), 44100, "sample rate 44100 Hz"),
    ("stereo", np.zeros((100, 2), np.float32), RATE, "2 channels"),
    ("nan", np.array([0.0, np.nan, 0.0], np.float32), RATE, "NaN"),
    ("empty", np.zeros(0, np.float32), RATE, "no samples"),
])
def test_bad_input_is_named_before_any_device_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     problem: str, audio: np.ndarray, rate: int, message: str) -> None:
    wav = write(tmp_path / f"{problem}.wav", audio, rate)
    assert cli.main(["run", "--firmware", str(tmp_path / "no.elf"), "--model", str(MODEL), str(wav),
                     str(tmp_path / "out.wav")]) == 2
    err = capsys.readouterr().err
    assert str(wav) in err and message in err
    assert not (tmp_path / "out.wav").exists()


def test_missing_firmware_and_bad_block_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wav = write(tmp_path / "in.wav", guitar_like(0.01))
    assert cli.main(["run", "--firmware", str(tmp_path / "no.elf"), "--model", str(MODEL), str(wav),
                     str(tmp_path / "o.wav")]) == 2
    assert "no such firmware image" in capsys.readouterr().err
    assert run("--model", MODEL, "--block", 5000, wav, tmp_path / "o.wav") == 2
    assert "1..1024" in capsys.readouterr().err
