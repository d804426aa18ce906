"""The model file: round trip, and a clear error for each kind of damage."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from valvenet.models import model_file
from valvenet.models.model_file import ModelFile, ModelFileError
from valvenet.models import config
from valvenet.models.shapes import expected_shapes

METADATA = {"name": "unit", "sample_rate": 48000, "input_gain": 1.0, "output_gain": 0.5, "training": {"seed": 1}}


def random_model(preset: str = "nam-nano", seed: int = 0) -> ModelFile:
    rng = np.random.default_rng(seed)
    cfg = config.PRESETS[preset]
    tensors = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in expected_shapes(cfg).items()}
    return ModelFile(cfg, tensors, dict(METADATA))


@pytest.mark.parametrize("preset", ["wavenet-10x8", "nam-nano", "lstm-12", "gru-12"])
def test_round_trip_is_exact(tmp_path: Path, preset: str) -> None:
    original = random_model(preset)
    path = tmp_path / "m.vnet"
    model_file.save(original, path)
    loaded = model_file.load(path)
    assert loaded.config == original.config
    assert loaded.metadata == original.metadata
    assert loaded.tensors.keys() == original.tensors.keys()
    for name in original.tensors:
        np.testing.assert_array_equal(loaded.tensors[name], original.tensors[name])


def test_saving_twice_gives_identical_bytes(tmp_path: Path) -> None:
    model_file.save(random_model(), tmp_path / "a.vnet")
    model_file.save(random_model(), tmp_path / "b.vnet")
    assert (tmp_path / "a.vnet").read_bytes() == (tmp_path / "b.vnet").read_bytes()


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "m.vnet"
    model_file.save(random_model(), path)
    return path


def test_truncated_file(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match=rf"{saved}: corrupt: checksum mismatch"):
        model_file.load(saved)
    saved.write_bytes(saved.read_bytes()[:10])
    with pytest.raises(ModelFileError, match="truncated"):
        model_file.load(saved)


def test_flipped_byte_in_weights(saved: Path) -> None:
    raw = bytearray(saved.read_bytes())
    raw[-50] ^= 0x40
    saved.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        model_file.load(saved)


def test_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "song.wav"
    path.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(ModelFileError, match="bad magic"):
        model_file.load(path)


def _rewrite(path: Path, version: int | None = None, header_edit=None) -> None:  # type: ignore[no-untyped-def]
    """Re-encode a model file with a changed version or header and a valid checksum."""
    import zlib

    raw = path.read_bytes()[:-4]
    magic, old_version, length = struct.unpack_from("<8sII", raw)
    header = json.loads(raw[16:16 + length])
    if header_edit:
        header_edit(header)
    new_header = json.dumps(header).encode()
    head = struct.pack("<8sII", magic, old_version if version is None else version, len(new_header)) + new_header
    data = raw[16 + length + (-(16 + length)) % 16:]
    body = head + b"\0" * ((-len(head)) % 16) + data
    path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))


def test_wrong_version(saved: Path) -> None:
    _rewrite(saved, version=99)
    with pytest.raises(ModelFileError, match="format version 99 is not supported"):
        model_file.load(saved)


def test_inconsistent_config_and_weights(saved: Path) -> None:
    def widen(header: dict) -> None:
        header["config"]["layer_arrays"][0]["channels"] = 5

    _rewrite(saved, header_edit=widen)
    with pytest.raises(ModelFileError, match="inconsistent"):
        model_file.load(saved)


def test_missing_metadata(saved: Path) -> None:
    _rewrite(saved, header_edit=lambda header: header["metadata"].pop("sample_rate"))
    with pytest.raises(ModelFileError, match="metadata lacks sample_rate"):
        model_file.load(saved)


def test_nan_weights_are_refused_on_save(tmp_path: Path) -> None:
    model = random_model()
    model.tensors["array0.rechannel.weight"][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model_file.save(model, tmp_path / "m.vnet")
    assert not (tmp_path / "m.vnet").exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file"):
        model_file.load(tmp_path / "absent.vnet")
