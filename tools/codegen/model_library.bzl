"""vnet_model_library: a .vnet model file as a cc_library, for host and target alike.

    vnet_model_library(name = "wavenet_10x8", model = "//models:wavenet-10x8.vnet")

generates wavenet_10x8.h/.c with `valvenet export c` (symbol prefix = name) and wraps them
in a cc_library that depends on the engine (//firmware/nn). `full_recompute = True` generates
the full receptive-field recompute baseline of the same model instead, `precision = "int16"`
the int16 fixed-point engine (python/valvenet/export/engines/). random_model_file() makes a
model file with seeded random weights for a preset (benchmarks, engine tests);
nam_model_file() one from a Neural Amp Modeler capture (.nam), with the real-time check;
nam_capture_file() a .nam from a model file (the project's own capture fixtures).

Every C file is written by a Python tool in //python/valvenet/export (one module per generated
thing); these macros only pass it names and numbers, and hold no C text.
"""

load("//firmware:copts.bzl", "vn_cc_library")

_EXPORT = "//python/valvenet/export:"

# Model code is compiled for speed (instructions per sample in QEMU, measured on the zoo):
# -fno-schedule-insns: GCC's pre-allocation scheduler hoists the loads of a tile ahead of its
#   multiply-adds and runs out of FPU registers (spills: 4-37 % more instructions); the
#   post-allocation scheduler (ordering for the M7's dual issue, adding nothing) stays on.
# -fira-loop-pressure: a little less spilling around the tile loops (0.5-1.5 %).
# -funroll-loops with at most 2 copies: the remaining short loops (1.5-3 %, +3-7 % code; more
#   copies gain nothing and cost ITCM).
# Not used: -ffast-math (slower here, and it would change the NaN handling of fminf/fmaxf);
# -O2 (the same but for GRU, +1.5 %); -Os (+15-30 %).
MODEL_COPTS = [
    "-O3",
    "-ffp-contract=fast",
    "-fno-schedule-insns",
    "-fira-loop-pressure",
    "-funroll-loops",
    "--param=max-unroll-times=2",
]

def vnet_model_library(name, model, copts = [], full_recompute = False, precision = "float32", **kwargs):
    """full_recompute: generate the non-streaming baseline (`valvenet export c --full-recompute`:
    the whole receptive field through every layer for every output sample).
    precision: "float32", or "int16" for the fixed-point engine (`--precision int16`), which
    uses the int16 scales calibrated into the model file (random_model_file and training
    write them)."""
    if precision not in ("float32", "int16"):
        fail("precision must be float32 or int16, got %r" % precision)
    native.genrule(
        name = name + "_sources",
        srcs = [model],
        outs = [name + ".h", name + ".c"],
        cmd = "$(location %sexport_c) --model $< --out $(@D) --symbol " % _EXPORT + name +
              (" --full-recompute" if full_recompute else "") + " --precision " + precision + " > /dev/null",
        tools = [_EXPORT + "export_c"],
    )
    vn_cc_library(
        name = name,
        srcs = [name + ".c"],
        hdrs = [name + ".h"],
        # int16: the float steps of the fixed-point engine (some activations, the LSTM/GRU
        # state updates) must round as on the host, whose compiler has no FMA to contract to:
        # no contraction, so host and M7 outputs are bit-identical.
        copts = MODEL_COPTS + (["-ffp-contract=off"] if precision == "int16" else []) + copts,
        deps = ["//firmware/nn:engine"],
        **kwargs
    )

def nam_model_file(name, capture, precision = "float32", max_budget_share = None):
    """name.vnet from a Neural Amp Modeler capture (`valvenet import nam`; for int16, with int16
    scales calibrated on the synthetic guitar, a capture carrying none). With
    max_budget_share (e.g. 1.0), a capture whose estimated cycles plus the pedal's chain (python/valvenet/export/cost.py,
    from the measured docs/benchmarks.json) are over that share of the F767's real-time budget
    fails the build with its estimate and the advice to distill it."""
    check = " --precision %s" % precision
    srcs = [capture]
    if max_budget_share != None:
        check += " --max-budget-share %s --benchmarks $(location //:docs/benchmarks.json)" % max_budget_share
        srcs.append("//:docs/benchmarks.json")
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [name + ".vnet"],
        cmd = "$(location %snam_model) --capture $(location %s) --out $@%s" % (_EXPORT, capture, check),
        tools = [_EXPORT + "nam_model"],
    )

def nam_capture_file(name, model):
    """name.nam: a model file (kind nam_wavenet or lstm) as a Neural Amp Modeler capture
    (`valvenet export nam`), e.g. a seeded random_model_file as a test fixture."""
    native.genrule(
        name = name,
        srcs = [model],
        outs = [name + ".nam"],
        cmd = "$(location %sexport_nam) $(location %s) --out $@ > /dev/null" % (_EXPORT, model),
        tools = [_EXPORT + "export_nam"],
    )

