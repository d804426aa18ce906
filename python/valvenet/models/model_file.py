"""The `.vnet` model file: the single hand-off between training and everything after it.

Layout (little-endian):

    magic    8 bytes  b"VALVENET"
    version  u32      FORMAT_VERSION
    hlen     u32      length of the JSON header in bytes
    header   hlen     UTF-8 JSON: {"config", "metadata", "tensors": [{name, shape, offset, nbytes}]}
    padding           zeros up to a multiple of 16 bytes
    data              float32 tensors at 16-byte aligned offsets (relative to the data start)
    crc32    u32      zlib.crc32 of every byte before it

Self-describing (config = architecture and sizes; metadata = sample rate, gains, training
facts), readable with numpy alone, and validated on load: a truncated, corrupt, wrong-version
or inconsistent file raises ModelFileError naming the file and the problem.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from valvenet import atomic
from valvenet.models import config as model_config
from valvenet.models.shapes import expected_shapes

MAGIC = b"VALVENET"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<8sII")
_ALIGN = 16
REQUIRED_METADATA = ("name", "sample_rate", "input_gain", "output_gain")
# The name a model's int16 engine reports (firmware info, benchmarks): the model name plus this.
INT16_SUFFIX = "+int16"


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file and the problem."""


@dataclass
class ModelFile:
    """A model: its config, metadata and named float32 weights."""

    config: dict[str, Any]
    tensors: dict[str, np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", self.config["kind"]))

    @property
    def sample_rate(self) -> int:
        return int(self.metadata["sample_rate"])

    def parameter_count(self) -> int:
        return int(sum(t.size for t in self.tensors.values()))

    def weights_crc32(self) -> int:
        """CRC-32 of all weights as little-endian float32, tensors in name order: the identity
        the generated C engine reports, so the host can tell which model a firmware holds."""
        crc = 0
        for name in sorted(self.tensors):
            crc = zlib.crc32(np.ascontiguousarray(self.tensors[name], dtype="<f4").tobytes(), crc)
        return crc


def _pad(length: int) -> int:
    return (-length) % _ALIGN


def check_consistent(config: dict[str, Any], tensors: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
    """Raise ValueError unless the tensors are exactly those the config needs, finite."""
    model_config.validate(config)
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"metadata lacks {', '.join(missing)}")
    expected = expected_shapes(config)
    if set(expected) != set(tensors):
        extra = sorted(set(tensors) - set(expected))
        absent = sorted(set(expected) - set(tensors))
        raise ValueError(f"tensors do not match the {config['kind']} config: missing {absent[:5]}, unexpected {extra[:5]}")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape:
            raise ValueError(f"tensor {name} has shape {tuple(tensors[name].shape)}, the config needs {shape}")
        if not np.all(np.isfinite(tensors[name])):
            raise ValueError(f"tensor {name} holds NaN or Inf")


def save(model: ModelFile, path: str | Path) -> None:
    """Write the model file atomically (a failed write never leaves a half file behind)."""
    path = Path(path)
    check_consistent(model.config, model.tensors, model.metadata)
    table, blobs, offset = [], [], 0
    for name in sorted(model.tensors):
        data = np.ascontiguousarray(model.tensors[name], dtype="<f4").tobytes()
        table.append({"name": name, "shape": list(model.tensors[name].shape), "offset": offset, "nbytes": len(data)})
        blobs.append(data + b"\0" * _pad(len(data)))
        offset += len(data) + _pad(len(data))
    header = json.dumps({"config": model.config, "metadata": model.metadata, "tensors": table},
                        sort_keys=True, separators=(",", ":")).encode("utf-8")
    head = _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header)) + header
    body = head + b"\0" * _pad(len(head)) + b"".join(blobs)
    atomic.write_bytes(path, body + struct.pack("<I", zlib.crc32(body)))


def _fail(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"{path}: {problem}")


def _parse_header(path: Path, raw: bytes) -> tuple[dict[str, Any], int]:
    if len(raw) < _PREAMBLE.size + 4:
        raise _fail(path, f"truncated: {len(raw)} bytes is shorter than any model file")
    magic, version, header_length = _PREAMBLE.unpack_from(raw)
    if magic != MAGIC:
        raise _fail(path, "not a ValveNet model file (bad magic)")
    if version != FORMAT_VERSION:
        raise _fail(path, f"format version {version} is not supported (this ValveNet reads version {FORMAT_VERSION})")
    header_end = _PREAMBLE.size + header_length
    if header_end + 4 > len(raw):
        raise _fail(path, "truncated inside the header")
    stored_crc = struct.unpack_from("<I", raw, len(raw) - 4)[0]
    if zlib.crc32(raw[:-4]) != stored_crc:
        raise _fail(path, "corrupt: checksum mismatch (the file was truncated or modified)")
    try:
        header = json.loads(raw[_PREAMBLE.size:header_end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"corrupt header: {exc}") from exc
    return header, header_end + _pad(header_end)


def load(path: str | Path) -> ModelFile:
    """Read and validate a model file (numpy only, no TensorFlow)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise _fail(path, "no such model file") from exc
    header, data_start = _parse_header(path, raw)
    data_end = len(raw) - 4
    tensors = {}
    try:
        for entry in header["tensors"]:
            start = data_start + int(entry["offset"])
            count = int(np.prod(entry["shape"], dtype=np.int64))
            if entry["nbytes"] != 4 * count or start + entry["nbytes"] > data_end:
                raise _fail(path, f"tensor {entry['name']} does not fit its declared shape or the file")
            tensors[entry["name"]] = np.frombuffer(raw, "<f4", count, start).reshape(entry["shape"]).copy()
        model = ModelFile(header["config"], tensors, header["metadata"])
        check_consistent(model.config, model.tensors, model.metadata)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, f"inconsistent: {exc}") from exc
    return model
