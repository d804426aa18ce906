"""valvenet_firmware: the amp firmware for one board with models compiled in.

    valvenet_firmware(
        name = "amp_nucleo_f767zi",
        board = "nucleo_f767zi",
        models = [("//models:trained/crunch-nam-nano.vnet", "float32")],
    )

A model may be a Neural Amp Modeler capture (a label ending in .nam): it is converted at build
time (nam_model_file, `valvenet import nam`), and with max_budget_share set a capture over
that share of the real-time budget fails the build, with its estimated cost and the advice
to distill it.

Each (model file, precision) becomes generated C (vnet_model_library), a self-test clip
(the loudest 0.1 s of the built-in test split and the oracle's output for it) and an entry
of the image's model table; the first model is the one selected at boot. Outputs as
firmware_image: NAME.elf/.bin/.hex/.map/.size.txt.
"""

load("//firmware/boards:boards.bzl", "BOARDS")
load("//firmware/toolchain:firmware.bzl", "firmware_image")
load("//tools/codegen:model_library.bzl", "DEFAULT_CABINET", "bench_input", "cabinet_table", "model_table", "nam_model_file", "pedal_boot", "selftest_clip", "vnet_model_library")

SELFTEST_AUDIO = "//data:builtin_short_test_input"

# The pedal at boot on a board with a codec: 48 kHz, 32-frame blocks (0.67 ms; two blocks of
# buffering = 1.3 ms from ADC to DAC plus the converters' own delay).
PEDAL_AUTOSTART = (48000, 32)

# The share of the F767's real-time budget a capture's estimated cost may take in an image that
# plays in real time (python/valvenet/export/cost.py has the estimate; the cabinet and the
# audio I/O take a few % more).
REALTIME_BUDGET_SHARE = 1.0

def valvenet_firmware(name, board, models, cabinet = DEFAULT_CABINET, cabinet_taps = 256, autostart = None,
                      selftest_audio = SELFTEST_AUDIO, model_copts = [], max_budget_share = None, pot_knob = -1,
                      **kwargs):
    """cabinet: the pedal's cabinet IR (cabinet_table(): a WAV label, one of guitarix-common's
    IR names, or None), cut to cabinet_taps at the first model's rate.
    model_copts: extra compile options for the models (e.g. -DVN_NO_PLACEMENT for an
    image whose models together would not fit the TCMs).
    autostart: None, or (sample rate, block) to start the codec stream at boot (the pedal).
    max_budget_share: None, or the share of the real-time budget (1.0: all of it) a .nam
    capture's estimated cycles plus the pedal's chain may take; a capture over it fails the build.
    pot_knob: the knob of a conditioned model the board's potentiometer turns (the NUCLEO's A0,
    docs/knobs.md); -1 (default): none, so an unwired A0 never moves a knob."""
    if board not in BOARDS:
        fail("unknown board %r; boards: %s" % (board, ", ".join(BOARDS.keys())))
    libraries = []
    clips = {}
    files = []
    for index, (model, precision) in enumerate(models):
        library = "%s_m%d" % (name, index)
        if model.endswith(".nam"):
            nam_model_file(
                name = library + "_file",
                capture = model,
                precision = precision,
                max_budget_share = max_budget_share,
            )
            model = ":%s_file.vnet" % library
        files.append(model)
        vnet_model_library(
            name = library,
            model = model,
            precision = precision,
            copts = model_copts,
        )
        clips[library] = library + "_clip"
        selftest_clip(
            name = library + "_clip",
            model = model,
            audio = selftest_audio,
            precision = precision,
        )
        libraries.append(library)
    model_table(
        name = name + "_models",
        models = libraries,
        clips = clips,
        copts = model_copts,
    )
    cabinet_table(
        name = name + "_cabinet",
        ir = cabinet,
        model = files[0] if files else None,
        taps = cabinet_taps,
    )
    pedal_boot(
        name = name + "_boot",
        autostart = autostart,
        pot_knob = pot_knob,
    )
    bench_input(
        name = name + "_bench_input",
        audio = selftest_audio,
    )
    spec = BOARDS[board]
    firmware_image(
        name = name,
        linker_script = spec.linker_script,
        deps = [
            ":" + name + "_models",
            ":" + name + "_cabinet",
            ":" + name + "_boot",
            ":" + name + "_bench_input",
            "//firmware/app:main",
            spec.library,
        ],
        **kwargs
    )

def local_amp_images(model = "model.vnet", capture = "model.nam", cabinet = "cabinet.wav", precision = None,
                     pot_knob = -1):
    """amp_<board> images for every board from an untracked model file in this package (or,
    without one, a Neural Amp Modeler capture `capture`), with the cabinet IR `cabinet` beside
    it if there is one (else the default IR); the NUCLEO image starts the pedal at boot (codec,
    48 kHz, 32-frame blocks) and refuses a capture over the real-time budget (the QEMU image,
    which counts instructions and keeps no time, takes any). No targets while neither file is
    there (so a fresh clone builds and tests as it is).

    precision: the engine; by default float32 for a model file and int16 for a capture (the
    F767's real-time engine: a feather-class capture fits its budget only in int16). The QEMU
    image of a capture carries it in both, int16 first (the pedal's model), float32 second
    (to compare with the oracle).

    pot_knob: for a model with knobs, the knob a potentiometer on the NUCLEO's A0 turns
    (docs/knobs.md has the wiring); -1 (default): none."""
    is_capture = not native.glob([model])
    if is_capture:
        if not native.glob([capture]):
            return
        model = capture
    if precision == None:
        precision = "int16" if is_capture else "float32"
    ir = ":" + cabinet if native.glob([cabinet]) else DEFAULT_CABINET
    for board in BOARDS:
        models = [(":" + model, precision)]
        if is_capture and board != "nucleo_f767zi":
            models += [(":" + model, p) for p in ("int16", "float32") if p != precision]
        valvenet_firmware(
            name = "amp_" + board,
            autostart = PEDAL_AUTOSTART if board == "nucleo_f767zi" else None,
            board = board,
            cabinet = ir,
            models = models,
            max_budget_share = REALTIME_BUDGET_SHARE if board == "nucleo_f767zi" else None,
            pot_knob = pot_knob if board == "nucleo_f767zi" else -1,
        )
