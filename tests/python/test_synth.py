"""Tests of the built-in dataset builder: MIDI writer, fluidsynth render, lv2host, presets, build.

They run the real tools (fluidsynth, the guitarix LV2 amp through //tools/lv2host), at a small
--seconds-scale so the whole file takes a few seconds.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from valvenet import cli
from valvenet.synth import BuildOptions, SynthError, amp, build_dataset, midi, performance, render
from valvenet.synth.builder import SPLIT_SECONDS, sha256_file

SCALE = 0.05
RATE = render.SAMPLE_RATE


@pytest.fixture(scope="module")
def lv2host() -> Path:
    return amp.find_lv2host()


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    dirs = (tmp_path_factory.mktemp("build1"), tmp_path_factory.mktemp("build2"))
    for out in dirs:
        build_dataset(BuildOptions(out=out, seconds_scale=SCALE, seed=7), progress=False)
    return dirs


# ------------------------------------------------------------------------------- MIDI


def test_variable_length_quantities_follow_the_midi_spec() -> None:
    cases = {0: b"\x00", 0x7F: b"\x7f", 0x80: b"\x81\x00", 0x3FFF: b"\xff\x7f", 0x200000: b"\x81\x80\x80\x00"}
    for value, encoded in cases.items():
        assert midi._variable_length(value) == encoded


def test_midi_file_has_a_consistent_header_and_track() -> None:
    data = midi.midi_bytes(performance.generate_performance(1, 5.0))
    assert data[:4] == b"MThd" and int.from_bytes(data[4:8], "big") == 6
    assert int.from_bytes(data[8:10], "big") == 0  # format 0
    assert data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    assert data.endswith(b"\xff\x2f\x00")


def test_fluidsynth_accepts_the_midi_file(tmp_path: Path) -> None:
    path = tmp_path / "perf.mid"
    midi.write_midi(performance.generate_performance(3, 4.0), path)
    audio = render.render_midi(path, 4 * RATE)
    assert audio.dtype == np.float32 and audio.shape == (4 * RATE,)
    assert np.max(np.abs(audio)) > 1e-3  # it played notes, not silence


def test_pitch_bend_events_bend_the_rendered_note(tmp_path: Path) -> None:
    perf = performance.Performance(seconds=2.0)
    perf.notes.append(performance.Note(0.05, 1.9, 57, 100, performance.LEAD_CHANNELS[0]))
    perf.bends.append(performance.Bend(1.0, performance.LEAD_CHANNELS[0], 2.0))
    midi.write_midi(perf, tmp_path / "bend.mid")
    audio = render.render_midi(tmp_path / "bend.mid", 2 * RATE).astype(np.float64)

    def pitch(segment: np.ndarray) -> float:  # strongest partial below 700 Hz (A3 = 220 Hz)
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size), 1 << 18))
        return float(np.argmax(spectrum[: int(700 * (1 << 18) / RATE)]) * RATE / (1 << 18))

    before, after = pitch(audio[int(0.3 * RATE) : RATE]), pitch(audio[int(1.2 * RATE) : int(1.9 * RATE)])
    assert after / before == pytest.approx(2 ** (2 / 12), rel=0.01)


def test_performance_is_seeded_and_covers_the_playing_styles() -> None:
    perf = performance.generate_performance(11, 180.0)
    assert midi.midi_bytes(perf) == midi.midi_bytes(performance.generate_performance(11, 180.0))
    assert midi.midi_bytes(perf) != midi.midi_bytes(performance.generate_performance(12, 180.0))
    velocities = [n.velocity for n in perf.notes]
    assert min(velocities) <= 30 and max(velocities) >= 120  # wide dynamics
    assert any(abs(b.semitones) >= 1.0 for b in perf.bends)  # real bends, not just vibrato
    assert sum(n.channel == performance.MUTED_CHANNEL for n in perf.notes) > 20  # palm mutes
    starts = sorted(n.start for n in perf.notes if n.channel in performance.CHORD_CHANNELS)
    assert any(starts[i + 3] - starts[i] < 0.1 for i in range(len(starts) - 3))  # strummed chords
    assert {n.channel for n in perf.notes} == set(performance.CHANNEL_PROGRAMS)


# ------------------------------------------------------------------------------- lv2host


def _host(lv2host: Path, *args: str, data: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([str(lv2host), *args], input=data, capture_output=True)


def test_lv2host_is_deterministic_and_keeps_the_length(lv2host: Path) -> None:
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 10_001).astype("<f4").tobytes()
    args = ["--set", "PreGain=3", "--set", "c_model=18", amp.PLUGIN_URI]
    first, second = _host(lv2host, *args, data=noise), _host(lv2host, *args, data=noise)
    assert first.returncode == 0, first.stderr.decode()
    assert first.stdout == second.stdout
    assert len(first.stdout) == len(noise)


def test_lv2host_rejects_an_unknown_control_by_name(lv2host: Path) -> None:
    proc = _host(lv2host, "--set", "Gian=3", amp.PLUGIN_URI)
    assert proc.returncode != 0
    message = proc.stderr.decode()
    assert "unknown control 'Gian'" in message and "PreGain" in message  # lists the real names
    with pytest.raises(SynthError, match="unknown control 'Gian'"):
        amp.run_amp(np.zeros(512, np.float32), {"Gian": 3.0}, RATE, lv2host)


def test_lv2host_rejects_an_unknown_plugin_and_bad_values(lv2host: Path) -> None:
    proc = _host(lv2host, "urn:valvenet:no-such-plugin")
    assert proc.returncode != 0 and b"not found" in proc.stderr
    proc = _host(lv2host, "--set", "model=99", amp.PLUGIN_URI)
    assert proc.returncode != 0 and b"outside its range" in proc.stderr


def test_presets_distort_in_order_clean_crunch_highgain(lv2host: Path) -> None:
    measured = {name: amp.measure_thd(amp.PRESETS[name], RATE, lv2host) for name in ("clean", "crunch", "highgain")}
    assert measured["clean"] < measured["crunch"] < measured["highgain"]
    for name, value in measured.items():
        low, high = amp.EXPECTED_THD[name]
        assert low <= value <= high, f"{name}: THD {value:.3f} outside [{low}, {high}]"


def test_every_preset_turns_the_internal_cabinet_off() -> None:
    assert all(controls["c_model"] == 18 for controls in amp.PRESETS.values())


# ------------------------------------------------------------------------------- dataset build


def test_two_builds_are_byte_identical(two_builds: tuple[Path, Path]) -> None:
    first, second = two_builds
    assert (first / "meta.json").read_bytes() == (second / "meta.json").read_bytes()
    for name in json.loads((first / "meta.json").read_text())["files"]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_build_layout_and_wav_format(two_builds: tuple[Path, Path]) -> None:
    out = two_builds[0]
    meta = json.loads((out / "meta.json").read_text())
    expected = {f"{split}/{preset}-{role}.wav" for split in SPLIT_SECONDS for preset in ("clean", "crunch", "highgain")
                for role in ("input", "target")}  # fmt: skip
    assert set(meta["files"]) == expected
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.wav")} == expected
    for name in expected:
        info = sf.info(str(out / name))
        split = name.split("/")[0]
        assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "FLOAT")
        assert info.frames == meta["splits"][split]["samples"] == round(SPLIT_SECONDS[split] * SCALE * RATE)


def test_meta_records_hashes_levels_presets_seeds_and_tools(two_builds: tuple[Path, Path]) -> None:
    out = two_builds[0]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["sample_rate"] == RATE and meta["seed"] == 7 and meta["seconds_scale"] == SCALE
    for name, entry in meta["files"].items():
        assert entry["sha256"] == sha256_file(out / name)
        assert entry["peak_dbfs"] is not None and entry["rms_dbfs"] < entry["peak_dbfs"]
        if name.endswith("-input.wav"):
            assert entry["peak_dbfs"] == render.INPUT_PEAK_DBFS
    for preset, entry in meta["presets"].items():
        assert entry["controls"] == amp.PRESETS[preset]
        assert entry["thd_1khz_-20dbfs"] > 0
    seeds = [meta["splits"][split]["seed"] for split in SPLIT_SECONDS]
    assert len(set(seeds)) == len(seeds)
    assert len({meta["splits"][split]["midi_sha256"] for split in SPLIT_SECONDS}) == len(SPLIT_SECONDS)
    assert meta["input"]["soundfont"] == str(render.SOUNDFONT)
    assert meta["tools"]["fluidsynth"] != "unknown" and "deb:guitarix-lv2" in meta["tools"]
    assert meta["cab"] is None


def test_targets_are_the_amp_output_of_the_inputs(two_builds: tuple[Path, Path], lv2host: Path) -> None:
    out = two_builds[0]
    dry, _ = sf.read(str(out / "val/crunch-input.wav"), dtype="float32")
    target, _ = sf.read(str(out / "val/crunch-target.wav"), dtype="float32")
    assert np.array_equal(amp.run_amp(dry, amp.PRESETS["crunch"], RATE, lv2host), target)


def test_cli_builds_with_a_cabinet(tmp_path: Path) -> None:
    rc = cli.main(["dataset", "build", "--out", str(tmp_path), "--preset", "crunch", "--seconds-scale", str(SCALE),
                   "--cab"])  # fmt: skip
    assert rc == 0
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert sorted(meta["files"])[:2] == ["test/crunch-cab-input.wav", "test/crunch-cab-target.wav"]
    assert meta["cab"]["ir"].endswith(".wav") and len(meta["cab"]["ir_sha256"]) == 64


def test_cli_reports_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["dataset", "build", "--out", str(tmp_path), "--preset", "metal"])
    assert exit_info.value.code == 2 and "invalid choice: 'metal'" in capsys.readouterr().err
    assert cli.main(["dataset", "build", "--out", str(tmp_path), "--seconds-scale", "0.001"]) == 2
    assert "--seconds-scale" in capsys.readouterr().err
    assert cli.main(["dataset", "build", "--out", str(tmp_path), "--cab", "no such cabinet"]) == 2
    assert "cabinet IR 'no such cabinet' not found" in capsys.readouterr().err
