"""The Cortex-M7 cycle model on hand-made instruction sequences: each expected count follows
from the rules in valvenet.m7_cycles' docstring (and docs/benchmarks.md), worked out in the
comments."""

from __future__ import annotations

from valvenet import m7_cycles
from valvenet.m7_cycles import Instruction


def run(lines: list[str], trace: list[int] | None = None, itcm: bool = True) -> m7_cycles.Estimate:
    """lines: "address size mnemonic operands"; trace: addresses (default: each line once)."""
    program = {}
    for line in lines:
        address, size, mnemonic, *operands = line.split(maxsplit=3)
        program[int(address, 16)] = Instruction(int(address, 16), int(size), mnemonic, " ".join(operands))
    return m7_cycles.estimate(trace if trace is not None else list(program), program, lambda a: itcm)


def test_independent_alu_ops_dual_issue() -> None:
    # both in cycle 0, results ready at 1
    result = run(["100 2 adds r0, #1", "102 2 adds r1, #1"])
    assert (result.cycles, result.dual_issued) == (1, 1)


def test_dependent_alu_ops_do_not_pair() -> None:
    # the second reads r1: cycle 1
    assert run(["100 4 add.w r1, r0, #1", "104 4 add.w r2, r1, #1"]).cycles == 2


def test_load_use_stalls_one_cycle() -> None:
    # LDR at 0, r1 ready at 2 (LOAD_LATENCY); ADD at 2, ready at 3
    result = run(["100 2 ldr r1, [r0, #0]", "102 4 add.w r2, r1, #1"])
    assert result.cycles == 3
    assert result.stalls["load-use"] == 1


def test_one_load_store_per_cycle_but_load_pairs_with_alu() -> None:
    assert run(["100 2 ldr r1, [r0, #0]", "102 2 ldr r2, [r0, #4]"]).cycles == 3  # 0, 1; r2 ready at 3
    assert run(["100 2 ldr r1, [r0, #0]", "102 2 adds r3, #1"]).cycles == 2  # one cycle; r1 ready at 2


def test_fma_chain_on_one_accumulator_waits_for_the_latency() -> None:
    # VFMA at 0, 4, 8 (FP_MAC_LATENCY 4); the last result at 12
    assert run(["100 4 vfma.f32 s0, s1, s2", "104 4 vfma.f32 s0, s3, s4", "108 4 vfma.f32 s0, s5, s6"]).cycles == 12


def test_two_interleaved_accumulators_hide_half_the_latency() -> None:
    # s0 at 0, s8 at 1 (one FP issue per cycle), s0 at 4, s8 at 5; done at 9
    assert run(["100 4 vfma.f32 s0, s1, s2", "104 4 vfma.f32 s8, s1, s3",
                "108 4 vfma.f32 s0, s4, s5", "10c 4 vfma.f32 s8, s4, s6"]).cycles == 9


def test_vdiv_blocks_the_fp_pipe() -> None:
    # VDIV at 0 (14 cycles); the independent VADD may not issue before 14; ready at 17
    assert run(["100 4 vdiv.f32 s0, s1, s2"]).cycles == 14
    assert run(["100 4 vdiv.f32 s0, s1, s2", "104 4 vadd.f32 s4, s5, s6"]).cycles == 17


def test_chained_smlad_forwards_its_accumulator() -> None:
    # SMLAD r0 at 0, 1, 2 (accumulator forwarded); r0 ready at 4
    assert run(["100 4 smlad r0, r1, r2, r0", "104 4 smlad r0, r3, r4, r0", "108 4 smlad r0, r5, r6, r0"]).cycles == 4


def test_mac_result_used_as_multiplicand_waits() -> None:
    # MUL at 0, r0 ready at 2 (MAC_LATENCY); SMLAD using r0 as a multiplicand at 2; ready at 4
    assert run(["100 4 mul.w r0, r1, r2", "104 4 smlad r3, r0, r4, r3"]).cycles == 4


def test_flash_code_pays_wait_states_on_a_jump_but_streams_sequentially() -> None:
    pair = ["100 2 adds r0, #1", "102 2 adds r1, #1"]
    assert run(pair, itcm=True).cycles == 1
    # entered by a jump (the start): line arrives at 7, both issue at 7, done at 8
    result = run(pair, itcm=False)
    assert result.cycles == 8
    assert result.stalls["flash wait"] == 7
    # 16 independent 2-byte ALU ops fill the 32-byte line 0x100 and spill into 0x120: the next
    # line is prefetched (7 + 8 = 15 at the earliest), so the 17th op issues at 15
    ops = [f"{0x100 + 2 * i:x} 2 adds r{i % 8}, #1" for i in range(17)]
    assert run(ops, itcm=False).cycles == 16


def test_mispredicted_forward_branch_costs_the_penalty() -> None:
    # CMP at 0 (flags at 1); BNE at 1, forward: predicted not taken, but taken to 0x108;
    # the ADD there issues at 1 + 1 + 4 = 6, ready at 7
    lines = ["100 2 cmp r0, #0", "102 2 bne.n 108", "104 2 adds r1, #1", "108 2 adds r2, #1"]
    result = run(lines, trace=[0x100, 0x102, 0x108])
    assert result.cycles == 7
    assert result.stalls["branch mispredict"] == 4


def test_predicted_loop_branch_costs_nothing_but_ends_the_issue_pair() -> None:
    # SUBS at 0; BNE backward (predicted taken) at 1; SUBS again at 2, BNE at 3;
    # the second BNE falls through (mispredicted) and the final ADDS issues at 3 + 1 + 4 = 8
    lines = ["100 2 subs r0, #1", "102 2 bne.n 100", "104 2 adds r1, #1"]
    result = run(lines, trace=[0x100, 0x102, 0x100, 0x102, 0x104])
    assert result.cycles == 9
    assert result.stalls["branch mispredict"] == 4


def test_push_takes_a_cycle_per_two_registers() -> None:
    # PUSH of 4 registers holds issue for 2 cycles; the ADDS issues at 2, ready at 3
    result = run(["100 2 push {r4, r5, r6, lr}", "102 2 adds r0, #1"])
    assert result.cycles == 3
    assert result.stalls == {"multi-cycle transfer": 1}


def test_decode_of_objdump_lines() -> None:
    text = ("   409fa:\tecb0 da01 \tvldmia\tr0!, {s26}\n"
            "   409fe:\tee6d 7a29 \tvmul.f32\ts15, s26, s19\n"
            "   40a02:\t9003      \tstr\tr0, [sp, #12]\n"
            "   40a04:\t0000      \t.short\t0x0000\n")
    program = m7_cycles.parse_objdump(text)
    assert sorted(program) == [0x409fa, 0x409fe, 0x40a02]
    assert program[0x40a02].size == 2
    vmul = m7_cycles.decode(program[0x409fe])
    assert (vmul.pipe, vmul.dests, vmul.sources) == ("fp", {"s15"}, {"s26", "s19"})
    vldm = m7_cycles.decode(program[0x409fa])
    assert vldm.dests == {"s26", "r0"} and vldm.pipe == "lsu"


def test_a_literal_load_from_flash_waits_for_the_flash() -> None:
    # entered by a jump: the line arrives at 7; LDR at 7, r1 ready at 7 + 2 + 7 = 16; ADD at 16
    result = run(["100 2 ldr r1, [pc, #8]", "102 4 add.w r2, r1, #1"], itcm=False)
    assert result.cycles == 17
    assert result.stalls["flash literal load"] == 8
