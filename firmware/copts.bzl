"""Compiler options for all ValveNet C code, host and target alike (C11, warnings as errors)."""

C_OPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
]
