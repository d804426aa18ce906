"""ValveNet: neural guitar-amp emulation that runs in real time on a microcontroller."""

__version__ = "0.1.0"  # keep equal to tools/version.bzl (checked by tests/robot/boot.robot)
