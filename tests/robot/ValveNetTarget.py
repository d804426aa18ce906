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
import time
import zlib
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
from valvenet.export.c_host import Q15Engine
from valvenet.models.model_file import INT16_SUFFIX, load as load_model
from valvenet.models import config as model_config
from valvenet.models.oracle import Oracle
from valvenet.pedal import chain as pedal_chain
from valvenet.export import cabinet as cabinet_export

BANNER_PATTERN = (
    r"^ValveNet (?P<version>\S+) rev=(?P<rev>\S+) board=(?P<board>\S+) clock=(?P<clock>\d+) "
    r"compiler=(?P<compiler>\S+) counter=(?P<counter>\S+)$"
)

# The board each target runs: QEMU emulates the mps2-an500; Renode and a real board run
# the NUCLEO-F767ZI image.
EXPECTED_BOARD = {"qemu": "mps2_an500", "renode": "nucleo_f767zi", "serial": "nucleo_f767zi"}


class ValveNetTarget:
    """Starts a firmware target, reads its banner and sends console commands."""

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
        reply = client.read_frame(timeout=20.0)
        if reply.type != protocol.ERROR:
            raise AssertionError(f"{kind}: expected an ERROR frame, got type 0x{reply.type:02X}")
        name = protocol.ERROR_NAMES.get(reply.payload[0], str(reply.payload[0]))
        logger.info(f"{kind} -> ERROR {name}: {reply.payload[2:].decode('ascii', 'replace')}")
        return name

    # ------------------------------------------------------------------ the pedal
    def load_pedal_source(self, audio: np.ndarray) -> int:
        """Loads the audio (as int16 Q15, which the firmware turns into the same floats) into the
        software source; returns its length."""
        return self._require_client().load_source(np.asarray(audio, np.float32), "int16")

    def quantised(self, audio: np.ndarray) -> np.ndarray:
        """The audio as the firmware holds it after an int16 SOURCE load."""
        q = np.clip(np.round(np.asarray(audio, np.float32) * 32768.0), -32768, 32767)
        return (q / 32768.0).astype(np.float32)

    def run_pedal_stream(self, block: int, blocks: int, settings: str = "", changes: str = "",
                         rate: int = 48000, source: str = "software", timeout: float = 120.0,
                         any_rate: bool = False) -> dict[str, object]:
        """Runs a stream of `blocks` blocks. `settings` ("name=value,...") are applied before it
        starts; `changes` ("name=value@block,...") are queued for those blocks; `any_rate` runs
        the model at a rate it was not trained at. Returns the stream's record: AUDIO_START's
        reply, STATS at the end, the sink, the block log and the changes as applied (name,
        value, block)."""
        client = self._require_client()
        self._set_pedal_parameters(settings)
        queued = []
        for item in _pairs(changes):
            name, (value, at) = item[0], item[1]
            queued.append((name, value, client.send_param(pedal_chain.param_id(name), value, int(at))))
        stream = client.audio_start(source, int(rate), int(block), int(blocks), any_rate=_true(any_rate))
        stats = client.wait_stream_end(float(timeout))
        applied = [pedal_chain.Change(name, value, client.wait_param(seq)) for name, value, seq in queued]
        record = self._stream_record(client, stream, stats, applied, int(blocks))
        logger.info(f"stream: {stream}; stats: {stats}; applied: {applied}")
        return record

    def _stream_record(self, client: Client, stream, stats: dict[str, int], applied: list, blocks: int) -> dict:
        sink = client.read_sink(stats["sink_samples"]) if stream.source == "software" else np.zeros(0, np.float32)
        log = client.read_sink(min(blocks, 1024), what=1)
        return {"stream": stream, "stats": stats, "sink": sink, "log": log, "applied": applied,
                "blocks": blocks, "block": stream.block}

    def _set_pedal_parameters(self, settings: str) -> None:
        """Every parameter to its default (they persist in the firmware), then `settings`."""
        client = self._require_client()
        values = dict(pedal_chain.DEFAULTS, cabinet=1.0, ramp_ms=10.0, stress_percent=0.0)
        values.update(dict(_pairs(settings)))
        for name, value in values.items():
            client.set_param(pedal_chain.param_id(name), value)

    def scheduled_change_past_the_end_should_fail(self, block: int, change: str, blocks: int) -> str:
        """A change scheduled past a stream's last block: ERROR PAYLOAD when the stream stops."""
        client = self._require_client()
        self._set_pedal_parameters("")
        (name, (value, at)), = _pairs(change)
        sequence = client.send_param(pedal_chain.param_id(name), value, int(at))
        client.audio_start("software", 48000, int(block), int(blocks))
        client.wait_stream_end()
        try:
            applied = client.wait_param(sequence)
        except protocol.FirmwareError as err:
            if err.name != "PAYLOAD":
                raise AssertionError(f"expected ERROR PAYLOAD, got {err.name}: {err.message}") from err
            return err.message
        raise AssertionError(f"the change for block {at} applied at block {applied} of a {blocks}-block stream")

    def start_live_stream(self, block: int, settings: str = "", rate: int = 48000) -> dict[str, object]:
        """Starts an endless software stream (until Stop Live Stream)."""
        self._set_pedal_parameters(settings)
        stream = self._require_client().audio_start("software", int(rate), int(block), 0)
        self._live_changes = []
        return {"stream": stream}

    def change_live_parameter(self, name: str, value: float) -> int:
        """Changes a parameter of the running stream now; returns the block it applied at."""
        block = self._require_client().set_param(pedal_chain.param_id(name), float(value))
        self._live_changes.append(pedal_chain.Change(name, float(value), block))
        return block

    def stop_live_stream(self, block: int) -> dict[str, object]:
        """Stops the endless stream and collects it like Run Pedal Stream (with the changes
        Change Live Parameter made)."""
        applied = list(self._live_changes)
        client = self._require_client()
        # let the stream run 40 blocks past the last change, so its ramp is in the sink
        wanted = max([c.block for c in applied], default=0) + 40
        deadline = time.monotonic() + 30.0
        while client.stats()["audio_events"] < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        client.audio_stop()
        stats = client.stats()
        if stats["audio_running"]:
            raise AssertionError(f"AUDIO_STOP left the stream running: {stats}")
        blocks = stats["sink_samples"] // int(block) - 1  # sink block m holds source block m - 1
        return {"stream": None, "stats": stats, "sink": client.read_sink(stats["sink_samples"]),
                "log": client.read_sink(min(blocks, 1024), what=1), "applied": applied, "blocks": blocks,
                "block": int(block)}

    def cabinet_taps(self, ir: str, model_path: str, length: int = 256) -> np.ndarray:
        """The taps the image's cabinet was built from (valvenet.export.cabinet_table)."""
        rate = load_model(Path(model_path)).sample_rate
        return cabinet_export.load(ir, rate=rate, length=int(length)).taps

    def oracle_chain_sink(self, record: dict, model_path: str, taps: np.ndarray, audio: np.ndarray,
                          settings: str = "", rate: int = 48000, with_changes: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The sink the oracle chain predicts for a stream record (without its parameter
        changes if with_changes is false), and its mask of defined samples."""
        chain = pedal_chain.start_chain(load_model(Path(model_path)), taps, int(rate), dict(_pairs(settings)))
        changes = record["applied"] if _true(with_changes) else []
        return pedal_chain.expected_sink(chain, self.quantised(audio), record["block"], record["blocks"],
                                         changes, record["log"])

    def pedal_sink_should_match(self, record: dict, expected: tuple, bound: float = 1e-4,
                                from_block: int = 0) -> dict[str, float]:
        """Compares the firmware's sink with the oracle chain's over the defined samples (from
        sink block `from_block`); fails above `bound` (max abs error)."""
        sink = record["sink"]
        want, valid = expected
        n = min(sink.size, want.size)
        if n < want.size:
            raise AssertionError(f"the sink holds {sink.size} samples, the stream should have played {want.size}")
        mask = valid[:n].copy()
        mask[:int(from_block) * record["block"]] = False
        if not mask.any():
            raise AssertionError("no defined samples to compare")
        error = np.abs(sink[:n][mask].astype(np.float64) - want[:n][mask])
        result = {"max_abs_error": float(error.max()), "samples": int(mask.sum()),
                  "rms_expected": float(np.sqrt(np.mean(want[:n][mask].astype(np.float64) ** 2)))}
        logger.info(f"sink vs oracle chain: {result}")
        if result["rms_expected"] < 1e-3:
            raise AssertionError(f"the expected output is near silence (rms {result['rms_expected']:.2e}): no check")
        if not result["max_abs_error"] <= float(bound):
            worst = int(np.flatnonzero(mask)[np.argmax(error)])
            raise AssertionError(f"sink differs from the oracle chain by {result['max_abs_error']:.3g} "
                                 f"(> {bound}) at sample {worst} (block {worst // record['block']})")
        return result

    def gain_ramp_should_be_smooth(self, record: dict, reference: tuple, change_block: int, gain_db: float,
                                   ramp_ms: float, rate: int = 48000, tolerance: float = 2e-3) -> dict[str, float]:
        """From the firmware's sink against the oracle chain WITHOUT the change: the gain the
        firmware applied is 1 before the change's first sample, moves monotonically in steps no
        larger than a linear ramp's over ramp_ms, and is exactly the new gain after it."""
        sink, (ref, valid) = record["sink"], reference
        block = record["block"]
        start = (int(change_block) + 1) * block  # the change's first output sample in the sink
        ramp = int(round(float(ramp_ms) * int(rate) / 1000.0))
        target = 10.0 ** (float(gain_db) / 20.0)
        idx = np.arange(max(start - 4 * block, 0), min(start + ramp + 4 * block, sink.size))
        idx = idx[valid[idx] & (np.abs(ref[idx]) > 0.02)]
        if idx.size < ramp // 4:
            raise AssertionError(f"only {idx.size} loud samples around the ramp: no check")
        gain = sink[idx].astype(np.float64) / ref[idx]
        expected = np.clip(1.0 + (idx - start + 1) * (target - 1.0) / ramp,
                           min(1.0, target), max(1.0, target))
        deviation = float(np.max(np.abs(gain - expected)))
        before, after = gain[idx < start], gain[idx >= start + ramp]
        result = {"max_deviation_from_linear": deviation, "gain_before": float(np.median(before)),
                  "gain_after": float(np.median(after)), "target": target, "ramp_samples": ramp,
                  "loud_samples": int(idx.size)}
        logger.info(f"gain ramp: {result}")
        if deviation > float(tolerance):
            worst = int(idx[np.argmax(np.abs(gain - expected))])
            raise AssertionError(f"applied gain leaves the linear {ramp}-sample ramp by {deviation:.3g} "
                                 f"at sink sample {worst} (change at {start})")
        return result

    def overload_should_be_recovered(self, record: dict) -> dict[str, int]:
        """The stress (stress_percent changes) was on from its first applied block to the block
        it went back to 0: the block log and STATS agree; every missed block is inside that span
        (plus the late block the overload ran into and the one its resync drops); every block
        from three after it is on time."""
        spans = [c.block for c in record["applied"] if c.name == "stress_percent"]
        if len(spans) != 2:
            raise AssertionError(f"expected a stress on and off change, applied: {record['applied']}")
        stress_from, stress_to = spans
        log, stats = record["log"].astype(int), record["stats"]
        late, dropped = int(np.sum(log == 2)), int(np.sum(log == 3))
        missed = np.flatnonzero((log == 2) | (log == 3))
        result = {"stress_from": stress_from, "stress_to": stress_to, "late": late, "dropped": dropped, "first_missed": int(missed[0]) if missed.size else -1,
                  "last_missed": int(missed[-1]) if missed.size else -1,
                  "load_max_ppm": stats["load_max_ppm"], "load_avg_ppm": stats["load_avg_ppm"]}
        logger.info(f"overload: {result}; stats {stats}")
        if late + dropped == 0:
            raise AssertionError("the forced overload missed no deadline: the stress did not work")
        if stats["audio_missed"] != late + dropped or stats["audio_dropped"] != dropped:
            raise AssertionError(f"STATS (missed {stats['audio_missed']}, dropped {stats['audio_dropped']}) "
                                 f"disagrees with the block log (late {late}, dropped {dropped})")
        if missed[0] < int(stress_from) or missed[-1] > int(stress_to) + 2:
            raise AssertionError(f"deadlines missed outside the stressed blocks {stress_from}..{stress_to}: {missed}")
        tail = log[int(stress_to) + 3:record["blocks"]]
        if not np.all(tail == 1):
            raise AssertionError(f"not every block after the overload was on time: {tail}")
        return result

    def bypassed_output_should_equal_input(self, record: dict, audio: np.ndarray, from_block: int) -> int:
        """Bypassed (and its cross-fade over), the sink is the input exactly, one block later."""
        block = record["block"]
        dry = np.zeros((record["blocks"] + 1) * block, np.float32)
        clip = self.quantised(audio)[:record["blocks"] * block]
        dry[block:block + clip.size] = clip
        start, end = (int(from_block) + 1) * block, min(record["sink"].size, dry.size)
        if start >= end:
            raise AssertionError(f"the stream ended before block {from_block}")
        if not np.array_equal(record["sink"][start:end], dry[start:end]):
            bad = start + int(np.flatnonzero(record["sink"][start:end] != dry[start:end])[0])
            raise AssertionError(f"bypassed output differs from the input at sink sample {bad}")
        return end - start

    def cabinet_should_be(self, record: dict, taps: np.ndarray) -> None:
        """AUDIO_START's cabinet (taps, CRC) is the one the host prepared from the same IR."""
        stream = record["stream"]
        crc = zlib.crc32(np.asarray(taps, "<f4").tobytes()) & 0xFFFFFFFF
        if stream.cabinet_taps != len(taps) or stream.cabinet_crc32 != crc:
            raise AssertionError(f"image cabinet {stream.cabinet_name!r}: {stream.cabinet_taps} taps, CRC "
                                 f"{stream.cabinet_crc32:08X}; host: {len(taps)} taps, CRC {crc:08X}")

    def audio_start_should_be_refused(self, block: int, rate: int, code: str = "PAYLOAD") -> str:
        """AUDIO_START (software source) must be answered with ERROR `code`; returns its message."""
        try:
            self._require_client().audio_start("software", int(rate), int(block), 1)
        except protocol.FirmwareError as err:
            if err.name != code or err.request != protocol.AUDIO_START:
                raise AssertionError(f"AUDIO_START: ERROR {err.name} ({err.message}), expected {code}") from err
            return err.message
        raise AssertionError(f"AUDIO_START at {rate} Hz, block {block} was accepted")

    def request_should_be_refused(self, what: str, code: str = "BUSY") -> str:
        """PROCESS (one sample) or SOURCE (clear) must be answered with ERROR `code`."""
        client = self._require_client()
        try:
            if what == "PROCESS":
                client.process(np.zeros(1, np.float32))
            else:
                client.request(protocol.SOURCE, struct.pack("<BBHI", 2, 0, 0, 0))
        except protocol.FirmwareError as err:
            if err.name != code:
                raise AssertionError(f"{what}: ERROR {err.name}, expected {code}") from err
            return err.message
        raise AssertionError(f"{what} was accepted while it should be refused with {code}")

    def record_pedal_load(self, record: dict, label: str) -> dict[str, object]:
        """Keeps a stream's load for Write Timing Report."""
        stats, stream = record["stats"], record["stream"]
        entry = {"label": label, "rate_hz": stream.rate_hz, "block": stream.block, "unit": stream.unit,
                 "period_counts": stream.period_counts, "blocks": stats["audio_events"],
                 "processed": stats["audio_processed"], "missed": stats["audio_missed"],
                 "load_avg": stats["load_avg_ppm"] / 1e6, "load_max": stats["load_max_ppm"] / 1e6,
                 "cabinet_taps": stream.cabinet_taps, "source": stream.source}
        self._pedal_loads.append(entry)
        logger.info(f"pedal load: {entry}")
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
        record = {"model": info.name, "precision": info.precision, "board": info.board, "unit": result.unit,
                  "block": result.block, "blocks": result.blocks, "median_per_sample": result.median_per_sample,
                  "max_per_sample": result.max_per_sample, "clock_hz": info.clock_hz,
                  "budget_44k1": clock / 44100, "budget_48k": clock / 48000,
                  "share_44k1": result.median_per_sample / (clock / 44100),
                  "share_48k": result.median_per_sample / (clock / 48000)}
        self._timings.append(record)
        logger.info(f"bench: {record}")
        return record

    def write_timing_report(self, name: str = "timing") -> str:
        """Write the kept BENCH results and pedal loads as NAME.json and NAME.md into Bazel's
        undeclared outputs (or Robot's output directory); returns the JSON path."""
        folder = Path(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or BuiltIn().get_variable_value("${OUTPUT DIR}"))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(json.dumps({"bench": self._timings, "pedal": self._pedal_loads},
                                                        indent=2) + "\n")
        bench = _markdown_table(
            ["model", "precision", "board", "unit", "block:", "median/sample:", "max/sample:", "share 44.1 kHz:",
             "share 48 kHz:"],
            [[r["model"], r["precision"], r["board"], r["unit"], r["block"], f"{r['median_per_sample']:,.1f}",
              f"{r['max_per_sample']:,.1f}", f"{100 * r['share_44k1']:.0f} %", f"{100 * r['share_48k']:.0f} %"]
             for r in self._timings])
        text = ("# Firmware timing\n\n" + bench + "\n\nShares: per-sample counts over the STM32F767's 4,898 "
                "(44.1 kHz) and 4,500 (48 kHz) cycles at 216 MHz. In an emulator the unit is instructions, which "
                "are not cycles.\n")
        if self._pedal_loads:
            pedal = _markdown_table(
                ["stream", "source", "rate:", "block:", "unit", "period:", "blocks:", "missed:", "load avg:",
                 "load max:"],
                [[r["label"], r["source"], f"{r['rate_hz']:.3f} Hz", r["block"], r["unit"], f"{r['period_counts']:,}",
                  f"{r['blocks']:,}", r["missed"], f"{100 * r['load_avg']:.1f} %", f"{100 * r['load_max']:.1f} %"]
                 for r in self._pedal_loads])
            text += ("\n## The pedal's real-time stream\n\n" + pedal + "\n\nPedal load: counter units spent on a "
                     "block (chain: gain, gate, model, cabinet, gain) over the block period. In QEMU the timer paces "
                     "blocks at the F767's cycle budget in instructions.\n")
        (folder / f"{name}.md").write_text(text)
        return str(folder / f"{name}.json")


def _pairs(text: str) -> list[tuple[str, object]]:
    """"a=1,b=2@30" -> [("a", 1.0), ("b", (2.0, 30))]."""
    pairs = []
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        name, _, value = item.partition("=")
        if "@" in value:
            number, _, block = value.partition("@")
            pairs.append((name.strip(), (float(number), int(block))))
        else:
            pairs.append((name.strip(), float(value)))
    return pairs


def _true(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("false", "0", "no", "")


def _markdown_table(columns: list[str], rows: list[list[object]]) -> str:
    """A Markdown table; a column name ending in ':' is right-aligned (and shown without it)."""
    header = "| " + " | ".join(c.rstrip(":") for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.endswith(":") else "---" for c in columns) + "|"
    return "\n".join([header, rule] + ["| " + " | ".join(str(v) for v in row) + " |" for row in rows])
