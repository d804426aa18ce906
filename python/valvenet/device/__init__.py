"""Host side of the firmware link: one client API over QEMU, Renode and a serial port."""

from valvenet.device.transport import Transport, TransportError
from valvenet.device.console import Console
from valvenet.device.targets import open_transport

__all__ = ["Transport", "TransportError", "Console", "open_transport"]
