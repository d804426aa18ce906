"""Host side of the firmware's binary UART protocol (docs/protocol.md).

`Client` talks to the amp firmware over any transport (QEMU, Renode, serial port): model
information, audio through PROCESS, benchmarks, link statistics. It shares the link with the
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

SYNC = b"\xa5\x5a"
MAX_PAYLOAD = 4100
MAX_SAMPLES = 1024
PROTOCOL_VERSION = 1

INFO, RESET, PROCESS, BENCH, STATS, SELFTEST, SELECT = range(1, 8)
REPLY = 0x80
ERROR = 0xFF
FORMATS = {"float32": 1, "int16": 2}
KINDS = {1: "gated_wavenet", 2: "nam_wavenet", 3: "lstm", 4: "gru"}
PRECISIONS = {1: "float32", 2: "int16"}
UNITS = {0: "none", 1: "cycles", 2: "instructions"}
ERROR_NAMES = {1: "SYNC", 2: "LENGTH", 3: "CRC", 4: "TRUNCATED", 5: "TYPE", 6: "PAYLOAD", 7: "NO_MODEL"}
STATS_FIELDS = ("frames_ok", "rejected_sync", "rejected_length", "rejected_crc", "rejected_truncated",
                "rejected_type", "rejected_payload", "uart_overruns", "samples_processed")


class ProtocolError(RuntimeError):
    """The link carried something that is not a valid frame (bad CRC, wrong reply)."""


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


@dataclass(frozen=True)
class SelfTestResult:
    status: str  # PASS, FAIL or NONE (no clip in the image)
    unit: str
    samples: int
    max_abs_error: float
    esr: float
    per_sample: float


class Client:
    """Request/reply over one firmware link; one request in flight at a time."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._sequence = 0
        self._text = b""  # the start of a text line cut by a frame or a read boundary

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
        reply = self.read_frame(timeout)
        return self.check_reply(reply, msg_type, sequence)

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
        unit, _, got_block, got_blocks, _, median, worst = struct.unpack(
            "<BBHHHII", self.request(BENCH, struct.pack("<HH", block, blocks), timeout=600.0))
        return BenchResult(UNITS.get(unit, str(unit)), got_block, got_blocks, median / 10.0, worst / 10.0)

    def stats(self) -> dict[str, int]:
        return dict(zip(STATS_FIELDS, struct.unpack("<9I", self.request(STATS))))

    def selftest(self) -> SelfTestResult:
        status, unit, _, samples, max_abs, esr, per_sample = struct.unpack(
            "<BBHIffI", self.request(SELFTEST, timeout=120.0))
        return SelfTestResult({0: "PASS", 1: "FAIL", 2: "NONE"}.get(status, str(status)), UNITS.get(unit, str(unit)),
                              samples, max_abs, esr, per_sample / 10.0)
