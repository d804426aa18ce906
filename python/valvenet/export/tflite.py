"""`valvenet export tflite`: a WaveNet model file as a fixed-window TensorFlow Lite model.

TFLite Micro cannot run a dilated causal conv on a variable-length input (it converts to
SPACE_TO_BATCH_ND/BATCH_TO_SPACE_ND and shape ops that TFLM cannot prepare), and it keeps no
state between invocations. So the export is a fixed window of `window` input samples:

    window = (receptive_field - 1) + block

The Keras model is rebuilt from the model file's weights with that input length (every
causal conv becomes PAD + CONV_2D with a dilation factor) and sliced to its last `block`
outputs: exactly those have their whole receptive field inside the window, so running the
windows overlap-save with hop = block (each window starts `block` samples after the last)
gives the streaming output sample for sample. DEFAULT_BLOCK is the trade: each window
recomputes receptive_field - 1 samples of context, so the MACs per output sample are
macs_per_sample x window / block; a larger block costs arena memory and latency.

The model file's input and output gains are folded into the first and last weights, so the
.tflite maps the raw input to the model's output like the oracle does. A gated WaveNet's skip
concatenation is nested in groups of at most 10 inputs (TFLM's CONCATENATION limit).

Arena sizes are the TFLM Python interpreter's (x86-64 host): they grow with the window, e.g.
wavenet-10x8 (receptive field 2047) with block 1024: float32 2.38 MB, int16x8 1.06 MB, int8
615 kB; with block 64: float32 1.65 MB, int8 431 kB.

Quantization: float32; int16x8 (int16 activations, int8 weights:
OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8); int8 (full integer).
Both quantized forms are calibrated on REPRESENTATIVE_WINDOWS windows of the training
split's input at seeded random offsets, and take integer input and output by default
(`io="float"` keeps float32 I/O with QUANTIZE/DEQUANTIZE at the edges).

Written: NAME.tflite, NAME_tflite.c/.h (the bytes as a 16-byte-aligned const unsigned char
array and its length, for a TFLite Micro build) and NAME_tflite.json (ops, tensor arena
size measured with the TFLM Python interpreter, window, block, I/O quantization).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from valvenet import atomic
from valvenet.models.model_file import ModelFile, load
from valvenet.models import config as model_config

QUANTS = ("float32", "int16x8", "int8")
DEFAULT_BLOCK = 1024
# Calibration windows: 32 (~2 s of audio) left the activation ranges short of the test split's
# (crunch-wavenet-10x8, int16x8 ESR against the oracle 3.9e-4 on 10 s of test audio; 256: 9.2e-5).
REPRESENTATIVE_WINDOWS = 256
REPRESENTATIVE_SEED = 0
WAVENETS = ("gated_wavenet", "nam_wavenet")
TFLM_MAX_CONCAT_INPUTS = 10  # kMaxInputNum of TFLite Micro's CONCATENATION kernel


class TFLiteExportError(ValueError):
    """A model or option the TFLite export cannot handle; the message names the file."""


def window_and_block(model: ModelFile, source: str, window: int | None = None,
                     block: int | None = None) -> tuple[int, int]:
    """(window, block) for a model: block outputs are valid in a window of that length."""
    kind = model.config["kind"]
    if kind not in WAVENETS:
        raise TFLiteExportError(f"{source}: a {kind} model is recurrent; the TFLite export handles WaveNets only "
                                f"(a fixed window carries no recurrent state between invocations)")
    field = model_config.receptive_field(model.config)
    if window is None:
        window = field - 1 + (block or DEFAULT_BLOCK)
    if window < field:
        raise TFLiteExportError(f"{source}: window {window} is shorter than the model's receptive field "
                                f"({field} samples): no output sample would see all its input")
    valid = window - field + 1
    if block is not None and block != valid:
        raise TFLiteExportError(f"{source}: window {window} has {valid} valid outputs, not block {block}")
    return window, valid


def folded_weights(model: ModelFile) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Config and tensors with the input and output gains folded into the weights."""
    config = json.loads(json.dumps(model.config))
    tensors = {k: np.array(v, np.float32) for k, v in model.tensors.items()}
    g_in = float(model.metadata.get("input_gain", 1.0))
    g_out = float(model.metadata.get("output_gain", 1.0))
    if config["kind"] == "gated_wavenet":
        tensors["input.weight"] *= g_in  # the input is used only by the 1x1 input conv (bias unchanged)
        tensors["output.weight"] *= g_out
        tensors["output.bias"] *= g_out
    else:
        tensors["array0.rechannel.weight"] *= g_in
        for name in tensors:
            if name.endswith(".mixer.weight"):
                tensors[name] *= g_in
        config["head_scale"] = float(config["head_scale"]) * g_out
    return config, tensors


