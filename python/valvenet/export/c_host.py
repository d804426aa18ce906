"""The C engines on the host: generated model code (float32: CEngine, int16: Q15Engine)
compiled with the host's gcc, called through ctypes. Used by `valvenet process --engine c`,
the Robot suites' expected outputs and the tests that hold the C engines to the numpy oracle.

Compiled libraries are cached by the hash of their sources and flags, so a model is only
compiled once per machine.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from valvenet import paths
from valvenet.export.engines.registry import generate_float32, generate_int16
from valvenet.models.calibrate import scales as calibrate_scales, stored_scales
from valvenet.models.model_file import ModelFile

HOST_CFLAGS = ("-std=c11", "-O2", "-ffp-contract=off", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror")


def repo_root() -> Path:
    """The checkout root holding firmware/nn (valvenet.paths: also inside Bazel runfiles)."""
    root = paths.find("firmware/nn/layers.h")
    if root is None:
        raise FileNotFoundError("firmware/nn sources not found (set VALVENET_ROOT to the checkout)")
    return root


def _cache_dir() -> Path:
    path = Path(os.environ.get("VALVENET_CACHE", Path(tempfile.gettempdir()) / "valvenet-cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def compile_sources(symbol: str, header: str, source: str, exact_activations: bool = False,
                    kind: str = "model") -> Path:
    """A shared library from generated SYMBOL.h/.c and the engine headers; cached by content."""
    root = repo_root()
    nn_sources = "".join((root / "firmware" / "nn" / name).read_text() for name in sorted(os.listdir(root / "firmware" / "nn"))
                         if name.endswith(".h"))
    flags = list(HOST_CFLAGS) + (["-DVN_EXACT_ACTIVATIONS"] if exact_activations else [])
    key = hashlib.sha256("\0".join([header, source, nn_sources, *flags]).encode()).hexdigest()[:20]
    library = _cache_dir() / f"{kind}-{key}.so"
    if library.is_file():
        return library
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"{symbol}.h").write_text(header)
        (Path(tmp) / f"{symbol}.c").write_text(source)
        out = Path(tmp) / "model.so"
        command = ["gcc", *flags, f"-I{root}", f"-I{tmp}", str(Path(tmp) / f"{symbol}.c"), "-o", str(out), "-lm"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"compiling the C engine ({kind}) failed:\n{result.stderr}")
        out.replace(library)
    return library


def compile_model(model: ModelFile, exact_activations: bool = False, full_recompute: bool = False) -> Path:
    """A shared library with the model's float32 C code (or its full-recompute baseline);
    returns its path."""
    symbol, header, source = generate_float32(model, "vn_host_model", full_recompute)
    return compile_sources(symbol, header, source, exact_activations)


class CEngine:
    """Streams audio through a model's generated float32 C code (same API as the oracle);
    with full_recompute, through its full-recompute baseline."""

    def __init__(self, model: ModelFile, exact_activations: bool = False, full_recompute: bool = False) -> None:
        self._open(compile_model(model, exact_activations, full_recompute))

    def _open(self, library: Path) -> None:
        self.library = ctypes.CDLL(str(library))
        self._process = self.library.vn_host_model_process
        self._process.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
        self._reset = self.library.vn_host_model_reset
        self._reset.argtypes = [ctypes.c_void_p]
        self.state = ctypes.create_string_buffer(self._state_size())
        self.reset()

    def _state_size(self) -> int:
        # vn_model_info_t: name pointer, then kind, precision, 6 uint32 fields, state_size, gains, knobs.
        class Info(ctypes.Structure):
            _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("precision", ctypes.c_int),
                        ("sample_rate", ctypes.c_uint32), ("parameters", ctypes.c_uint32),
                        ("macs_per_sample", ctypes.c_uint32), ("receptive_field", ctypes.c_uint32),
                        ("weights_crc32", ctypes.c_uint32), ("state_size", ctypes.c_uint32),
                        ("input_gain", ctypes.c_float), ("output_gain", ctypes.c_float),
                        ("knob_count", ctypes.c_uint32), ("knob_names", ctypes.c_char_p),
                        ("knob_defaults", ctypes.POINTER(ctypes.c_float))]

        self.info = Info.in_dll(self.library, "vn_host_model_model")
        return int(self.info.state_size)

    def reset(self) -> None:
        self._reset(self.state)

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(block, dtype=np.float32).reshape(-1)
        out = np.empty_like(x)
        self._process(self.state, x.ctypes.data, out.ctypes.data, x.size)
        return out

    def process_all(self, audio: np.ndarray, block_size: int = 4096) -> np.ndarray:
        audio = np.asarray(audio).reshape(-1)
        return np.concatenate([self.process(audio[i:i + block_size]) for i in range(0, audio.size, block_size)]
                              or [np.zeros(0, np.float32)])


class Q15Engine(CEngine):
    """The int16 engine on the host (same API as CEngine and the oracle). Scales come from
    `fracs` (calibrate.scales), else are calibrated here on `calibration_audio`, else come
    from the model file (metadata["int16_scales"])."""

    def __init__(self, model: ModelFile, calibration_audio: np.ndarray | None = None,
                 fracs: dict[str, int] | None = None, exact_activations: bool = False) -> None:
        if fracs is None:
            if calibration_audio is not None:
                fracs = calibrate_scales(model, calibration_audio)
            else:
                fracs = stored_scales(model)
            if fracs is None:
                raise ValueError(f"model {model.name!r} has no int16 scales: give Q15Engine calibration_audio or fracs")
        self.fracs = fracs
        symbol, header, source, self.formats = generate_int16(model, fracs, "vn_host_model")
        self._open(compile_sources(symbol, header, source, exact_activations, kind="q15"))

