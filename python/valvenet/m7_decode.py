"""Decoding of Cortex-M7 (Thumb-2, FPv5) instructions as arm-none-eabi-objdump prints them,
for the cycle model (valvenet.m7_cycles): which issue pipe an instruction needs, what sets its
latency, and which registers and flags it reads and writes.

The decoder works on objdump's text (mnemonic and operands), not on encodings: enough for the
instructions GCC emits for the engines and libc; an unknown mnemonic decodes as an ALU op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    """What the issue model needs of an instruction."""
    base: str  # mnemonic without condition, flag-setting "s", width and type suffixes
    pipe: str  # the issue slot it needs: alu, mac, div, lsu, branch, fp (VDIV/VSQRT: fpdiv)
    kind: str  # what sets its latency: alu, load, store, multi, branch, mac, div, fp, fpmac, fpdiv, fpmove
    sources: frozenset[str]
    dests: frozenset[str]
    accumulator: frozenset[str] = frozenset()  # a MAC's accumulator input (forwarded from a chained MAC)
    literal: bool = False  # a PC-relative load: its data comes from the code's own memory
    moved: int = 0  # registers a multi-register transfer moves
    branch: bool = False  # changes the flow: B/BL/BX/CBZ/TBB, or a load/POP that writes PC
    conditional_branch: bool = False
    target: int | None = None  # a direct branch's target address


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


Parts = tuple[str, str, list[str], list[str], list[str]]  # pipe, kind, sources, dests, accumulator


def _memory(base: str, text: str, regs: list[str], address_regs: list[str], writeback: bool) -> Parts:
    """Single loads and stores: the transfer registers before '[', the address inside it."""
    if base in LOADS:
        dests = _registers(text[: text.find("[")]) if "[" in text else regs[:1]
        return "lsu", "load", address_regs, dests + (address_regs[:1] if writeback else []), []
    return "lsu", "store", regs, address_regs[:1] if writeback else [], []


def _multi(base: str, text: str) -> tuple[Parts, int]:
    """LDM/STM/PUSH/POP and their FP forms: the listed registers, the base (written back with '!')."""
    listed = _registers(text[text.find("{"):]) if "{" in text else []
    stack_op = base in ("pop", "push", "vpop", "vpush")
    address = ["sp"] if stack_op else _registers(text.split(",")[0])
    written = address if stack_op or "!" in text.split(",")[0] else []
    if base in MULTI_LOADS:
        return ("lsu", "multi", address, listed + written, []), len(listed)
    return ("lsu", "multi", listed + address, written, []), len(listed)


def _multiply(base: str, regs: list[str]) -> Parts:
    """MUL/MLA/SMLAD/SMULL/SMLAL...: Rd (RdLo, RdHi for the long forms) and the accumulator."""
    two = base in ("smull", "umull") or base in ACCUMULATES
    dests = regs[:2] if two else regs[:1]
    sources = regs[len(dests):] + (dests if base in ACCUMULATES else [])
    if base in INT_DIVIDE:
        return "div", "div", sources, dests, []
    if base in ACCUMULATES:
        return "mac", "mac", sources, dests, dests
    return "mac", "mac", sources, dests, regs[3:] if len(regs) == 4 else []  # MLA, SMLAD...: Ra is last


def _floating(base: str, text: str, regs: list[str]) -> Parts:
    """FP data processing, moves, compares and the FPSCR transfers."""
    kind = "fpdiv" if base in FP_DIVIDE else "fpmac" if base in FP_MAC else "fpmove" if base in FP_MOVE else "fp"
    pipe = "fpdiv" if kind == "fpdiv" else "fp"
    fields = text.split(",")
    if base == "vmrs":
        apsr = "apsr" in text.lower()
        return pipe, kind, ["fpscr"] if apsr else [], [FLAGS] if apsr else regs[:1], []
    if base in ("vcmp", "vcmpe"):
        return pipe, kind, regs, ["fpscr"], []
    if base == "vmov" and (len(fields) == 4 or (len(fields) == 3 and fields[0].strip().startswith("r"))):
        return pipe, kind, regs[2:], regs[:2], []  # two core registers <-> a D register or two S
    first = _registers(fields[0])
    return pipe, kind, regs[len(first):] + (first if base in ACCUMULATES else []), first, []


def _integer(base: str, regs: list[str]) -> Parts:
    if base in ("cmp", "cmn", "tst", "teq"):
        return "alu", "alu", regs, [FLAGS], []
    if base in ("it", "nop", "dmb", "dsb", "isb", "cpsie", "cpsid", "wfi"):
        return "alu", "alu", [], [], []
    return "alu", "alu", regs[1:] + (regs[:1] if base in ACCUMULATES else []), regs[:1], []


def decode(insn: Instruction) -> Decoded:
    """Pipe, latency class and the registers (and flags) an instruction reads and writes."""
    base, sets_flags, conditional = _split_mnemonic(insn.mnemonic)
    text = _operands(insn.operands)
    regs = _registers(text)
    memory = re.search(r"\[([^\]]*)\](!?)(,\s*#?-?\w+)?", text)
    address_regs = _registers(memory.group(1)) if memory else []
    writeback = bool(memory and (memory.group(2) or memory.group(3))) or "!" in text.split(",")[0]
    moved, target = 0, None
    if base in LOADS or base in STORES:
        parts = _memory(base, text, regs, address_regs, writeback)
    elif base in MULTI_LOADS or base in MULTI_STORES:
        parts, moved = _multi(base, text)
    elif base in BRANCHES:
        parts = ("branch", "branch", regs, ["lr"] if base in ("bl", "blx") else [], [])
        hit = re.search(r"\b([0-9a-f]+)\s*$", text)
        target = int(hit.group(1), 16) if hit and base in ("b", "bl", "cbz", "cbnz") else None
    elif base in MAC or base in INT_DIVIDE:
        parts = _multiply(base, regs)
    elif base.startswith("v"):
        parts = _floating(base, text, regs)
    else:
        parts = _integer(base, regs)
    pipe, kind, sources, dests, accumulator = parts
    plain = insn.mnemonic.lower().split(".")[0]
    if sets_flags:
        dests = list(dests) + [FLAGS]
    if conditional or base == "it":
        sources = list(sources) + [FLAGS]
    conditional_branch = pipe == "branch" and (base in ("cbz", "cbnz") or plain not in ("b", "bl", "blx", "bx"))
    return Decoded(base, pipe, kind, frozenset(sources) - {"pc"}, frozenset(dests) - {"pc"}, frozenset(accumulator),
                   literal=pipe == "lsu" and address_regs == ["pc"], moved=moved,
                   branch=pipe == "branch" or "pc" in dests, conditional_branch=conditional_branch, target=target)


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
