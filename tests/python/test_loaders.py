"""Tests of the dataset loaders: layouts, validation messages, latency detection and alignment.

Every case writes small real WAV files with soundfile, so the tests exercise the same reading
path as a user's recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from valvenet.datasets import (
    AudioPair,
    DatasetError,
    DatasetWarning,
    LatencyError,
    clipped_samples,
    detect_delay_blips,
    detect_delay_xcorr,
    load_dataset,
    load_nam_pair,
    load_pattern,
    load_split,
)
from valvenet.datasets.latency import NAM_V3_BLIPS
from valvenet.datasets.splits import NAM_V3_TRAIN_START, NAM_V3_VALIDATION, is_nam_v3_input, training_splits

RATE = 48_000
DELAY = 37


def guitar_like(n: int, seed: int = 0) -> np.ndarray:
    """Band-limited noise in decaying bursts: plucked-note envelopes over a guitar's band."""
    rng = np.random.default_rng(seed)
    b, a = signal.butter(2, [80 / (RATE / 2), 4000 / (RATE / 2)], btype="band")
    tone = signal.lfilter(b, a, rng.standard_normal(n))
    envelope = np.zeros(n)
    note = RATE // 4
    for start in range(0, n, note):
        length = min(note, n - start)
        envelope[start:start + length] = rng.uniform(0.3, 1.0) * np.exp(-np.arange(length) / (note / 4))
    x = tone * envelope
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def amp(x: np.ndarray, delay: int = DELAY) -> np.ndarray:
    """A stand-in amp: the interface's latency, then a tanh stage driven hard."""
    delayed = np.concatenate((np.zeros(delay, dtype=x.dtype), x[:len(x) - delay]))
    return (0.8 * np.tanh(4.0 * delayed)).astype(np.float32)


def write(path: Path, data: np.ndarray, rate: int = RATE, subtype: str = "FLOAT") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def write_split(root: Path, split: str, x: np.ndarray, y: np.ndarray, name: str = "amp",
                **kwargs) -> tuple[Path, Path]:
    folder = root / split
    return (write(folder / f"{name}-input.wav", x, **kwargs),
            write(folder / f"{name}-target.wav", y, **kwargs))


@pytest.fixture
def pair_audio() -> tuple[np.ndarray, np.ndarray]:
    x = guitar_like(RATE // 2)
    return x, (0.8 * np.tanh(4.0 * x)).astype(np.float32)


def expect_error(call, *fragments: object) -> str:
    """Runs `call`, expects DatasetError, and checks each fragment is in its message."""
    with pytest.raises(DatasetError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert str(fragment) in message, message
    return message


# --------------------------------------------------------------------------- layout and formats


@pytest.mark.parametrize("subtype, step", [("FLOAT", 1e-7), ("PCM_16", 2.0 ** -15), ("PCM_24", 2.0 ** -23)])
def test_round_trip_within_quantisation(tmp_path, pair_audio, subtype, step):
    x, y = pair_audio
    write_split(tmp_path, "train", x, y, subtype=subtype)
    pair = load_split(tmp_path, "amp", "train")
    assert isinstance(pair, AudioPair)
    assert pair.input.dtype == np.float32 and pair.target.dtype == np.float32
    assert pair.input.ndim == 1 and pair.input.shape == x.shape
    assert np.max(np.abs(pair.input - x)) <= step
    assert np.max(np.abs(pair.target - y)) <= step
    assert pair.sample_rate == RATE and pair.delay == 0 and pair.warnings == ()
    assert pair.input_path == tmp_path / "train" / "amp-input.wav"


def test_load_dataset_reads_three_splits(tmp_path, pair_audio):
    x, y = pair_audio
    for split in ("train", "val", "test"):
        write_split(tmp_path, split, x, y, subtype="PCM_16")
    pairs = load_dataset(tmp_path, "amp")
    assert sorted(pairs) == ["test", "train", "val"]
    assert all(p.num_samples == len(x) for p in pairs.values())


def test_load_dataset_rejects_mixed_sample_rates(tmp_path, pair_audio):
    x, y = pair_audio
    write_split(tmp_path, "train", x, y)
    write_split(tmp_path, "val", x, y)
    bad, _ = write_split(tmp_path, "test", x, y, rate=44_100)
    expect_error(lambda: load_dataset(tmp_path, "amp"), f"{bad}:", "44100", "48000")


def test_unknown_split(tmp_path):
    expect_error(lambda: load_split(tmp_path, "amp", "training"), "unknown split", "train, val, test")


# --------------------------------------------------------------------------- validation


def test_missing_file_says_which_and_what_is_there(tmp_path, pair_audio):
    x, _ = pair_audio
    write(tmp_path / "train" / "amp-input.wav", x)
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"),
                           f"{tmp_path / 'train' / 'amp-target.wav'}: file not found", "amp-input.wav")
    assert message.startswith(str(tmp_path / "train" / "amp-target.wav"))


def test_missing_folder(tmp_path):
    expect_error(lambda: load_split(tmp_path, "amp", "val"),
                 f"{tmp_path / 'val' / 'amp-input.wav'}: file not found", "does not exist")


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100), b"not audio at all" * 20])
def test_corrupt_audio_is_wrapped_with_the_path(tmp_path, pair_audio, content):
    x, y = pair_audio
    write_split(tmp_path, "train", x, y)
    target = tmp_path / "train" / "amp-target.wav"
    target.write_bytes(content)
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"), "unreadable or corrupt audio")
    assert message.startswith(f"{target}:")