def random_model_file(name, preset, seed = 0, sample_rate = 48000, knobs = []):
    """A model file of `preset` with seeded random weights (conditioned on `knobs`, names)."""
    native.genrule(
        name = name,
        outs = [name + ".vnet"],
        cmd = "$(location //python/valvenet/models:random_model) --preset %s --seed %d --sample-rate %d %s--out $@" % (
            preset,
            seed,
            sample_rate,
            "--knobs %s " % ",".join(knobs) if knobs else "",
        ),
        tools = ["//python/valvenet/models:random_model"],
    )

def selftest_clip(name, model, audio, precision = "float32", samples = 4800):
    """A cc_library defining `const selftest_clip_t <name>` (firmware/app/model_table.h): the
    loudest `samples`-long window of `audio` (a WAV of the test split) and the Python
    oracle's output for it, with the bound the self-test applies for `precision`."""
    _generated_c_library(
        name = name,
        source = name + "_sources",
        tool = "selftest_clip",
        args = "--model $(location %s) --audio $(location %s) --precision %s --samples %d --symbol %s" % (
            model,
            audio,
            precision,
            samples,
            name,
        ),
        srcs = [model, audio],
        deps = ["//firmware/app:model_table_api"],
    )

def model_table(name, models, clips = {}, copts = []):
    """A cc_library defining firmware/app/model_table.h for `models` (vnet_model_library
    target names in this package), each with its self-test clip where `clips` names one
    (model name -> selftest_clip target name); an empty list gives an image without models.
    The models' streaming state (one union: one model runs at a time) is VN_HOT_BSS: DTCM on
    the NUCLEO unless copts has -DVN_NO_PLACEMENT."""
    entries = [m + ("=" + clips[m] if m in clips else "") for m in models]
    _generated_c_library(
        name = name,
        source = name + "_source",
        tool = "model_table",
        args = "--package '%s' %s" % (native.package_name(), " ".join(entries)),
        copts = copts,
        deps = ["//firmware/app:model_table_api"] + [":" + m for m in models] + [":" + clips[m] for m in models if m in clips],
    )

def bench_input(name, audio, samples = 4800):
    """A cc_library defining `bench_input` (firmware/app/bench_input.h): the loudest
    `samples`-long window of `audio` (a WAV of guitar, e.g. the built-in test split) as Q15.
    alwayslink: it overrides bench.c's weak stand-in, which no archive lookup would replace."""
    _generated_c_library(
        name = name,
        source = name + "_source",
        tool = "bench_input",
        args = "--audio $(location %s) --samples %d" % (audio, samples),
        srcs = [audio],
        deps = ["//firmware/app:bench_input_api"],
        alwayslink = True,
    )

def _generated_c_library(name, source, tool, args, deps, srcs = [], copts = [], alwayslink = False):
    """A cc_library of one C file, `name`.c, that the export tool `tool` writes (genrule
    `source`) from the arguments `args` (with $(location) of `srcs`)."""
    native.genrule(
        name = source,
        srcs = srcs,
        outs = [name + ".c"],
        cmd = "$(location %s%s) %s --out $@" % (_EXPORT, tool, args),
        tools = [_EXPORT + tool],
    )
    vn_cc_library(
        name = name,
        srcs = [name + ".c"],
        alwayslink = alwayslink,
        copts = copts,
        deps = deps,
    )

DEFAULT_CABINET = "Mesa Boogie Mark V.wav"

def cabinet_table(name, ir = DEFAULT_CABINET, model = None, taps = 256):
    """A cc_library defining firmware/app/cabinet_table.h: `ir` is a label of an impulse
    response WAV (e.g. "//models/local:cabinet.wav"), the name of one of guitarix-common's IRs
    (/usr/share/gx_head/sounds/amps, installed by ./bazelw), or None for no cabinet. The taps
    are prepared at `model`'s sample rate (48 kHz without one) and cut to `taps`."""
    is_label = ir != None and (ir.startswith("//") or ir.startswith(":") or ir.startswith("@"))
    if ir == None:
        args = "--none"
    elif is_label:
        args = "--ir $(location %s)" % ir
    else:
        args = "--ir '%s'" % ir
    if model != None and ir != None:
        args += " --model $(location %s)" % model
    _generated_c_library(
        name = name,
        source = name + "_source",
        tool = "cabinet_table",
        args = "%s --taps %d" % (args, taps),
        srcs = ([ir] if is_label else []) + ([model] if model != None and ir != None else []),
        deps = [
            "//firmware/app:cabinet_table_api",
            "//firmware/nn:cabinet",
            "//firmware/nn:engine",
        ],
    )

def pedal_boot(name, autostart = None, pedal = True, pot_knob = -1):
    """A cc_library defining firmware/app/pedal_boot.h: the image's pedal (pedal = False: none,
    for images without models or that only benchmark) and whether it starts at boot: autostart
    None (the stream waits for AUDIO_START) or (sample rate, block): the codec stream starts.
    pot_knob: the model knob the board's potentiometer turns (-1: none)."""
    rate, block = autostart if autostart else (0, 0)
    _generated_c_library(
        name = name,
        source = name + "_source",
        tool = "pedal_boot",
        args = "--rate %d --block %d --pot-knob %d" % (rate, block, pot_knob) + ("" if pedal else " --no-pedal"),
        deps = ["//firmware/app:pedal_boot_api"],
    )
