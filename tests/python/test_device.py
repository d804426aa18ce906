"""Tests of the host-side device link: console framing, the QEMU transport's errors, the
protocol version check, and the Renode transport's version check and environment (with a fake
`renode`: Renode itself cannot be installed here)."""

from __future__ import annotations

import os
import re
import socket
import struct
from pathlib import Path

import pytest

from valvenet.device import Console, TransportError, open_transport
from valvenet.device import protocol, renode, renode_version
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


# ---------------------------------------------------------------- Renode, checked without Renode
@pytest.mark.parametrize("output, version", [
    ("Renode v1.16.1.0\n", (1, 16, 1)),  # the portable .NET package
    ("Renode, version 1.15.1.27404 (3c9a9fd4-202412011200)\n", (1, 15, 1)),  # mono builds
    ("1.17.0 (1.17.0+20260907gitf1dd1b4af)\n", (1, 17, 0)),
    ("Using .NET 8.0.11\nRenode v1.16.2.0\n", (1, 16, 2)),  # Renode's own line, not the runtime's
])
def test_renode_version_is_read_from_its_version_output(output: str, version: tuple[int, int, int]) -> None:
    assert renode_version.parse_version(output) == version


@pytest.mark.parametrize("output", ["Renode v1.16.1.0", "Renode v1.16.2.0", "Renode v1.17.0.0", "Renode v2.0.0.0"])
def test_renode_from_the_minimum_on_is_accepted(output: str) -> None:
    assert renode_version.check_version(output) >= (1, 16, 1)


@pytest.mark.parametrize("output, shown", [
    ("Renode v1.16.0.0", "1.16.0"),  # lower-case request.offset in Python peripherals
    ("Renode, version 1.15.1.27404 (3c9a9fd4)", "1.15.1"),
    ("Renode v1.9.10.0", "1.9.10"),  # numbers, not text: "1.9" sorts after "1.16" as text
])
def test_an_older_renode_is_refused_naming_both_versions(output: str, shown: str) -> None:
    with pytest.raises(renode_version.RenodeVersionError,
                       match=rf"^Renode {re.escape(shown)} is too old: .* needs Renode >= 1\.16\.1 "):
        renode_version.check_version(output)


def test_output_without_a_version_is_an_error_quoting_it() -> None:
    with pytest.raises(renode_version.RenodeVersionError, match="cannot read a version .*Segmentation fault"):
        renode_version.check_version("Segmentation fault\n")


def fake_renode(folder: Path, version: str, launch_status: int = 3) -> Path:
    """A `renode` on PATH that prints `version` for --version and, launched, records where its
    XDG_CONFIG_HOME is, takes the config lock there as Renode does, and exits."""
    folder.mkdir(exist_ok=True)
    script = folder / "renode"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "Renode v{version}.0"; exit 0; fi\n'
        'echo "$XDG_CONFIG_HOME" > "$FAKE_RENODE_RECORD"\n'
        'mkdir -p "$XDG_CONFIG_HOME/renode" && : > "$XDG_CONFIG_HOME/renode/config.lock" || exit 9\n'
        f"exit {launch_status}\n")
    script.chmod(0o755)
    return script


@pytest.fixture()
def renode_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(renode, "_CHECKED_VERSIONS", {})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_RENODE_RECORD", str(tmp_path / "record"))
    (tmp_path / "image.elf").write_bytes(b"\x7fELF")
    (tmp_path / "launch.resc").write_text("")
    return tmp_path


def test_an_older_renode_on_path_fails_the_start_with_the_minimum(renode_on_path: Path) -> None:
    fake_renode(renode_on_path / "bin", "1.16.0")
    transport = renode.RenodeTransport(renode_on_path / "image.elf", resc=renode_on_path / "launch.resc")
    with pytest.raises(TransportError, match=r"Renode 1\.16\.0 is too old: .* needs Renode >= 1\.16\.1"):
        transport.start()
    assert not (renode_on_path / "record").exists()  # refused before launching


def test_renode_runs_with_a_writable_config_home_of_its_own(renode_on_path: Path) -> None:
    fake_renode(renode_on_path / "bin", "1.16.1", launch_status=3)
    transport = renode.RenodeTransport(renode_on_path / "image.elf", connect_timeout=20.0,
                                       resc=renode_on_path / "launch.resc")
    with pytest.raises(TransportError, match="renode exited with status 3 before the UART socket opened"):
        transport.start()  # the fake exits 9 instead when it cannot take its config lock
    config_home = Path((renode_on_path / "record").read_text().strip())
    assert config_home.name == "config" and config_home.parent.name.startswith("valvenet-renode-")
    assert config_home != Path.home() / ".config"
    assert not config_home.exists()  # the run's temporary directory is gone after close()


def test_a_renode_that_does_not_start_is_named_with_its_output(renode_on_path: Path) -> None:
    script = fake_renode(renode_on_path / "bin", "1.16.1")
    script.write_text("#!/bin/sh\necho 'No usable version of libssl was found' >&2\nexit 134\n")
    transport = renode.RenodeTransport(renode_on_path / "image.elf", resc=renode_on_path / "launch.resc")
    with pytest.raises(TransportError, match="--version` failed with status 134: .*libssl"):
        transport.start()
