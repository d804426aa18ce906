"""Host side of the firmware's binary UART protocol (docs/protocol.md).

`Client` talks to the amp firmware over any transport (QEMU, Renode, serial port): model
information, audio through PROCESS, benchmarks, link statistics, and the pedal's real-time
stream (AUDIO_START/STOP, PARAM, the software SOURCE and SINK; docs/pedal.md). It shares the link with the
text console (`Console`): bytes before a frame's sync (banner, self-test line) are kept as
text lines in the console's history.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from valvenet.device.console import Console
from valvenet.device.transport import TransportError
from valvenet.models import kinds

SYNC = b"\xa5\x5a"
MAX_PAYLOAD = 4100
MAX_SAMPLES = 1024
PROTOCOL_VERSION = 3
# The pedal's stream (firmware/boards/board.h, checked by the firmware's pedal_start).
RATES = (44100, 48000)
MIN_BLOCK, MAX_BLOCK = 16, 128
ANY_RATE = 0x01  # AUDIO_START flag: run the model at a rate it was not trained at

INFO, RESET, PROCESS, BENCH, STATS, SELFTEST, SELECT = range(1, 8)
AUDIO_START, AUDIO_STOP, PARAM, SOURCE, SINK = range(8, 13)
SOURCES = {"codec": 1, "software": 2}
NOW = 0xFFFFFFFF  # PARAM: at the next block
BLOCK_STATUS = {0: "unseen", 1: "on_time", 2: "late", 3: "dropped"}
REPLY = 0x80
ERROR = 0xFF
FORMATS = {"float32": 1, "int16": 2}
KINDS = {spec.firmware_id: name for name, spec in kinds.REGISTRY.items()}  # INFO's kind ids (firmware/nn/model.h)
PRECISIONS = {1: "float32", 2: "int16"}
UNITS = {0: "none", 1: "cycles", 2: "instructions"}
ERROR_NAMES = {1: "SYNC", 2: "LENGTH", 3: "CRC", 4: "TRUNCATED", 5: "TYPE", 6: "PAYLOAD", 7: "NO_MODEL",
               8: "BUSY", 9: "AUDIO"}
STATS_FIELDS = ("frames_ok", "rejected_sync", "rejected_length", "rejected_crc", "rejected_truncated",
                "rejected_type", "rejected_payload", "uart_overruns", "samples_processed",
                # the audio stream (protocol version 2)
                "audio_running", "audio_events", "audio_processed", "audio_missed", "audio_dropped",
                "load_avg_ppm", "load_max_ppm", "period_counts", "counter_unit", "sink_samples", "audio_errors",
                # bytes skipped between frames (resynchronising firmware)
                "skipped_bytes")


class ProtocolError(RuntimeError):
    """The link carried something that is not a valid frame (bad CRC, wrong reply)."""


class VersionError(ProtocolError):
    """The firmware speaks another protocol version than this host."""


def check_version(firmware: int) -> None:
    """Raises VersionError, saying which side to update, unless the firmware speaks this
    host's protocol version (INFO's first field, the one that never moves)."""
    if firmware == PROTOCOL_VERSION:
        return
    fix = ("rebuild and flash the firmware from this ValveNet" if firmware < PROTOCOL_VERSION
           else "update ValveNet on this host to the firmware's revision")
    raise VersionError(f"firmware speaks protocol v{firmware}, this host v{PROTOCOL_VERSION}: {fix}")


class FirmwareError(RuntimeError):
    """The firmware answered with an ERROR frame."""

    def __init__(self, code: int, request: int, message: str) -> None:
        self.code, self.request, self.message = code, request, message
        self.name = ERROR_NAMES.get(code, f"code {code}")
        super().__init__(f"firmware rejected the frame: {self.name} ({message})")


def encode(msg_type: int, sequence: int, payload: bytes = b"") -> bytes:
    """One frame: sync, type, sequence, length, payload, CRC-32 over type .. payload."""
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    body = struct.pack("<BBH", msg_type, sequence & 0xFF, len(payload)) + payload
    return SYNC + body + struct.pack("<I", zlib.crc32(body))


@dataclass(frozen=True)
class Frame:
    type: int
    sequence: int
    payload: bytes


@dataclass(frozen=True)
class ModelInfo:
    protocol_version: int
    model_index: int
    model_count: int
    kind: str
    precision: str
    counter_unit: str
    sample_rate: int
    parameters: int
    macs_per_sample: int
    receptive_field: int
    weights_crc32: int
    state_bytes: int
    clock_hz: int
    max_samples: int
    name: str
    board: str
    revision: str
    firmware_version: str

    @classmethod
    def parse(cls, payload: bytes) -> "ModelInfo":
        """INFO's reply; VersionError first if the firmware speaks another protocol version."""
        if len(payload) >= 2:
            check_version(struct.unpack_from("<H", payload)[0])
        fixed = struct.Struct("<HBBBBBBIIIIIIIHH")
        if len(payload) < fixed.size:
            raise ProtocolError(f"INFO reply of {len(payload)} bytes, expected at least {fixed.size}")
        (version, index, count, kind, precision, unit, _, rate, params, macs, field, crc, state, clock,
         max_samples, _) = fixed.unpack_from(payload)
        strings, at = [], fixed.size
        for _ in range(4):
            if at >= len(payload) or at + 1 + payload[at] > len(payload):
                raise ProtocolError("INFO reply: truncated string")
            strings.append(payload[at + 1:at + 1 + payload[at]].decode("ascii", errors="replace"))
            at += 1 + payload[at]
        return cls(version, index, count, KINDS.get(kind, f"kind {kind}"), PRECISIONS.get(precision, f"precision {precision}"),
                   UNITS.get(unit, str(unit)), rate, params, macs, field, crc, state, clock, max_samples, *strings)


