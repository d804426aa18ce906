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
  - branches: a 1-bit predictor per branch address (first sight: backward taken, forward not
    taken, unconditional taken); a wrong guess costs BRANCH_PENALTY cycles;
  - code outside ITCM is fetched from flash in 256-bit lines with FLASH_WAIT_STATES: entering
    a line by a jump costs the wait states, sequential execution streams with the prefetch
    (a stall only when the previous line ran in fewer cycles than one line fetch).
  - data accesses are zero-wait (DTCM, or data kept in cache); ITCM code is zero-wait.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

LOAD_LATENCY = 2
MAC_LATENCY = 2
FP_LATENCY = 3
FP_MAC_LATENCY = 4
DIVIDE_CYCLES = 14
INT_DIVIDE_CYCLES = 8
BRANCH_PENALTY = 4
FLASH_WAIT_STATES = 7
FLASH_LINE_BYTES = 32

CONDITIONS = ("eq", "ne", "cs", "cc", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")
ALU = {"add", "adc", "sub", "sbc", "rsb", "mov", "mvn", "and", "orr", "orn", "eor", "bic", "lsl", "lsr", "asr",
       "ror", "rrx", "cmp", "cmn", "tst", "teq", "ubfx", "sbfx", "bfi", "bfc", "uxth", "sxth", "uxtb", "sxtb",
       "uxtah", "sxtah", "uxtab", "sxtab", "uxtb16", "sxtb16", "rev", "rev16", "revsh", "rbit", "clz", "ssat",
       "usat", "ssat16", "usat16", "sel", "qadd", "qsub", "qdadd", "qdsub", "qadd16", "qsub16", "sadd16",
       "ssub16", "uadd16", "usub16", "shadd16", "shsub16", "qasx", "qsax", "sasx", "ssax", "pkhbt", "pkhtb",
       "movw", "movt", "adr", "it", "nop", "neg", "udf", "bkpt", "addw", "subw", "usad8", "usada8", "sadd8", "uadd8", "qadd8", "uqadd16",
       "uqsub16", "ssub8", "usub8", "dmb", "dsb", "isb", "cpsie", "cpsid", "mrs", "msr", "wfi"}
MAC = {"mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "smlad", "smladx", "smlsd", "smlsdx", "smuad",
       "smuadx", "smusd", "smusdx", "smlald", "smlaldx", "smlsld", "smmul", "smmulr", "smmla", "smmlar", "smmls",
       "smmlsr", "smulbb", "smulbt", "smultb", "smultt", "smlabb", "smlabt", "smlatb", "smlatt", "smulwb",
       "smulwt", "smlawb", "smlawt", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "umaal"}
INT_DIVIDE = {"sdiv", "udiv"}
LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrd", "ldrex", "ldrt", "vldr", "pld", "ldrexb", "ldrexh"}
STORES = {"str", "strb", "strh", "strd", "strex", "vstr", "strexb", "strexh"}
MULTI_LOADS = {"ldm", "ldmia", "ldmdb", "ldmfd", "pop", "vldm", "vldmia", "vldmdb", "vpop"}
MULTI_STORES = {"stm", "stmia", "stmdb", "stmfd", "push", "vstm", "vstmia", "vstmdb", "vpush"}
BRANCHES = {"b", "bl", "blx", "bx", "cbz", "cbnz", "tbb", "tbh"}
FP_MAC = {"vfma", "vfms", "vfnma", "vfnms", "vmla", "vmls", "vnmla", "vnmls"}
FP_DIVIDE = {"vdiv", "vsqrt"}
FP_MOVE = {"vmov", "vmrs", "vmsr"}
FP_OTHER = {"vadd", "vsub", "vmul", "vnmul", "vneg", "vabs", "vcvt", "vcmp", "vcmpe", "vmaxnm", "vminnm"}
ACCUMULATES = FP_MAC | {"movt", "bfi", "bfc", "smlal", "umlal", "smlald", "smlaldx", "smlsld", "smlalbb",
                        "smlalbt", "smlaltb", "smlaltt", "umaal"}
KNOWN = ALU | MAC | INT_DIVIDE | LOADS | STORES | MULTI_LOADS | MULTI_STORES | BRANCHES

REGISTER = re.compile(r"\b(r1[0-5]|r[0-9]|sp|lr|pc|ip|fp|sl|sb|s[0-9]{1,2}|d[0-9]{1,2})\b")
ALIASES = {"sb": "r9", "sl": "r10", "fp": "r11", "ip": "r12", "r13": "sp", "r14": "lr", "r15": "pc"}
FLAGS = "flags"


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction: what the issue model needs of it."""
    address: int
    size: int  # bytes: 2 or 4
    mnemonic: str  # as objdump prints it, e.g. "vfma.f32", "ldr.w", "bne.n"
    operands: str = ""


@dataclass(frozen=True)
class Decoded:
    base: str  # mnemonic without condition, flag-setting "s", width and type suffixes
    pipe: str  # alu, mac, div, lsu, branch, fp, fpdiv
    sources: frozenset[str]
    dests: frozenset[str]
    accumulator: frozenset[str]  # a MAC's accumulator input (forwarded from a chained MAC)
    literal: bool  # a PC-relative load: its data comes from the code's own memory
    latency: int  # cycles until the dests can be read
    occupancy: int  # cycles the instruction holds the issue stage (multi-cycle transfers)
    branch: bool  # changes the flow: B/BL/BX/CBZ/TBB, or a load/POP that writes PC
    conditional_branch: bool
    target: int | None  # a direct branch's target address


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


def _register(name: str) -> list[str]:
    """A register as the S/R names the model tracks (a D register is its two S halves)."""
    name = ALIASES.get(name, name)
    if name[0] == "d":
        n = int(name[1:])
        return [f"s{2 * n}", f"s{2 * n + 1}"]
    return [name]


def _registers(text: str) -> list[str]:
    text = re.sub(r"\{([sdr])(\d+)-[sdr](\d+)\}", lambda m: "{" + ", ".join(
        f"{m.group(1)}{i}" for i in range(int(m.group(2)), int(m.group(3)) + 1)) + "}", text)
    out: list[str] = []
    for name in REGISTER.findall(text):
        out += _register(name)
    return out


def _split_mnemonic(mnemonic: str) -> tuple[str, bool, bool]:
    """(base, sets flags, conditional) of an objdump mnemonic such as "addseq.w" or "bne.n"."""
    head = mnemonic.lower().split(".")[0]
    if re.fullmatch(r"it[te]{0,3}", head):
        return "it", False, False
    if head.startswith("v"):
        cond = head[-2:] in CONDITIONS and head[:-2] in KNOWN | FP_MAC | FP_DIVIDE | FP_MOVE | FP_OTHER
        return (head[:-2] if cond else head), False, cond
    for candidate, cond in ((head, False), (head[:-2], True)):
        if cond and head[-2:] not in CONDITIONS:
            continue
        if candidate in KNOWN:
            return candidate, False, cond
        if candidate.endswith("s") and candidate[:-1] in ALU | MAC:
            return candidate[:-1], True, cond
    return head, False, False


def _operands(operands: str) -> str:
    """Operand text without objdump's comment and symbol annotations."""
    return re.sub(r"<[^>]*>", "", operands.split("@")[0]).strip()


def decode(insn: Instruction) -> Decoded:
    """Pipe, registers read and written, latency and occupancy of one instruction."""
    base, sets_flags, conditional = _split_mnemonic(insn.mnemonic)
    text = _operands(insn.operands)
    regs = _registers(text)
    target = None
    if base in BRANCHES or base in ("cbz", "cbnz"):
        hit = re.search(r"\b([0-9a-f]+)\s*$", text)
        target = int(hit.group(1), 16) if hit and base in ("b", "bl", "cbz", "cbnz") else None
    memory = re.search(r"\[([^\]]*)\](!?)(,\s*#?-?\w+)?", text)
    address_regs = _registers(memory.group(1)) if memory else []
    writeback = bool(memory and (memory.group(2) or memory.group(3))) or "!" in text.split(",")[0]
    sources: list[str] = []
    dests: list[str] = []
    latency, occupancy, pipe = 1, 1, "alu"
    accumulator: list[str] = []
    if base in LOADS:
        pipe, latency = "lsu", LOAD_LATENCY
        dests = _registers(text[: text.find("[")]) if "[" in text else regs[:1]
        sources = address_regs
        if writeback:
            dests += address_regs[:1]
    elif base in STORES:
        pipe, sources = "lsu", regs
        if writeback:
            dests = address_regs[:1]
    elif base in MULTI_LOADS or base in MULTI_STORES:
        listed = _registers(text[text.find("{"):]) if "{" in text else []
        base_reg = [] if base in ("pop", "push", "vpop", "vpush") else _registers(text.split(",")[0])
        stack = ["sp"] if base in ("pop", "push", "vpop", "vpush") else base_reg
        written = stack if base in ("pop", "push", "vpop", "vpush") or "!" in text.split(",")[0] else []
        pipe, latency = "lsu", LOAD_LATENCY
        occupancy = max(1, (len(listed) + 1) // 2)
        if base in MULTI_LOADS:
            dests, sources = listed + written, stack
        else:
            dests, sources = written, listed + stack
    elif base in BRANCHES:
        pipe, sources = "branch", regs
        if base in ("bl", "blx"):
            dests = ["lr"]
    elif base in MAC or base in INT_DIVIDE:
        pipe = "mac" if base in MAC else "div"
        latency = MAC_LATENCY if base in MAC else INT_DIVIDE_CYCLES
        occupancy = 1 if base in MAC else INT_DIVIDE_CYCLES
        two = base in ("smull", "umull") or base in ACCUMULATES
        dests = regs[:2] if two else regs[:1]
        sources = regs[len(dests):] + (dests if base in ACCUMULATES else [])
        if base in ACCUMULATES:
            accumulator = dests
        elif len(regs) == 4 and base in MAC:  # MLA, SMLAD, SMLABB...: Ra is the last operand
            accumulator = regs[3:]
    elif base.startswith("v"):
        pipe, latency = "fp", FP_LATENCY
        if base in FP_DIVIDE:
            pipe, latency = "fpdiv", DIVIDE_CYCLES
        elif base in FP_MAC:
            latency = FP_MAC_LATENCY
        elif base in FP_MOVE:
            latency = 1
        if base == "vmrs":
            dests = [FLAGS] if "apsr" in text.lower() else regs[:1]
            sources = ["fpscr"] if "apsr" in text.lower() else []
        elif base in ("vcmp", "vcmpe"):
            dests, sources = ["fpscr"], regs
        elif base == "vmov" and len(text.split(",")) == 4:
            dests, sources = regs[:2], regs[2:]
        elif base == "vmov" and len(text.split(",")) == 3 and text.split(",")[0].strip().startswith("r"):
            dests, sources = regs[:2], regs[2:]
        else:
            first = _registers(text.split(",")[0])
            dests, sources = first, regs[len(first):] + (first if base in ACCUMULATES else [])
    else:  # ALU
        if base in ("cmp", "cmn", "tst", "teq"):
            dests, sources = [FLAGS], regs
        elif base in ("it", "nop", "dmb", "dsb", "isb", "cpsie", "cpsid", "wfi"):
            dests, sources = [], []
        else:
            dests, sources = regs[:1], regs[1:] + (regs[:1] if base in ACCUMULATES else [])
    if sets_flags:
        dests = list(dests) + [FLAGS]
    if conditional or base == "it" or (base == "b" and insn.mnemonic.lower().split(".")[0] != "b"):
        sources = list(sources) + [FLAGS]
    conditional_branch = pipe == "branch" and (base in ("cbz", "cbnz") or insn.mnemonic.lower().split(".")[0]
                                               not in ("b", "bl", "blx", "bx"))
    branch = pipe == "branch" or "pc" in dests  # pop {pc}, ldr pc: a branch as well
    literal = pipe == "lsu" and address_regs == ["pc"]
    return Decoded(base, pipe, frozenset(sources) - {"pc"}, frozenset(dests) - {"pc"}, frozenset(accumulator),
                   literal, latency, occupancy, branch, conditional_branch, target)




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


STALL_NAMES = {"lsu": "load-use", "mac": "MAC/multiply latency", "fp": "FP latency", "fpdiv": "FP divide",
               "div": "integer divide", "alu": "ALU result", "branch": "ALU result"}


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
            self.result.stalls["branch mispredict"] += BRANCH_PENALTY
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
        if (self.in_group == 1 and not self.closed and earliest <= self.cycle and dec.occupancy == 1
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
        return issue

    def _cause(self, waits: dict[str, int], sources: frozenset[str], pipe: str, issue: int) -> str:
        if waits.get("flash wait", -1) == issue:
            return "flash wait"
        if waits["dependency"] == issue:
            latest = max(sources, key=lambda r: self.ready[r])
            return STALL_NAMES.get(self.producer.get(latest, "alu"), "ALU result")
        if waits["pipe"] == issue:
            return STALL_NAMES["fpdiv" if pipe == "fp" else "div"]
        return "branch mispredict / multi-cycle"

    def _retire(self, dec: Decoded, issue: int, pipe: str) -> None:
        for reg in dec.dests:
            self.ready[reg] = issue + dec.latency
            self.producer[reg] = dec.pipe
        self.mac_dests = dec.dests if dec.pipe == "mac" else self.mac_dests - dec.dests
        if dec.occupancy > 1:
            self.not_before = max(self.not_before, issue + dec.occupancy)
            self.closed = True
            if dec.pipe == "lsu":
                self.result.stalls["multi-cycle transfer"] += dec.occupancy - 1
        if dec.pipe == "fpdiv":
            self.pipe_free["fp"] = issue + DIVIDE_CYCLES
        if dec.pipe == "div":
            self.pipe_free["div"] = issue + INT_DIVIDE_CYCLES
        self.last_done = max(self.last_done, issue + dec.latency, issue + dec.occupancy)


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


def parse_objdump(text: str) -> dict[int, Instruction]:
    """address -> Instruction from `arm-none-eabi-objdump -d` output (with raw bytes, which
    give each instruction's size)."""
    program = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([0-9a-f]+):\t([0-9a-f]{4}(?: [0-9a-f]{4})?)\s*\t(\S+)(?:\t(.*))?$", line)
        if match and not match.group(3).startswith("."):
            size = 2 * len(match.group(2).split())
            program[int(match.group(1), 16)] = Instruction(int(match.group(1), 16), size, match.group(3),
                                                           match.group(4) or "")
    return program
