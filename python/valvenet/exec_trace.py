"""The executed-instruction trace of one model's process() calls in QEMU, for the cycle model.

Debian's QEMU 7.2 has no TCG plugins, so this uses QEMU's own log: the bench image runs with
the bench's options plus `-singlestep -d exec,nochain -dfilter <ranges>`, so every executed
instruction inside the ranges is logged with its address, in order. The ranges are the
model's own functions and every function they call, directly or through calls of calls
(memcpy, memset, libm), found in the disassembly; the firmware's `bench MODEL BLOCK BLOCKS`
command drives the model. The trace starts at the model's first process() entry (reset and
what it calls come before and are dropped), and holds nothing else: the harness (test signal,
counter reads) lies outside the ranges. tools/profile/profile.py uses the same capture.

The log is ~80 bytes per executed instruction, in a temporary folder.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from valvenet.device.console import Console
from valvenet.device.qemu import QemuTransport
from valvenet.m7_decode import Instruction, parse_objdump

NM = "arm-none-eabi-nm"
OBJDUMP = "arm-none-eabi-objdump"
CALLS = ("bl", "b", "b.w", "blx")


@dataclass(frozen=True)
class Function:
    address: int
    size: int
    name: str


class TracingQemu(QemuTransport):
    """The bench transport with QEMU's instruction log switched on for some address ranges."""

    def __init__(self, firmware: Path, log: Path, ranges: list[tuple[int, int]]) -> None:
        super().__init__(firmware)
        self.log = log
        self.ranges = ranges

    def command_line(self, port: int) -> list[str]:
        cmd = super().command_line(port)
        dfilter = ",".join(f"0x{lo:x}..0x{hi - 1:x}" for lo, hi in self.ranges)
        help_text = subprocess.run([cmd[0], "-h"], capture_output=True, text=True).stdout
        # one instruction per translation block: -singlestep up to QEMU 8.0, then an accel property
        one_insn = ["-singlestep"] if "-singlestep" in help_text else ["-accel", "tcg,one-insn-per-tb=on"]
        return cmd[:1] + one_insn + ["-d", "exec,nochain", "-dfilter", dfilter, "-D", str(self.log)] + cmd[1:]


def functions(elf: Path) -> list[Function]:
    """The ELF's code symbols (Thumb bit cleared)."""
    out = subprocess.run([NM, "-S", "--defined-only", str(elf)], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTW":
            found.append(Function(int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    return found


def program(elf: Path) -> dict[int, Instruction]:
    """The ELF's whole disassembly, address -> Instruction."""
    out = subprocess.run([OBJDUMP, "-d", str(elf)], check=True, capture_output=True, text=True).stdout
    return parse_objdump(out)


VARIANTS = ("_recompute", "_int16")  # the zoo variants' symbol prefixes extend the float model's


def model_functions(all_functions: list[Function], prefix: str) -> list[Function]:
    """The functions of the generated model whose symbols start with `prefix` (without those
    of a variant whose prefix extends it: zoo_nam_nano_int16_* is not zoo_nam_nano's)."""
    others = tuple(prefix + variant + "_" for variant in VARIANTS if not prefix.endswith(variant))
    return [f for f in all_functions if f.name.startswith(prefix + "_") and not f.name.startswith(others) and f.size]


def with_callees(roots: list[Function], all_functions: list[Function], code: dict[int, Instruction]) -> list[Function]:
    """roots and every function reachable from them by direct calls and tail calls."""
    by_start = sorted((f for f in all_functions if f.size), key=lambda f: f.address)

    def containing(address: int) -> Function | None:
        for f in by_start:
            if f.address <= address < f.address + f.size:
                return f
        return None

    seen = {f.address: f for f in roots}
    todo = list(roots)
    while todo:
        f = todo.pop()
        for address in range(f.address, f.address + f.size, 2):
            insn = code.get(address)
            if insn is None or insn.mnemonic.split(".")[0] not in ("bl", "b"):
                continue
            target = re.match(r"\s*([0-9a-f]+)\b", insn.operands)
            callee = containing(int(target.group(1), 16)) if target else None
            if callee is not None and callee.address not in seen:
                seen[callee.address] = callee
                todo.append(callee)
    return sorted(seen.values(), key=lambda f: f.address)


def read_trace(log: Path, start: int) -> list[int]:
    """Executed addresses from QEMU's exec log, from the first execution of `start` on."""
    addresses = []
    pattern = re.compile(rb"\[[0-9a-f]+/([0-9a-f]+)/")
    with open(log, "rb") as f:
        for line in f:
            match = pattern.search(line)
            if match:
                addresses.append(int(match.group(1), 16))
    try:
        return addresses[addresses.index(start):]
    except ValueError:
        return []


def trace_model(elf: Path, index: int, prefix: str, block: int, blocks: int,
                code: dict[int, Instruction], all_functions: list[Function]) -> tuple[list[int], list[Function]]:
    """(executed addresses of the model's process() calls, the traced functions) for the
    image's model `index` (symbol prefix `prefix`) run for `blocks` blocks of `block`."""
    own = model_functions(all_functions, prefix)
    process = [f for f in own if f.name == prefix + "_process"]
    if not process:
        raise RuntimeError(f"no function {prefix}_process in {elf}")
    traced = with_callees(own, all_functions, code)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "exec.log"
        transport = TracingQemu(elf, log, [(f.address, f.address + f.size) for f in traced])
        transport.start()
        try:
            console = Console(transport)
            console.wait_for_line(r"^ValveNet ", 60)
            reply = console.command(f"bench {index} {block} {blocks}", timeout=1800)
            if not reply.startswith("OK bench"):
                raise RuntimeError(f"bench {index} {block} {blocks}: {reply}")
        finally:
            transport.close()
        return read_trace(log, process[0].address), traced
