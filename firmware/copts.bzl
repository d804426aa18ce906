"""Compiler options for all ValveNet C code, host and target alike (C11, warnings as errors),
and the cc rules that apply them: every firmware, engine and host-test C target is declared with
vn_cc_library / vn_cc_test, so the options live here and nowhere else."""

C_OPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
]

def vn_cc_library(name, copts = [], **kwargs):
    """cc_library with the project's C options first (`copts` adds to them)."""
    native.cc_library(name = name, copts = C_OPTS + copts, **kwargs)

def vn_cc_test(name, copts = [], **kwargs):
    """cc_test with the project's C options first (`copts` adds to them)."""
    native.cc_test(name = name, copts = C_OPTS + copts, **kwargs)
