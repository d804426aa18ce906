"""`valvenet pedal` and the numpy chain: a clip through the amp image's block loop in QEMU,
the chain's own guarantees, the cabinet's C table, and clear errors for bad input."""

from __future__ import annotations

import os
import re
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from valvenet import cli
from valvenet.export import cabinet, cabinet_table
from valvenet.models.model_file import load
from valvenet.pedal import chain as pedal_chain
from valvenet.synth import cab
from tests.python.wav_fixtures import RATE, assert_engine_matches, guitar_like, write

FIRMWARE = Path(os.environ.get("AMP_FIRMWARE", "firmware/amp_mps2_an500.elf"))
MODEL = Path(os.environ.get("AMP_MODEL", "models/trained/crunch-nam-nano.vnet"))
PRECISION = os.environ.get("AMP_PRECISION", "float32")  # the amp image's engine
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")



def pedal(*args: object) -> int:
    return cli.main(["pedal", "--firmware", str(FIRMWARE), *map(str, args)])


def default_taps() -> np.ndarray:
    return cabinet.load(cab.DEFAULT_IR, rate=RATE, length=256).taps



@needs_qemu
def test_a_clip_through_the_block_loop_matches_the_numpy_chain(tmp_path: Path) -> None:
    x = guitar_like(4000 / RATE)
    out = tmp_path / "out.wav"
    assert pedal("--set", "output_gain_db=-6", "--block", 48, "--input", write(tmp_path / "in.wav", x),
                 "--output", out) == 0
    y, rate = sf.read(out, dtype="float32")
    assert rate == RATE and y.size == x.size
    chain = pedal_chain.start_chain(load(MODEL), default_taps(), RATE, {"output_gain_db": -6.0})
    want = np.concatenate([chain.process(x[i:i + 48]) for i in range(0, x.size, 48)])
    assert_engine_matches(y, want, PRECISION)
    assert np.sqrt(np.mean(want**2)) > 0.01


@needs_qemu
def test_bad_requests_are_refused_before_the_emulator_starts(tmp_path: Path, capsys) -> None:
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((100, 2), np.float32), RATE)
    long = write(tmp_path / "long.wav", np.zeros(20000, np.float32))
    rate = write(tmp_path / "rate.wav", np.zeros(100, np.float32), 44100)
    out = tmp_path / "out.wav"
    out.write_bytes(b"earlier result")
    cases = [(["--input", stereo, "--output", out], "2 channels"),
             (["--input", long, "--output", out], "software source holds"),
             (["--input", rate, "--output", out], "44100 Hz"),
             (["--set", "bypass=0.5"], "a switch"),
             (["--set", "volume=1"], "unknown parameter"),
             (["--set", "output_gain_db"], "NAME=NUMBER"),
             (["--input", rate], "go together")]
    for args, message in cases:
        assert pedal(*args) == 2
        assert message in capsys.readouterr().err
    assert out.read_bytes() == b"earlier result"


def test_chain_bypass_gives_the_input_back_and_ramps_are_linear() -> None:
    chain = pedal_chain.start_chain(load(MODEL), None, RATE, {})
    x = guitar_like(2000 / RATE)
    chain.set("bypass", 1.0)
    y = chain.process(x)
    assert np.array_equal(y[480:], x[480:])  # the 10 ms cross-fade, then the input exactly
    chain = pedal_chain.start_chain(load(MODEL), None, RATE, {"bypass": 1.0})
    chain.set("output_gain_db", -12.0)  # bypassed: the gain ramps on the wet path only
    assert chain.output_gain.remaining == 480
    steps = [chain.output_gain.next() for _ in range(480)]
    assert steps[-1] == pedal_chain.db_to_gain(-12.0)
    assert np.all(np.diff(steps) < 0)


def test_chain_refuses_what_the_firmware_refuses() -> None:
    chain = pedal_chain.start_chain(load(MODEL), None, RATE, {})
    for name, value in [("output_gain_db", 13.0), ("input_gain_db", float("nan")), ("bypass", 0.5),
                        ("cabinet", 1.0), ("ramp_ms", 0.0), ("tone", 1.0)]:
        with pytest.raises(pedal_chain.ChainError):
            chain.set(name, value)


def test_knob_settings_name_the_models_knobs() -> None:
    from valvenet.pedal.cli import PedalError, parse_setting

    assert parse_setting("gain=0.7", ("gain", "tone")) == ("gain", 0.7)
    assert pedal_chain.param_id("tone", ("gain", "tone")) == pedal_chain.KNOB_FIRST + 1
    assert pedal_chain.param_id("knob1") == pedal_chain.KNOB_FIRST + 1  # whatever the model calls it
    with pytest.raises(PedalError, match="knob gain is a position in \\[0, 1\\], not 1.5"):
        parse_setting("gain=1.5", ("gain",))
    with pytest.raises(PedalError, match="unknown parameter 'drive'.*the model's knobs: gain, tone"):
        parse_setting("drive=0.2", ("gain", "tone"))


def test_cabinet_table_carries_the_taps_and_their_crc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cabinet.c"
    assert cabinet_table.main(["--ir", cab.DEFAULT_IR, "--model", str(MODEL), "--out", str(out)]) == 0
    text = out.read_text()
    taps = default_taps()
    assert f"0x{zlib.crc32(taps.astype('<f4').tobytes()):08X}u" in text
    values = np.array([float(v.rstrip("f")) for v in re.findall(r"-?\d\.\d+e[-+]\d+f", text)], np.float32)
    assert np.array_equal(values, taps)
    none = tmp_path / "none.c"
    assert cabinet_table.main(["--none", "--out", str(none)]) == 0
    assert 'cabinet_table = {"", 0, 0u' in none.read_text()
    assert cabinet_table.main(["--ir", "no such cabinet", "--out", str(none)]) == 1
    assert "not found" in capsys.readouterr().err