def keras_window_model(model: ModelFile, window: int, block: int):  # type: ignore[no-untyped-def]
    """A Keras model: (1, window, 1) input -> (1, block, 1), the last `block` outputs."""
    import keras

    from valvenet.models import keras_models

    config, tensors = folded_weights(model)
    net = keras_models.build(config, length=window, max_concat_inputs=TFLM_MAX_CONCAT_INPUTS)
    keras_models.import_weights(net, tensors)
    inputs = keras.Input(shape=(window, 1), batch_size=1, name="audio")
    outputs = net(inputs)[:, window - block:, :]
    return keras.Model(inputs, outputs, name=f"{config['kind']}_window")


def representative_windows(audio: np.ndarray, window: int, count: int = REPRESENTATIVE_WINDOWS,
                           seed: int = REPRESENTATIVE_SEED) -> np.ndarray:
    """`count` windows of `audio` at seeded random offsets, shape (count, 1, window, 1)."""
    audio = np.asarray(audio, np.float32).reshape(-1)
    if audio.size < window:
        audio = np.pad(audio, (window - audio.size, 0))
    starts = np.random.default_rng(seed).integers(0, audio.size - window + 1, count)
    return np.stack([audio[s:s + window] for s in starts]).reshape(count, 1, window, 1)


def convert(keras_model: Any, quant: str, representative: np.ndarray | None = None, io: str = "int") -> bytes:
    """The .tflite bytes of a window model at a quantization."""
    import tensorflow as tf

    if quant not in QUANTS:
        raise TFLiteExportError(f"unknown quantization {quant!r}; use one of {', '.join(QUANTS)}")
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if quant != "float32":
        if representative is None:
            raise TFLiteExportError(f"{quant} needs representative input audio (--data DIR --name NAME)")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([w] for w in representative)
        if quant == "int16x8":
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
            io_type = tf.int16
        else:
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_type = tf.int8
        if io == "int":
            converter.inference_input_type = io_type
            converter.inference_output_type = io_type
    return bytes(converter.convert())


