"""Robot Framework keyword library: one API over every firmware target.

The same suites run on QEMU (mps2-an500), Renode (NUCLEO-F767ZI image) and a real
NUCLEO-F767ZI on a serial port; only ${TARGET} changes. Transports come from
valvenet.device, the same code the `valvenet` command uses.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

import valvenet
from valvenet.device import Console, Transport, TransportError, open_transport
from valvenet.device import protocol
from valvenet.device.protocol import Client
from valvenet.export.c_text import KIND_ENUM

# How long to wait for the answer to a cut-off frame: the firmware gives up on it after
# PROTOCOL_FRAME_TIMEOUT_MS (1 s) of target time (firmware/app/protocol.h); an emulator on
# a loaded machine runs that much target time in well under this.
TRUNCATION_WAIT_S = 60.0
MESSAGE_NAMES = {getattr(protocol, name): name for name in
                 ("INFO", "RESET", "PROCESS", "BENCH", "STATS", "SELFTEST", "SELECT")}
from valvenet.export.c_host import Q15Engine
from valvenet.export.nam import read_nam
from valvenet.models.model_file import INT16_SUFFIX, load as load_model
from valvenet.models import config as model_config
from valvenet.models.oracle import Oracle
from valvenet.pedal import chain as pedal_chain

from pedal_keywords import PedalKeywords

BANNER_PATTERN = (
    r"^ValveNet (?P<version>\S+) rev=(?P<rev>\S+) board=(?P<board>\S+) clock=(?P<clock>\d+) "
    r"compiler=(?P<compiler>\S+) counter=(?P<counter>\S+)$"
)

# The board each target runs: QEMU emulates the mps2-an500; Renode and a real board run
# the NUCLEO-F767ZI image.
EXPECTED_BOARD = {"qemu": "mps2_an500", "renode": "nucleo_f767zi", "serial": "nucleo_f767zi"}


class ValveNetTarget(PedalKeywords):
    """Starts a firmware target, reads its banner and sends console commands (the pedal's
    keywords come from PedalKeywords, pedal_keywords.py)."""

    ROBOT_LIBRARY_SCOPE = "SUITE"  # a suite may keep one target running across its tests

    def __init__(self) -> None:
        self._kind = ""
        self._transport: Transport | None = None
        self._console: Console | None = None
        self._client: Client | None = None
        self._timings: list[dict[str, object]] = []
        self._pedal_loads: list[dict[str, object]] = []
        self._live_changes: list[pedal_chain.Change] = []

    def start_target(self, target: str, firmware: str = "") -> None:
        """Start ``qemu``, ``renode`` or ``serial`` with the given firmware ELF.

        ``serial`` uses the port in VALVENET_SERIAL_PORT and flashes the firmware first
        unless VALVENET_FLASH_TOOL is ``none``. ``renode`` fails with the reason when Renode
        is not installed: those suites run only when asked for (--config=renode), and a
        skip there would read as a pass.
        """
        self._kind = target
        if target == "renode":
            from valvenet.device.renode import renode_available

            if renode_available() is None:
                raise AssertionError("Renode is not installed here: no `renode` on PATH (install Renode "
                                     "1.16.1 or newer, or run without --config=renode)")
        if target == "serial":
            spec = os.environ.get("VALVENET_SERIAL_PORT")
            if not spec:
                raise AssertionError("target serial needs VALVENET_SERIAL_PORT (e.g. /dev/ttyACM0)")
            self._flash_if_asked(firmware)
            transport = open_transport("serial:" + spec)
        else:
            transport = open_transport(target, firmware or None)
        transport.start()
        self._transport = transport
        self._console = Console(transport)

    def _flash_if_asked(self, firmware: str) -> None:
        tool = os.environ.get("VALVENET_FLASH_TOOL", "auto")
        if tool == "none" or not firmware:
            return
        from valvenet.device.flash import flash_board

        flash_board(Path(firmware), tool)

    def stop_target(self) -> None:
        """Stop the target (emulator process or serial port) and log its console."""
        if self._console is not None:
            logger.info("console:\n" + "\n".join(self._console.history))
        if self._transport is not None:
            self._transport.close()
        self._transport = None
        self._console = None
        self._client = None

    def _require_console(self) -> Console:
        if self._console is None:
            raise AssertionError("no target started")
        return self._console

    def wait_for_banner(self, timeout: float = 30.0) -> dict[str, str]:
        """Wait for the banner line and return its fields (version, rev, board, ...).

        On a board that was already running, ask for it with ``info`` instead.
        """
        console = self._require_console()
        if self._kind == "serial":
            self._transport.write(b"\ninfo\n")
            match = console.wait_for_line(r"^OK " + BANNER_PATTERN[1:], float(timeout))
        else:
            match = console.wait_for_line(BANNER_PATTERN, float(timeout))
        fields = match.groupdict()
        logger.info(f"banner: {fields}")
        return fields

    def send_command(self, command: str, timeout: float = 10.0) -> str:
        """Send one console command and return its one-line reply."""
        reply = self._require_console().command(command, float(timeout))
        logger.info(f"{command!r} -> {reply!r}")
        return reply

    def send_raw(self, data: str) -> None:
        """Send text exactly as given (no newline added): for malformed-input tests."""
        if self._transport is None:
            raise AssertionError("no target started")
        self._transport.write(data.encode("latin-1"))

    def read_reply(self, timeout: float = 10.0) -> str:
        """Read the next console line."""
        return self._require_console().read_line(float(timeout))

    def expected_board(self) -> str:
        """The board name the current target's firmware must report."""
        return EXPECTED_BOARD[self._kind]

    def project_version(self) -> str:
        """The Python package's version, which the firmware banner must repeat."""
        return valvenet.__version__

    def parse_fields(self, reply: str) -> dict[str, str]:
        """Parse ``key=value`` pairs of a reply line into a dictionary."""
        return dict(re.findall(r"(\w+)=(\S+)", reply))

    def target_should_exit_with(self, code: int, timeout: float = 10.0) -> None:
        """Wait for the emulator to end by itself and check the firmware's exit code."""
        wait = getattr(self._transport, "wait", None)
        if wait is None:
            raise AssertionError(f"target {self._kind} does not report exit codes")
        try:
            actual = wait(float(timeout))
        except TransportError as exc:
            raise AssertionError(str(exc)) from exc
        if actual != int(code):
            raise AssertionError(f"firmware exited with {actual}, expected {code}")

    # ------------------------------------------------------------ binary protocol
    def _require_client(self) -> Client:
        if self._client is None:
            self._client = Client(self._require_console())
        return self._client

    def wait_for_self_tests(self, count: int, timeout: float = 120.0) -> list[dict[str, str]]:
        """Wait for the boot self-test lines (one per model of the image); return their fields."""
        console = self._require_console()
        if self._kind == "serial":  # a board that was already running: run them again
            results = []
            for index in range(int(count)):
                results.append(self.parse_fields(console.command(f"selftest {index}", float(timeout))))
                results[-1]["status"] = console.history[-1].split()[1]
            return results
        results = []
        for _ in range(int(count)):
            line = console.wait_for_line(r"^SELFTEST ", float(timeout)).string
            fields = self.parse_fields(line)
            fields["status"] = line.split()[1]
            results.append(fields)
        logger.info(f"self-tests: {results}")
        return results

    def firmware_info(self) -> dict[str, object]:
        """INFO of the selected model, as a dictionary."""
        return vars(self._require_client().info())

    def select_model(self, index: int) -> dict[str, object]:
        """SELECT a model of the image by index; returns its INFO."""
        return vars(self._require_client().select(int(index)))

    def select_model_named(self, name: str) -> dict[str, object]:
        """SELECT the image's model whose INFO name is `name` (e.g. nam-feather+int16 in the
        benchmark image's zoo); returns its INFO."""
        listing = self.send_command("models")
        count = re.search(r"count=(\d+)", listing)
        if count is None:
            raise AssertionError(f"models: {listing}")
        for index in range(int(count.group(1))):
            info = self.select_model(index)
            if info["name"] == name:
                return info
        raise AssertionError(f"the image holds no model named {name}")

    def model_file_info(self, path: str, precision: str = "float32") -> dict[str, object]:
        """What INFO must say for a model file: the same fields the generated C carries (an
        int16 engine's name carries "+int16", valvenet.models.model_file.INT16_SUFFIX)."""
        model = load_model(Path(path))
        kind = model.config["kind"]
        name = model.name + (INT16_SUFFIX if precision == "int16" else "")
        return {"name": name, "kind": kind, "kind_enum": KIND_ENUM[kind], "sample_rate": model.sample_rate,
                "parameters": model.parameter_count(), "macs_per_sample": model_config.macs_per_sample(model.config),
                "receptive_field": model_config.receptive_field(model.config), "weights_crc32": model.weights_crc32()}

    def load_loud_test_audio(self, path: str, seconds: float) -> np.ndarray:
        """The loudest `seconds` of a mono WAV (RMS over windows on a 10 ms grid) as float32."""
        audio, _ = sf.read(path, dtype="float32", always_2d=True)
        audio, count = audio[:, 0], int(float(seconds) * 48000)
        if audio.size < count:
            raise AssertionError(f"{path} has {audio.size} samples, the test needs {count}")
        energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
        starts = np.arange(0, audio.size - count + 1, 480)
        best = int(starts[np.argmax(energy[starts + count] - energy[starts])])
        return audio[best:best + count]

    def load_test_audio(self, path: str, seconds: float) -> np.ndarray:
        """The first `seconds` of a mono WAV (the built-in test split) as float32."""
        audio, _ = sf.read(path, dtype="float32", always_2d=True)
        count = int(float(seconds) * 48000)
        if audio.shape[0] < count:
            raise AssertionError(f"{path} has {audio.shape[0]} samples, the test needs {count}")
        return audio[:count, 0]

    def stream_audio(self, audio: np.ndarray, blocks: str = "1024", fmt: str = "float32") -> np.ndarray:
        """Stream audio through PROCESS frames whose sizes cycle through `blocks` (e.g. 1,7,48,1024)."""
        sizes = [int(b) for b in str(blocks).split(",")]
        return self._require_client().process_stream(audio, sizes, fmt)

    def oracle_output(self, model_path: str, audio: np.ndarray) -> np.ndarray:
        """The numpy oracle's output for the audio from a reset state."""
        return Oracle(load_model(Path(model_path))).process_all(np.asarray(audio, np.float64))

    def capture_oracle_output(self, capture_path: str, audio: np.ndarray) -> np.ndarray:
        """The numpy oracle of a Neural Amp Modeler capture (.nam, read as `valvenet import
        nam` does) for the audio from a reset state."""
        return Oracle(read_nam(Path(capture_path))).process_all(np.asarray(audio, np.float64))

    def host_int16_output(self, model_path: str, audio: np.ndarray) -> np.ndarray:
        """The int16 engine compiled for this machine (portable C path, the model file's
        scales) on the audio from a reset state: what the M7's SMLAD path must equal bit for bit."""
        engine = Q15Engine(load_model(Path(model_path)))
        return np.asarray(engine.process_all(np.asarray(audio, np.float32)), np.float32)

    def compare_outputs(self, actual: np.ndarray, reference: np.ndarray) -> dict[str, float]:
        """max_abs_error and esr of actual against reference."""
        actual, reference = np.asarray(actual, np.float64), np.asarray(reference, np.float64)
        if actual.shape != reference.shape:
            raise AssertionError(f"{actual.size} samples out, {reference.size} expected")
        error = actual - reference
        result = {"max_abs_error": float(np.max(np.abs(error))),
                  "esr": float(np.sum(error ** 2) / max(np.sum(reference ** 2), 1e-30))}
        logger.info(f"against the reference: {result}")
        return result

    def outputs_should_be_identical(self, first: np.ndarray, second: np.ndarray) -> None:
        """Bit-identical float32 arrays."""
        a, b = np.asarray(first, np.float32), np.asarray(second, np.float32)
        if a.shape != b.shape or a.tobytes() != b.tobytes():
            differ = int(np.sum(a != b)) if a.shape == b.shape else -1
            raise AssertionError(f"outputs differ ({differ} samples of {a.size})")

    def reset_engine(self) -> None:
        self._require_client().reset()

    def link_stats(self) -> dict[str, int]:
        return self._require_client().stats()

    def self_test_command(self) -> dict[str, object]:
        """SELFTEST frame for the selected model."""
        return vars(self._require_client().selftest())

    def send_malformed_frame(self, kind: str) -> str:
        """Send one malformed frame of a kind (sync, length, crc, truncated, type, payload)
        and return the name of the firmware's ERROR reply."""
        client = self._require_client()
        good = protocol.encode(protocol.PROCESS, 0x42, struct.pack("<BBH", 1, 0, 2) + struct.pack("<2f", 0.1, -0.1))
        frames = {
            "sync": b"\xa5\x00",
            "length": good[:4] + struct.pack("<H", protocol.MAX_PAYLOAD + 1000),
            "crc": good[:-1] + bytes([good[-1] ^ 0xFF]),
            "truncated": good[:9],
            "type": protocol.encode(0x33, 0x43),
            "payload": protocol.encode(protocol.PROCESS, 0x44, struct.pack("<BBH", 1, 0, 5) + b"\x00" * 8),
        }
        if kind not in frames:
            raise AssertionError(f"unknown malformed frame kind {kind!r}: {sorted(frames)}")
        client.send_raw(frames[kind])
        reply = client.read_frame(timeout=TRUNCATION_WAIT_S)
        if reply.type != protocol.ERROR:
            raise AssertionError(f"{kind}: expected an ERROR frame, got type 0x{reply.type:02X}")
        name = protocol.ERROR_NAMES.get(reply.payload[0], str(reply.payload[0]))
        logger.info(f"{kind} -> ERROR {name}: {reply.payload[2:].decode('ascii', 'replace')}")
        return name

    def send_link_noise(self, kind: str) -> list[str]:
        """Send bytes that are no good frame (stray, half line, oversized with its data, cut
        then valid) and return what the firmware answered, by name (an ERROR by its code, a
        reply by its message), until the link stays quiet for a frame timeout's margin."""
        client = self._require_client()
        info = protocol.encode(protocol.INFO, 0x46)
        cut = protocol.encode(protocol.PROCESS, 0x45, struct.pack("<BBH", 1, 0, 2) + struct.pack("<2f", 0.1, -0.1))
        size = protocol.MAX_PAYLOAD + 1900
        data = bytes((i * 131 + (i >> 7)) & 0xFF for i in range(size + 4))  # every byte value, sync words too
        noise = {
            "stray": b"\x00\x13\xff",
            "half line": b"inf",
            "oversized": protocol.SYNC + struct.pack("<BBH", protocol.PROCESS, 0x47, size) + data,
            "cut then valid": cut[:9] + info,
        }
        if kind not in noise:
            raise AssertionError(f"unknown link noise {kind!r}: {sorted(noise)}")
        client.send_raw(noise[kind])
        if kind in ("stray", "half line"):
            return []  # nothing to answer: the console line waits, and the next frame drops it
        names = []
        while True:
            try:
                reply = client.read_frame(timeout=TRUNCATION_WAIT_S)
            except TransportError:
                break
            if reply.type == protocol.ERROR:
                names.append(protocol.ERROR_NAMES.get(reply.payload[0], str(reply.payload[0])))
            else:
                names.append(MESSAGE_NAMES.get(reply.type & 0x7F, f"0x{reply.type:02X}"))
        logger.info(f"{kind} -> {names}; console: {client.console.history[-2:]}")
        return names

    def record_pedal_load(self, record: dict, label: str) -> dict[str, object]:
        """Keeps a stream's load for Write Timing Report. Without a work counter (unit none)
        the load is not measured: None, and the log says so."""
        stats, stream = record["stats"], record["stream"]
        measured = stream.unit != "none"
        entry = {"label": label, "rate_hz": stream.rate_hz, "block": stream.block, "unit": stream.unit,
                 "period_counts": stream.period_counts, "blocks": stats["audio_events"],
                 "processed": stats["audio_processed"], "missed": stats["audio_missed"],
                 "load_avg": stats["load_avg_ppm"] / 1e6 if measured else None,
                 "load_max": stats["load_max_ppm"] / 1e6 if measured else None,
                 "cabinet_taps": stream.cabinet_taps, "source": stream.source}
        self._pedal_loads.append(entry)
        logger.info(f"pedal load: {entry}")
        if not measured:
            logger.warn(f"{label}: load not measured (no work counter on {self._kind}); deadlines were")
        return entry

    # ------------------------------------------------------------------ timing
    def bench_selected_model(self, block: int = 48, blocks: int = 16) -> dict[str, object]:
        """BENCH the selected model; the result is also kept for Write Timing Report."""
        client = self._require_client()
        info = client.info()
        result = client.bench(int(block), int(blocks))
        # Budget: the core clock's cycles per sample. An emulator counts instructions: they are
        # set against the F767's 216 MHz budget for orientation (instructions are not cycles).
        clock = info.clock_hz if result.unit == "cycles" else 216e6
        # the harness alone (an empty process call), subtracted from the worst block
        worst = result.max_per_sample - result.overhead_per_block / result.block
        record = {"model": info.name, "precision": info.precision, "board": info.board, "unit": result.unit,
                  "block": result.block, "blocks": result.blocks, "median_per_sample": result.median_per_sample,
                  "max_per_sample": result.max_per_sample, "overhead_per_block": result.overhead_per_block,
                  "worst_per_sample": worst, "clock_hz": info.clock_hz,
                  "budget_44k1": clock / 44100, "budget_48k": clock / 48000,
                  "share_44k1": result.median_per_sample / (clock / 44100),
                  "share_48k": result.median_per_sample / (clock / 48000),
                  "worst_share_48k": worst / (clock / 48000)}
        self._timings.append(record)
        logger.info(f"bench: {record}")
        if result.unit == "none":
            logger.warn(f"{info.name}: cost per sample not measured (no work counter on {self._kind})")
        return record

    def write_timing_report(self, name: str = "timing") -> str:
        """Write the kept BENCH results and pedal loads as NAME.json and NAME.md into Bazel's
        undeclared outputs (or Robot's output directory); returns the JSON path."""
        folder = Path(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or BuiltIn().get_variable_value("${OUTPUT DIR}"))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(json.dumps({"bench": self._timings, "pedal": self._pedal_loads},
                                                        indent=2) + "\n")
        bench = _markdown_table(
            ["model", "precision", "board", "unit", "block:", "median/sample:", "max/sample:", "harness/block:",
             "share 44.1 kHz:", "share 48 kHz:", "worst share 48 kHz:"],
            [[r["model"], r["precision"], r["board"], r["unit"], r["block"], f"{r['median_per_sample']:,.1f}",
              f"{r['max_per_sample']:,.1f}", r["overhead_per_block"], f"{100 * r['share_44k1']:.0f} %",
              f"{100 * r['share_48k']:.0f} %", f"{100 * r['worst_share_48k']:.0f} %"]
             for r in self._timings])
        text = ("# Firmware timing\n\n" + bench + "\n\nShares: per-sample counts over the STM32F767's 4,898 "
                "(44.1 kHz) and 4,500 (48 kHz) cycles at 216 MHz. In an emulator the unit is instructions, which "
                "are not cycles.\n")
        if self._pedal_loads:
            pedal = _markdown_table(
                ["stream", "source", "rate:", "block:", "unit", "period:", "blocks:", "missed:", "load avg:",
                 "load max:", "margin:"],
                [[r["label"], r["source"], f"{r['rate_hz']:.3f} Hz", r["block"], r["unit"], f"{r['period_counts']:,}",
                  f"{r['blocks']:,}", r["missed"], _percent(r["load_avg"]), _percent(r["load_max"]),
                  _percent(None if r["load_max"] is None else 1 - r["load_max"])]
                 for r in self._pedal_loads])
            text += ("\n## The pedal's real-time stream\n\n" + pedal + "\n\nPedal load: counter units spent on a "
                     "block (chain: gain, gate, model, cabinet, gain) over the block period; margin: what the worst block "
                     "leaves of it. In QEMU the timer paces "
                     "blocks at the F767's cycle budget in instructions.\n")
        (folder / f"{name}.md").write_text(text)
        return str(folder / f"{name}.json")


def _percent(share: float | None) -> str:
    return "not measured" if share is None else f"{100 * share:.1f} %"


def _markdown_table(columns: list[str], rows: list[list[object]]) -> str:
    """A Markdown table; a column name ending in ':' is right-aligned (and shown without it)."""
    header = "| " + " | ".join(c.rstrip(":") for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.endswith(":") else "---" for c in columns) + "|"
    return "\n".join([header, rule] + ["| " + " | ".join(str(v) for v in row) + " |" for row in rows])