def test_sample_rate_mismatch_names_both_rates(tmp_path, pair_audio):
    x, y = pair_audio
    write(tmp_path / "train" / "amp-input.wav", x, rate=48_000)
    target = write(tmp_path / "train" / "amp-target.wav", y, rate=44_100)
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"), "44100 Hz", "48000 Hz")
    assert message.startswith(f"{target}:")


def test_length_mismatch_names_both_lengths(tmp_path, pair_audio):
    x, y = pair_audio
    target = write_split(tmp_path, "train", x, y[:-10])[1]
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"), len(x), len(x) - 10, "differ by 10")
    assert message.startswith(f"{target}:")


def test_length_within_tolerance_is_trimmed(tmp_path, pair_audio):
    x, y = pair_audio
    write_split(tmp_path, "train", x, y[:-1])
    pair = load_split(tmp_path, "amp", "train")
    assert pair.input.shape == pair.target.shape == (len(x) - 1,)


def test_stereo_needs_a_channel(tmp_path, pair_audio):
    x, y = pair_audio
    write(tmp_path / "train" / "amp-input.wav", x)
    target = write(tmp_path / "train" / "amp-target.wav", np.stack((0.5 * y, y), axis=1))
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"), "2 channels", "choose a channel")
    assert message.startswith(f"{target}:")
    pair = load_split(tmp_path, "amp", "train", channel=1)
    np.testing.assert_allclose(pair.target, y, atol=1e-7)
    np.testing.assert_allclose(pair.input, x, atol=1e-7)  # the mono input is used as it is


def test_channel_out_of_range(tmp_path, pair_audio):
    x, y = pair_audio
    write(tmp_path / "train" / "amp-input.wav", np.stack((x, x), axis=1))
    source = tmp_path / "train" / "amp-input.wav"
    write(tmp_path / "train" / "amp-target.wav", np.stack((y, y), axis=1))
    message = expect_error(lambda: load_split(tmp_path, "amp", "train", channel=2),
                           "channel 2 is out of range", "2 channels")
    assert message.startswith(f"{source}:")
    expect_error(lambda: load_split(tmp_path, "amp", "train", channel=-1), "channel -1 is out of range")


@pytest.mark.parametrize("bad_value, word", [(np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "Inf")])
def test_non_finite_samples_give_the_first_index(tmp_path, pair_audio, bad_value, word):
    x, y = pair_audio
    y = y.copy()
    y[1234] = bad_value
    y[5000] = np.nan
    target = write_split(tmp_path, "train", x, y)[1]
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"), f"{word} at sample 1234", "2 non-finite")
    assert message.startswith(f"{target}:")


