"""Chooses a transport from a target name: qemu, renode or serial:PORT."""

from __future__ import annotations

import os

from valvenet.device.transport import Transport, TransportError


def open_transport(target: str, firmware: str | os.PathLike[str] | None = None) -> Transport:
    """Return an unstarted transport for ``qemu``, ``renode`` or ``serial:PORT[@BAUD]``.

    ``firmware`` is the image the emulators load (mps2-an500 ELF for QEMU, NUCLEO-F767ZI
    ELF for Renode); a serial target runs whatever the board was flashed with.
    """
    if target == "qemu":
        from valvenet.device.qemu import QemuTransport

        if firmware is None:
            raise TransportError("target qemu needs a firmware image")
        return QemuTransport(firmware)
    if target == "renode":
        from valvenet.device.renode import RenodeTransport

        if firmware is None:
            raise TransportError("target renode needs a firmware image")
        return RenodeTransport(firmware)
    if target.startswith("serial:"):
        from valvenet.device.serial_port import SerialTransport

        return SerialTransport.from_spec(target[len("serial:"):])
    raise TransportError(f"unknown target {target!r}: expected qemu, renode or serial:PORT[@BAUD]")
