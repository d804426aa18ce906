"""firmware_image: links Cortex-M7 firmware from cc_library deps built for the MCU platform.

The deps go through a transition to //firmware/toolchain:stm32f767, so they compile with
arm-none-eabi-gcc while host cc_test and py_test targets in the same `bazel test //...`
keep the host toolchain. The rule links itself (rather than wrapping a cc_binary) so it can
declare the linker map as an output; it then derives .bin and .hex with objcopy and writes
a size report that fails the build when a memory region of the part overflows.
"""

MCU_PLATFORM = "//firmware/toolchain:stm32f767"

def _mcu_transition_impl(settings, attr):
    return {"//command_line_option:platforms": [MCU_PLATFORM]}

mcu_transition = transition(
    implementation = _mcu_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

# Link flags matching the compile flags in arm_none_eabi_config.bzl.
_LINK_FLAGS = [
    "-mcpu=cortex-m7",
    "-mfpu=fpv5-d16",
    "-mfloat-abi=hard",
    "-mthumb",
    "--specs=nano.specs",
    "--specs=nosys.specs",
    "-u",
    "_printf_float",  # newlib-nano's %g for the self-test line (about 10 KB of flash)
    "-Wl,--gc-sections",
    "-Wl,--build-id=none",
    "-Wl,--no-warn-rwx-segments",
]

def _static_libraries(deps):
    libraries = []
    for dep in deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            for library in linker_input.libraries:
                archive = library.static_library or library.pic_static_library
                if archive and archive not in libraries:
                    libraries.append(archive)
    return libraries

def _objcopy(ctx, elf, out, output_format):
    ctx.actions.run(
        executable = "/usr/bin/arm-none-eabi-objcopy",
        arguments = ["-O", output_format, elf.path, out.path],
        inputs = [elf],
        outputs = [out],
        mnemonic = "FirmwareObjcopy",
    )

def _firmware_image_impl(ctx):
    elf = ctx.outputs.elf
    map_file = ctx.outputs.map
    binary = ctx.outputs.bin
    hex_file = ctx.outputs.hex
    size_report = ctx.outputs.size_report
    libraries = _static_libraries(ctx.attr.deps)

    link_args = ctx.actions.args()
    link_args.add_all(_LINK_FLAGS)
    link_args.add("-T", ctx.file.linker_script)
    link_args.add("-Wl,-Map=" + map_file.path)
    link_args.add("-o", elf)
    # Every object of every library: the vector table is referenced by nothing but the
    # linker script, and --gc-sections drops whatever is really unused.
    link_args.add("-Wl,--whole-archive")
    link_args.add_all(libraries)
    link_args.add("-Wl,--no-whole-archive")
    link_args.add("-lm")
    ctx.actions.run(
        executable = "/usr/bin/arm-none-eabi-gcc",
        arguments = [link_args],
        inputs = libraries + [ctx.file.linker_script],
        outputs = [elf, map_file],
        mnemonic = "FirmwareLink",
        progress_message = "Linking firmware %s" % elf.short_path,
    )
    _objcopy(ctx, elf, binary, "binary")
    _objcopy(ctx, elf, hex_file, "ihex")
    ctx.actions.run(
        executable = ctx.executable._size_tool,
        arguments = [elf.path, size_report.path, ctx.file.linker_script.path],
        inputs = [elf, ctx.file.linker_script],
        outputs = [size_report],
        mnemonic = "FirmwareSize",
        progress_message = "Checking firmware size of %s" % elf.short_path,
    )
    return [DefaultInfo(files = depset([elf, binary, hex_file, map_file, size_report]))]

firmware_image = rule(
    implementation = _firmware_image_impl,
    doc = "Cortex-M7 firmware: .elf, .bin, .hex, .map and a size report checked against the part.",
    # Predeclared so other targets can name them, e.g. //firmware:nucleo_f767zi.elf.
    outputs = {
        "elf": "%{name}.elf",
        "bin": "%{name}.bin",
        "hex": "%{name}.hex",
        "map": "%{name}.map",
        "size_report": "%{name}.size.txt",
    },
    attrs = {
        "deps": attr.label_list(
            providers = [CcInfo],
            cfg = mcu_transition,
            mandatory = True,
            doc = "cc_library targets (board, application) compiled for the MCU.",
        ),
        "linker_script": attr.label(
            allow_single_file = [".ld"],
            mandatory = True,
            doc = "Its MEMORY block is also the size check's memory map: the build fails on overflow.",
        ),
        "_size_tool": attr.label(
            default = "//firmware/toolchain:firmware_size.sh",
            executable = True,
            allow_single_file = True,
            cfg = "exec",
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)