def test_float_beyond_full_scale_is_rejected(tmp_path, pair_audio):
    x, y = pair_audio
    y = y.copy()
    y[300] = 1.5
    target = write_split(tmp_path, "train", x, y)[1]
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"), "exceed full scale", "1.5", "sample 300")
    assert message.startswith(f"{target}:")


@pytest.mark.parametrize("gain, shown", [(0.0, "-inf dBFS"), (10 ** (-90 / 20) / 0.8, "-90.0 dBFS")])
def test_silent_target_says_the_peak(tmp_path, pair_audio, gain, shown):
    x, y = pair_audio
    quiet = (y * gain / np.max(np.abs(y)) * 0.8).astype(np.float32)
    target = write_split(tmp_path, "train", x, quiet)[1]
    message = expect_error(lambda: load_split(tmp_path, "amp", "train"), "target is silent", shown, "-80 dBFS")
    assert message.startswith(f"{target}:")


def test_clipped_target_warns_but_loads(tmp_path, pair_audio):
    x, y = pair_audio
    y = y.copy()
    y[1000:1010] = 1.0
    y[2000:2005] = -1.0
    y[3000] = 1.0  # a lone full-scale sample is a peak, not clipping
    write_split(tmp_path, "train", x, y, subtype="PCM_16")
    with pytest.warns(DatasetWarning, match="target clips: 15 samples"):
        pair = load_split(tmp_path, "amp", "train")
    assert len(pair.warnings) == 1 and "amp-target.wav" in pair.warnings[0]
    assert pair.num_samples == len(x)


def test_clipped_sample_counting():
    x = np.array([0, 1, 1, 0, -1, -1, -1, 0.9995, 0, 1, 1, 1, 1], dtype=np.float32)
    assert clipped_samples(x) == 8
    assert clipped_samples(np.zeros(10)) == 0


def test_too_short_for_a_training_segment(tmp_path, pair_audio):
    x, y = pair_audio
    source = write_split(tmp_path, "train", x, y)[0]
    message = expect_error(lambda: load_split(tmp_path, "amp", "train", min_samples=RATE),
                           f"{len(x)} samples", f"at least {RATE}", "too short")
    assert message.startswith(f"{source}:")
    assert load_split(tmp_path, "amp", "train", min_samples=len(x)).num_samples == len(x)


# --------------------------------------------------------------------------- latency


@pytest.fixture
def reamped() -> tuple[np.ndarray, np.ndarray]:
    x = guitar_like(RATE)
    return x, amp(x)


