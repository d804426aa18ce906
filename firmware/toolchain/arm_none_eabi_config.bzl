"""cc_toolchain_config for Debian's arm-none-eabi-gcc 12 targeting the Cortex-M7 (FPv5-D16).

Flags every ARM compile and link gets: hard-float ABI on the M7's double-precision FPU,
Thumb-2, one section per function/object so --gc-sections drops what is unused,
newlib-nano. Firmware is always optimised (real-time code), whatever the compilation mode.
"""

load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)
load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")

CPU_FLAGS = [
    "-mcpu=cortex-m7",
    "-mfpu=fpv5-d16",
    "-mfloat-abi=hard",
    "-mthumb",
]

_COMPILE_ACTIONS = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
]

_GCC_VERSION = "12.2.1"

def _impl(ctx):
    tool_paths = [
        tool_path(name = "gcc", path = "/usr/bin/arm-none-eabi-gcc"),
        tool_path(name = "cpp", path = "/usr/bin/arm-none-eabi-cpp"),
        tool_path(name = "ld", path = "/usr/bin/arm-none-eabi-ld"),
        tool_path(name = "ar", path = "/usr/bin/arm-none-eabi-ar"),
        tool_path(name = "nm", path = "/usr/bin/arm-none-eabi-nm"),
        tool_path(name = "objcopy", path = "/usr/bin/arm-none-eabi-objcopy"),
        tool_path(name = "objdump", path = "/usr/bin/arm-none-eabi-objdump"),
        tool_path(name = "strip", path = "/usr/bin/arm-none-eabi-strip"),
        tool_path(name = "gcov", path = "/bin/false"),
    ]
    compile_flags = feature(
        name = "valvenet_compile_flags",
        enabled = True,
        flag_sets = [
            flag_set(
                actions = _COMPILE_ACTIONS,
                flag_groups = [flag_group(flags = CPU_FLAGS + [
                    "-O2",
                    "-g",
                    "-ffunction-sections",
                    "-fdata-sections",
                    "-fno-common",
                    # Reproducible objects: no build paths or dates in the output.
                    "-ffile-prefix-map=/proc/self/cwd=.",
                    "-Wno-builtin-macro-redefined",
                    "-D__DATE__=\"redacted\"",
                    "-D__TIMESTAMP__=\"redacted\"",
                    "-D__TIME__=\"redacted\"",
                ])],
            ),
        ],
    )
    link_flags = feature(
        name = "valvenet_link_flags",
        enabled = True,
        flag_sets = [
            flag_set(
                actions = _LINK_ACTIONS,
                flag_groups = [flag_group(flags = CPU_FLAGS + [
                    "--specs=nano.specs",
                    "--specs=nosys.specs",
                    "-Wl,--gc-sections",
                ])],
            ),
        ],
    )
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = "arm-none-eabi-cortex-m7",
        host_system_name = "x86_64-linux-gnu",
        target_system_name = "arm-none-eabi",
        target_cpu = "cortex-m7",
        target_libc = "newlib-nano",
        compiler = "gcc",
        abi_version = "eabi",
        abi_libc_version = "newlib",
        tool_paths = tool_paths,
        features = [compile_flags, link_flags],
        cxx_builtin_include_directories = [
            "/usr/lib/gcc/arm-none-eabi/%s/include" % _GCC_VERSION,
            "/usr/lib/gcc/arm-none-eabi/%s/include-fixed" % _GCC_VERSION,
            "/usr/lib/arm-none-eabi/include",
            "/usr/include/newlib",  # what /usr/lib/arm-none-eabi/include links to on Debian
        ],
    )

arm_none_eabi_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