def op_list(tflite: bytes) -> list[str]:
    """Names of the operators in the model, in execution order (LiteRT's view)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    return [op["op_name"] for op in interpreter._get_ops_details()]  # noqa: SLF001 (no public op listing)


def _tflm(tflite: bytes, arena_size: int):  # type: ignore[no-untyped-def]
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(tflite, arena_size=arena_size)


def arena_size(tflite: bytes, granularity: int = 16) -> int:
    """The smallest tensor arena (bytes, a multiple of `granularity`) in which the TFLM
    Python interpreter allocates the model (host build: 64-bit pointers). TFLM's messages
    about the failed tries (printed by its C++ code to file descriptor 2) are silenced."""
    import os
    import sys

    def fits(size: int) -> bool:
        sys.stderr.flush()
        saved = os.dup(2)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        try:
            _tflm(tflite, size)
            return True
        except Exception:  # noqa: BLE001 (TFLM reports a failed allocation as a RuntimeError)
            return False
        finally:
            os.dup2(saved, 2)
            os.close(saved)

    high = 1024
    while not fits(high):
        high *= 2
        if high > 1 << 30:
            raise RuntimeError("TFLM could not allocate the model in 1 GiB")
    low = high // 2 if high > 1024 else 0
    while high - low > granularity:
        middle = (low + high) // 2 // granularity * granularity
        if middle <= low:
            break
        if fits(middle):
            high = middle
        else:
            low = middle
    return high


class WindowRunner:
    """Runs one window (float32 samples) through a .tflite with LiteRT or TFLM; quantizes
    integer input and dequantizes integer output with the model's own parameters."""

    def __init__(self, tflite: bytes, interpreter: str = "litert", arena: int | None = None) -> None:
        self.kind = interpreter
        if interpreter == "litert":
            from ai_edge_litert.interpreter import Interpreter

            self.interpreter = Interpreter(model_content=tflite)
            self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]
        elif interpreter == "tflm":
            self.interpreter = _tflm(tflite, (arena or arena_size(tflite)) + 4096)
            self.input = self.interpreter.get_input_details(0)
            self.output = self.interpreter.get_output_details(0)
        else:
            raise ValueError(f"unknown interpreter {interpreter!r}: litert or tflm")
        self.window = int(self.input["shape"][1])
        self.block = int(self.output["shape"][1])

    @staticmethod
    def _scale(details: dict[str, Any]) -> tuple[float, int]:
        if "quantization_parameters" in details and len(details["quantization_parameters"]["scales"]):
            parameters = details["quantization_parameters"]  # both interpreters; TFLM has only this
            return float(parameters["scales"][0]), int(parameters["zero_points"][0])
        scale, zero = details.get("quantization", (0.0, 0))
        return float(scale), int(zero)

    def input_quantizer(self) -> Callable[[np.ndarray], np.ndarray]:
        """x -> what the model's input tensor holds (identity for float input)."""
        dtype = np.dtype(self.input["dtype"])
        if dtype == np.float32:
            return lambda x: np.asarray(x, np.float32)
        scale, zero = self._scale(self.input)
        info = np.iinfo(dtype)
        return lambda x: np.clip(np.round(np.asarray(x, np.float64) / scale) + zero, info.min, info.max).astype(dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        data = self.input_quantizer()(np.asarray(x).reshape(1, self.window, 1))
        if self.kind == "litert":
            self.interpreter.set_tensor(self.input["index"], data)
            self.interpreter.invoke()
            y = self.interpreter.get_tensor(self.output["index"])
        else:
            self.interpreter.set_input(data, 0)
            self.interpreter.invoke()
            y = self.interpreter.get_output(0)
        y = np.asarray(y).reshape(-1)
        if y.dtype != np.float32:
            scale, zero = self._scale(self.output)
            y = (y.astype(np.float64) - zero) * scale
        return y.astype(np.float64)


def overlap_save(run_window: Callable[[np.ndarray], np.ndarray], audio: np.ndarray, window: int,
                 block: int) -> np.ndarray:
    """Stream `audio` through a fixed-window model: hop = block, each window carrying
    window - block samples of context (zeros before the start, as the streaming state)."""
    audio = np.asarray(audio, np.float32).reshape(-1)
    context = window - block
    blocks = -(-audio.size // block)
    padded = np.concatenate([np.zeros(context, np.float32), audio,
                             np.zeros(blocks * block - audio.size, np.float32)])
    out = np.concatenate([run_window(padded[j * block:j * block + window]) for j in range(blocks)])
    return out[:audio.size]


def stateless(model: ModelFile, audio: np.ndarray, hop: int) -> np.ndarray:
    """The oracle run on `hop`-sample windows each from zero state (no context carried): what
    running a fixed window without overlap would give."""
    from valvenet.models.oracle import Oracle

    oracle = Oracle(model)
    audio = np.asarray(audio).reshape(-1)
    out = []
    for i in range(0, audio.size, hop):
        oracle.reset()
        out.append(oracle.process(audio[i:i + hop]))
    return np.concatenate(out)


def int8_weights(model: ModelFile) -> ModelFile:
    """The model with every weight matrix rounded as the converter's int8 weights are
    (symmetric, one scale per output channel; biases kept): the weights' share of the
    quantized models' error, measured with the oracle."""
    tensors = {}
    for name, value in model.tensors.items():
        if name.endswith(".weight"):
            scale = np.max(np.abs(value.reshape(-1, value.shape[-1])), axis=0) / 127.0
            scale = np.where(scale > 0, scale, 1.0)
            value = (np.round(value / scale) * scale).astype(np.float32)
        tensors[name] = value
    return ModelFile(model.config, tensors, model.metadata)


def c_symbol(name: str) -> str:
    symbol = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return symbol if re.match(r"[A-Za-z_]", symbol) else f"m_{symbol}"


def c_array(tflite: bytes, symbol: str) -> tuple[str, str]:
    """(header, source) declaring `symbol` (16-byte-aligned bytes) and `symbol_len`."""
    guard = f"{symbol.upper()}_H"
    header = (f"/* Generated by valvenet export tflite. A TensorFlow Lite flatbuffer for TFLite Micro. */\n"
              f"#ifndef {guard}\n#define {guard}\n\n#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
              f"extern const unsigned char {symbol}[];\nextern const unsigned int {symbol}_len;\n\n"
              f"#ifdef __cplusplus\n}}\n#endif\n\n#endif\n")
    rows = [", ".join(f"0x{b:02x}" for b in tflite[i:i + 12]) for i in range(0, len(tflite), 12)]
    body = ",\n  ".join(rows)
    source = (f"/* Generated by valvenet export tflite: {len(tflite)} bytes. */\n"
              f"#include \"{symbol}.h\"\n\n"
              f"_Alignas(16) const unsigned char {symbol}[] = {{\n  {body}\n}};\n"
              f"const unsigned int {symbol}_len = {len(tflite)}u;\n")
    return header, source


def export(model: ModelFile, quant: str, out: Path, name: str, source: str = "model",
           window: int | None = None, block: int | None = None, train_audio: np.ndarray | None = None,
           io: str = "int", calibration_windows: int = REPRESENTATIVE_WINDOWS) -> dict[str, Any]:
    """Convert and write NAME.tflite, NAME_tflite.c/.h and NAME_tflite.json; returns the report."""
    window, block = window_and_block(model, source, window, block)
    if quant != "float32" and train_audio is None:
        raise TFLiteExportError(f"{source}: {quant} needs representative audio: give --data DIR --name NAME")
    representative = (None if train_audio is None or quant == "float32"
                      else representative_windows(train_audio, window, calibration_windows))
    tflite = convert(keras_window_model(model, window, block), quant, representative, io)
    out.mkdir(parents=True, exist_ok=True)
    symbol = c_symbol(f"{name}_tflite")
    header, c_source = c_array(tflite, symbol)
    atomic.write_bytes(out / f"{name}.tflite", tflite)
    atomic.write_text(out / f"{symbol}.h", header)
    atomic.write_text(out / f"{symbol}.c", c_source)
    field = model_config.receptive_field(model.config)
    macs = model_config.macs_per_sample(model.config)
    report = {
        "model": model.name, "source": source, "quant": quant, "io": io if quant != "float32" else "float",
        "window": window, "block": block, "receptive_field": field, "bytes": len(tflite),
        "calibration_windows": calibration_windows if representative is not None else 0,
        "ops": op_list(tflite), "arena_bytes": arena_size(tflite),
        "macs_per_window": macs * window, "macs_per_output_sample": macs * window / block,
        "files": [str(out / f"{name}.tflite"), str(out / f"{symbol}.c"), str(out / f"{symbol}.h")],
    }
    atomic.write_text(out / f"{symbol}.json", json.dumps(report, indent=2) + "\n")
    return {**report, "tflite": tflite}


def evaluate(model: ModelFile, tflite: bytes, test_input: np.ndarray, test_target: np.ndarray,
             interpreters: tuple[str, ...] = ("litert", "tflm")) -> dict[str, Any]:
    """ESR (raw and pre-emphasised) of the .tflite run overlap-save against the target and the
    oracle, per interpreter; the receptive field's warm-up is not scored."""
    from valvenet.losses import esr, pre_emphasis
    from valvenet.models.oracle import Oracle

    skip = model_config.receptive_field(model.config) - 1
    reference = Oracle(model).process_all(test_input)
    result: dict[str, Any] = {"samples": int(np.size(test_input)), "oracle_esr": esr(test_target[skip:], reference[skip:])}
    for kind in interpreters:
        runner = WindowRunner(tflite, kind)
        y = overlap_save(runner, test_input, runner.window, runner.block)
        result[kind] = {
            "esr": esr(test_target[skip:], y[skip:]),
            "esr_preemph": esr(pre_emphasis(test_target)[skip:], pre_emphasis(y)[skip:]),
            "esr_vs_oracle": esr(reference[skip:], y[skip:]),
        }
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file (.vnet)")
    parser.add_argument("--quant", choices=QUANTS, default="float32", help="float32, int16x8 or int8")
    parser.add_argument("--window", type=int, help="input samples per invocation (default: receptive field - 1 "
                                                   f"+ --block)")
    parser.add_argument("--block", type=int, help=f"valid output samples per invocation = the hop "
                                                  f"(default {DEFAULT_BLOCK})")
    parser.add_argument("--io", choices=("int", "float"), default="int",
                        help="quantized models: integer (default) or float32 input and output")
    parser.add_argument("--data", help="dataset folder (representative data: its train split)")
    parser.add_argument("--name", help="NAME of the dataset's input/target pair")
    parser.add_argument("--calibration-windows", type=int, default=REPRESENTATIVE_WINDOWS,
                        help="quantized models: train-split windows (seeded offsets) to calibrate on")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--evaluate", action="store_true",
                        help="also run the .tflite (LiteRT and TFLM) over the test split against target and oracle")
    parser.add_argument("--seconds", type=float, help="--evaluate: only the first SECONDS of the test split")


def run(args: argparse.Namespace) -> int:
    from valvenet.datasets.loaders import load_split

    model = load(args.model)
    if (args.data is None) != (args.name is None):
        raise TFLiteExportError("give both --data DIR and --name NAME, or neither")
    if args.evaluate and not args.data:
        raise TFLiteExportError("--evaluate needs --data DIR --name NAME")
    train = load_split(Path(args.data), args.name, "train").input if args.data else None
    name = f"{c_symbol(Path(args.model).stem)}_{args.quant}"
    report = export(model, args.quant, Path(args.out), name, args.model, args.window, args.block, train, args.io,
                    args.calibration_windows)
    report.pop("tflite")
    if args.evaluate:
        test = load_split(Path(args.data), args.name, "test")
        count = test.num_samples if args.seconds is None else int(args.seconds * test.sample_rate)
        tflite = (Path(args.out) / f"{name}.tflite").read_bytes()
        report["evaluation"] = evaluate(model, tflite, test.input[:count], test.target[:count])
        atomic.write_text(Path(report["files"][1]).with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0
