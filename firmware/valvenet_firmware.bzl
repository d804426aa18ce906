"""valvenet_firmware: the amp firmware for one board with models compiled in.

    valvenet_firmware(
        name = "amp_nucleo_f767zi",
        board = "nucleo_f767zi",
        models = [("//models:trained/crunch-nam-nano.vnet", "float32")],
    )

Each (model file, precision) becomes generated C (vnet_model_library), a self-test clip
(the loudest 0.1 s of the built-in test split and the oracle's output for it) and an entry
of the image's model table; the first model is the one selected at boot. Outputs as
firmware_image: NAME.elf/.bin/.hex/.map/.size.txt.
"""

load("//firmware/boards:boards.bzl", "BOARDS")
load("//firmware/toolchain:firmware.bzl", "firmware_image")
load("//tools/codegen:model_library.bzl", "DEFAULT_CABINET", "bench_input", "cabinet_table", "model_table", "pedal_boot", "selftest_clip", "vnet_model_library")

SELFTEST_AUDIO = "//data:builtin_short_test_input"

# The pedal at boot on a board with a codec: 48 kHz, 32-frame blocks (0.67 ms; two blocks of
# buffering = 1.3 ms from ADC to DAC plus the converters' own delay).
PEDAL_AUTOSTART = (48000, 32)

def valvenet_firmware(name, board, models, cabinet = DEFAULT_CABINET, cabinet_taps = 256, autostart = None,
                      selftest_audio = SELFTEST_AUDIO, model_copts = [], **kwargs):
    """cabinet: the pedal's cabinet IR (cabinet_table(): a WAV label, one of guitarix-common's
    IR names, or None), cut to cabinet_taps at the first model's rate.
    model_copts: extra compile options for the models (e.g. -DVN_NO_PLACEMENT for an
    image whose models together would not fit the TCMs).
    autostart: None, or (sample rate, block) to start the codec stream at boot (the pedal)."""
    if board not in BOARDS:
        fail("unknown board %r; boards: %s" % (board, ", ".join(BOARDS.keys())))
    libraries = []
    clips = {}
    for index, (model, precision) in enumerate(models):
        library = "%s_m%d" % (name, index)
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
        model = models[0][0] if models else None,
        taps = cabinet_taps,
    )
    pedal_boot(
        name = name + "_boot",
        autostart = autostart,
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

def local_amp_images(model = "model.vnet", cabinet = "cabinet.wav", precision = "float32"):
    """amp_<board> images for every board from an untracked model file in this package, with
    the cabinet IR `cabinet` beside it if there is one (else the default IR); the NUCLEO image
    starts the pedal at boot (codec, 48 kHz, 32-frame blocks). No targets while the model file
    is absent (so a fresh clone builds and tests as it is)."""
    if not native.glob([model]):
        return
    ir = ":" + cabinet if native.glob([cabinet]) else DEFAULT_CABINET
    for board in BOARDS:
        valvenet_firmware(
            name = "amp_" + board,
            autostart = PEDAL_AUTOSTART if board == "nucleo_f767zi" else None,
            board = board,
            cabinet = ir,
            models = [(":" + model, precision)],
        )