@dataclass(frozen=True)
class BenchResult:
    unit: str
    block: int
    blocks: int
    median_per_sample: float
    max_per_sample: float
    overhead_per_block: int = 0  # the harness alone (an empty process call), counter units


@dataclass(frozen=True)
class SelfTestResult:
    status: str  # PASS, FAIL or NONE (no clip in the image)
    unit: str
    samples: int
    max_abs_error: float
    esr: float
    per_sample: float


@dataclass(frozen=True)
class AudioStream:
    """AUDIO_START's reply: what the board really runs."""

    source: str
    unit: str
    block: int
    rate_hz: float  # achieved frame rate
    period_counts: int  # one block period in counter units
    cabinet_taps: int
    cabinet_crc32: int
    cabinet_name: str


class Client:
    """Request/reply over one firmware link; one request in flight at a time (PARAM replies,
    which come when the change is applied, are collected on the way: `param_replies`)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._sequence = 0
        self._text = b""  # the start of a text line cut by a frame or a read boundary
        self.pending_params: set[int] = set()
        # sequence -> (id, value, block), or the FirmwareError that refused it
        self.param_replies: dict[int, tuple[int, float, int] | FirmwareError] = {}

    # ------------------------------------------------------------------ frames
    def send(self, msg_type: int, payload: bytes = b"") -> int:
        """Send a request; return its sequence number."""
        self._sequence = (self._sequence + 1) & 0xFF
        self.console.transport.write(encode(msg_type, self._sequence, payload))
        return self._sequence

    def send_raw(self, data: bytes) -> None:
        """Bytes exactly as given (malformed-frame tests)."""
        self.console.transport.write(data)

    def _fill(self, n: int, deadline: float) -> None:
        buffer = self.console.buffer
        while len(buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(f"no complete frame in time: {len(buffer)} of {n} bytes; {bytes(buffer[:32])!r}")
            self.console.receive(min(left, 0.5))

    def _skip_text(self, deadline: float) -> None:
        """Drop bytes before the next sync, keeping the text lines among them in the history."""
        buffer = self.console.buffer
        while True:
            at = buffer.find(SYNC)
            if at >= 0:
                text = bytes(buffer[:at])
                del buffer[:at]
                break
            keep = 1 if buffer.endswith(SYNC[:1]) else 0
            text = bytes(buffer[:len(buffer) - keep])
            del buffer[:len(buffer) - keep]
            self._log_text(text)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError("no frame from the firmware in time; last console lines: "
                                     f"{self.console.history[-3:]}")
            self.console.receive(min(left, 0.5))
        self._log_text(text)

    def _log_text(self, text: bytes) -> None:
        *lines, self._text = (self._text + text).split(b"\n")
        for line in lines:
            line_text = line.decode("utf-8", errors="replace").rstrip("\r")
            if line_text.strip():
                self.console.history.append(line_text)

    def read_frame(self, timeout: float = 10.0) -> Frame:
        """The next frame on the link (any type, ERROR included), CRC checked."""
        deadline = time.monotonic() + timeout
        self._skip_text(deadline)
        self._fill(6, deadline)
        buffer = self.console.buffer
        msg_type, sequence, length = struct.unpack_from("<BBH", buffer, 2)
        if length > MAX_PAYLOAD:
            del buffer[:2]
            raise ProtocolError(f"frame header claims {length} payload bytes (max {MAX_PAYLOAD})")
        self._fill(6 + length + 4, deadline)
        body = bytes(buffer[2:6 + length])
        (crc,) = struct.unpack_from("<I", buffer, 6 + length)
        del buffer[:6 + length + 4]
        if crc != zlib.crc32(body):
            raise ProtocolError(f"reply frame type 0x{msg_type:02X}: CRC mismatch")
        return Frame(msg_type, sequence, body[4:])

    def request(self, msg_type: int, payload: bytes = b"", timeout: float = 10.0) -> bytes:
        """Send a request and return its reply's payload; an ERROR reply raises FirmwareError."""
        sequence = self.send(msg_type, payload)
        while True:
            reply = self.read_frame(timeout)
            if not self._take_param_reply(reply) or (msg_type == PARAM and reply.sequence == sequence):
                return self.check_reply(reply, msg_type, sequence)

    def _take_param_reply(self, reply: Frame) -> bool:
        """Files a PARAM reply (or its ERROR) for a change still waiting; True if it was one."""
        if reply.sequence not in self.pending_params or reply.type not in (PARAM | REPLY, ERROR):
            return False
        if reply.type == ERROR and reply.payload[1] != PARAM:
            return False
        self.pending_params.discard(reply.sequence)
        if reply.type == PARAM | REPLY:
            param, _, _, value, block = struct.unpack("<BBHfI", reply.payload)
            self.param_replies[reply.sequence] = (param, value, block)
        else:
            self.param_replies[reply.sequence] = FirmwareError(
                reply.payload[0], PARAM, reply.payload[2:].decode("ascii", errors="replace"))
        return True

    @staticmethod
    def check_reply(reply: Frame, msg_type: int, sequence: int) -> bytes:
        if reply.type == ERROR:
            code, request = reply.payload[0], reply.payload[1]
            raise FirmwareError(code, request, reply.payload[2:].decode("ascii", errors="replace"))
        if reply.type != msg_type | REPLY or reply.sequence != sequence:
            raise ProtocolError(f"expected reply 0x{msg_type | REPLY:02X} #{sequence}, "
                                f"got 0x{reply.type:02X} #{reply.sequence}")
        return reply.payload

    # ---------------------------------------------------------------- messages
    def info(self) -> ModelInfo:
        return ModelInfo.parse(self.request(INFO))

    def select(self, index: int) -> ModelInfo:
        return ModelInfo.parse(self.request(SELECT, bytes([index])))

    def reset(self) -> None:
        self.request(RESET)

    def process(self, samples: np.ndarray, fmt: str = "float32") -> np.ndarray:
        """One PROCESS frame (1..1024 samples); state carries over to the next call."""
        samples = np.asarray(samples).reshape(-1)
        if not 1 <= samples.size <= MAX_SAMPLES:
            raise ValueError(f"PROCESS takes 1..{MAX_SAMPLES} samples, not {samples.size}")
        if fmt == "float32":
            data = samples.astype("<f4").tobytes()
        elif fmt == "int16":
            data = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()
        else:
            raise ValueError(f"format {fmt!r}: float32 or int16")
        payload = struct.pack("<BBH", FORMATS[fmt], 0, samples.size) + data
        reply = self.request(PROCESS, payload, timeout=30.0)
        if reply[:4] != payload[:4]:
            raise ProtocolError(f"PROCESS reply header {reply[:4].hex()} does not match the request's")
        if fmt == "float32":
            return np.frombuffer(reply[4:], "<f4").astype(np.float32)
        return np.frombuffer(reply[4:], "<i2").astype(np.float32) / 32768.0

    def process_stream(self, audio: np.ndarray, blocks: Iterable[int] | int = MAX_SAMPLES, fmt: str = "float32",
                       progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Stream audio through PROCESS frames whose sizes cycle through `blocks`."""
        audio = np.asarray(audio, np.float32).reshape(-1)
        sizes = [blocks] if isinstance(blocks, int) else list(blocks)
        out, done, k = [], 0, 0
        while done < audio.size:
            n = min(sizes[k % len(sizes)], audio.size - done)
            out.append(self.process(audio[done:done + n], fmt))
            done, k = done + n, k + 1
            if progress is not None:
                progress(n)
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def bench(self, block: int = 48, blocks: int = 16) -> BenchResult:
        unit, _, got_block, got_blocks, overhead, median, worst = struct.unpack(
            "<BBHHHII", self.request(BENCH, struct.pack("<HH", block, blocks), timeout=600.0))
        return BenchResult(UNITS.get(unit, str(unit)), got_block, got_blocks, median / 10.0, worst / 10.0, overhead)

    def stats(self) -> dict[str, int]:
        """STATS by name (version 1 firmware sends the first nine only, older version 3 firmware
        the first twenty: what it does not send is absent)."""
        reply = self.request(STATS)
        values = struct.unpack(f"<{len(reply) // 4}I", reply)
        return dict(zip(STATS_FIELDS, values))

    # ------------------------------------------------------------------ the pedal
    def audio_start(self, source: str = "software", rate: int = 48000, block: int = 48, blocks: int = 0,
                    any_rate: bool = False) -> AudioStream:
        """Starts the real-time stream (blocks = 0: until audio_stop). The firmware refuses a
        rate the model was not trained at unless `any_rate` (clock and load tests)."""
        flags = ANY_RATE if any_rate else 0
        reply = self.request(AUDIO_START, struct.pack("<BBHII", SOURCES[source], flags, block, rate, blocks))
        src, unit, got_block, millihz, period, taps, crc = struct.unpack_from("<BBHIIII", reply)
        name = reply[21:21 + reply[20]].decode("utf-8", errors="replace")
        return AudioStream({v: k for k, v in SOURCES.items()}[src], UNITS.get(unit, str(unit)), got_block,
                           millihz / 1000.0, period, taps, crc, name)

    def audio_stop(self) -> None:
        self.request(AUDIO_STOP)

    def send_param(self, param: int, value: float, at_block: int = NOW) -> int:
        """Queues a parameter change; its reply (the block it applied at) arrives when it is
        applied: wait_param(sequence)."""
        sequence = self.send(PARAM, struct.pack("<BBHfI", param, 0, 0, value, at_block))
        self.pending_params.add(sequence)
        return sequence

    def wait_param(self, sequence: int, timeout: float = 10.0) -> int:
        """The block a queued change applied at (NOW: applied with no stream running)."""
        deadline = time.monotonic() + timeout
        while sequence in self.pending_params:
            reply = self.read_frame(max(deadline - time.monotonic(), 0.01))
            if not self._take_param_reply(reply):
                raise ProtocolError(f"unexpected frame 0x{reply.type:02X} #{reply.sequence} while waiting for PARAM")
        result = self.param_replies.pop(sequence)
        if isinstance(result, FirmwareError):
            raise result
        return result[2]

    def set_param(self, param: int, value: float) -> int:
        """Changes a parameter at the next block and waits until it has applied."""
        return self.wait_param(self.send_param(param, value))

    def load_source(self, samples: np.ndarray, fmt: str = "int16") -> int:
        """Replaces the software source with these samples (int16: Q15, as the frames carry
        them); returns its length."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.request(SOURCE, struct.pack("<BBHI", FORMATS[fmt], 0, 0, 0))
        per_frame = MAX_SAMPLES if fmt == "int16" else (MAX_PAYLOAD - 8) // 4
        length = 0
        for start in range(0, samples.size, per_frame):
            chunk = samples[start:start + per_frame]
            if fmt == "int16":
                data = np.clip(np.round(chunk * 32768.0), -32768, 32767).astype("<i2").tobytes()
            else:
                data = chunk.astype("<f4").tobytes()
            reply = self.request(SOURCE, struct.pack("<BBHI", FORMATS[fmt], 0, chunk.size, start) + data)
            (length,) = struct.unpack("<I", reply)
        return length

    def read_sink(self, count: int, what: int = 0) -> np.ndarray:
        """The first `count` samples of the software sink (what=0, float32) or entries of the
        block log (what=1, uint8: BLOCK_STATUS)."""
        parts = []
        for offset in range(0, count, MAX_SAMPLES):
            n = min(MAX_SAMPLES, count - offset)
            reply = self.request(SINK, struct.pack("<BBHI", what, 0, n, offset))
            parts.append(np.frombuffer(reply[4:], "<f4" if what == 0 else "u1"))
        dtype = np.float32 if what == 0 else np.uint8
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    def wait_stream_end(self, timeout: float = 60.0, poll: float = 0.2) -> dict[str, int]:
        """Polls STATS until a stream started with a block count has stopped itself."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if not stats.get("audio_running"):
                return stats
            if time.monotonic() > deadline:
                raise TransportError(f"the audio stream still runs after {timeout:.0f} s: {stats}")
            time.sleep(poll)

    def selftest(self) -> SelfTestResult:
        status, unit, _, samples, max_abs, esr, per_sample = struct.unpack(
            "<BBHIffI", self.request(SELFTEST, timeout=120.0))
        return SelfTestResult({0: "PASS", 1: "FAIL", 2: "NONE"}.get(status, str(status)), UNITS.get(unit, str(unit)),
                              samples, max_abs, esr, per_sample / 10.0)