def test_xcorr_finds_the_exact_delay(reamped):
    x, y = reamped
    estimate = detect_delay_xcorr(x, y, max_delay=RATE // 10)
    assert estimate.delay == DELAY and estimate.method == "xcorr"
    assert estimate.confidence > 2.0 and not estimate.inverted
    assert detect_delay_xcorr(x, -y, max_delay=RATE // 10).inverted


def test_xcorr_rejects_a_leading_output(reamped):
    x, y = reamped
    with pytest.raises(LatencyError, match=f"ahead of the input by {DELAY} samples"):
        detect_delay_xcorr(y, x, max_delay=RATE // 10)


def test_xcorr_does_not_guess_a_delay_beyond_the_search(reamped):
    x, y = reamped
    with pytest.raises(LatencyError, match="no clear correlation peak|edge of the search"):
        detect_delay_xcorr(x, y, max_delay=20)


def test_xcorr_onset_errs_early_after_filtering(reamped):
    """An amp's filters put the response's peak after its start; the delay is taken at the start,
    so the aligned target never needs input from the future."""
    x, y = reamped
    b, a = signal.butter(2, 3000 / (RATE / 2))
    estimate = detect_delay_xcorr(x, signal.lfilter(b, a, y), max_delay=RATE // 10)
    assert DELAY <= estimate.delay <= DELAY + 1


def test_nam_pair_is_aligned(tmp_path, reamped):
    x, y = reamped
    input_path, output_path = write(tmp_path / "input.wav", x), write(tmp_path / "output.wav", y)
    pair = load_nam_pair(input_path, output_path)
    assert pair.delay == DELAY
    assert pair.input.shape == pair.target.shape == (len(x) - DELAY,)
    np.testing.assert_allclose(pair.target, 0.8 * np.tanh(4.0 * pair.input), atol=1e-6)
    assert f"latency {DELAY} samples" in pair.report and pair.warnings == ()


def test_nam_pair_with_output_recorded_longer(tmp_path, reamped):
    x, _ = reamped
    y = amp(np.concatenate((x, np.zeros(DELAY, dtype=np.float32))))
    pair = load_nam_pair(write(tmp_path / "in.wav", x), write(tmp_path / "out.wav", y))
    assert pair.delay == DELAY and pair.num_samples == len(x)


def test_nam_pair_length_mismatch_beyond_delay(tmp_path, reamped):
    x, y = reamped
    output_path = write(tmp_path / "out.wav", y[:-(DELAY + 5)])
    message = expect_error(lambda: load_nam_pair(write(tmp_path / "in.wav", x), output_path),
                           len(x), len(x) - DELAY - 5, f"delay ({DELAY})")
    assert message.startswith(f"{output_path}:")


def test_nam_pair_negative_delay_is_an_error(tmp_path, reamped):
    x, y = reamped
    input_path, output_path = write(tmp_path / "in.wav", y), write(tmp_path / "out.wav", x)
    message = expect_error(lambda: load_nam_pair(input_path, output_path), "ahead of the input", "negative")
    assert message.startswith(f"{output_path}:")


def with_blips(x: np.ndarray, positions: tuple[int, ...]) -> np.ndarray:
    """The input with silence around single-sample clicks, as in NAM's calibration section."""
    x = x.copy()
    for position in positions:
        x[position - 4000:position + 4000] = 0.0
        x[position] = 0.9
    return x


def test_blips_find_the_delay(reamped):
    positions = (12_000, 24_000)
    x = with_blips(reamped[0], positions)
    estimate = detect_delay_blips(x, amp(x), positions, max_delay=RATE // 10)
    assert estimate.delay == DELAY and estimate.method == "blips" and estimate.notes == ()


def test_blips_in_a_nam_pair(tmp_path, reamped):
    positions = (12_000, 24_000)
    x = with_blips(reamped[0], positions)
    pair = load_nam_pair(write(tmp_path / "in.wav", x), write(tmp_path / "out.wav", amp(x)),
                         blip_positions=positions)
    assert pair.delay == DELAY and pair.num_samples == len(x) - DELAY and "by blips" in pair.report


def test_blips_missing_from_the_output(reamped):
    positions = (12_000,)
    x = with_blips(reamped[0], positions)
    silent_click = x.copy()
    silent_click[positions[0]] = 0.0
    with pytest.raises(LatencyError, match="no clear response"):
        detect_delay_blips(x, amp(silent_click), positions, max_delay=RATE // 10)
    with pytest.raises(LatencyError, match="not quiet around the blip"):
        detect_delay_blips(x, amp(x), (30_000,), max_delay=RATE // 10)  # a wrong position: music there
    with pytest.raises(LatencyError, match="outside the input"):
        detect_delay_blips(x, amp(x), (len(x) + 5,), max_delay=RATE // 10)


# --------------------------------------------------------------------------- file-name patterns


def test_pattern_finds_the_pair(tmp_path, reamped):
    x, y = reamped
    write(tmp_path / "EnglRetro_gain5_Input.wav", x)
    write(tmp_path / "EnglRetro_gain5_Output.wav", y)
    pair = load_pattern(tmp_path, "*{role}*.wav")
    assert pair.input_path.name == "EnglRetro_gain5_Input.wav"
    assert pair.target_path.name == "EnglRetro_gain5_Output.wav"
    assert pair.delay == DELAY


def test_pattern_ambiguity_lists_the_matches(tmp_path, reamped):
    x, y = reamped
    for setting in ("gain2", "gain8"):
        write(tmp_path / f"amp_{setting}_input.wav", x)
        write(tmp_path / f"amp_{setting}_output.wav", y)
    expect_error(lambda: load_pattern(tmp_path, "*{role}*.wav"),
                 f"{tmp_path}:", "2 files match", "amp_gain2_input.wav", "amp_gain8_input.wav")
    assert load_pattern(tmp_path, "amp_gain8_{role}.wav").input_path.name == "amp_gain8_input.wav"


def test_pattern_without_a_match(tmp_path, reamped):
    x, _ = reamped
    write(tmp_path / "amp_input.wav", x)
    expect_error(lambda: load_pattern(tmp_path, "*{role}*.wav"),
                 "no file matches '*output*.wav'", "amp_input.wav")
    expect_error(lambda: load_pattern(tmp_path, "*.wav"), "no {role} placeholder")
    expect_error(lambda: load_pattern(tmp_path / "nowhere", "*{role}*.wav"), "folder not found")


# --------------------------------------------------------------------------- splits for training


def test_a_pair_is_split_with_its_latency_removed(tmp_path, reamped):
    x, y = reamped
    splits, how = training_splits(input_path=str(write(tmp_path / "dry.wav", x)),
                                  target_path=str(write(tmp_path / "amp.wav", y)))
    n = len(x) - DELAY
    assert [splits[s].num_samples for s in ("train", "val", "test")] == [n - 2 * round(0.1 * n), round(0.1 * n),
                                                                         round(0.1 * n)]
    assert np.array_equal(np.concatenate([splits[s].input for s in ("train", "val", "test")]), x[:n])
    np.testing.assert_allclose(splits["test"].target, 0.8 * np.tanh(4.0 * splits["test"].input), atol=1e-6)
    assert f"latency {DELAY} samples" in how and "validation and test the last 10 %" in how


def test_nam_v3_input_is_recognised(tmp_path):
    validation = guitar_like(NAM_V3_VALIDATION, seed=1)
    playing = guitar_like(60_000, seed=2)
    x = np.concatenate([validation, np.zeros(NAM_V3_TRAIN_START - NAM_V3_VALIDATION, np.float32),
                        np.tile(playing, 8), validation])
    x = with_blips(x, NAM_V3_BLIPS)
    input_path = write(tmp_path / "input.wav", x)
    assert is_nam_v3_input(input_path)
    assert not is_nam_v3_input(write(tmp_path / "other.wav", np.concatenate([x[:-100], np.zeros(100, np.float32)])))
    splits, how = training_splits(input_path=str(input_path), target_path=str(write(tmp_path / "out.wav", amp(x))))
    assert "NAM's standard v3 input file" in how and "by blips" in how
    assert np.array_equal(splits["val"].input, validation)
    assert splits["train"].num_samples == len(x) - NAM_V3_VALIDATION - NAM_V3_TRAIN_START
    assert splits["test"].num_samples == NAM_V3_VALIDATION - DELAY  # the latency trims the end


def test_too_short_a_pair_names_the_minimum(tmp_path):
    x = guitar_like(RATE // 4)
    expect_error(lambda: training_splits(input_path=str(write(tmp_path / "dry.wav", x)),
                                         target_path=str(write(tmp_path / "amp.wav", amp(x))), min_train=24000),
                 "dry.wav: the train split is too short", "need at least 24000 (0.500 s at 48000 Hz)", "--segment")


def test_layouts_are_not_mixed(tmp_path):
    expect_error(lambda: training_splits(data=str(tmp_path), name="amp", input_path="dry.wav", target_path="amp.wav"),
                 "--input and --target go together")
    expect_error(lambda: training_splits(), "no data: give --input DRY.wav --target AMP.wav")
