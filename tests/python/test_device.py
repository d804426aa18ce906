"""Tests of the host-side device link: console framing, the QEMU transport's errors and the
protocol version check."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from valvenet.device import Console, TransportError, open_transport
from valvenet.device import protocol
from valvenet.device.qemu import QemuTransport
from valvenet.device.transport import Transport


class SocketTransport(Transport):
    """A real byte stream (one end of a socket pair), standing in for a UART link."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def start(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(max_bytes)
        except socket.timeout:
            return b""
        if not data:
            raise TransportError("peer closed")
        return data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def link() -> tuple[Console, socket.socket]:
    host, firmware = socket.socketpair()
    console = Console(SocketTransport(host))
    yield console, firmware
    host.close()
    firmware.close()


def test_lines_split_across_reads_and_crlf_are_joined(link: tuple[Console, socket.socket]) -> None:
    console, firmware = link
    firmware.sendall(b"Valve")
    firmware.sendall(b"Net 0.1.0\r\nsecond\n")
    assert console.read_line(2.0) == "ValveNet 0.1.0"
    assert console.read_line(2.0) == "second"
    assert console.history == ["ValveNet 0.1.0", "second"]


def test_wait_for_line_skips_noise_and_returns_the_match(link: tuple[Console, socket.socket]) -> None:
    console, firmware = link
    firmware.sendall(b"boot noise\r\nValveNet 0.1.0 rev=abc board=x\r\n")
    match = console.wait_for_line(r"board=(\w+)", 2.0)
    assert match.group(1) == "x"


def test_timeout_names_what_was_received(link: tuple[Console, socket.socket]) -> None:
    console, firmware = link
    firmware.sendall(b"partial")
    with pytest.raises(TransportError, match="partial"):
        console.read_line(0.3)


def test_read_exact_times_out_with_a_count(link: tuple[Console, socket.socket]) -> None:
    console, firmware = link
    firmware.sendall(b"abc")
    with pytest.raises(TransportError, match="got 3 of 5 bytes"):
        console.transport.read_exact(5, 0.3)


def test_qemu_transport_reports_a_missing_image(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="firmware image not found"):
        QemuTransport(tmp_path / "missing.elf").start()


def test_unknown_target_is_a_clear_error() -> None:
    with pytest.raises(TransportError, match="unknown target 'jtag'"):
        open_transport("jtag")
    with pytest.raises(TransportError, match="needs a firmware image"):
        open_transport("qemu")


def info_reply(version: int, sequence: int = 1) -> bytes:
    """An INFO reply frame as a firmware speaking `version` sends it (one model, 48 kHz)."""
    fixed = struct.pack("<HBBBBBBIIIIIIIHH", version, 0, 1, 3, 1, 2, 0, 48000, 10, 20, 1, 0xABCD, 64,
                        216_000_000, protocol.MAX_SAMPLES, 0)
    strings = b"".join(bytes([len(text)]) + text for text in (b"lstm-12", b"mps2_an500", b"abc", b"0.1.0"))
    return protocol.encode(protocol.INFO | protocol.REPLY, sequence, fixed + strings)


def test_info_from_firmware_of_this_protocol_version(link: tuple[Console, socket.socket]) -> None:
    console, firmware = link
    firmware.sendall(b"ValveNet 0.1.0\r\n" + info_reply(protocol.PROTOCOL_VERSION))
    info = protocol.Client(console).info()
    assert (info.protocol_version, info.name, info.kind, info.sample_rate) == (protocol.PROTOCOL_VERSION, "lstm-12",
                                                                              "lstm", 48000)


@pytest.mark.parametrize("offset, advice", [(-1, "rebuild and flash the firmware"), (1, "update ValveNet")])
def test_firmware_of_another_protocol_version_is_named_with_the_fix(link: tuple[Console, socket.socket], offset: int,
                                                                     advice: str) -> None:
    console, firmware = link
    version = protocol.PROTOCOL_VERSION + offset
    firmware.sendall(info_reply(version))
    with pytest.raises(protocol.VersionError) as raised:
        protocol.Client(console).info()
    assert str(raised.value).startswith(f"firmware speaks protocol v{version}, this host v{protocol.PROTOCOL_VERSION}: ")
    assert advice in str(raised.value)
