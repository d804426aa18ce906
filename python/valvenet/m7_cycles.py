"""An estimate of Cortex-M7 cycles for an executed-instruction trace (addresses + disassembly).

QEMU counts instructions exactly, but the budget is in cycles: the M7 issues up to two
instructions per cycle, and loads, FP latencies, VDIV and flash wait states cost more than
one. This module replays a trace through a small in-order issue model with documented rules
(docs/benchmarks.md, "The cycle model"), so that the benchmark can say where instructions
understate cycles. It is a model, not a measurement: its error against a board's DWT CYCCNT
is what the hardware timing job is for.

The rules, in order of application for each instruction:
  - it issues no earlier than its source registers (and flags) are ready: ALU results after
    1 cycle, loads after LOAD_LATENCY (load-use stall), integer multiplies and MACs after
    MAC_LATENCY (a MAC chained on the previous MAC's accumulator forwards it: no stall), FP
    add/multiply after FP_LATENCY, FP fused multiply-add after FP_MAC_LATENCY, VDIV/VSQRT
    after DIVIDE_CYCLES (and the FP pipe issues nothing else meanwhile);
  - two instructions share a cycle (dual issue) when the second needs no result of the first,
    they use different pipes (one load/store, one multiply/MAC, one FP data-processing per
    cycle; two ALU ops may pair), neither is a multi-cycle transfer (LDM/STM/PUSH/POP,
    VLDM/VSTM/VPUSH/VPOP: one cycle per 64 bits moved), and the first is not a taken branch;
  - branches: each branch address predicts its last outcome or target (first sight: backward
    and unconditional taken, forward not taken, indirect ones right); a wrong guess costs
    BRANCH_PENALTY cycles;
  - code outside ITCM is fetched from flash in 256-bit lines with FLASH_WAIT_STATES: entering
    a line by a jump costs the wait states, sequential execution streams with the prefetch
    (a stall only when the previous line ran in fewer cycles than one line fetch).
  - data accesses are zero-wait (DTCM, or data kept in cache), except a PC-relative literal
    load from code outside ITCM, which waits FLASH_WAIT_STATES more; ITCM code is zero-wait.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Callable, Iterable

from valvenet.m7_decode import FLAGS, Decoded, Instruction, decode, parse_objdump

LOAD_LATENCY = 2
MAC_LATENCY = 2
FP_LATENCY = 3
FP_MAC_LATENCY = 4
DIVIDE_CYCLES = 14
INT_DIVIDE_CYCLES = 8
BRANCH_PENALTY = 4
FLASH_WAIT_STATES = 7
FLASH_LINE_BYTES = 32

LATENCY = {"alu": 1, "load": LOAD_LATENCY, "store": 1, "multi": LOAD_LATENCY, "branch": 1, "mac": MAC_LATENCY,
           "div": INT_DIVIDE_CYCLES, "fp": FP_LATENCY, "fpmac": FP_MAC_LATENCY, "fpdiv": DIVIDE_CYCLES, "fpmove": 1}

__all__ = ["Estimate", "Instruction", "decode", "estimate", "parse_objdump"]


def occupancy(dec: Decoded) -> int:
    """Cycles an instruction holds the issue stage: one per 64 bits for a multi-register transfer."""
    return max(1, (dec.moved + 1) // 2) if dec.kind == "multi" else 1


@dataclass
class Estimate:
    """Cycles for a trace, with where the cycles beyond the ideal issue went."""
    cycles: int = 0
    instructions: int = 0
    dual_issued: int = 0
    stalls: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def cycles_per_instruction(self) -> float:
        return self.cycles / self.instructions if self.instructions else 0.0


class _Fetch:
    """Flash line fetch timing for code outside ITCM: a line entered by a jump arrives
    FLASH_WAIT_STATES cycles later; the next sequential line is prefetched, so it stalls only
    when the previous line ran in fewer cycles than one line fetch (wait states + 1)."""

    def __init__(self) -> None:
        self.line = -2
        self.arrived = 0

    def ready(self, address: int, now: int, jumped: bool) -> int:
        line = address // FLASH_LINE_BYTES
        if line == self.line:
            return self.arrived
        if line == self.line + 1 and not jumped:
            arrival = max(now, self.arrived + FLASH_WAIT_STATES + 1)
        else:
            arrival = now + FLASH_WAIT_STATES
        self.line, self.arrived = line, arrival
        return arrival


STALL_NAMES = {"load": "load-use", "multi": "load-use", "mac": "MAC/multiply latency", "fp": "FP latency",
               "fpmac": "FP latency", "fpmove": "FP latency", "fpdiv": "FP divide", "div": "integer divide",
               "flash literal": "flash literal load"}


class _Core:
    """The in-order issue state: the current cycle, its issue group, when each register is
    ready (and which pipe produced it), the busy pipes and the branch predictor."""

    def __init__(self, in_itcm: Callable[[int], bool]) -> None:
        self.in_itcm = in_itcm
        self.result = Estimate()
        self.ready: dict[str, int] = collections.defaultdict(int)
        self.producer: dict[str, str] = {}
        self.mac_dests: frozenset[str] = frozenset()
        self.pipe_free: dict[str, int] = collections.defaultdict(int)
        self.predictor: dict[int, int] = {}
        self.fetch = _Fetch()
        self.cycle, self.in_group, self.closed = 0, 0, True
        self.group_pipes: set[str] = set()
        self.group_dests: frozenset[str] = frozenset()
        self.not_before, self.jumped = 0, True
        self.order_reason = "branch mispredict"  # what set not_before last
        self.last_done = 0

    def resolve_branch(self, insn: Instruction, dec: Decoded, issued: int, next_address: int) -> None:
        """The previous instruction's outcome: a taken branch ends the group; a wrong
        prediction delays the next issue by BRANCH_PENALTY."""
        fallthrough = insn.address + insn.size
        self.jumped = next_address != fallthrough
        if self.jumped:
            self.closed = True
        if not dec.branch:
            return
        predicted = self.predictor.get(insn.address)
        if predicted is None:  # static: backward or unconditional taken; indirect: return stack / BTAC
            if dec.target is None and not dec.conditional_branch:
                predicted = next_address
            elif not dec.conditional_branch or (dec.target is not None and dec.target < insn.address):
                predicted = dec.target if dec.target is not None else next_address
            else:
                predicted = fallthrough
        if predicted != next_address:
            self.not_before = max(self.not_before, issued + 1 + BRANCH_PENALTY)
            self.order_reason = "branch mispredict"
        self.predictor[insn.address] = next_address

    def issue(self, insn: Instruction, dec: Decoded) -> int:
        """Issue one instruction; returns its issue cycle."""
        sources = dec.sources
        if dec.pipe == "mac":
            sources = sources - (dec.accumulator & self.mac_dests)  # a chained MAC's accumulator is forwarded
        pipe = "fp" if dec.pipe == "fpdiv" else dec.pipe
        natural = self.cycle + 1 if self.in_group else self.cycle
        waits = {"dependency": max([0] + [self.ready[r] for r in sources]), "pipe": self.pipe_free[pipe],
                 "order": self.not_before}
        if not self.in_itcm(insn.address):
            waits["flash wait"] = self.fetch.ready(insn.address, natural, self.jumped)
        earliest = max(waits.values())
        if (self.in_group == 1 and not self.closed and earliest <= self.cycle and occupancy(dec) == 1
                and (pipe not in self.group_pipes or pipe == "alu")
                and not (dec.sources | (dec.dests - {FLAGS})) & self.group_dests):
            self.in_group = 2
            self.result.dual_issued += 1
            issue = self.cycle
        else:
            issue = max(natural, earliest)
            if issue > natural:
                self.result.stalls[self._cause(waits, sources, pipe, issue)] += issue - natural
            self.cycle, self.in_group, self.closed = issue, 1, False
            self.group_pipes, self.group_dests = set(), frozenset()
        self.group_pipes.add(pipe)
        self.group_dests = self.group_dests | dec.dests
        self._retire(dec, issue, pipe)
        if dec.literal and not self.in_itcm(insn.address):  # a constant read from flash
            for reg in dec.dests:
                self.ready[reg] += FLASH_WAIT_STATES
                self.producer[reg] = "flash literal"
        return issue

    def _cause(self, waits: dict[str, int], sources: frozenset[str], pipe: str, issue: int) -> str:
        if waits.get("flash wait", -1) == issue:
            return "flash wait"
        if waits["dependency"] == issue:
            latest = max(sources, key=lambda r: self.ready[r])
            return STALL_NAMES.get(self.producer.get(latest, "alu"), "ALU result")
        if waits["pipe"] == issue:
            return STALL_NAMES["fpdiv" if pipe == "fp" else "div"]
        return self.order_reason

    def _retire(self, dec: Decoded, issue: int, pipe: str) -> None:
        for reg in dec.dests:
            self.ready[reg] = issue + LATENCY[dec.kind]
            self.producer[reg] = dec.kind
        self.mac_dests = dec.dests if dec.pipe == "mac" else self.mac_dests - dec.dests
        held = occupancy(dec)
        if held > 1:
            self.not_before = max(self.not_before, issue + held)
            self.order_reason = "multi-cycle transfer"
            self.closed = True
        if dec.pipe == "fpdiv":
            self.pipe_free["fp"] = issue + DIVIDE_CYCLES
        if dec.pipe == "div":
            self.pipe_free["div"] = issue + INT_DIVIDE_CYCLES
        self.last_done = max(self.last_done, issue + LATENCY[dec.kind], issue + held)


def estimate(trace: Iterable[int], program: dict[int, Instruction],
             in_itcm: Callable[[int], bool] = lambda address: True) -> Estimate:
    """Cycles to execute `trace` (executed instruction addresses, in order) of `program`.
    Addresses for which in_itcm is False are fetched from flash. An address missing from the
    program counts as one cycle on its own."""
    core = _Core(in_itcm)
    decoded: dict[int, Decoded] = {}
    previous: tuple[Instruction, Decoded, int] | None = None
    for address in trace:
        core.result.instructions += 1
        if previous is not None:
            core.resolve_branch(previous[0], previous[1], previous[2], address)
        insn = program.get(address)
        if insn is None:
            core.cycle, core.in_group, core.closed, core.jumped = core.cycle + 1, 1, True, True
            previous = None
            continue
        dec = decoded.get(address)
        if dec is None:
            dec = decoded[address] = decode(insn)
        previous = (insn, dec, core.issue(insn, dec))
        core.jumped = False
    result = core.result
    if result.instructions:
        result.cycles = max(core.cycle + 1, core.last_done, core.not_before)
    return result


